"""The real peers Reachout sends to in tests: an aiosmtpd relay (Mailbox keeps what it received) and
an smpp34 SMS centre, each on an event loop in a thread of its own on 127.0.0.1; `Peers` is the pair a
server sends through. Also the messages the adapter tests hand to the channels."""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ssl
import threading
import time
from email.message import EmailMessage
from typing import Any

import smpp34
# smpp34 re-exports these at run time only; its stubs declare them here.
from smpp34._smpp34 import TLV_MESSAGE_STATE, TLV_RECEIPTED_MESSAGE_ID
from aiosmtpd.smtp import SMTP

from reachout.channels import Outgoing
from tests.support import free_port

NOW = dt.datetime(2025, 3, 4, 12, 30, tzinfo=dt.timezone.utc)
SENDER = "+15550100"


class Mailbox:
    """An aiosmtpd handler that keeps what it received. `rcpt_replies[address]` scripts the answers
    to RCPT TO for that address, one per try, the last one repeating; `mail_replies` does the same
    for MAIL FROM by sender."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.rcpt_replies: dict[str, list[str]] = {}
        self.mail_replies: dict[str, list[str]] = {}
        self.rcpt_tries: dict[str, int] = {}

    @staticmethod
    def _next(script: list[str] | None) -> str | None:
        if not script:
            return None
        return script.pop(0) if len(script) > 1 else script[0]

    async def handle_MAIL(self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        reply = self._next(self.mail_replies.get(address))
        if reply and not reply.startswith("250"):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.rcpt_tries[address] = self.rcpt_tries.get(address, 0) + 1
        reply = self._next(self.rcpt_replies.get(address))
        if reply and not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.received.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "content": envelope.content,
            "tls": server.transport is not None and server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "session": id(session)})
        return "250 Message accepted"

    def parsed(self, index: int = 0) -> EmailMessage:
        message = email.message_from_bytes(self.received[index]["content"], policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class LocalSmtpServer:
    """aiosmtpd on an ephemeral port of 127.0.0.1, on an event loop in a thread of its own.
    `implicit_tls` makes it an SMTPS server; `smtp_options` go to aiosmtpd's SMTP (STARTTLS, AUTH)."""

    def __init__(self, handler: object, *, implicit_tls: ssl.SSLContext | None = None, **smtp_options: Any):
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-smtpd", daemon=True)
        self.thread.start()

        def session() -> SMTP:
            self.connections += 1
            # A hostname given spares aiosmtpd a DNS lookup (getfqdn) per connection.
            return SMTP(handler, loop=self.loop, **{"hostname": "localhost", **smtp_options})

        async def start() -> asyncio.base_events.Server:
            return await self.loop.create_server(session, "127.0.0.1", 0, ssl=implicit_tls)

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.port: int = self.server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:  # sessions a client left open
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def rendered(contact_id: str, endpoint: str, **content: Any) -> Outgoing:
    fields: dict[str, Any] = {"subject": "Your March statement", "text": "Hello Ana,\nyour statement is ready.",
                              "html": "<p>Hello Ana,<br>your statement is <b>ready</b>.</p>",
                              "sender": "billing@example.com", "sender_name": "Example Billing"}
    fields.update(content)
    return Outgoing(contact_id, contact_id, "campaign-1", "email", endpoint, 1, **fields)


def dsn(message_id: str, action: str) -> bytes:
    """A delivery status notification as a relay sends it back, with the original headers."""
    return (
        "From: MAILER-DAEMON@relay.example\r\nTo: billing@example.com\r\nSubject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example\r\n\r\n"
        f"Final-Recipient: rfc822; ana@example.org\r\nAction: {action}\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: billing@example.com\r\nTo: ana@example.org\r\nMessage-ID: {message_id}\r\n\r\n"
        "--B--\r\n").encode()


class LocalSmsc:
    """An SMS centre on 127.0.0.1 (smpp34's Server) on an event loop in a thread of its own.

    It accepts each submit_sm with message id m1, m2, ..., unless `refuse[destination]` scripts the
    command_status to answer, one per try and the last repeating (0 accepts). For each accepted part
    it sends a delivery receipt whose stat is `stat[destination]` (DELIVRD by default; None sends
    none), in the receipt text, plus the receipted_message_id and message_state TLVs if `tlvs`.
    While `hold` is set the receipts wait for `release()`; with `receipt_first` a receipt goes out
    before the submit_sm_resp that names its message id; submits to `silent` destinations are never
    answered. smpp34's Server accepts any bind (its Python API cannot refuse one or see the password)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()  # smpp34 does not tell which port it got for port 0
        self.submits: list[dict[str, Any]] = []
        self.binds: list[str] = []
        self.unbinds = 0
        self.refuse: dict[str, list[int]] = {}
        self.stat: dict[str, str | None] = {}
        self.tlvs = False
        self.receipt_first = False
        self.silent: set[str] = set()  # destinations whose submits are never answered
        self._unanswered: list[smpp34.SubmitSmEvent] = []
        self._sessions: dict[str, smpp34.Esme] = {}
        self._count = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-smsc", daemon=True)
        self.thread.start()
        self._released = asyncio.Event()
        self._released.set()
        self.server = smpp34.Server(host="127.0.0.1", port=self.port, system_id="TESTSMSC")

        async def start() -> None:  # smpp34's awaitables are made on the loop they run on
            await self.server.start()

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self._pump = asyncio.run_coroutine_threadsafe(self._serve(), self.loop)

    @property
    def hold(self) -> bool:
        return not self._released.is_set()

    @hold.setter
    def hold(self, value: bool) -> None:
        async def change() -> None:
            self._released.clear() if value else self._released.set()

        asyncio.run_coroutine_threadsafe(change(), self.loop).result(10)  # in force once this returns

    def release(self) -> None:
        self.hold = False

    async def _serve(self) -> None:
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                self.binds.append(event.system_id)
                self._sessions[event.session_id] = event
            elif isinstance(event, smpp34.Unbound):
                self.unbinds += 1
            elif isinstance(event, smpp34.SubmitSmEvent):
                self.loop.create_task(self._answer(event))

    async def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        destination = event.destination_addr
        self.submits.append({
            "at": time.monotonic(), "source": event.source_addr, "source_ton": event.source_addr_ton,
            "destination": destination, "destination_ton": event.dest_addr_ton,
            "data_coding": event.data_coding, "esm_class": event.esm_class,
            "registered_delivery": event.registered_delivery, "short_message": event.short_message})
        if destination in self.silent:
            self._unanswered.append(event)  # kept, so that smpp34 does not answer in our place
            return
        script = self.refuse.get(destination)
        status = (script.pop(0) if len(script) > 1 else script[0]) if script else 0
        if status:
            event.reject(status)
            return
        self._count += 1
        message_id = f"m{self._count}"
        stat = self.stat.get(destination, "DELIVRD")
        if stat is None:
            event.accept(message_id)
            return
        if self.receipt_first:
            # smpp34 reads nothing more from a session until the submit is answered, so the receipt's
            # answer cannot be awaited first: send it, give it time to arrive, then answer the submit.
            receipt = self.loop.create_task(self._receipt(event, message_id, stat))
            await asyncio.sleep(0.05)
            event.accept(message_id)
            await receipt
        else:
            event.accept(message_id)
            await self._released.wait()
            await self._receipt(event, message_id, stat)

    async def _receipt(self, event: smpp34.SubmitSmEvent, message_id: str, stat: str) -> None:
        text = (f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
                f"submit date:2503041230 done date:2503041231 stat:{stat} err:000 text:").encode()
        states = {"DELIVRD": 2, "EXPIRED": 3, "UNDELIV": 5, "REJECTD": 8}
        tlvs = [smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
                smpp34.Tlv(TLV_MESSAGE_STATE, bytes([states[stat]]))] if self.tlvs else []
        # With the TLVs, the text says something else: the TLVs must win.
        if self.tlvs:
            text = text.replace(f"stat:{stat}".encode(), b"stat:ENROUTE")
        session = self._sessions.get(event.session_id)
        try:
            if session is not None:
                await session.deliver_sm(event.source_addr, text, source_addr=event.destination_addr,
                                         esm_class=0x04, tlvs=tlvs)
        except smpp34.SmppError:
            pass  # the bind ended first: this centre keeps no receipt for a later one

    def unbind_all(self) -> None:
        """The SMS centre ends every bind (as at a restart)."""
        async def unbind() -> None:
            for session in list(self._sessions.values()):
                await session.unbind()
            self._sessions.clear()

        asyncio.run_coroutine_threadsafe(unbind(), self.loop).result(10)

    def stop(self) -> None:
        self._released.set()

        async def stop() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:  # the event pump, and receipts still waiting
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.server.stop()
            await asyncio.sleep(0.1)  # smpp34's threads hand back what they still held to this loop

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()  # smpp34 needs its loop closed before the interpreter exits


class Reports:
    """The `report` callback: what the adapter learnt later, kept in order."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, dt.datetime]] = []
        self._lock = threading.Condition()

    def __call__(self, contact_id: str, outcome: str, at: dt.datetime) -> None:
        with self._lock:
            self.got.append((contact_id, outcome, at))
            self._lock.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> dict[str, str]:
        with self._lock:
            assert self._lock.wait_for(lambda: len(self.got) >= count, timeout), f"reports: {self.got}"
        return {contact: outcome for contact, outcome, _ in self.got}

    def before_barrier(self, channel: Any, smsc: LocalSmsc) -> list[str]:
        """The contacts reported before a barrier: one more message sent through `channel`, whose receipt
        the SMS centre sends on the same bind after every receipt it already owed, and whose report the
        adapter makes after reading those. A late or duplicate report of earlier messages is among them;
        no fixed sleep has to guess how long it might take."""
        smsc.receipt_first = False
        smsc.hold = True  # so that its outcome is reported, not returned by send()
        [receipt] = channel.send([sms("c-barrier", "+4915199999999")], NOW)
        assert receipt.outcome is None, receipt
        smsc.release()  # receipts still held go out first, in the order they were owed
        with self._lock:
            assert self._lock.wait_for(lambda: any(c == "c-barrier" for c, _, _ in self.got), 10), \
                f"no report of the barrier: {self.got}"
            contacts = [contact for contact, _, _ in self.got]
        return contacts[:contacts.index("c-barrier")]


def sms(contact_id: str, endpoint: str, text: str = "Your code is 1234") -> Outgoing:
    return Outgoing(contact_id, contact_id, "campaign-1", "sms", endpoint, 1, text=text, origination_number=SENDER)


class Peers:
    """The relay and the SMS centre the server sends to."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.relay = LocalSmtpServer(self.mailbox)
        self.smsc = LocalSmsc()

    def args(self) -> list[str]:
        return ["--smtp-url", f"smtp://127.0.0.1:{self.relay.port}",
                "--smpp-url", f"smpp://reachout:secret@127.0.0.1:{self.smsc.port}"]

    def stop(self) -> None:
        self.relay.stop()
        self.smsc.stop()


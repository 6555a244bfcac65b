"""Email over SMTP (aiosmtplib): one relay, configured as `smtp[s]://user:password@host:port`.

`smtps://` speaks TLS from the first byte (implicit TLS, port 465 by default); `smtp://` upgrades
with STARTTLS whenever the server offers it (port 25 by default); AUTH happens when the URL carries
credentials. The engine calls `send` from a worker thread, so the asyncio client runs on an event
loop owned by the adapter, in a background thread reused across calls.

Outcomes: the relay accepted the message (250 after DATA) -> DELIVERED, i.e. handed to the relay;
the recipient refused with 5xx -> BOUNCED; the message refused as a whole with 5xx (MAIL FROM, DATA,
SMTPUTF8 unsupported, an address that cannot be sent) -> REJECTED; 4xx -> retried with backoff within
the attempt, then DEFERRED_EXPIRED; the relay unreachable (connect, TLS, AUTH, disconnect) -> retried,
then FAILED. Bounces that arrive later as delivery status notifications can be fed to `bounce()`.
Whatever else goes wrong with one message (it cannot be composed or encoded; the library raises) is
that message's outcome, with the reason: REJECTED when it fails before anything was sent, FAILED
(the connection dropped, not retried) when the library fails mid-transaction. It never aborts the batch.

Header values are one line. Text that goes into a header (the subject, display names, the values of
a template's headers) has each run of line breaks and other control characters turned into one
space: a newline in a customer's name is dirty data, and the message goes with the name cleaned,
never with a header of the recipient's making (`Bcc:`). An address with a control character or white
space is no address: that message is REJECTED with the reason, and nothing is sent for it.
Copy recipients (Outgoing.cc) get the same message in the same transaction, best effort: the outcome
is the main recipient's, a copy recipient's refusal changes nothing, and a try repeated for the main
recipient alone (after a 4xx) does not copy the message again to those who took it.

Idempotency. SMTP has none: a relay accepts the same message twice and delivers it twice, and the
250 after DATA can be lost with the connection (the relay has the message; we do not know it). So
no SMTP client can send at most once; this adapter sends at least once and makes repeats
recognisable instead: the Message-ID is derived from the contact id (`<contact_id@domain>`), so a
dispatch handed over again after a crash, or retried after a lost 250, is the same message with the
same Message-ID. Mailbox providers that collapse duplicate Message-IDs show it once, a recipient's
client threads it as one, and a later bounce names the contact. Keeping a re-handed dispatch from
reaching SMTP at all is the engine's dispatch log's job (it records before it hands over).
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import re
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from reachout.channels import Outgoing, Receipt, Report, described
from reachout.domain.template import one_line


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"an SMTP relay is smtp://[user:password@]host[:port] or smtps://...: {url!r}")
        implicit_tls = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if implicit_tls else 25), implicit_tls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else None)


# What one try of one message came to: a final outcome, or a reason to try again and the outcome
# to give if no try is left.
@dataclass(frozen=True)
class _Try:
    outcome: str
    again: bool = False
    drop_connection: bool = False
    copied: bool = False  # the copy recipients took the message: a repeat goes to the main recipient alone
    reason: str | None = None


class EmailChannel:
    needs_content = True

    def __init__(self, url: str, *, report: Report | None = None, rate: float = 50.0, connections: int = 4,
                 tries: int = 3, backoff: float = 1.0, timeout: float = 30.0,
                 tls_context: ssl.SSLContext | None = None, message_id_domain: str = "reachout"):
        """`rate` is what the engine budgets (messages per second); `connections` are opened per batch
        and reused for all of its messages; a 4xx or unreachable relay gets `tries` tries in all,
        `backoff`, 2*`backoff`, ... seconds apart; `tls_context` replaces the system's trust store."""
        self.config = SmtpConfig.from_url(url)
        self.report = report
        self.rate = rate
        self.connections = max(1, connections)
        self.tries = max(1, tries)
        self.backoff = backoff
        self.timeout = timeout
        self.tls_context = tls_context
        self.message_id_domain = message_id_domain
        self._local_hostname: str | None = None  # for EHLO; looked up once, not per connection
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="reachout-smtp", daemon=True)
        self._thread.start()

    def send(self, messages: list[Outgoing], now: datetime) -> list[Receipt]:
        if not messages:
            return []
        outcomes = asyncio.run_coroutine_threadsafe(self._send_batch(messages, now), self._loop).result()
        return [Receipt(outcome, now, reason) for outcome, reason in outcomes]

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    def __enter__(self) -> EmailChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def message_id(self, contact_id: str) -> str:
        return f"<{contact_id}@{self.message_id_domain}>"

    def compose(self, message: Outgoing, now: datetime) -> Message:
        """The MIME message: text/plain, text/html, or multipart/alternative of both.
        Raises ValueError for what cannot be sent: no content, an address that is none."""
        if message.sender is None or (message.text is None and message.html is None):
            raise ValueError("the email channel needs rendered content: a sender and a text or HTML body")
        for address in (message.sender, message.endpoint, *(cc for cc, _ in message.cc)):
            if not _ADDRESS.fullmatch(address):
                raise ValueError(f"not an email address: {address!r}")
        # The email.mime classes rather than EmailMessage: they cost a quarter as much, as they do not
        # parse back every header they are given. Bodies are UTF-8 quoted-printable, which keeps
        # lines short whatever the template did.
        parts = [MIMEText(body, kind, _UTF8_QP)  # type: ignore[arg-type]  # a Charset does too
                 for body, kind in ((message.text, "plain"), (message.html, "html")) if body is not None]
        if len(parts) == 1:
            mime: Message = parts[0]
        else:
            # A boundary of our own instead of a random one, so that a message sent again is the same
            # bytes. It is a hash of the content it separates, so that content cannot contain it.
            digest = hashlib.sha256(f"{message.contact_id}\0{message.text}\0{message.html}".encode()).hexdigest()
            mime = MIMEMultipart("alternative", boundary=f"=_reachout_{digest[:40]}")
            for part in parts:
                del part["MIME-Version"]  # the message has it; a part needs none
                mime.attach(part)
        mime["From"] = formataddr((one_line(message.sender_name or ""), message.sender), charset="utf-8")
        mime["To"] = message.endpoint
        if message.cc:
            mime["Cc"] = ", ".join(formataddr((one_line(name), address), charset="utf-8")
                                   for address, name in message.cc)
        if message.subject is not None:
            mime["Subject"] = _header(one_line(message.subject))
        mime["Date"] = format_datetime(now.astimezone(timezone.utc))
        mime["Message-ID"] = self.message_id(message.contact_id)
        for name, value in message.headers:
            # A template's headers (List-Unsubscribe, Reply-To, ...) add to the message; they cannot
            # replace what makes it this message or its structure, nor inject lines of their own.
            if name.lower() in _OWN_HEADERS or not _HEADER_NAME.fullmatch(name):
                continue
            mime[name] = _header(one_line(value))
        return mime

    def bounce(self, raw: bytes, at: datetime) -> str | None:
        """Feeds a delivery status notification received later (from the bounce mailbox): reports
        BOUNCED for the contact it names and returns the contact id, or None if it is not a final
        failure of one of our messages. Whether a late bounce overrides DELIVERED is the engine's call."""
        contact_id = parse_bounce(raw, self.message_id_domain)
        if contact_id is not None and self.report is not None:
            self.report(contact_id, "BOUNCED", at)
        return contact_id

    # --- on the adapter's event loop ------------------------------------------------------------

    async def _send_batch(self, messages: list[Outgoing], now: datetime) -> list[tuple[str, str | None]]:
        outcomes: list[tuple[str, str | None]] = [("REJECTED", None)] * len(messages)  # (outcome, reason)
        mimes: dict[int, Message] = {}
        envelopes: dict[int, list[str]] = {}  # recipients of the next try, the main one first
        for index, message in enumerate(messages):
            try:
                mimes[index] = self.compose(message, now)
            except Exception as error:  # noqa: BLE001  # this message's outcome, whatever it was
                outcomes[index] = ("REJECTED", f"the message could not be composed: {described(error)}")
                continue
            envelopes[index] = [message.endpoint, *(address for address, _ in message.cc)]
        pool: list[aiosmtplib.SMTP] = []  # open connections, reused by every round of this batch
        todo = sorted(mimes)
        try:
            for round_ in range(self.tries):
                if round_:
                    await asyncio.sleep(self.backoff * 2 ** (round_ - 1))
                queue: deque[int] = deque(todo)
                again: list[int] = []
                workers = [self._worker(queue, mimes, envelopes, outcomes, again, pool)
                           for _ in range(min(self.connections, len(todo)))]
                await asyncio.gather(*workers)
                for index in queue:  # left over: no connection could be opened for them this round
                    outcomes[index] = ("FAILED", "the SMTP relay could not be reached")
                    again.append(index)
                todo = sorted(again)
                if not todo:
                    break
        finally:
            await asyncio.gather(*(_quit(smtp) for smtp in pool))
        return outcomes

    async def _worker(self, queue: deque[int], mimes: dict[int, Message], envelopes: dict[int, list[str]],
                      outcomes: list[tuple[str, str | None]], again: list[int], pool: list[aiosmtplib.SMTP]) -> None:
        smtp = pool.pop() if pool else None
        while queue:
            index = queue.popleft()
            if smtp is None:
                try:
                    smtp = await self._connect()
                except (aiosmtplib.SMTPException, OSError):
                    # The relay is unreachable or refuses us: leave the rest of the round to the
                    # workers that have a connection, or to the next round.
                    outcomes[index] = ("FAILED", "the SMTP relay could not be reached")
                    again.append(index)
                    return
            attempt = await self._try(smtp, mimes[index], envelopes[index])
            outcomes[index] = (attempt.outcome, attempt.reason)
            if attempt.copied:
                envelopes[index] = envelopes[index][:1]
            if attempt.again:
                again.append(index)
            if attempt.drop_connection:
                smtp.close()
                smtp = None
        if smtp is not None:
            pool.append(smtp)

    async def _connect(self) -> aiosmtplib.SMTP:
        config = self.config
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        smtp = aiosmtplib.SMTP(
            hostname=config.hostname, port=config.port, username=config.username, password=config.password,
            use_tls=config.implicit_tls, start_tls=False if config.implicit_tls else None,  # None: when offered
            tls_context=self.tls_context, timeout=self.timeout, local_hostname=self._local_hostname)
        await smtp.connect()
        return smtp

    async def _try(self, smtp: aiosmtplib.SMTP, mime: Message, recipients: list[str]) -> _Try:
        main = recipients[0]
        try:
            refused, _ = await smtp.send_message(mime, recipients=recipients)
            if main not in refused:
                return _Try("DELIVERED")
            # A copy recipient took it, the main one did not.
            code = refused[main].code
            return _Try("BOUNCED") if code >= 500 else _Try("DEFERRED_EXPIRED", again=True, copied=True)
        except aiosmtplib.SMTPRecipientsRefused as error:
            code = next(r.code for r in error.recipients if r.recipient == main)
            return _Try("BOUNCED") if code >= 500 else _Try("DEFERRED_EXPIRED", again=True)
        except (aiosmtplib.SMTPNotSupported, ValueError) as error:
            # e.g. a non-ASCII address and no SMTPUTF8: no relay of ours can send it
            return _Try("REJECTED", reason=f"the message cannot be sent: {described(error)}")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
            # Possibly after the relay took the message: sending again is the at-least-once side.
            return _Try("FAILED", again=True, drop_connection=True)
        except aiosmtplib.SMTPResponseException as error:  # MAIL FROM or DATA refused
            if error.code >= 500:
                return _Try("REJECTED")
            # 421 means the relay is closing this connection.
            return _Try("DEFERRED_EXPIRED", again=True, drop_connection=error.code == 421)
        except Exception as error:  # noqa: BLE001
            # Anything else the library raises for this message (it could not flatten it, ...): its
            # outcome, never the batch's. Where the transaction stopped is unknown: the connection goes.
            return _Try("FAILED", drop_connection=True, reason=f"the message could not be handed over: "
                                                               f"{described(error)}")


# local@domain with nothing that would break the envelope or the header (no space, control character,
# brackets, commas...)
_ADDRESS = re.compile(r'[^@\s\x00-\x1f\x7f<>()\[\],;:"\\]+@[^@\s\x00-\x1f\x7f<>()\[\],;:"\\]+')
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_OWN_HEADERS = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "content-type",
                "content-transfer-encoding"}
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without the colon (RFC 5322)


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()


def parse_bounce(raw: bytes, message_id_domain: str = "reachout") -> str | None:
    """The contact id of a delivery status notification (RFC 3464) that reports a final failure
    (Action: failed) of a message we sent, found by the Message-ID of the returned message or headers."""
    report = email.message_from_bytes(raw, policy=email.policy.default)
    if report.get_content_type() != "multipart/report":
        return None
    failed, contact_id = False, None
    pattern = re.compile(rf"<([^<>@\s]+)@{re.escape(message_id_domain)}>")
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            # Its payload is a list of header blocks: the per-message one, then one per recipient.
            for block in part.get_payload():
                if isinstance(block, Message) and str(block.get("Action", "")).strip().lower() == "failed":
                    failed = True
        elif kind in ("message/rfc822", "text/rfc822-headers") and contact_id is None:
            payload = part.get_payload()
            original = payload[0] if isinstance(payload, list) else email.message_from_string(str(payload))
            found = pattern.search(str(original.get("Message-ID", ""))) if isinstance(original, Message) else None
            contact_id = found.group(1) if found else None
    return contact_id if failed else None

"""The SMPP adapter against a real SMS centre: smpp34's server on a free port of 127.0.0.1."""
from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import smpp34
# smpp34 re-exports these at run time only; its stubs declare them here.
from smpp34._smpp34 import (ESME_RINVDSTADR, ESME_RSYSERR, ESME_RTHROTTLED, TLV_MESSAGE_STATE,
                            TLV_RECEIPTED_MESSAGE_ID)

from reachout.channels import Outgoing
from reachout.channels.sms import (GSM7, UCS2, EncodedSms, SmppConfig, SmsChannel, address, encode_sms,
                                   parse_receipt, relative_time)

NOW = dt.datetime(2025, 3, 4, 12, 30, tzinfo=dt.timezone.utc)
SENDER = "+15550100"


def free_port() -> int:
    # smpp34's server does not tell which port it got for port 0: take one the system just handed out.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
        self.port = port or free_port()
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


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW + dt.timedelta(minutes=1)


def sms(contact_id: str, endpoint: str, text: str = "Your code is 1234") -> Outgoing:
    return Outgoing(contact_id, contact_id, "campaign-1", "sms", endpoint, 1, text=text, origination_number=SENDER)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def smsc() -> Iterator[LocalSmsc]:
    centre = LocalSmsc()
    yield centre
    centre.stop()


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def channel(smsc: LocalSmsc, reports: Reports) -> Iterator[SmsChannel]:
    with SmsChannel(f"smpp://reachout:secret@127.0.0.1:{smsc.port}", reports, rate=1000, backoff=0.01,
                    response_timeout=5.0, clock=FixedClock()) as adapter:
        yield adapter


# --- encoding, addresses, receipts: no SMS centre needed -----------------------------------------

def test_gsm7_when_every_character_has_a_code() -> None:
    encoded = encode_sms("@£$ Hi {x} €5 §", reference=1)
    assert encoded.data_coding == GSM7 and encoded.esm_class == 0
    # { } and € take an escape each; § is 0x5F in the default alphabet.
    assert encoded.parts == [b"\x00\x01\x02\x20Hi\x20\x1b\x28x\x1b\x29\x20\x1b\x655\x20\x5f"]


def test_gsm7_split_at_153_without_cutting_an_escape() -> None:
    assert len(encode_sms("a" * 160, 7).parts) == 1
    encoded = encode_sms("a" * 152 + "€" + "b" * 10, reference=7)  # € would straddle 152/153
    assert encoded.esm_class == 0x40
    first, second = encoded.parts
    assert first == bytes([5, 0, 3, 7, 2, 1]) + b"a" * 152
    assert second == bytes([5, 0, 3, 7, 2, 2]) + b"\x1b\x65" + b"b" * 10


def test_ucs2_when_a_character_has_no_gsm_code() -> None:
    assert encode_sms("Привет", 1) == EncodedSms(UCS2, ["Привет".encode("utf-16-be")])
    assert len(encode_sms("ж" * 70, 1).parts) == 1
    parts = encode_sms("ж" * 66 + "😀" + "жжж", 9).parts  # the emoji's surrogate pair would straddle 67
    assert [len(p) for p in parts] == [6 + 132, 6 + 10]
    assert parts[1][6:].decode("utf-16-be") == "😀жжж"
    with pytest.raises(ValueError):
        encode_sms("ж" * 67 * 256, 1)


def test_addresses_and_validity() -> None:
    assert address("+4915112345678") == (1, 1, "4915112345678")
    assert address("12345") == (0, 1, "12345")
    assert address("ACME") == (5, 0, "ACME")
    assert relative_time(dt.timedelta(hours=24)) == "000001000000000R"
    assert relative_time(dt.timedelta(hours=49, minutes=5, seconds=7)) == "000002010507000R"
    assert SmppConfig.from_url("smpp://id:p%40ss@smsc.example") == SmppConfig("smsc.example", 2775, "id", "p@ss")
    with pytest.raises(ValueError):
        SmppConfig.from_url("smtp://smsc.example")


def test_receipt_parsing() -> None:
    text = b"id:0A1B2C sub:001 dlvrd:000 submit date:2503041230 done date:2503041231 stat:UNDELIV err:001 text:hi"
    assert parse_receipt(text) == ("0A1B2C", "SMS_UNDELIVERABLE")
    assert parse_receipt(text.replace(b"UNDELIV", b"ENROUTE")) == ("0A1B2C", None)  # not final yet
    assert parse_receipt(text, b"77", 2) == ("77", "SMS_DELIVERED")  # the TLVs win
    for stat, outcome in [("DELIVRD", "SMS_DELIVERED"), ("EXPIRED", "SMS_EXPIRED"), ("REJECTD", "REJECTED")]:
        assert parse_receipt(f"id:9 stat:{stat}".encode()) == ("9", outcome)
    assert parse_receipt(b"hello from a phone") is None


# --- against the SMS centre ----------------------------------------------------------------------

def test_submit_and_delivery_receipt(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    smsc.hold = True  # the receipt comes after send() returned
    [receipt] = channel.send([sms("c-1", "+4915112345678")], NOW)
    assert receipt == type(receipt)(None, NOW + dt.timedelta(hours=24))  # type: ignore[arg-type]
    smsc.release()
    assert reports.wait(1) == {"c-1": "SMS_DELIVERED"}
    assert reports.got[0][2] == FixedClock().now()  # when the receipt came, by the adapter's clock
    assert smsc.binds == ["reachout"]
    [submit] = smsc.submits
    assert submit["destination"] == "4915112345678" and submit["destination_ton"] == 1
    assert submit["source"] == "15550100" and submit["source_ton"] == 1
    assert submit["data_coding"] == GSM7 and submit["esm_class"] == 0 and submit["registered_delivery"] == 1
    assert submit["short_message"] == b"Your code is 1234"


def test_long_message_goes_in_concatenated_parts(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    text = "Reminder: " + "your appointment is tomorrow at 10:00. " * 9  # 361 characters
    smsc.hold = True
    [receipt] = channel.send([sms("c-1", "+4915112345678", text)], NOW)
    assert receipt.outcome is None
    parts = smsc.submits
    assert [p["esm_class"] for p in parts] == [0x40] * 3 and {p["data_coding"] for p in parts} == {GSM7}
    headers = [p["short_message"][:6] for p in parts]
    assert [h[:4] for h in headers] == [headers[0][:4]] * 3 and headers[0][:3] == b"\x05\x00\x03"
    assert [(h[4], h[5]) for h in headers] == [(3, 1), (3, 2), (3, 3)]
    assert b"".join(p["short_message"][6:] for p in parts).decode("ascii") == text
    smsc.release()
    assert reports.wait(1) == {"c-1": "SMS_DELIVERED"}  # once, when all three parts are
    time.sleep(0.1)
    assert len(reports.got) == 1


def test_unicode_message_in_ucs2(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    text = "Ваш код: 1234 ✓ " * 6  # 96 characters: two parts of UCS-2
    channel.send([sms("c-1", "+79161234567", text)], NOW)
    wait_until(lambda: len(smsc.submits) == 2)
    assert {p["data_coding"] for p in smsc.submits} == {UCS2}
    assert b"".join(p["short_message"][6:] for p in smsc.submits).decode("utf-16-be") == text


def test_receipt_states_become_outcomes(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    smsc.stat.update({"4915100000002": "UNDELIV", "4915100000003": "EXPIRED", "4915100000004": "REJECTD",
                      "4915100000005": "UNDELIV"})
    smsc.hold = True
    long_text = "x" * 200  # two parts, both UNDELIV: one report
    receipts = channel.send([sms(f"c-{n}", f"+491510000000{n}", long_text if n == 5 else "hi")
                             for n in range(1, 6)], NOW)
    assert [r.outcome for r in receipts] == [None] * 5
    smsc.release()
    assert reports.wait(5) == {"c-1": "SMS_DELIVERED", "c-2": "SMS_UNDELIVERABLE", "c-3": "SMS_EXPIRED",
                               "c-4": "REJECTED", "c-5": "SMS_UNDELIVERABLE"}
    time.sleep(0.1)
    assert len(reports.got) == 5


def test_receipt_tlvs(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    smsc.tlvs = True
    smsc.stat["4915100000002"] = "EXPIRED"
    smsc.hold = True
    channel.send([sms("c-1", "+4915100000001"), sms("c-2", "+4915100000002")], NOW)
    smsc.release()
    assert reports.wait(2) == {"c-1": "SMS_DELIVERED", "c-2": "SMS_EXPIRED"}


def test_refused_submit_is_rejected_at_once(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    smsc.refuse["4915100000002"] = [ESME_RINVDSTADR]
    smsc.refuse["4915100000003"] = [ESME_RTHROTTLED, 0]  # throttled once, then accepted
    smsc.hold = True
    receipts = channel.send([sms(f"c-{n}", f"+491510000000{n}") for n in (1, 2, 3)], NOW)
    assert [r.outcome for r in receipts] == [None, "REJECTED", None]
    assert receipts[1].outcome_at == NOW
    assert [s["destination"][-1] for s in smsc.submits] == ["1", "2", "3", "3"]
    smsc.release()
    assert reports.wait(2) == {"c-1": "SMS_DELIVERED", "c-3": "SMS_DELIVERED"}


def test_a_part_refused_rejects_the_whole_message(smsc: LocalSmsc, channel: SmsChannel,
                                                  reports: Reports) -> None:
    smsc.refuse["4915100000001"] = [0, ESME_RSYSERR]  # the first part passes, the second not
    [receipt] = channel.send([sms("c-1", "+4915100000001", "y" * 200)], NOW)
    assert receipt.outcome == "REJECTED"
    time.sleep(0.2)  # the first part's receipt comes, and must not become a second outcome
    assert reports.got == []


def test_persistent_throttling_is_rejected_after_the_tries(smsc: LocalSmsc, channel: SmsChannel) -> None:
    smsc.refuse["4915100000001"] = [ESME_RTHROTTLED]
    [receipt] = channel.send([sms("c-1", "+4915100000001")], NOW)
    assert receipt.outcome == "REJECTED" and len(smsc.submits) == 3


def test_receipt_before_the_submit_response(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    smsc.receipt_first = True
    smsc.stat["4915100000002"] = "UNDELIV"
    receipts = channel.send([sms("c-1", "+4915100000001"), sms("c-2", "+4915100000002")], NOW)
    # Known before send() returned: returned, not reported.
    assert [(r.outcome, r.outcome_at) for r in receipts] == [("SMS_DELIVERED", FixedClock().now()),
                                                             ("SMS_UNDELIVERABLE", FixedClock().now())]
    time.sleep(0.1)
    assert reports.got == []


def test_submits_are_paced(smsc: LocalSmsc, reports: Reports) -> None:
    with SmsChannel(f"smpp://reachout:secret@127.0.0.1:{smsc.port}", reports, rate=40, window=3) as paced:
        started = time.monotonic()
        paced.send([sms(f"c-{n}", f"+4915100000{n:03}") for n in range(21)], NOW)
        elapsed = time.monotonic() - started
    assert len(smsc.submits) == 21
    # Evenly spaced at 1/40 s, 21 submits have 20 gaps: at least half a second (a busy machine only adds).
    assert elapsed >= 20 / 40


def test_unbind_on_close_and_bind_again_after(smsc: LocalSmsc, reports: Reports) -> None:
    url = f"smpp://reachout:secret@127.0.0.1:{smsc.port}"
    adapter = SmsChannel(url, reports, rate=1000, response_timeout=2.0, tries=1)
    adapter.send([sms("c-1", "+4915100000001")], NOW)
    adapter.close()
    wait_until(lambda: smsc.unbinds == 1)
    # A send after close binds again.
    adapter.send([sms("c-2", "+4915100000001")], NOW)
    assert smsc.binds == ["reachout", "reachout"]
    adapter.close()


def test_rebind_after_the_sms_centre_unbinds(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    [first] = channel.send([sms("c-1", "+4915100000001")], NOW)
    if first.outcome is None:  # its receipt may come before or after send() returns
        reports.wait(1)
    reported = len(reports.got)
    smsc.unbind_all()
    wait_until(lambda: smsc.unbinds == 1)
    smsc.hold = True
    [receipt] = channel.send([sms("c-2", "+4915100000001")], NOW)
    assert receipt.outcome is None and smsc.binds == ["reachout", "reachout"]
    smsc.release()
    reports.wait(reported + 1)
    assert reports.got[-1][:2] == ("c-2", "SMS_DELIVERED")


def test_unanswered_submit_fails(smsc: LocalSmsc, reports: Reports) -> None:
    smsc.silent.add("4915100000002")
    with SmsChannel(f"smpp://reachout:secret@127.0.0.1:{smsc.port}", reports, rate=1000,
                    response_timeout=0.3) as adapter:
        smsc.hold = True
        receipts = adapter.send([sms("c-1", "+4915100000001"), sms("c-2", "+4915100000002")], NOW)
        # Did the SMS centre take it? Nobody knows: FAILED, not REJECTED.
        assert [r.outcome for r in receipts] == [None, "FAILED"]
        smsc.release()
        assert reports.wait(1) == {"c-1": "SMS_DELIVERED"}


def test_unreachable_sms_centre_fails(reports: Reports) -> None:
    with SmsChannel(f"smpp://reachout:secret@127.0.0.1:{free_port()}", reports, tries=2, backoff=0.01) as adapter:
        receipts = adapter.send([sms("c-1", "+4915100000001"), sms("c-2", "+4915100000002")], NOW)
    assert [r.outcome for r in receipts] == ["FAILED", "FAILED"]

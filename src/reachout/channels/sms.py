"""SMS over SMPP 3.4 (smpplib): one transceiver bind to an SMS centre, `smpp://system_id:password@host:port`.

Each message goes out as one submit_sm, or as several with a concatenation header (UDH) when it is
long, in GSM 7-bit (data_coding 0) when every character has a GSM 03.38 code, else in UCS-2 (data
coding 8). At most `rate` submits a second leave, evenly spaced, and at most `window` wait for their
submit_sm_resp at once. Every submit asks for a delivery receipt; a reader thread takes the
receipts (deliver_sm with the receipt esm_class) and hands the outcome to `report`.

`send` returns, per message: REJECTED when the SMS centre refused a part (submit_sm_resp with an error
status; throttling and a full queue are first retried with backoff), FAILED when the answer never came
or the bind was lost meanwhile (the SMS centre may or may not have the message), and otherwise
"reported later" (outcome None, by now + `receipt_deadline`). A message that cannot be encoded or
made into a submit_sm (no text, too long, an address the library cannot encode) is REJECTED with the
reason, alone: the rest of the batch goes. A long message is delivered when every
part is; the first part that fails decides otherwise. A receipt that beats `send` is returned by it.

Idempotency: like SMTP, SMPP has none: a submit_sm repeated after a lost submit_sm_resp is a second
SMS. This adapter sends at least once; not handing a dispatch over twice is the engine's log's job.
The message_id -> contact map lives in memory: receipts for messages submitted before a restart find
no contact and are dropped, and those contacts reach their receipt deadline instead.
"""
from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

import smpplib.client
import smpplib.command
import smpplib.consts as smpp
import smpplib.exceptions
import smpplib.smpp

from reachout.channels import Outgoing, Receipt, Report, described
from reachout.clock import Clock, SystemClock

log = logging.getLogger(__name__)

# --- encoding ------------------------------------------------------------------------------------

# GSM 03.38 default alphabet, by code (0x1B is the escape to the extension table, not a character).
_GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
               "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7 = {char: bytes([code]) for code, char in enumerate(_GSM7_BASIC) if char != "\x1b"}
_GSM7.update({char: bytes([0x1B, code]) for char, code in
              {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
               "|": 0x40, "€": 0x65}.items()})

GSM7, UCS2 = 0x00, 0x08  # data_coding
_UDHI = 0x40  # esm_class bit: the short_message starts with a user data header
# (bytes in a single message, bytes of text per part of a concatenated one): unpacked septets for GSM
# 7-bit (160, and 153 after the 6-octet UDH, which takes 7 septets), octets for UCS-2 (140, 134).
_LIMITS = {GSM7: (160, 153), UCS2: (140, 134)}


@dataclass(frozen=True)
class EncodedSms:
    data_coding: int
    parts: list[bytes]  # short_message of each submit_sm, with its UDH when there are several

    @property
    def esm_class(self) -> int:
        return _UDHI if len(self.parts) > 1 else 0


def encode_sms(text: str, reference: int) -> EncodedSms:
    """Chooses the coding and splits into parts without cutting a character (a GSM escape pair or
    a UTF-16 surrogate pair stays whole). `reference` tells this message's parts from another's."""
    units: list[bytes] = []
    for char in text:
        code = _GSM7.get(char)
        if code is None:
            data_coding = UCS2
            units = [char.encode("utf-16-be") for char in text]
            break
        units.append(code)
    else:
        data_coding = GSM7
    single, per_part = _LIMITS[data_coding]
    if sum(map(len, units)) <= single:
        return EncodedSms(data_coding, [b"".join(units)])
    chunks, chunk = [], b""
    for unit in units:
        if len(chunk) + len(unit) > per_part:
            chunks.append(chunk)
            chunk = b""
        chunk += unit
    chunks.append(chunk)
    if len(chunks) > 255:
        raise ValueError(f"an SMS of {len(chunks)} parts: concatenation allows 255")
    # UDH: information element 0x00 (concatenated, 8-bit reference) of 3 octets: reference, total, number.
    return EncodedSms(data_coding, [bytes([0x05, 0x00, 0x03, reference & 0xFF, len(chunks), number]) + chunk
                                    for number, chunk in enumerate(chunks, start=1)])


def address(number: str) -> tuple[int, int, str]:
    """(TON, NPI, digits) of an address: +E.164 is international, digits alone unknown, letters alphanumeric."""
    if number.startswith("+") and number[1:].isdigit():
        return smpp.SMPP_TON_INTL, smpp.SMPP_NPI_ISDN, number[1:]
    if number.isdigit():
        return smpp.SMPP_TON_UNK, smpp.SMPP_NPI_ISDN, number
    return smpp.SMPP_TON_ALNUM, smpp.SMPP_NPI_UNK, number


# --- delivery receipts ---------------------------------------------------------------------------

# Receipt text `id:... sub:... dlvrd:... submit date:... done date:... stat:DELIVRD err:... text:...`
_RECEIPT_ID = re.compile(rb"\bid:(\S+)", re.IGNORECASE)
_RECEIPT_STAT = re.compile(rb"\bstat:(\w+)", re.IGNORECASE)
# stat -> outcome; ENROUTE and ACCEPTD are not final and are absent on purpose
RECEIPT_STATES = {"DELIVRD": "SMS_DELIVERED", "UNDELIV": "SMS_UNDELIVERABLE", "EXPIRED": "SMS_EXPIRED",
                  "REJECTD": "REJECTED", "DELETED": "SMS_UNDELIVERABLE", "UNKNOWN": "FAILED"}
# the message_state TLV's values, the same states
MESSAGE_STATES = {2: "SMS_DELIVERED", 3: "SMS_EXPIRED", 4: "SMS_UNDELIVERABLE", 5: "SMS_UNDELIVERABLE",
                  7: "FAILED", 8: "REJECTED"}


def parse_receipt(short_message: bytes, receipted_message_id: bytes | None = None,
                  message_state: int | None = None) -> tuple[str, str | None] | None:
    """(message id, outcome, or None while not final) of a delivery receipt; the TLVs, when the SMS
    centre sends them, win over the text. None when it names no message."""
    found = _RECEIPT_ID.search(short_message)
    message_id = receipted_message_id or (found.group(1) if found else None)
    if not message_id:
        return None
    if message_state is not None:
        outcome = MESSAGE_STATES.get(message_state)
    else:
        stat = _RECEIPT_STAT.search(short_message)
        outcome = RECEIPT_STATES.get(stat.group(1).decode("ascii", "replace").upper()) if stat else None
    return message_id.decode("ascii", "replace").strip(), outcome


# --- the adapter ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> SmppConfig:
        parts = urlsplit(url)
        if parts.scheme != "smpp" or not parts.hostname:
            raise ValueError(f"an SMS centre is smpp://system_id:password@host[:port]: {url!r}")
        return cls(parts.hostname, parts.port or 2775, unquote(parts.username or ""), unquote(parts.password or ""))


_LOST = -1  # the bind was lost before the submit_sm_resp came: the SMS centre may have the message
_UNSENT = -2  # no bind could be made: it never left
_UNENCODABLE = -3  # no submit_sm could be made of it: it never left
_SMSC_RECEIPT = 0x04  # esm_class message type (bits 5-2) of an SMS centre delivery receipt
_TRANSIENT = {smpp.SMPP_ESME_RTHROTTLED, smpp.SMPP_ESME_RMSGQFUL}  # refusals worth a retry


@dataclass(eq=False)
class _Tracked:
    """One message (one contact) from its first submit until its outcome is given."""
    contact_id: str
    parts: int
    expires: float  # time.monotonic() after which no receipt is waited for
    message_ids: list[str] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    outcome: tuple[str, datetime] | None = None  # the final outcome, once known
    handed_over: bool = False  # `send` returned "reported later": the outcome goes to report()
    closed: bool = False  # the outcome was given: later receipts are ignored

    def receipt(self, message_id: str, outcome: str, at: datetime, reports: list[tuple[str, str, datetime]]) -> None:
        """Takes one part's final receipt; adds the outcome to `reports` if it is now to be reported."""
        if self.closed or self.outcome is not None:
            return
        if outcome == "SMS_DELIVERED":
            self.delivered.add(message_id)  # a set: a receipt sent twice counts once
            if len(self.delivered) < self.parts:
                return
        self.outcome = (outcome, at)
        if self.handed_over:
            self.closed = True
            reports.append((self.contact_id, outcome, at))


@dataclass(eq=False)
class _Bind:
    """One transceiver bind: its connection and the submits awaiting their submit_sm_resp on it."""
    client: smpplib.client.Client
    pending: dict[int, _Submit] = field(default_factory=dict)  # sequence number -> submit
    reader: threading.Thread | None = None


@dataclass(eq=False)
class _Submit:
    """One submit_sm (one part), and its submit_sm_resp when it comes."""
    tracked: _Tracked
    message: Outgoing
    short_message: bytes
    data_coding: int
    esm_class: int
    bind: _Bind | None = None
    sequence: int = 0
    status: int | None = None  # command_status of the submit_sm_resp, _LOST, _UNSENT; None while waited for
    sent_at: float = 0.0
    error: str | None = None  # why no submit_sm could be made (status _UNENCODABLE)


class SmsChannel:
    needs_content = True

    def __init__(self, url: str, report: Report, *, rate: float = 50.0, window: int = 10,
                 receipt_deadline: timedelta = timedelta(hours=24), response_timeout: float = 10.0,
                 tries: int = 3, backoff: float = 1.0, enquire_link_every: float = 30.0,
                 system_type: str = "", clock: Clock | None = None):
        """`rate`: submits a second (a long message takes one per part); `window`: submits awaiting
        their response at once; `receipt_deadline`: how long a receipt is waited for, also sent as
        the messages' validity period so that the SMS centre gives up then too; a throttled or
        queue-full refusal gets `tries` tries in all, `backoff`, 2*`backoff`, ... seconds apart.
        `report` is called from the reader thread."""
        self.config = SmppConfig.from_url(url)
        self.report = report
        self.rate = rate
        self.window = max(1, window)
        self.receipt_deadline = receipt_deadline
        self.response_timeout = response_timeout
        self.tries = max(1, tries)
        self.backoff = backoff
        self.enquire_link_every = enquire_link_every
        self.system_type = system_type
        self.clock: Clock = clock or SystemClock()
        self._batch = threading.Lock()  # one send() at a time: the pace and the window are per bind
        self._write = threading.Lock()  # sequence numbers and writes to the socket
        self._state = threading.Condition()  # guards what follows, shared with the reader threads
        self._bind: _Bind | None = None
        self._by_message_id: OrderedDict[str, _Tracked] = OrderedDict()
        # Receipts can arrive before the submit_sm_resp that tells us their message id.
        self._early: OrderedDict[str, tuple[str | None, datetime, float]] = OrderedDict()
        self._next_slot = 0.0
        self._reference = 0

    # --- the engine's side ---------------------------------------------------------------------

    def send(self, messages: list[Outgoing], now: datetime) -> list[Receipt]:
        with self._batch:
            self._forget_expired()
            receipts: list[Receipt | None] = [None] * len(messages)
            by_message: list[list[_Submit]] = []
            for index, message in enumerate(messages):
                self._reference = (self._reference + 1) % 256
                try:
                    if message.text is None or message.origination_number is None:
                        raise ValueError("the SMS channel needs rendered content: a text and an origination number")
                    encoded = encode_sms(message.text, self._reference)
                except Exception as error:  # noqa: BLE001  # e.g. too long to send at all: this message's outcome
                    receipts[index] = Receipt("REJECTED", now, f"the SMS could not be encoded: {described(error)}")
                    by_message.append([])
                    continue
                tracked = _Tracked(message.contact_id, len(encoded.parts),
                                   time.monotonic() + self.receipt_deadline.total_seconds())
                by_message.append([_Submit(tracked, message, part, encoded.data_coding, encoded.esm_class)
                                   for part in encoded.parts])
            todo = [submit for submits in by_message for submit in submits]
            for round_ in range(self.tries):
                if round_:
                    time.sleep(self.backoff * 2 ** (round_ - 1))
                for position, submit in enumerate(todo):
                    if not self._submit(submit):  # no bind: the rest of this round would fare no better
                        for rest in todo[position:]:
                            rest.status = _UNSENT
                        break
                self._await(todo)
                todo = [submit for submit in todo if submit.status in _TRANSIENT]
                if not todo:
                    break
            deadline = now + self.receipt_deadline
            with self._state:
                for index, submits in enumerate(by_message):
                    if submits:
                        receipts[index] = self._settle(submits, now, deadline)
            return [receipt or Receipt("FAILED", now) for receipt in receipts]

    def close(self) -> None:
        """Unbinds and stops the reader thread."""
        with self._batch:
            bind = self._bind
            if bind is None or bind.reader is None:
                return
            try:
                with self._write:
                    bind.client.send_pdu(smpplib.smpp.make_pdu("unbind", client=bind.client))
                bind.reader.join(2.0)  # the reader stops at the unbind_resp
            except smpplib.exceptions.ConnectionError:
                pass
            self._drop(bind)
            bind.reader.join()

    def __enter__(self) -> SmsChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- submitting (the caller's thread) -------------------------------------------------------

    def _bound(self) -> _Bind:
        """The current bind, or a new one with its reader thread."""
        with self._state:
            if self._bind is not None:
                return self._bind
        config = self.config
        client = smpplib.client.Client(config.host, config.port, timeout=self.enquire_link_every,
                                       allow_unknown_opt_params=True, logger_name=f"{__name__}.smpplib")
        client.connect()
        try:
            client.bind_transceiver(system_id=config.system_id, password=config.password,
                                    system_type=self.system_type)
        except (smpplib.exceptions.PDUError, smpplib.exceptions.ConnectionError):
            client.disconnect()
            raise
        bind = _Bind(client)
        bind.reader = threading.Thread(target=self._read, args=(bind,), name="reachout-smpp-reader", daemon=True)
        with self._state:
            self._bind = bind
        bind.reader.start()
        return bind

    def _submit(self, submit: _Submit) -> bool:
        """Sends one part; its answer comes to submit.status. False when no bind could be made."""
        submit.status = None
        try:
            bind = self._bound()
        except (smpplib.exceptions.PDUError, smpplib.exceptions.ConnectionError, OSError) as error:
            log.warning("SMPP bind to %s:%s failed: %s", self.config.host, self.config.port, error)
            return False
        with self._state:
            if not self._state.wait_for(lambda: len(bind.pending) < self.window, self.response_timeout):
                # Nothing answered for a whole response timeout: the bind is dead. Start afresh.
                log.warning("SMPP window stuck for %ss: dropping the bind", self.response_timeout)
                self._drop(bind)
                submit.status = _LOST
                return True
        self._pace()
        message = submit.message
        with self._write:
            try:
                source_ton, source_npi, source = address(message.origination_number or "")
                dest_ton, dest_npi, destination = address(message.endpoint)
                pdu = smpplib.smpp.make_pdu(
                    "submit_sm", client=bind.client, service_type=self.system_type,
                    source_addr_ton=source_ton, source_addr_npi=source_npi, source_addr=source,
                    dest_addr_ton=dest_ton, dest_addr_npi=dest_npi, destination_addr=destination,
                    esm_class=submit.esm_class, data_coding=submit.data_coding,
                    registered_delivery=smpp.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
                    validity_period=relative_time(self.receipt_deadline), short_message=submit.short_message)
                pdu.generate()  # encodes it now: what cannot be encoded fails here, for this message alone
            except Exception as error:  # noqa: BLE001
                submit.status, submit.error = _UNENCODABLE, f"no submit_sm could be made: {described(error)}"
                return True
            submit.bind, submit.sequence, submit.sent_at = bind, pdu.sequence, time.monotonic()
            with self._state:
                bind.pending[pdu.sequence] = submit  # before sending: the answer can come at once
            try:
                bind.client.send_pdu(pdu)
                return True
            except smpplib.exceptions.ConnectionError:
                pass
        with self._state:
            bind.pending.pop(submit.sequence, None)
            submit.status = _LOST
        self._drop(bind)
        return True

    def _pace(self) -> None:
        """At most `rate` submits a second, evenly spaced: no burst can exceed a carrier's limit."""
        now = time.monotonic()
        slot = max(self._next_slot, now)
        if slot > now:
            time.sleep(slot - now)
        self._next_slot = slot + 1.0 / self.rate

    def _await(self, submits: list[_Submit]) -> None:
        """Until every submit has its answer, or the response timeout after it was sent."""
        with self._state:
            for submit in submits:
                remaining = submit.sent_at + self.response_timeout - time.monotonic()
                # the predicate runs within this pass only: binding `submit` late is right
                self._state.wait_for(lambda: submit.status is not None, max(0.0, remaining))  # noqa: B023
                if submit.status is None and submit.bind is not None:  # a late answer finds nothing
                    submit.bind.pending.pop(submit.sequence, None)

    def _settle(self, submits: list[_Submit], now: datetime, deadline: datetime) -> Receipt:
        """One message's receipt from its parts' answers (under self._state)."""
        tracked = submits[0].tracked
        statuses = [submit.status for submit in submits]
        if all(status == smpp.SMPP_ESME_ROK for status in statuses):
            if tracked.outcome is not None:  # its receipts came already
                self._close(tracked)
                return Receipt(*tracked.outcome)
            tracked.handed_over = True
            return Receipt(None, deadline)  # type: ignore[arg-type]  # None: reported later
        self._close(tracked)
        error = next((submit.error for submit in submits if submit.error), None)
        if error is not None:
            return Receipt("REJECTED", now, error)
        if any(status not in (None, _LOST, _UNSENT, smpp.SMPP_ESME_ROK) for status in statuses):
            return Receipt("REJECTED", now)  # the SMS centre said no
        return Receipt("FAILED", now)  # unsent, or nobody knows whether the SMS centre has it

    # --- reading (a bind's reader thread) -------------------------------------------------------

    def _read(self, bind: _Bind) -> None:
        client = bind.client
        try:
            while True:
                try:
                    pdu = client.read_pdu()
                except socket.timeout:  # quiet for a while: check the bind is alive
                    with self._write:
                        client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
                    continue
                if pdu.command in ("submit_sm_resp", "generic_nack"):
                    self._answered(bind, pdu.sequence, pdu.status,
                                   pdu.message_id if pdu.command == "submit_sm_resp" else None)
                elif pdu.command == "deliver_sm":
                    self._delivered(pdu)
                    self._reply(client, "deliver_sm_resp", pdu.sequence)
                elif pdu.command == "enquire_link":
                    self._reply(client, "enquire_link_resp", pdu.sequence)
                elif pdu.command == "unbind":
                    self._reply(client, "unbind_resp", pdu.sequence)
                    return
                elif pdu.command == "unbind_resp":
                    return
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                smpplib.exceptions.UnknownCommandError, OSError) as error:
            log.info("SMPP bind to %s:%s ended: %r", self.config.host, self.config.port, error)
        finally:
            with self._state:
                if self._bind is bind:
                    self._bind = None
                for submit in bind.pending.values():
                    submit.status = _LOST
                bind.pending.clear()
                self._state.notify_all()
            client.state = smpp.SMPP_CLIENT_STATE_OPEN  # no longer bound: spares smpplib's warning
            client.disconnect()

    def _answered(self, bind: _Bind, sequence: int, status: int, message_id: bytes | None) -> None:
        reports: list[tuple[str, str, datetime]] = []
        with self._state:
            submit = bind.pending.pop(sequence, None)
            if submit is None:
                return
            submit.status = status
            if status == smpp.SMPP_ESME_ROK and message_id:
                key = message_id.decode("ascii", "replace").strip()
                tracked = submit.tracked
                tracked.message_ids.append(key)
                self._by_message_id[key] = tracked
                early = self._early.pop(key, None)
                if early is not None and early[0] is not None:
                    tracked.receipt(key, early[0], early[1], reports)
            self._state.notify_all()
        self._give(reports)

    def _delivered(self, pdu: smpplib.command.Command) -> None:
        if (pdu.esm_class or 0) & 0x3C != _SMSC_RECEIPT:
            return  # a message from a phone (MO), or an intermediate notification: not ours to handle
        parsed = parse_receipt(pdu.short_message or getattr(pdu, "message_payload", None) or b"",
                               getattr(pdu, "receipted_message_id", None), getattr(pdu, "message_state", None))
        if parsed is None:
            return
        message_id, outcome = parsed
        at = self.clock.now()
        reports: list[tuple[str, str, datetime]] = []
        with self._state:
            tracked = self._by_message_id.get(message_id)
            if tracked is None:
                self._early[message_id] = (outcome, at, time.monotonic())
                while self._early and (len(self._early) > 10_000 or
                                       next(iter(self._early.values()))[2] < time.monotonic() - 300):
                    self._early.popitem(last=False)
            elif outcome is not None:
                tracked.receipt(message_id, outcome, at, reports)
                if tracked.closed:
                    self._close(tracked)
        self._give(reports)

    def _give(self, reports: list[tuple[str, str, datetime]]) -> None:
        for contact_id, outcome, at in reports:
            try:
                self.report(contact_id, outcome, at)
            except Exception:  # the engine's trouble must not end the bind and its other receipts
                log.exception("reporting %s for contact %s failed", outcome, contact_id)

    # --- helpers --------------------------------------------------------------------------------

    def _reply(self, client: smpplib.client.Client, command: str, sequence: int) -> None:
        with self._write:
            client.send_pdu(smpplib.smpp.make_pdu(command, client=client, sequence=sequence))

    def _drop(self, bind: _Bind) -> None:
        """Ends a bind from any thread: its reader wakes up, marks what is pending as lost and closes it."""
        sock = getattr(bind.client, "_socket", None)  # smpplib has no public way to wake a blocked read
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._state:
            if self._bind is bind:
                self._bind = None

    def _close(self, tracked: _Tracked) -> None:
        """No more receipts for this message (under self._state)."""
        tracked.closed = True
        for message_id in tracked.message_ids:
            self._by_message_id.pop(message_id, None)

    def _forget_expired(self) -> None:
        """Drops messages whose receipt deadline passed: they were inserted roughly in deadline order."""
        now = time.monotonic()
        with self._state:
            while self._by_message_id:
                tracked = next(iter(self._by_message_id.values()))
                if tracked.expires > now:
                    break
                self._close(tracked)


def relative_time(delta: timedelta) -> str:
    """SMPP relative time `YYMMDDhhmmsstnnR`, in days, hours, minutes and seconds (at most 99 days)."""
    seconds = min(int(delta.total_seconds()), 99 * 86400 + 86399)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"0000{days:02}{hours:02}{minutes:02}{seconds:02}000R"

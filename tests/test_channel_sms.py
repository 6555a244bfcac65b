"""The SMPP adapter against a real SMS centre: smpp34's server on a free port of 127.0.0.1."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
# smpp34 re-exports these at run time only; its stubs declare them here.
from smpp34._smpp34 import (ESME_RINVDSTADR, ESME_RSYSERR, ESME_RTHROTTLED)

from reachout.channels.sms import (GSM7, UCS2, EncodedSms, SmppConfig, SmsChannel, address, encode_sms,
                                   parse_receipt, relative_time)
from tests.peers import NOW, LocalSmsc, Reports, sms
from tests.support import free_port, wait_for


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW + dt.timedelta(minutes=1)


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
    assert reports.before_barrier(channel, smsc) == ["c-1"]


def test_unicode_message_in_ucs2(smsc: LocalSmsc, channel: SmsChannel, reports: Reports) -> None:
    text = "Ваш код: 1234 ✓ " * 6  # 96 characters: two parts of UCS-2
    channel.send([sms("c-1", "+79161234567", text)], NOW)
    wait_for(lambda: len(smsc.submits) == 2, "both submits", timeout=10, interval=0.01)
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
    assert len(reports.before_barrier(channel, smsc)) == 5


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
    # The first part's receipt comes, and must not become a second outcome.
    assert reports.before_barrier(channel, smsc) == []


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
    assert reports.before_barrier(channel, smsc) == []


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
    wait_for(lambda: smsc.unbinds == 1, "the unbind", timeout=10, interval=0.01)
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
    wait_for(lambda: smsc.unbinds == 1, "the unbind", timeout=10, interval=0.01)
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

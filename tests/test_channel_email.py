"""The SMTP adapter against a real aiosmtpd server on an ephemeral port of 127.0.0.1."""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from reachout.channels import Outgoing
from reachout.channels.email import EmailChannel, SmtpConfig, parse_bounce
from tests.peers import NOW, LocalSmtpServer, Mailbox, dsn, rendered

USER, PASSWORD = "campaigns", "s3cret:/@"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key) PEM files."""
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography makes the test certificate")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reachout test relay")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def authenticator(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235 or 535


def test_url_forms() -> None:
    assert SmtpConfig.from_url("smtp://relay.example") == SmtpConfig("relay.example", 25, False, None, None)
    assert SmtpConfig.from_url("smtps://u%40x:p%3Aw@relay.example") == SmtpConfig(
        "relay.example", 465, True, "u@x", "p:w")
    assert SmtpConfig.from_url("smtp://u:p@127.0.0.1:2525").port == 2525
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://relay.example")


def test_message_content_headers_and_mime(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                          channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    message = rendered("7f1d2c3b-0000-4000-8000-000000000001", "ana@example.org",
                       subject="Café statement ✓", sender_name="Société Générale Billing",
                       text="Hello Ana,\nyour statement is ready: 12,50 €.", html="<p>12,50 &euro;</p>")

    [receipt] = channel.send([message], NOW)

    assert (receipt.outcome, receipt.outcome_at) == ("DELIVERED", NOW)
    got = mailbox.received[-1]
    assert got["mail_from"] == "billing@example.com" and got["rcpt_tos"] == ["ana@example.org"]
    parsed = mailbox.parsed(-1)
    assert parsed["Message-ID"] == "<7f1d2c3b-0000-4000-8000-000000000001@reachout>"
    assert parsed["From"].addresses[0].display_name == "Société Générale Billing"
    assert parsed["From"].addresses[0].addr_spec == "billing@example.com"
    assert parsed["To"] == "ana@example.org"
    assert parsed["Subject"] == "Café statement ✓"
    assert parsed["Date"].datetime == NOW
    assert parsed.get_content_type() == "multipart/alternative" and parsed["MIME-Version"] == "1.0"
    plain, html = parsed.iter_parts()
    # On the wire lines end in CRLF.
    assert plain.get_content_type() == "text/plain" and plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content() == "Hello Ana,\r\nyour statement is ready: 12,50 €."
    assert html.get_content_type() == "text/html" and html.get_content() == "<p>12,50 &euro;</p>"


def test_text_only_message_is_single_part(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                          channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    [receipt] = channel.send([rendered("c-1", "bo@example.org", html=None, subject=None, sender_name=None)], NOW)
    assert receipt.outcome == "DELIVERED"
    parsed = mailbox.parsed()
    assert parsed.get_content_type() == "text/plain" and "Subject" not in parsed
    assert parsed["MIME-Version"] == "1.0" and parsed.get_content_charset() == "utf-8"
    assert parsed["From"] == "billing@example.com"


def test_html_only_message_and_template_headers(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                                channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    headers = (("List-Unsubscribe", "<mailto:stop@example.com>"), ("X-Campaign", "Frühling"),
               ("Message-ID", "<forged@example.com>"), ("Bad Name", "x"), ("X-Inject", "a\r\nBcc: x@example.org"))
    [receipt] = channel.send([rendered("c-1", "ana@example.org", text=None, headers=headers)], NOW)
    assert receipt.outcome == "DELIVERED"
    parsed = mailbox.parsed()
    assert parsed.get_content_type() == "text/html"
    # SMTP ends the DATA on a line of its own: a single-part body gains that line end.
    assert parsed.get_content() == "<p>Hello Ana,<br>your statement is <b>ready</b>.</p>\r\n"
    assert parsed["List-Unsubscribe"] == "<mailto:stop@example.com>" and parsed["X-Campaign"] == "Frühling"
    # Headers that would make it another message, or smuggle in lines, stay out.
    assert parsed.get_all("Message-ID") == ["<c-1@reachout>"]
    assert "Bad Name" not in parsed and "Bcc" not in parsed and parsed["X-Inject"] == "a Bcc: x@example.org"


def test_a_resend_is_the_same_message(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                      channels: Callable[..., EmailChannel]) -> None:
    """A dispatch handed over again (after a crash) is sent again, as the same message: SMTP cannot
    refuse the repeat, but the Message-ID marks it as one."""
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    message = rendered("c-42", "ana@example.org")
    channel.send([message], NOW)
    channel.send([message], NOW)
    assert len(mailbox.received) == 2
    assert mailbox.received[0]["content"] == mailbox.received[1]["content"]  # byte for byte
    assert mailbox.parsed(0)["Message-ID"] == "<c-42@reachout>"


def test_batch_outcomes_in_order_over_reused_connections(
        mailbox: Mailbox, serve: Callable[..., LocalSmtpServer], channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}", connections=2)
    mailbox.rcpt_replies["gone@example.org"] = ["550 5.1.1 No such user"]
    mailbox.rcpt_replies["grey@example.org"] = ["451 4.7.1 Greylisted, try again", "250 OK"]
    mailbox.rcpt_replies["full@example.org"] = ["452 4.2.2 Mailbox full"]
    endpoints = ["a@example.org", "gone@example.org", "grey@example.org", "b@example.org", "full@example.org",
                 "not an address", "c@example.org"]

    receipts = channel.send([rendered(f"c-{i}", e) for i, e in enumerate(endpoints)], NOW)

    assert [r.outcome for r in receipts] == ["DELIVERED", "BOUNCED", "DELIVERED", "DELIVERED",
                                             "DEFERRED_EXPIRED", "REJECTED", "DELIVERED"]
    assert mailbox.rcpt_tries["gone@example.org"] == 1  # permanent: never tried again
    assert mailbox.rcpt_tries["grey@example.org"] == 2
    assert mailbox.rcpt_tries["full@example.org"] == 3  # the default tries
    assert sorted(r["rcpt_tos"][0] for r in mailbox.received) == [
        "a@example.org", "b@example.org", "c@example.org", "grey@example.org"]
    assert server.connections == 2  # one per worker, kept for the whole batch and its retries


def test_451_then_accepted_is_delivered_after_retry(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                                    channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    mailbox.rcpt_replies["ana@example.org"] = ["451 4.3.0 Try again later", "250 OK"]
    [receipt] = channel.send([rendered("c-1", "ana@example.org")], NOW)
    assert receipt.outcome == "DELIVERED"
    assert mailbox.rcpt_tries["ana@example.org"] == 2 and len(mailbox.received) == 1


def test_persistent_451_is_deferred_expired(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                            channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}", tries=4)
    mailbox.rcpt_replies["ana@example.org"] = ["451 4.3.0 Try again later"]
    [receipt] = channel.send([rendered("c-1", "ana@example.org")], NOW)
    assert receipt.outcome == "DEFERRED_EXPIRED"
    assert mailbox.rcpt_tries["ana@example.org"] == 4 and mailbox.received == []


def test_550_recipient_bounces(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                               channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    mailbox.rcpt_replies["nobody@example.org"] = ["550 5.1.1 User unknown"]
    [receipt] = channel.send([rendered("c-1", "nobody@example.org")], NOW)
    assert receipt.outcome == "BOUNCED" and mailbox.received == []


def test_copy_recipients_get_the_message_and_the_main_recipient_decides_the_outcome(
        mailbox: Mailbox, serve: Callable[..., LocalSmtpServer], channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    mailbox.rcpt_replies["grey@example.org"] = ["451 4.7.1 Greylisted, try again", "250 OK"]
    mailbox.rcpt_replies["gone@example.org"] = ["550 5.1.1 No such user"]
    mailbox.rcpt_replies["full@example.org"] = ["452 4.2.2 Mailbox full"]
    receipts = channel.send([
        rendered("c-1", "ana@example.org", cc=(("bob@example.org", "Bob Lind"), ("full@example.org", ""))),
        rendered("c-2", "gone@example.org", cc=(("bob@example.org", ""),)),
        rendered("c-3", "grey@example.org", cc=(("cy@example.org", ""),))], NOW)
    assert [r.outcome for r in receipts] == ["DELIVERED", "BOUNCED", "DELIVERED"]
    envelopes = [(m["rcpt_tos"], mailbox.parsed(i)["Message-ID"]) for i, m in enumerate(mailbox.received)]
    # A refused copy recipient changes nothing and is not tried again; the main recipient's refusal
    # bounces the contact though a copy went out; a greylisted main recipient gets the retry alone.
    assert sorted(envelopes) == sorted([
        (["ana@example.org", "bob@example.org"], "<c-1@reachout>"), (["bob@example.org"], "<c-2@reachout>"),
        (["cy@example.org"], "<c-3@reachout>"), (["grey@example.org"], "<c-3@reachout>")])
    assert mailbox.rcpt_tries["full@example.org"] == 1 and mailbox.rcpt_tries["cy@example.org"] == 1
    first = next(mailbox.parsed(i) for i, m in enumerate(mailbox.received) if "ana@example.org" in m["rcpt_tos"])
    assert (first["To"], first["Cc"]) == ("ana@example.org", "Bob Lind <bob@example.org>, full@example.org")


def test_sender_refused_is_rejected(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                    channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    mailbox.mail_replies["spoof@example.com"] = ["553 5.7.1 Sender address rejected: not owned by you"]
    receipts = channel.send([rendered("c-1", "ana@example.org", sender="spoof@example.com"),
                             rendered("c-2", "ana@example.org")], NOW)
    assert [r.outcome for r in receipts] == ["REJECTED", "DELIVERED"]


def test_starttls_and_auth(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                           channels: Callable[..., EmailChannel], certificate: tuple[Path, Path]) -> None:
    # The relay insists on STARTTLS before anything and on AUTH (over TLS only) before MAIL.
    server = serve(tls_context=server_tls(certificate), require_starttls=True, authenticator=authenticator,
                   auth_required=True)
    url = f"smtp://{USER}:{PASSWORD.replace(':', '%3A').replace('/', '%2F').replace('@', '%40')}@127.0.0.1:{server.port}"
    channel = channels(url, tls_context=client_tls(certificate))
    [receipt] = channel.send([rendered("c-1", "ana@example.org")], NOW)
    assert receipt.outcome == "DELIVERED"
    assert mailbox.received[0]["tls"] and mailbox.received[0]["authenticated"]


def test_starttls_refuses_an_untrusted_certificate(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                                   channels: Callable[..., EmailChannel],
                                                   certificate: tuple[Path, Path]) -> None:
    server = serve(tls_context=server_tls(certificate), require_starttls=True)
    channel = channels(f"smtp://127.0.0.1:{server.port}", tries=2)  # the system trust store
    [receipt] = channel.send([rendered("c-1", "ana@example.org")], NOW)
    assert receipt.outcome == "FAILED" and mailbox.received == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                      channels: Callable[..., EmailChannel], certificate: tuple[Path, Path]) -> None:
    # aiosmtpd cannot tell that a connection started in TLS, so it is told not to insist on it for AUTH.
    server = serve(implicit_tls=server_tls(certificate), authenticator=authenticator, auth_required=True,
                   auth_require_tls=False)
    channel = channels(f"smtps://{USER}:s3cret%3A%2F%40@127.0.0.1:{server.port}", tls_context=client_tls(certificate))
    [receipt] = channel.send([rendered("c-1", "ana@example.org")], NOW)
    assert receipt.outcome == "DELIVERED"
    assert mailbox.received[0]["tls"] and mailbox.received[0]["authenticated"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_without_tls(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                          channels: Callable[..., EmailChannel]) -> None:
    server = serve(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    good = channels(f"smtp://{USER}:s3cret%3A%2F%40@127.0.0.1:{server.port}")
    bad = channels(f"smtp://{USER}:wrong@127.0.0.1:{server.port}", tries=2)
    anonymous = channels(f"smtp://127.0.0.1:{server.port}")
    assert good.send([rendered("c-1", "ana@example.org")], NOW)[0].outcome == "DELIVERED"
    assert bad.send([rendered("c-2", "ana@example.org")], NOW)[0].outcome == "FAILED"
    # Without AUTH the relay refuses MAIL FROM with 530: refused before it took anything.
    assert anonymous.send([rendered("c-3", "ana@example.org")], NOW)[0].outcome == "REJECTED"
    assert [r["authenticated"] for r in mailbox.received] == [True]


def test_unreachable_relay_fails(channels: Callable[..., EmailChannel]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = channels(f"smtp://127.0.0.1:{port}", tries=2)
    receipts = channel.send([rendered("c-1", "ana@example.org"), rendered("c-2", "bo@example.org")], NOW)
    assert [r.outcome for r in receipts] == ["FAILED", "FAILED"]


def test_plain_outgoing_without_content_is_refused_alone(channels: Callable[..., EmailChannel]) -> None:
    channel = channels("smtp://127.0.0.1:9")
    [receipt] = channel.send([Outgoing("c-1", "c-1", "campaign-1", "email", "ana@example.org", 1)], NOW)
    assert receipt.outcome == "REJECTED" and "needs rendered content" in (receipt.reason or "")


def test_asynchronous_bounce_is_reported() -> None:
    reports: list[tuple[str, str, dt.datetime]] = []
    channel = EmailChannel("smtp://127.0.0.1:9", report=lambda *r: reports.append(r))
    try:
        assert channel.bounce(dsn("<c-77@reachout>", "failed"), NOW) == "c-77"
        assert channel.bounce(dsn("<c-78@reachout>", "delayed"), NOW) is None  # not final
        assert channel.bounce(dsn("<abc@elsewhere.example>", "failed"), NOW) is None  # not ours
        assert reports == [("c-77", "BOUNCED", NOW)]
    finally:
        channel.close()
    assert parse_bounce(b"Subject: hello\r\n\r\nnot a report\r\n") is None


def test_long_lines_are_wrapped_for_smtp(mailbox: Mailbox, serve: Callable[..., LocalSmtpServer],
                                         channels: Callable[..., EmailChannel]) -> None:
    server = serve()
    channel = channels(f"smtp://127.0.0.1:{server.port}")
    html = "<p>" + "ünïcode and a very long line " * 400 + "</p>"  # 12,000 characters, no line break
    [receipt] = channel.send([rendered("c-1", "ana@example.org", html=html)], NOW)
    assert receipt.outcome == "DELIVERED"
    assert max(len(line) for line in mailbox.received[0]["content"].split(b"\r\n")) <= 78
    assert mailbox.parsed().get_body(("html",)).get_content() == html  # type: ignore[union-attr]

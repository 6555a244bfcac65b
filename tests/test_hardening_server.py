"""Running Reachout where others can reach it: bodies refused before they are read, the /_reachout/
endpoints behind credentials, default credentials refused off loopback, TLS, half-open connections.

The attacks go over raw sockets, since no SDK sends an unsigned 60 MB body or half a request line;
the signed paths go through boto3 or botocore's signer.
"""
from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support import ACCESS_KEY, SECRET_KEY, Server, free_port, make_client, start_server, wait_for

V2_CAMPAIGNS = "/v2/campaigns"
TOKEN = "admin-token-for-tests-0123456789"
GUARDED_LIMIT = 1024 * 1024
DEFAULT_LIMIT = 10 * 1024 * 1024  # the documented default of REACHOUT_MAX_BODY_BYTES


@pytest.fixture(scope="module")
def guarded(backend, tmp_path_factory) -> Iterator[Server]:
    """A loopback server that requires admin auth, with a 1 MiB body limit, a 1 s header deadline and
    bodies given up on after 1 s of silence."""
    running = start_server(backend, tmp_path_factory.mktemp("guarded"), "--virtual-clock", "2026-01-05T08:00:00Z",
                           REACHOUT_REQUIRE_ADMIN_AUTH="1", REACHOUT_ADMIN_TOKEN=TOKEN,
                           REACHOUT_MAX_BODY_BYTES=str(GUARDED_LIMIT), REACHOUT_HEADER_TIMEOUT_SECONDS="1",
                           REACHOUT_BODY_TIMEOUT_SECONDS="1")
    yield running
    assert running.stop() == 0, running.log.read_text()


def signed(url: str, method: str, path: str, body: bytes = b"", *, service: str = "connect-campaigns",
           secret: str = SECRET_KEY) -> dict[str, str]:
    """The headers botocore would send for this request, Host included."""
    request = AWSRequest(method=method, url=url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY, secret), service, "us-east-1").add_auth(request)
    headers = dict(request.prepare().headers)
    headers["Host"] = urlsplit(url).netloc
    return headers


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.settimeout(30)  # generous: a server that waits for the rest of the body fails the test by timing out
    return sock


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def answer(sock: socket.socket) -> tuple[http.client.HTTPResponse, bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response, response.read()


def admin(url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
          context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url + path, data=body if method == "POST" else None, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- bodies ----------------------------------------------------------------------------------------

def test_unsigned_post_is_refused_before_its_body_is_sent(server):
    sock = connect(server.url)
    with sock:
        declared = 60 * 1024 * 1024
        sock.sendall(head("PUT", V2_CAMPAIGNS, {"Host": "x", "Content-Type": "application/json",
                                                "Content-Length": str(declared)}))
        sock.sendall(b"{" + b" " * 32 * 1024)  # a sliver of the 60 MB: the answer comes before the rest
        response, body = answer(sock)
    assert response.status == 403
    assert response.getheader("x-amzn-errortype") == "MissingAuthenticationTokenException"
    assert json.loads(body)["message"] == "Missing Authentication Token"
    assert response.getheader("connection") == "close"


def test_declared_body_over_the_default_limit_is_refused_with_413(server):
    headers = signed(server.url, "PUT", V2_CAMPAIGNS, b"{}")
    headers["Content-Length"] = str(DEFAULT_LIMIT + 1)
    sock = connect(server.url)
    with sock:
        sock.sendall(head("PUT", V2_CAMPAIGNS, headers))  # no body at all: the length alone is refused
        response, body = answer(sock)
    assert response.status == 413
    assert response.getheader("x-amzn-errortype") == "RequestEntityTooLargeException"
    assert f"limit of {DEFAULT_LIMIT} bytes" in json.loads(body)["message"]


def test_chunked_body_is_cut_with_413_once_past_the_limit(guarded):
    headers = signed(guarded.url, "PUT", V2_CAMPAIGNS)
    headers.pop("Content-Length", None)
    headers["Transfer-Encoding"] = "chunked"
    sock = connect(guarded.url)
    with sock:
        sock.sendall(head("PUT", V2_CAMPAIGNS, headers))
        chunk = b" " * 64 * 1024
        for _ in range(GUARDED_LIMIT // len(chunk)):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"1\r\n \r\n")  # one byte past the limit, and no final chunk: the body never ends
        response, body = answer(sock)
    assert response.status == 413
    assert response.getheader("x-amzn-errortype") == "RequestEntityTooLargeException"
    assert f"limit of {GUARDED_LIMIT} bytes" in json.loads(body)["message"]


@pytest.mark.parametrize("path", [V2_CAMPAIGNS, "/_reachout/clock/advance"])
def test_a_body_that_stops_arriving_is_given_up_with_408(guarded, path):
    body = b'{"seconds": 60}'
    headers = signed(guarded.url, "PUT" if path == V2_CAMPAIGNS else "POST", path, body, service="connect-campaigns")
    sock = connect(guarded.url)
    with sock:
        sock.sendall(head("PUT" if path == V2_CAMPAIGNS else "POST", path, headers) + body[:5])  # then silence
        response, reply = answer(sock)
    assert response.status == 408, reply
    assert "request body arrived" in json.loads(reply)["message"]
    assert response.getheader("connection") == "close"


def test_body_under_the_limit_reaches_validation(guarded):
    body = json.dumps({"name": "x" * (GUARDED_LIMIT - 1000), "connectInstanceId": "i"}).encode()
    headers = signed(guarded.url, "PUT", V2_CAMPAIGNS, body)
    connection = http.client.HTTPConnection(urlsplit(guarded.url).hostname, urlsplit(guarded.url).port, timeout=30)
    try:
        connection.request("PUT", V2_CAMPAIGNS, body=body, headers=headers)
        response = connection.getresponse()
        reply = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400, reply  # read whole and signed correctly: refused for its content only
    assert response.getheader("x-amzn-errortype") == "ValidationException"
    assert "name" in reply["message"]


# --- the /_reachout/ endpoints ---------------------------------------------------------------------

ADMIN_ENDPOINTS = [
    ("GET", "/_reachout/campaigns/{id}/contacts"),
    ("GET", "/_reachout/campaigns/{id}/suppressions"),
    ("GET", "/_reachout/campaigns/{id}/forecast"),
    ("GET", "/_reachout/clock"),
    ("POST", "/_reachout/clock/advance"),
    ("POST", "/_reachout/channels/email/bounces"),
]


@pytest.mark.parametrize("method, path", ADMIN_ENDPOINTS)
def test_admin_endpoints_refuse_requests_without_credentials(guarded, method, path):
    status, body = admin(guarded.url, method, path.format(id="any"), b'{"seconds": 3600}')
    assert status == 403, body
    assert "REACHOUT_ADMIN_TOKEN" in json.loads(body)["message"]


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}"])
def test_admin_endpoints_refuse_a_wrong_token(guarded, authorization):
    status, _ = admin(guarded.url, "GET", "/_reachout/clock", headers={"Authorization": authorization})
    assert status == 403


def test_admin_endpoints_answer_the_token(guarded):
    campaign_id = make_client(guarded.url, "connectcampaignsv2").create_campaign(
        name="guarded", connectInstanceId="inst-guarded", channelSubtypeConfig={
            "telephony": {"outboundMode": {"progressive": {"bandwidthAllocation": 0.5}},
                          "defaultOutboundConfig": {"connectContactFlowId": "flow"}}})["id"]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for kind in ("contacts", "suppressions"):
        status, body = admin(guarded.url, "GET", f"/_reachout/campaigns/{campaign_id}/{kind}", headers=bearer)
        assert (status, json.loads(body)) == (200, [])
    status, body = admin(guarded.url, "POST", "/_reachout/clock/advance", b'{"seconds": 60}', headers=bearer)
    assert status == 200, body
    assert json.loads(body)["now"].startswith("2026-01-05T08:01")  # the body reached the handler


def test_admin_endpoints_answer_a_sigv4_signature_by_the_server_key(guarded):
    body = b'{"seconds": 0}'
    status, reply = admin(guarded.url, "POST", "/_reachout/clock/advance", body,
                          headers=signed(guarded.url, "POST", "/_reachout/clock/advance", body, service="reachout"))
    assert status == 200, reply
    status, _ = admin(guarded.url, "GET", "/_reachout/clock",
                      headers=signed(guarded.url, "GET", "/_reachout/clock", service="reachout"))
    assert status == 200
    # The body is part of what is signed: the same signature over another body is refused.
    headers = signed(guarded.url, "POST", "/_reachout/clock/advance", body, service="reachout")
    status, _ = admin(guarded.url, "POST", "/_reachout/clock/advance", b'{"seconds": 9}', headers=headers)
    assert status == 403
    status, _ = admin(guarded.url, "GET", "/_reachout/clock",
                      headers=signed(guarded.url, "GET", "/_reachout/clock", secret="not-the-secret"))
    assert status == 403


def test_health_needs_no_credentials_even_when_admin_auth_is_required(guarded):
    status, body = admin(guarded.url, "GET", "/_reachout/health")
    assert (status, json.loads(body)["status"]) == (200, "ok")


def test_admin_endpoints_stay_open_on_loopback_by_default(server):
    status, body = admin(server.url, "GET", "/_reachout/clock")
    assert status == 200, body


# --- binding -------------------------------------------------------------------------------------

def test_serve_off_loopback_with_the_default_credentials_refuses_to_start(tmp_path):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("REACHOUT_ACCESS_KEY_ID", "REACHOUT_SECRET_ACCESS_KEY")}
    process = subprocess.run(
        [sys.executable, "-m", "reachout", "serve", "--host", "0.0.0.0", "--port", str(free_port()),
         "--data-dir", str(tmp_path)], env=environment, capture_output=True, text=True, timeout=60)
    assert process.returncode != 0
    assert "default test/test credentials" in process.stderr
    assert not (tmp_path / "reachout.db").exists()  # refused before anything was opened


def test_serve_off_loopback_guards_the_admin_endpoints(backend, tmp_path):
    running = start_server(backend, tmp_path, "--host", "0.0.0.0", REACHOUT_ADMIN_TOKEN=TOKEN)
    try:
        status, _ = admin(running.url, "GET", "/_reachout/campaigns/any/contacts")
        assert status == 403
        status, _ = admin(running.url, "GET", "/_reachout/clock", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert admin(running.url, "GET", "/_reachout/health")[0] == 200
    finally:
        assert running.stop() == 0, running.log.read_text()


# --- TLS -----------------------------------------------------------------------------------------

def self_signed(directory) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_tls_round_trip_with_boto3(backend, tmp_path):
    cert, key = self_signed(tmp_path)
    port = free_port()
    environment = {**os.environ, "REACHOUT_ACCESS_KEY_ID": ACCESS_KEY, "REACHOUT_SECRET_ACCESS_KEY": SECRET_KEY,
                   "REACHOUT_TLS_CERT": cert}
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "reachout", "serve", "--port", str(port), "--db", backend, "--data-dir",
         str(tmp_path), "--tls-key", key], env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=cert)
    running = Server(url, process, log, backend)
    try:
        def healthy() -> bool:
            assert process.poll() is None, log.read_text()
            return _healthy(url, context)

        wait_for(healthy, "the TLS server to come up")
        v2 = make_client(url, "connectcampaignsv2", verify=cert)
        campaign_id = v2.create_campaign(name="over-tls", connectInstanceId="inst-tls", channelSubtypeConfig={
            "telephony": {"outboundMode": {"progressive": {"bandwidthAllocation": 0.5}},
                          "defaultOutboundConfig": {"connectContactFlowId": "flow"}}})["id"]
        assert v2.describe_campaign(id=campaign_id)["campaign"]["name"] == "over-tls"
        # An idle TLS connection holds a graceful shutdown until its close_notify is answered (asyncio waits
        # 30 s): hang up as a client process that ends would.
        v2.close()
    finally:
        assert running.stop() == 0, log.read_text()


def _healthy(url: str, context: ssl.SSLContext) -> bool:
    try:
        return admin(url, "GET", "/_reachout/health", context=context)[0] == 200
    except OSError:  # not listening yet
        return False


# --- half-open connections -------------------------------------------------------------------------

@pytest.mark.parametrize("sent", [b"", b"GET /_reachout/health HT", b"GET /_reachout/health HTTP/1.1\r\nHost: x\r\n"])
def test_a_request_that_never_finishes_its_headers_is_closed_by_the_server(guarded, sent):
    sock = connect(guarded.url)
    with sock:
        sock.sendall(sent)
        assert sock.recv(1024) == b""  # closed by the server; a server that waits fails by timing out


def test_a_keep_alive_connection_gets_the_header_deadline_for_its_next_request(guarded):
    sock = connect(guarded.url)
    with sock:
        sock.sendall(head("GET", "/_reachout/health", {"Host": "x"}))
        response, _ = answer(sock)
        assert response.status == 200
        sock.sendall(b"GET /_reachout/he")  # the next request starts, then stalls
        assert sock.recv(1024) == b""

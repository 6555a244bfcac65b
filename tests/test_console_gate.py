"""Who reaches the console, without a browser: `reachout serve`'s own app (build_app), driven
in-process through ASGI. Off loopback without a password of the operator's own the console is off;
every page needs a session, and every POST its CSRF token."""
from __future__ import annotations

import asyncio
import re
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from reachout.server import build_app
from reachout.settings import Settings
from tests.support import postgres_database, sqlite_database

PAGES = ["/console/", "/console/campaigns", "/console/campaigns/new", "/console/campaigns/x",
         "/console/campaigns/x/live", "/console/profiles", "/console/profiles/p", "/console/segments"]
POSTS = ["/console/campaigns/new", "/console/campaigns/x/actions/stop", "/console/signout"]


class Client:
    def __init__(self, app):
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
        return asyncio.run(self._request(method, path, form))

    async def _request(self, method, path, form):
        body = urlencode(form or {}).encode()
        path, _, query = path.partition("?")
        headers = [(b"host", b"reachout.example")]
        if self.cookies:
            headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()).encode()))
        if form is not None:
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": headers, "client": ("192.0.2.7", 1), "server": ("192.0.2.1", 80)}
        answer = {"status": 0, "body": b"", "headers": {}}
        given = False

        async def receive():
            nonlocal given
            if given:
                await asyncio.sleep(3600)
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for name, value in message["headers"]:
                    answer["headers"].setdefault(name.decode(), []).append(value.decode())
            else:
                answer["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        for header in answer["headers"].get("set-cookie", []):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer["status"], answer["body"].decode(), answer["headers"]


def app_for(tmp_path: Path, host: str):
    return build_app(Settings(host=host, db=f"sqlite:///{tmp_path / 'gate.db'}", data_dir=tmp_path,
                              access_key_id="AKIDGATE", secret_access_key="gate-secret"))


@pytest.mark.parametrize("password", [None, "reachout"])  # absent, or the documented default
def test_off_loopback_the_console_is_off_without_a_password_of_ones_own(tmp_path, monkeypatch, password):
    monkeypatch.delenv("REACHOUT_CONSOLE_PASSWORD", raising=False)
    if password:
        monkeypatch.setenv("REACHOUT_CONSOLE_PASSWORD", password)
    app = app_for(tmp_path, "0.0.0.0")
    for path in ("/console/", "/console/signin"):
        status, body, _ = Client(app).request("GET", path)
        assert status == 503 and "REACHOUT_CONSOLE_PASSWORD" in body
    status, _, _ = Client(app).request("POST", "/console/signin", {"user": "admin", "password": "reachout"})
    assert status == 503
    app.state.database.dispose()


def test_every_page_needs_a_session_and_every_post_its_csrf_token(tmp_path, monkeypatch):
    monkeypatch.setenv("REACHOUT_CONSOLE_USER", "boss")
    monkeypatch.setenv("REACHOUT_CONSOLE_PASSWORD", "a-long-password-of-our-own")
    app = app_for(tmp_path, "0.0.0.0")
    stranger = Client(app)
    _, _, first = stranger.request("GET", "/console/signin")
    assert "HttpOnly" in first["set-cookie"][0] and "SameSite=strict" in first["set-cookie"][0]
    assert "script-src 'self'" in first["content-security-policy"][0]
    for path in PAGES:
        status, _, headers = stranger.request("GET", path)
        assert status == 303 and headers["location"][0].startswith("/console/signin?next="), path
    for path in POSTS:
        assert stranger.request("POST", path, {"csrf": "x"})[0] == 401, path
    # The sign-in form itself needs the token of the visitor's own session.
    assert stranger.request("POST", "/console/signin", {"user": "boss", "password": "a-long-password-of-our-own"}
                            )[0] == 403
    status, page, headers = stranger.request("GET", "/console/signin?next=//evil.example/")
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    wrong = stranger.request("POST", "/console/signin", {"csrf": csrf, "user": "boss", "password": "nope"})
    assert wrong[0] == 200 and "not right" in wrong[1]
    status, _, headers = stranger.request("POST", "/console/signin", {
        "csrf": csrf, "user": "boss", "password": "a-long-password-of-our-own", "next": "//evil.example/"})
    assert status == 303 and headers["location"] == ["/console/campaigns"]  # never off the console
    for path in ("/console/campaigns", "/console/campaigns/new", "/console/profiles", "/console/segments"):
        assert stranger.request("GET", path)[0] == 200, path
    # The token of the session before sign-in is worth nothing after it.
    assert stranger.request("POST", "/console/campaigns/new", {"csrf": csrf, "name": "x"})[0] == 403
    # A cookie signed with another secret is no session.
    forged = Client(app)
    forged.cookies = {"reachout_console": stranger.cookies["reachout_console"][:-4] + "AAAA"}
    assert forged.request("GET", "/console/campaigns")[0] == 303
    app.state.database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request, tmp_path):
    """A database of the test's own: its engine runs an hour, and the queues and agents other tests
    left in the shared one would be that engine's work too (a dialer tick every second)."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "own.db")
    else:
        yield from postgres_database("reachout_gate")


def test_the_pages_read_a_campaign_that_ran_on_either_backend(own_database, tmp_path, monkeypatch):
    """The console's own queries (grouped by hour and by kind of reason) on SQLite and PostgreSQL."""
    from datetime import datetime, timedelta, timezone

    monkeypatch.setenv("REACHOUT_CONSOLE_PASSWORD", "backend-test-password")
    start = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    app = build_app(Settings(db=own_database, data_dir=tmp_path, virtual_clock=start))
    console = next(route.app for route in app.app.routes if getattr(route, "path", "") == "/console")
    ops = console.state.console.operations
    domain = f"gate{tmp_path.name[-8:].replace('-', '')}"[:60]
    ops.call("customer-profiles", "CreateDomain", {"DomainName": domain, "DefaultExpirationDays": 30}, "us-east-1")
    people = [ops.call("customer-profiles", "CreateProfile", {"DomainName": domain, "FirstName": f"G{n}",
                                                             "EmailAddress": f"g{n}@example.com",
                                                             "Attributes": {"cohort": "gate"}}, "us-east-1")
              for n in range(3)]
    ops.call("customer-profiles", "CreateProfile", {"DomainName": domain, "FirstName": "NoMail",
                                                    "Attributes": {"cohort": "gate"}}, "us-east-1")
    ops.call("customer-profiles", "CreateSegmentDefinition", {
        "DomainName": domain, "SegmentDefinitionName": "all", "DisplayName": "Everyone at the gate",
        "SegmentGroups": {"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
            "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": ["gate"]}}}}]}]}}, "us-east-1")
    created = ops.call("connectcampaignsv2", "CreateCampaign", {
        "name": "gate run", "connectInstanceId": f"i-{domain}",
        "source": {"customerProfilesSegmentArn": f"arn:aws:profile:us-east-1:123456789012:domains/{domain}/"
                                                 "segment-definitions/all"},
        "channelSubtypeConfig": {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourceEmailAddress": "gate@example.com",
            "wisdomTemplateArn": "arn:aws:wisdom:us-east-1:123456789012:message-template/kb/t"}}}}, "us-east-1")
    ops.call("connectcampaignsv2", "StartCampaign", {"id": created["id"]}, "us-east-1")
    app.state.engine.advance(start + timedelta(hours=1))

    client = Client(app)
    _, page, _ = client.request("GET", "/console/signin")
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.request("POST", "/console/signin", {"csrf": csrf, "user": "admin", "password": "backend-test-password"})
    status, live, _ = client.request("GET", f"/console/campaigns/{created['id']}")
    assert status == 200, live
    dispositions = live.split('id="dispositions">', 1)[1].split("</ul>", 1)[0]
    assert sum(int(n) for n in re.findall(r"<b>(\d+)</b>", dispositions)) == 3  # the simulated carrier's outcomes
    assert '<ul class="figures" id="contacts-by-state"><li><b>3</b>completed</li><li><b>1</b>dropped</li>' in live
    assert "<td data-label=\"Reason\">no endpoint</td>" in live  # grouped by the kind of reason
    assert "01-05 08h" in live  # sends per hour, by the hour of dispatch
    status, profile, _ = client.request("GET", f"/console/profiles/{people[0]['ProfileId']}")
    assert status == 200 and "gate run" in profile and '<td data-label="Channel">email</td>' in profile
    status, segments, _ = client.request("GET", "/console/segments")
    assert status == 200 and "Everyone at the gate" in segments
    assert '<td data-label="Members now" class="num">4</td>' in segments
    app.state.engine.close()
    app.state.database.dispose()


def test_wrong_passwords_from_one_address_are_throttled(tmp_path, monkeypatch):
    monkeypatch.setenv("REACHOUT_CONSOLE_PASSWORD", "throttle-test-password")
    app = app_for(tmp_path, "127.0.0.1")
    guesser = Client(app)
    _, page, _ = guesser.request("GET", "/console/signin")
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    for _ in range(5):
        assert "not right" in guesser.request("POST", "/console/signin",
                                              {"csrf": csrf, "user": "admin", "password": "guess"})[1]
    # The right password too is refused now, from this address.
    status, page, _ = guesser.request("POST", "/console/signin",
                                      {"csrf": csrf, "user": "admin", "password": "throttle-test-password"})
    assert status == 200 and "Too many wrong passwords" in page
    assert guesser.request("GET", "/console/campaigns")[0] == 303
    app.state.database.dispose()


def test_the_throttle_forgets_failures_older_than_its_window():
    from reachout.console.auth import SignInThrottle

    now = [1000.0]
    throttle = SignInThrottle(clock=lambda: now[0])
    for _ in range(SignInThrottle.MAX_FAILURES):
        assert throttle.wait("192.0.2.7") == 0
        throttle.failed("192.0.2.7")
        now[0] += 60
    assert throttle.wait("192.0.2.7") == SignInThrottle.WINDOW - 5 * 60
    assert throttle.wait("192.0.2.8") == 0  # another address is not held back
    now[0] += SignInThrottle.WINDOW - 5 * 60
    assert throttle.wait("192.0.2.7") == 0  # the oldest failure aged out

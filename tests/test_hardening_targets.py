"""Rule targets cannot reach outside DATA_DIR/events, and one bad target's delivery is that
target's failure alone: retried per its RetryPolicy, then dead-lettered, while healthy targets of
the same events still receive them and the virtual clock still advances (answers 200)."""
from __future__ import annotations

import json
import os
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from reachout.store.db import Database, database_url
from reachout.store.tables import event_deliveries
from tests.support import START, make_client, postgres_database, sqlite_database, start_server
from tests.expect import aws_error

PATTERN = json.dumps({"source": ["orders.app"]})


def log_group(name: str) -> str:
    return f"arn:aws:logs:us-east-1:111122223333:log-group:{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    """A server of the test's own on a virtual clock, its DATA_DIR at tmp_path/data (so that
    tmp_path/outside is outside it)."""
    data = tmp_path / "data"
    data.mkdir()
    urls = iter([sqlite_database(data / "reachout.db")]) if request.param == "sqlite" \
        else postgres_database("reachout_targets")
    running = start_server(next(urls), data, "--virtual-clock", START.isoformat())
    yield running, data
    assert running.stop() == 0, running.log.read_text()
    next(urls, None)  # drops the PostgreSQL database


def advance(server, seconds: int) -> int:
    """POST /_reachout/clock/advance; returns the HTTP status (urlopen raises on a 500)."""
    request = urllib.request.Request(server.url + "/_reachout/clock/advance", method="POST",
                                     data=json.dumps({"seconds": seconds}).encode())
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.status


def emit(events, order: int) -> None:
    answer = events.put_events(Entries=[{"Source": "orders.app", "DetailType": "Order",
                                         "Detail": json.dumps({"order": order})}])
    assert answer["FailedEntryCount"] == 0


def deliveries(server, data: Path, rule_arn: str) -> dict[str, list[tuple[str, int, str | None]]]:
    """The delivery records of a rule's targets, by target id: (status, attempts, last error)."""
    database = Database(database_url(server.db, data))
    try:
        with database.transaction() as conn:
            rows = conn.execute(select(event_deliveries).where(event_deliveries.c.target.like(f"{rule_arn}|%"))
                                .order_by(event_deliveries.c.seq)).all()
    finally:
        database.dispose()
    found: dict[str, list] = {}
    for row in rows:
        found.setdefault(row.target.split("|", 1)[1], []).append((row.status, row.attempts, row.last_error))
    return found


def orders_of(path: Path) -> list[int]:
    return [json.loads(line)["detail"]["order"] for line in path.read_text().splitlines()]


# --- log groups stay inside DATA_DIR/events -----------------------------------------------------------
def test_log_group_names_that_would_leave_data_dir_events_are_refused(served, tmp_path):
    server, data = served
    events = make_client(server.url, "events")
    events.put_rule(Name="orders", EventPattern=PATTERN)
    (data / "events").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", data / "events" / "linked")
    bad = {"up": "../../outside/x", "within": "a/../../../outside/x", "dot": "a/./b", "space": "a b",
           "too-long": "a" * 513, "folder-like-file": "a.jsonl/b", "symlinked": "linked/x"}
    answer = events.put_targets(Rule="orders", Targets=[{"Id": target_id, "Arn": log_group(name)}
                                                         for target_id, name in bad.items()])
    assert answer["FailedEntryCount"] == len(bad)
    assert {e["TargetId"] for e in answer["FailedEntries"]} == set(bad)
    assert {e["ErrorCode"] for e in answer["FailedEntries"]} == {"ValidationException"}
    messages = {e["TargetId"]: e["ErrorMessage"] for e in answer["FailedEntries"]}
    assert "symbolic link" in messages["symlinked"]
    assert "'.' and '..'" in messages["up"]
    with aws_error("ValidationException", "NUL"):  # the wire layer refuses NUL in any string
        events.put_targets(Rule="orders", Targets=[{"Id": "nul", "Arn": log_group("a\x00b")}])
    assert events.list_targets_by_rule(Rule="orders")["Targets"] == []


def test_absolute_and_aws_style_names_are_files_under_data_dir_events(served, tmp_path):
    server, data = served
    events = make_client(server.url, "events")
    events.put_rule(Name="orders", EventPattern=PATTERN)
    outside = tmp_path / "outside" / "evil.pth"  # an absolute name: once a file Python would run
    answer = events.put_targets(Rule="orders", Targets=[
        {"Id": "aws", "Arn": log_group("/aws/events/orders")},
        {"Id": "absolute", "Arn": log_group(str(outside)), "Input": '{"order": -1}'}])
    assert answer["FailedEntryCount"] == 0
    emit(events, 1)
    assert advance(server, 5) == 200
    assert orders_of(data / "events" / "aws" / "events" / "orders.jsonl") == [1]
    contained = data / "events" / str(outside).lstrip("/")
    assert not outside.exists() and not outside.parent.exists()
    assert contained.with_name("evil.pth.jsonl").read_text() == '{"order": -1}\n'


def test_a_symbolic_link_planted_after_put_targets_is_not_followed(served, tmp_path):
    server, data = served
    events = make_client(server.url, "events")
    rule_arn = events.put_rule(Name="orders", EventPattern=PATTERN)["RuleArn"]
    no_retry = {"MaximumRetryAttempts": 0}
    answer = events.put_targets(Rule="orders", Targets=[
        {"Id": "folder", "Arn": log_group("planted/orders"), "RetryPolicy": no_retry},
        {"Id": "file", "Arn": log_group("leaf"), "RetryPolicy": no_retry},
        {"Id": "healthy", "Arn": log_group("/aws/events/orders")}])
    assert answer["FailedEntryCount"] == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("untouched\n")
    (data / "events").mkdir()
    os.symlink(outside, data / "events" / "planted")
    os.symlink(outside / "secret", data / "events" / "leaf.jsonl")

    emit(events, 1)
    assert advance(server, 5) == 200
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "untouched\n"
    assert orders_of(data / "events" / "aws" / "events" / "orders.jsonl") == [1]
    records = deliveries(server, data, rule_arn)
    for target_id in ("folder", "file"):
        [(status, attempts, error)] = records[target_id]
        assert (status, attempts) == ("dead", 1) and "symbolic link" in error, records[target_id]
    assert records["healthy"] == [("delivered", 1, None)]


def test_an_unexpected_file_system_error_is_retried_then_dead_lettered(served):
    """A folder planted where a log file goes (IsADirectoryError) and a file where a folder goes
    (NotADirectoryError): neither is the delivery-failure type, and once they escaped the bus pass."""
    server, data = served
    events = make_client(server.url, "events")
    rule_arn = events.put_rule(Name="orders", EventPattern=PATTERN)["RuleArn"]
    twice = {"MaximumRetryAttempts": 1}
    events.put_targets(Rule="orders", Targets=[
        {"Id": "is-a-folder", "Arn": log_group("clash"), "RetryPolicy": twice},
        {"Id": "not-a-folder", "Arn": log_group("blocked/orders"), "RetryPolicy": twice},
        {"Id": "healthy", "Arn": log_group("/aws/events/orders")}])
    (data / "events" / "clash.jsonl").mkdir(parents=True)
    (data / "events" / "blocked").write_text("")

    emit(events, 1)
    emit(events, 2)
    assert advance(server, 600) == 200
    assert orders_of(data / "events" / "aws" / "events" / "orders.jsonl") == [1, 2]
    records = deliveries(server, data, rule_arn)
    assert records["healthy"] == [("delivered", 1, None)] * 2
    for target_id, error in (("is-a-folder", "IsADirectoryError"), ("not-a-folder", "NotADirectoryError")):
        assert [(status, attempts) for status, attempts, _ in records[target_id]] == [("dead", 2)] * 2
        assert all(error in message for _, _, message in records[target_id]), records[target_id]


# --- HTTP targets: nothing in their parameters can break the request ---------------------------------
class Receiver:
    """An HTTP endpoint recording each request's path and headers (raw bytes of the values)."""

    def __init__(self):
        self.requests: list[tuple[str, dict[str, bytes]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                # http.server reads header bytes as Latin-1: encoding back gives the bytes sent.
                receiver.requests.append((self.path, {k.lower(): v.encode("latin-1") for k, v in self.headers.items()}))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.server.shutdown()


def destination(events, endpoint: str, key_name: str = "x-api-key", key_value: str = "k") -> str:
    connection = events.create_connection(Name=f"c{uuid.uuid4().hex[:8]}", AuthorizationType="API_KEY",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": key_name,
                                                                                   "ApiKeyValue": key_value}})
    return events.create_api_destination(Name=f"d{uuid.uuid4().hex[:8]}", ConnectionArn=connection["ConnectionArn"],
                                         InvocationEndpoint=endpoint, HttpMethod="POST")["ApiDestinationArn"]


def test_path_parameters_are_encoded_and_api_keys_sent_as_utf8(served, receiver):
    server, data = served
    events = make_client(server.url, "events")
    events.put_rule(Name="orders", EventPattern=PATTERN)
    spaced = destination(events, receiver.base + "/orders/*/notes/*")
    keyed = destination(events, receiver.base + "/keyed", key_value="clé € 鍵")
    answer = events.put_targets(Rule="orders", Targets=[
        {"Id": "spaced", "Arn": spaced, "HttpParameters": {"PathParameterValues": ["a b", "x/y?z#w"],
                                                           "QueryStringParameters": {"q": "1 2&3"}}},
        {"Id": "keyed", "Arn": keyed}])
    assert answer["FailedEntryCount"] == 0
    emit(events, 1)
    assert advance(server, 5) == 200
    paths = {path: headers for path, headers in receiver.requests}
    assert set(paths) == {"/orders/a%20b/notes/x%2Fy%3Fz%23w?q=1+2%263", "/keyed"}
    assert paths["/keyed"]["x-api-key"] == "clé € 鍵".encode()


def test_http_parameters_and_connections_that_would_break_a_request_are_refused(served, receiver):
    server, data = served
    events = make_client(server.url, "events")
    events.put_rule(Name="orders", EventPattern=PATTERN)
    with aws_error("ValidationException", "ApiKeyName"):
        destination(events, receiver.base + "/x", key_name="x api key")
    arn = destination(events, receiver.base + "/x")
    with aws_error("ValidationException", "HeaderParameters"):  # the model: printable ASCII only
        events.put_targets(Rule="orders", Targets=[{"Id": "h", "Arn": arn,
                                                    "HttpParameters": {"HeaderParameters": {"x-note": "€"}}}])
    answer = events.put_targets(Rule="orders", Targets=[
        {"Id": "framing", "Arn": arn, "HttpParameters": {"HeaderParameters": {"Content-Length": "5"}}}])
    assert [(e["TargetId"], e["ErrorCode"]) for e in answer["FailedEntries"]] == [("framing", "ValidationException")]
    assert events.list_targets_by_rule(Rule="orders")["Targets"] == []


def test_an_http_target_that_raises_unexpectedly_does_not_starve_the_others(served, receiver):
    """A port that is not a number passes the endpoint's pattern; the request raises InvalidURL, a
    ValueError rather than the OSError a network failure is."""
    server, data = served
    events = make_client(server.url, "events")
    rule_arn = events.put_rule(Name="orders", EventPattern=PATTERN)["RuleArn"]
    broken = destination(events, "http://127.0.0.1:port/hook")
    healthy = destination(events, receiver.base + "/hook")
    events.put_targets(Rule="orders", Targets=[
        {"Id": "broken", "Arn": broken, "RetryPolicy": {"MaximumRetryAttempts": 2}},
        {"Id": "healthy", "Arn": healthy}])
    emit(events, 1)
    assert advance(server, 600) == 200
    assert [path for path, _ in receiver.requests] == ["/hook"]
    records = deliveries(server, data, rule_arn)
    assert records["healthy"] == [("delivered", 1, None)]
    [(status, attempts, error)] = records["broken"]
    assert (status, attempts) == ("dead", 3) and error.startswith("InvalidURL"), records["broken"]

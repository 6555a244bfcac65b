"""Tests drive Reachout the way users do: `reachout serve` in its own process on an ephemeral port,
real boto3 clients against it, once on SQLite and once on PostgreSQL. The helpers are in
tests/support.py (and tests/peers.py); the fixtures several modules share are here.

PostgreSQL comes from REACHOUT_TEST_POSTGRES (default postgresql://127.0.0.1:5432/test); each server
gets a database of its own. Where the server is absent its tests skip with the reason, unless
REACHOUT_TEST_REQUIRE_SERVICES=1 (CI), where they fail.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from reachout.channels.email import EmailChannel
from tests.peers import LocalSmsc, LocalSmtpServer, Mailbox, Peers
from tests.support import (START, ClientFactory, Receiver, Server, drop_templates, make_client, own_server,
                           postgres_database, sqlite_database, start_server, stop_fork_server, wait_for)


@pytest.fixture(scope="session", autouse=True)
def database_templates() -> Iterator[None]:
    """The migrated databases that servers' databases are copied from, and the fork server that starts
    servers (tests/support.py): dropped and stopped at the end."""
    yield
    drop_templates()
    stop_fork_server()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request, tmp_path_factory) -> Iterator[str]:
    """A database URL for each backend."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path_factory.mktemp("sqlite") / "reachout.db")
    else:
        yield from postgres_database("reachout_test")


@pytest.fixture(scope="session")
def server(backend, tmp_path_factory) -> Iterator[Server]:
    """The API under test. Its engine runs on a virtual clock set to now, which never moves unless a
    test advances it, so that API tests see campaign states only they changed."""
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    running = start_server(backend, tmp_path_factory.mktemp("data"), "--virtual-clock", now)
    yield running
    assert running.stop() == 0, running.log.read_text()


@pytest.fixture
def client(server) -> ClientFactory:
    return lambda service, **kw: make_client(server.url, service, **kw)


@pytest.fixture
def v1(client):
    return client("connectcampaigns")


@pytest.fixture
def v2(client):
    return client("connectcampaignsv2")


@pytest.fixture
def instance_id() -> str:
    """A Connect instance of the test's own, so that listings and quotas see only its campaigns."""
    return f"inst-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_server(request, tmp_path_factory) -> Iterator[Server]:
    """A server of the test's own, its virtual clock at START."""
    yield from own_server(request.param, tmp_path_factory.mktemp("engine"), "--virtual-clock", START.isoformat())


# --- real peers: an SMTP relay and an SMS centre ---------------------------------------------------
@pytest.fixture
def peers() -> Iterator[Peers]:
    running = Peers()
    yield running
    running.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def channel_server(request, peers: Peers, tmp_path_factory) -> Iterator[Server]:
    """A server of the test's own on a virtual clock at START, sending through `peers`."""
    yield from own_server(request.param, tmp_path_factory.mktemp("channels"), "--virtual-clock", START.isoformat(),
                          *peers.args())
    # Every SMPP bind was closed cleanly at shutdown.
    wait_for(lambda: peers.smsc.unbinds == len(peers.smsc.binds), "the unbind")


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def serve(mailbox: Mailbox) -> Iterator[Callable[..., LocalSmtpServer]]:
    """Starts relays delivering into `mailbox`; stops them after the test."""
    servers: list[LocalSmtpServer] = []

    def start(**options: Any) -> LocalSmtpServer:
        servers.append(LocalSmtpServer(mailbox, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def channels() -> Iterator[Callable[..., EmailChannel]]:
    """Opens email adapters (quick to retry, quick to give up); closes them after the test."""
    opened: list[EmailChannel] = []

    def open_(url: str, **options: Any) -> EmailChannel:
        opened.append(EmailChannel(url, **{"backoff": 0.01, "timeout": 5.0, **options}))
        return opened[-1]

    yield open_
    for channel in opened:
        channel.close()


@pytest.fixture
def smsc() -> Iterator[LocalSmsc]:
    centre = LocalSmsc()
    yield centre
    centre.stop()


# --- an HTTP target for EventBridge rules ---------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()

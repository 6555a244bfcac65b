"""Tests drive Reachout the way users do: `reachout serve` in its own process on an ephemeral port,
real boto3 clients against it, once on SQLite and once on PostgreSQL.

PostgreSQL comes from REACHOUT_TEST_POSTGRES (default postgresql://127.0.0.1:5432/test); each run
gets a schema of its own. Where the server is absent its tests skip with the reason, unless
REACHOUT_TEST_REQUIRE_SERVICES=1 (CI), where they fail.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ACCESS_KEY, SECRET_KEY, ACCOUNT = "AKIDREACHOUTTEST", "reachout-test-secret", "111122223333"
POSTGRES = os.environ.get("REACHOUT_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("REACHOUT_TEST_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REACHOUT_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def postgres_schema_url(prefix: str) -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards; skips when PostgreSQL is absent."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {POSTGRES}: {error}".strip())
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in POSTGRES else "?"
        yield f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request, tmp_path_factory) -> Iterator[str]:
    """A database URL for each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'reachout.db'}"
    else:
        yield from postgres_schema_url("reachout_test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    db: str

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


def start_server(db_url: str, data_dir: Path, *extra_args: str, **env: str) -> Server:
    port = free_port()
    log = data_dir / "server.log"
    environment = {**os.environ, "REACHOUT_ACCESS_KEY_ID": ACCESS_KEY, "REACHOUT_SECRET_ACCESS_KEY": SECRET_KEY,
                   "REACHOUT_ACCOUNT_ID": ACCOUNT, **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "reachout", "serve", "--port", str(port), "--db", db_url,
         "--data-dir", str(data_dir), *extra_args],
        env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reachout serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/_reachout/health", timeout=1):
                return Server(url, process, log, db_url)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"reachout serve did not come up:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(backend, tmp_path_factory) -> Iterator[Server]:
    """The API under test. Its engine runs on a virtual clock set to now, which never moves unless a
    test advances it, so that API tests see campaign states only they changed."""
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    running = start_server(backend, tmp_path_factory.mktemp("data"), "--virtual-clock", now)
    yield running
    assert running.stop() == 0, running.log.read_text()


ClientFactory = Callable[..., object]


def make_client(url: str, service: str, region: str = "us-east-1", **overrides):
    credentials = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY, **overrides}
    # No retries: a test must see the first answer, and a 5xx must not be hidden by a retry.
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client(service, endpoint_url=url, region_name=region, config=config, **credentials)


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

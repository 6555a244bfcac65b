"""Processes sharing a SQLite file (`reachout serve`, `reachout ingest`, workers) take its one write
lock in turns through a lock on a file beside it, instead of each polling SQLite's lock with a back-off
that let the engine's next pass in first; a process waiting for it is next (a gate, a second file)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

from sqlalchemy import text

from reachout.store.db import open_database
from tests.support import START, make_client, own_server

HOLDER = """
import fcntl, os, sys
lock = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(lock, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until the test closes our input
"""


def hold_writer_lock(database_file) -> subprocess.Popen:
    """Another process holding the writer lock of `database_file` until its input is closed."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, f"{database_file}-writer"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_write_waits_for_another_process_holding_the_writer_lock_then_commits(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'reachout.db'}")
    holder = hold_writer_lock(tmp_path / "reachout.db")
    try:
        written = threading.Event()

        def write() -> None:
            with database.transaction() as conn:
                conn.execute(text("INSERT INTO sequences (name, value) VALUES ('turns', 1)"))
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not written.wait(0.5), "wrote while another process held the writer lock"
        with database.read() as conn:  # reads never wait
            assert conn.execute(text("SELECT count(*) FROM sequences WHERE name = 'turns'")).scalar() == 0
        holder.stdin.close()
        assert written.wait(30)
        writer.join()
    finally:
        holder.kill()
        holder.wait()
    with database.read() as conn:
        assert conn.execute(text("SELECT value FROM sequences WHERE name = 'turns'")).scalar() == 1
    database.dispose()


LOOPER = """
import sys, threading, time
from sqlalchemy import text
from reachout.store.db import Database
database = Database(sys.argv[1])
stopping = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True).start()
while not stopping.is_set():
    with database.transaction() as conn:
        conn.execute(text("UPDATE sequences SET value = value + 1 WHERE name = 'looped'"))
        time.sleep(0.005)  # a transaction's work
    print("looped", flush=True)
"""


def test_a_process_writing_in_a_loop_lets_a_waiting_process_in_after_its_current_transaction(tmp_path):
    # The engine writes in a loop of short transactions while `reachout ingest` waits for its turn.
    # flock hands a released lock to nobody: without the gate, the loop took it back before the
    # waiter ran, a dozen transactions in a row.
    url = f"sqlite:///{tmp_path / 'reachout.db'}"
    database = open_database(url)
    with database.transaction() as conn:
        conn.execute(text("INSERT INTO sequences (name, value) VALUES ('looped', 0)"))
    assert not database.contended()
    looper = subprocess.Popen([sys.executable, "-c", LOOPER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert looper.stdout.readline().strip() == "looped"
        passed = []  # the loop's commits while this process waited, round by round
        for _ in range(20):
            with database.read() as conn:
                before = conn.execute(text("SELECT value FROM sequences WHERE name = 'looped'")).scalar()
            with database.transaction() as conn:
                passed.append(conn.execute(text("SELECT value FROM sequences WHERE name = 'looped'")).scalar() - before)
            time.sleep(0.01)
        assert database.contended()
        # The one under way when this process asked; a second only if one ended just after the read.
        assert max(passed) <= 2, passed
        assert sum(passed) > 0, "the loop never ran"
    finally:
        looper.stdin.close()
        looper.wait(timeout=30)
    database.dispose()


def test_a_quick_write_that_finds_the_lock_taken_waits_on_a_thread_while_reads_are_answered(tmp_path):
    # PauseCampaign is tried on the server's event loop first (providers.quick_write); with the write
    # lock taken it must start over on a handler thread, once, and leave the loop to other calls.
    serving = own_server("sqlite", tmp_path, "--virtual-clock", START.isoformat())
    server = next(serving)
    v1 = make_client(server.url, "connectcampaigns")
    campaign_id = v1.create_campaign(
        name="turns", connectInstanceId="instance-turns",
        dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1.0, "dialingCapacity": 1.0}},
        outboundCallConfig={"connectContactFlowId": "flow-1", "connectQueueId": "queue-1"})["id"]
    v1.start_campaign(id=campaign_id)
    holder = hold_writer_lock(tmp_path / "reachout.db")
    try:
        answered, failures = threading.Event(), []
        pauser = make_client(server.url, "connectcampaigns")  # made here: the call goes out at once

        def pause() -> None:
            try:
                pauser.pause_campaign(id=campaign_id)
            except Exception as error:  # noqa: BLE001 (reported below)
                failures.append(error)
            answered.set()

        pausing = threading.Thread(target=pause)
        pausing.start()
        assert not answered.wait(1.0), "paused while another process held the writer lock"
        for _ in range(3):  # the event loop is not held by the waiting write
            assert v1.get_campaign_state(id=campaign_id)["state"] == "Running"
            assert v1.describe_campaign(id=campaign_id)["campaign"]["id"] == campaign_id
        holder.stdin.close()
        assert answered.wait(30)
        pausing.join()
        assert failures == []  # a second application would have been refused: already Paused
        assert v1.get_campaign_state(id=campaign_id)["state"] == "Paused"
        v1.resume_campaign(id=campaign_id)  # and with the lock free, on the loop
        assert v1.get_campaign_state(id=campaign_id)["state"] == "Running"
    finally:
        holder.kill()
        holder.wait()
        next(serving, None)

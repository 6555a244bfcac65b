"""Processes sharing a SQLite file (`reachout serve`, `reachout ingest`, workers) take its one write
lock in turns through a lock on a file beside it, handed over by the kernel when released, instead of
each polling SQLite's lock with a back-off that let the engine's next pass in first."""
from __future__ import annotations

import subprocess
import sys
import threading

from sqlalchemy import text

from reachout.store.db import open_database

HOLDER = """
import fcntl, os, sys
lock = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(lock, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until the test closes our input
"""


def test_a_write_waits_for_another_process_holding_the_writer_lock_then_commits(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'reachout.db'}")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "reachout.db-writer")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
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

"""Opening the database: the URL, SQLite's pragmas, and migrations to head at start."""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections import deque
from contextlib import contextmanager
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url

from reachout.foreground import FOREGROUND

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(db: str | None, data_dir: Path) -> str:
    if db:
        # A bare postgresql:// URL means the psycopg 3 driver, the one Reachout ships with.
        if db.startswith("postgresql://") or db.startswith("postgres://"):
            return "postgresql+psycopg://" + db.split("://", 1)[1]
        return db
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'reachout.db'}"


class Database:
    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        codec = {"json_serializer": _json_text, "json_deserializer": _json_value}
        # SQLite has one writer at a time. Threads of this process queue for it here, in arrival order,
        # and are handed it the moment it is free; left to SQLite, a waiting writer sleeps and polls
        # (its busy handler backs off up to 100 ms), and a thread that writes in a loop (the engine)
        # can take it again before a waiting request wakes. Processes sharing the file (serve and
        # `reachout ingest`, workers) then take a lock on a file beside it, the waiting one next
        # (_ProcessLock), where SQLite's polling left a consumer waiting out most of the engine's passes.
        path = _file_of(url) if self.is_sqlite else None  # (None in memory)
        self._writer = _Turns() if self.is_sqlite else None
        # `<database file>-writer` beside the file, as SQLite keeps `-wal` and `-shm`
        self._across = _ProcessLock(f"{path}-writer" if path else None) if self.is_sqlite else None
        self._checkpoints = _Checkpointer(path) if path else None
        if self.is_sqlite:
            self.engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30, "factory": _SqliteConnection}, **codec)
            _sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **codec)

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self):
        """One unit of work: everything in it commits together or not at all."""
        with FOREGROUND.paced():
            if self._writer is None:
                with self.engine.begin() as connection:
                    yield connection
                return
            waits = not _unwaiting.first_only
            _unwaiting.first_only = False  # (a later transaction of the same call waits as usual)
            if waits:
                queued = self._writer.acquire(timeout=WRITER_WAIT)  # past it, SQLite's busy timeout decides
            elif not (queued := self._writer.try_acquire()):
                raise WriterBusy()
            try:
                with self._across.held(queued, waits), self.engine.begin() as connection:
                    yield connection
            finally:
                if queued:
                    self._writer.release()

    @contextmanager
    def without_waiting(self):
        """Inside, the first transaction takes SQLite's write lock only if it is free at once, and
        raises WriterBusy before anything is written otherwise: for work that must not block the
        thread it runs on (a short write on the event loop), and is done elsewhere when it would."""
        _unwaiting.first_only = self._writer is not None
        try:
            yield
        finally:
            _unwaiting.first_only = False

    @contextmanager
    def read(self):
        """A consistent read that writes nothing. On SQLite it takes no write lock (WAL readers see
        the last commit and wait for no writer), so reads never queue behind the engine or a write."""
        with FOREGROUND.paced(), self.engine.connect() as connection:
            # And it cannot write: a read that tried would be a bug (on SQLite a write without the
            # write lock besides), refused by the database at once.
            if not self.is_sqlite:
                connection.execution_options(postgresql_readonly=True)
                with connection.begin():
                    yield connection
                return
            sqlite = connection.connection.driver_connection  # (outside SQLAlchemy's transaction)
            sqlite.read_only = True
            sqlite.execute("PRAGMA query_only=1")
            try:
                with connection.begin():
                    yield connection
            finally:
                sqlite.execute("PRAGMA query_only=0")
                sqlite.read_only = False

    def contended(self, within: float = 1.0) -> bool:
        """Whether, in the last `within` seconds, a write here found another process holding the SQLite
        write lock or waiting for it: background work then keeps its transactions short, as it does
        while this process serves API calls."""
        return self._across is not None and time.monotonic() - self._across.contended_at < within

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
        self.engine.dispose()
        if self._across is not None:
            self._across.close()


# Seconds a write waits for this process's turn before it goes to SQLite's own busy timeout anyway.
WRITER_WAIT = 30.0


class WriterBusy(Exception):
    """Raised by a transaction begun under Database.without_waiting when the write lock is taken."""


class _Unwaiting(threading.local):
    first_only = False  # the thread's next transaction must not wait for the write lock


_unwaiting = _Unwaiting()


class _Turns:
    """A lock taken in arrival order: release hands it straight to the longest waiter."""

    def __init__(self):
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._guard:
            if turn in self._waiting:  # not handed over: give up the place in the queue
                self._waiting.remove(turn)
                return False
        return True  # handed over just as the wait ended: the lock is ours

    def try_acquire(self) -> bool:
        """Takes the lock if it is free and nobody queues for it; never waits."""
        with self._guard:
            if self._held:
                return False
            self._held = True
            return True

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()  # stays held: it passes to the next in line
            else:
                self._held = False


class _ProcessLock:
    """An exclusive lock on a file, between processes (flock): held by one thread of this process at a
    time, the one whose turn it is. It is taken through a gate, a second file held while waiting: flock
    wakes a waiter on release but hands the lock to nobody, and a process writing in a loop (the
    engine) would take it back before the waiter ran, a dozen transactions in a row while `reachout
    ingest` waited. Held by the waiter, the gate makes the loop wait its turn instead."""

    def __init__(self, path: str | None):
        self._path = path
        self._files: tuple[int, int] | None = None  # (the lock's, the gate's)
        self.contended_at = float("-inf")  # time.monotonic() when another process last held either

    @contextmanager
    def held(self, wanted: bool = True, waits: bool = True):
        """With `waits` false, raises WriterBusy when another process holds the lock or waits for it."""
        if not wanted or self._path is None:
            yield
            return
        if self._files is None:
            self._files = (os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600),
                           os.open(f"{self._path}-gate", os.O_RDWR | os.O_CREAT, 0o600))
        lock, gate = self._files
        self._take(gate, waits)
        try:
            self._take(lock, waits)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _take(self, file: int, waits: bool) -> None:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.contended_at = time.monotonic()
            if not waits:
                raise WriterBusy() from None
            fcntl.flock(file, fcntl.LOCK_EX)

    def close(self) -> None:
        if self._files is not None:
            for file in self._files:
                os.close(file)
            self._files = None


class _Checkpointer(threading.Thread):
    """Copies the WAL's pages back into the database file, every PERIOD seconds, on a connection of its
    own. Left to SQLite, the commit that grows the WAL past 1,000 pages does it, with two fsyncs, while
    it holds the write lock: one commit in thirty of `reachout ingest` beside a busy engine took 3 to
    18 ms instead of 0.05, and whoever waited for the lock waited that long too. A PASSIVE checkpoint
    takes no write lock: writers go on meanwhile."""

    PERIOD = 0.2

    def __init__(self, path: str):
        super().__init__(name="reachout-checkpoints", daemon=True)
        self._uri = f"file:{urllib.parse.quote(path)}?mode=rw"  # (never creates the file)
        self._stopping = threading.Event()
        self.start()

    def run(self) -> None:
        connection = None
        try:
            while not self._stopping.wait(self.PERIOD):
                try:
                    connection = connection or sqlite3.connect(self._uri, uri=True, isolation_level=None)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # another process's checkpoint under way, a file not there yet: next time
                    pass
        finally:
            if connection is not None:
                connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def _file_of(url: str) -> str | None:
    """The file of a SQLite URL; None for a database in memory."""
    path = make_url(url).database
    return None if not path or path == ":memory:" or path.startswith("file:") else path


def open_database(url: str) -> Database:
    database = Database(url)
    database.migrate()
    return database


# JSON columns through orjson: every event, reach and zone list is encoded on the way in and decoded
# on the way out, and the standard library takes five times as long. What orjson refuses (integers
# beyond 64 bits) goes through the standard library as before.
def _json_text(value) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def _json_value(text: str | bytes):
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError: NaN, big integers
        return json.loads(text)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin() decide when a transaction starts (pysqlite's own guessing defers
        # BEGIN and so lets two writers both read before either writes).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL syncs at checkpoints, not at each commit: a crash of the process loses
        # nothing, but a power loss or OS crash may undo the last commits (never corrupt the file).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A snapshot gathers its members in a temporary table: in memory, not in a temporary file.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # done off the commits (_Checkpointer)
        cursor.close()

    # IMMEDIATE takes the write lock up front: a read-modify-write (a state transition, a quota
    # check) can never interleave with another writer. A read() needs no lock at all. Done in the
    # dialect's own begin step rather than a "begin" event: with any connection event listened to,
    # SQLAlchemy dispatches four more around every statement, a sixth of a short statement's cost.
    def do_begin(dbapi_connection: _SqliteConnection) -> None:
        dbapi_connection.execute("BEGIN" if dbapi_connection.read_only else "BEGIN IMMEDIATE")

    engine.dialect.do_begin = do_begin  # type: ignore[method-assign]


class _SqliteConnection(sqlite3.Connection):
    read_only = False  # set by Database.read() for the length of its transaction

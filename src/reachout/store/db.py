"""Opening the database: the URL, SQLite's pragmas, and migrations to head at start."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

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
        if self.is_sqlite:
            self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **codec)
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
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


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
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A snapshot gathers its members in a temporary table: in memory, not in a temporary file.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection):
        # IMMEDIATE takes the write lock up front: a read-modify-write (a state transition, a quota
        # check) can never interleave with another writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

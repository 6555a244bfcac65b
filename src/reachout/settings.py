"""Configuration: flags win over REACHOUT_* environment variables, which win over defaults."""
from __future__ import annotations

import ipaddress
import os
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timezone
from pathlib import Path

from reachout.aws.bodies import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES
from reachout.domain.quotas import Quotas

# The pair a fresh install accepts; fine on loopback, refused anywhere else.
DEFAULT_CREDENTIALS = ("test", "test")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4570
    db: str | None = None  # SQLAlchemy URL; None = SQLite in data_dir
    data_dir: Path = Path(".reachout")
    access_key_id: str = "test"
    secret_access_key: str = "test"
    account_id: str = "123456789012"
    quotas: Quotas = field(default_factory=Quotas, metadata={"env": "REACHOUT_QUOTA_"})  # REACHOUT_QUOTA_<QUOTA>
    virtual_clock: datetime | None = None  # run on a virtual clock starting here
    seed: int = 0  # the simulated carriers' seed
    sim_rate: float = 1000.0  # dispatches per second each simulated channel accepts
    lease_seconds: float = 120.0  # how long claimed work stays with a worker before others may redo it
    engine: bool = field(default=True, metadata={"env": None})  # run the engine in `serve` (off when separate
    # workers do the work): the flag --no-engine only
    redis_url: str = "redis://127.0.0.1:6379/0"  # where Kinesis-stream rule targets become Redis streams
    smtp_url: str | None = None  # smtp[s]://user:password@host:port: email goes there instead of the simulation
    smpp_url: str | None = None  # smpp://system_id:password@host:port: SMS go there instead of the simulation
    smtp_rate: float = 50.0  # emails per second handed to the relay
    smpp_rate: float = 50.0  # submit_sm per second (a long SMS takes one per part): the SMS centre's limit
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # larger request bodies are refused with 413
    admin_token: str | None = None  # bearer token accepted under /_reachout/ besides a SigV4 signature
    require_admin_auth: bool = False  # /_reachout/ needs auth even on loopback (always does off loopback)
    tls_cert: Path | None = None  # PEM certificate (chain) and key: serve HTTPS instead of HTTP
    tls_key: Path | None = None
    keep_alive_seconds: float = 5.0  # an idle keep-alive connection is closed after this
    header_timeout_seconds: float = 10.0  # a request line and headers must arrive within this
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS  # a body silent this long is refused with 408

    @property
    def on_loopback(self) -> bool:
        """Whether the bind address is reachable from this machine only."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:  # a host name: it may resolve to anything
            return False

    @property
    def admin_auth_required(self) -> bool:
        return self.require_admin_auth or not self.on_loopback

    @property
    def default_credentials(self) -> bool:
        return (self.access_key_id, self.secret_access_key) == DEFAULT_CREDENTIALS

    @classmethod
    def from_env(cls, **flags) -> Settings:
        """Each field from its REACHOUT_<FIELD> variable (or the name its metadata gives), then the flags
        that were given (not None)."""
        values = _from_env(cls, "REACHOUT_")
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**values)


def _from_env(cls, prefix: str) -> dict:
    """The fields of dataclass `cls` that the environment sets, as their types; a field whose type is a
    dataclass reads its own fields under the prefix its metadata gives."""
    hints = typing.get_type_hints(cls)
    values: dict = {}
    for item in fields(cls):
        name = item.metadata.get("env", prefix + item.name.upper())
        if name is None:
            continue
        hint = hints[item.name]
        if is_dataclass(hint):
            values[item.name] = hint(**_from_env(hint, name))
        elif name in os.environ:
            value = _parse(os.environ[name], hint)
            if value is not None:
                values[item.name] = value
    return values


def _parse(text: str, hint):
    """A variable's text as the field's type. An optional field set empty is unset."""
    kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)] or [hint]
    optional = len(kinds) < len(typing.get_args(hint))
    if optional and not text:
        return None
    kind = kinds[0]
    if kind is bool:
        return _flag(text)
    if kind is datetime:
        return _instant(text)
    return kind(text)  # str, int, float, Path


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")

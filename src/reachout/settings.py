"""Configuration: flags win over REACHOUT_* environment variables, which win over defaults."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from reachout.aws.bodies import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES
from reachout.providers.campaigns import Quotas

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
    quotas: Quotas = field(default_factory=Quotas)
    virtual_clock: datetime | None = None  # run on a virtual clock starting here
    seed: int = 0  # the simulated carriers' seed
    sim_rate: float = 1000.0  # dispatches per second each simulated channel accepts
    lease_seconds: float = 120.0  # how long claimed work stays with a worker before others may redo it
    engine: bool = True  # run the engine in `serve` (off when separate workers do the work)
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
        env = os.environ
        values = {
            "host": env.get("REACHOUT_HOST"),
            "port": int(env["REACHOUT_PORT"]) if "REACHOUT_PORT" in env else None,
            "db": env.get("REACHOUT_DB"),
            "data_dir": Path(env["REACHOUT_DATA_DIR"]) if "REACHOUT_DATA_DIR" in env else None,
            "access_key_id": env.get("REACHOUT_ACCESS_KEY_ID"),
            "secret_access_key": env.get("REACHOUT_SECRET_ACCESS_KEY"),
            "account_id": env.get("REACHOUT_ACCOUNT_ID"),
            "virtual_clock": _instant(env["REACHOUT_VIRTUAL_CLOCK"]) if env.get("REACHOUT_VIRTUAL_CLOCK") else None,
            "seed": int(env["REACHOUT_SEED"]) if "REACHOUT_SEED" in env else None,
            "sim_rate": float(env["REACHOUT_SIM_RATE"]) if "REACHOUT_SIM_RATE" in env else None,
            "lease_seconds": float(env["REACHOUT_LEASE_SECONDS"]) if "REACHOUT_LEASE_SECONDS" in env else None,
            "redis_url": env.get("REACHOUT_REDIS_URL"),
            "smtp_url": env.get("REACHOUT_SMTP_URL") or None,
            "smpp_url": env.get("REACHOUT_SMPP_URL") or None,
            "smtp_rate": float(env["REACHOUT_SMTP_RATE"]) if "REACHOUT_SMTP_RATE" in env else None,
            "smpp_rate": float(env["REACHOUT_SMPP_RATE"]) if "REACHOUT_SMPP_RATE" in env else None,
            "max_body_bytes": int(env["REACHOUT_MAX_BODY_BYTES"]) if "REACHOUT_MAX_BODY_BYTES" in env else None,
            "admin_token": env.get("REACHOUT_ADMIN_TOKEN") or None,
            "require_admin_auth": _flag(env["REACHOUT_REQUIRE_ADMIN_AUTH"]) if "REACHOUT_REQUIRE_ADMIN_AUTH" in env
            else None,
            "tls_cert": Path(env["REACHOUT_TLS_CERT"]) if env.get("REACHOUT_TLS_CERT") else None,
            "tls_key": Path(env["REACHOUT_TLS_KEY"]) if env.get("REACHOUT_TLS_KEY") else None,
            "keep_alive_seconds": float(env["REACHOUT_KEEP_ALIVE_SECONDS"]) if "REACHOUT_KEEP_ALIVE_SECONDS" in env
            else None,
            "header_timeout_seconds": float(env["REACHOUT_HEADER_TIMEOUT_SECONDS"])
            if "REACHOUT_HEADER_TIMEOUT_SECONDS" in env else None,
            "body_timeout_seconds": float(env["REACHOUT_BODY_TIMEOUT_SECONDS"])
            if "REACHOUT_BODY_TIMEOUT_SECONDS" in env else None,
            "quotas": Quotas(
                int(env.get("REACHOUT_QUOTA_ACTIVE_CAMPAIGNS_PER_INSTANCE", Quotas.active_campaigns_per_instance)),
                int(env.get("REACHOUT_QUOTA_CAMPAIGNS_PER_INSTANCE", Quotas.campaigns_per_instance)),
            ),
        }
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**{k: v for k, v in values.items() if v is not None})


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")

"""Configuration: flags win over REACHOUT_* environment variables, which win over defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from reachout.providers.campaigns import Quotas


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

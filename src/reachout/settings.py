"""Configuration: flags win over REACHOUT_* environment variables, which win over defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
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
            "quotas": Quotas(
                int(env.get("REACHOUT_QUOTA_ACTIVE_CAMPAIGNS_PER_INSTANCE", Quotas.active_campaigns_per_instance)),
                int(env.get("REACHOUT_QUOTA_CAMPAIGNS_PER_INSTANCE", Quotas.campaigns_per_instance)),
            ),
        }
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**{k: v for k, v in values.items() if v is not None})

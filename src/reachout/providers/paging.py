"""nextToken <-> the position after which the next page starts. Opaque to clients, checked on the
way back in."""
from __future__ import annotations

import base64
import json
from datetime import datetime

from reachout.domain.errors import DomainError
from reachout.json_text import read_json


def next_token(created_at: datetime, key: str) -> str:
    raw = json.dumps([created_at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def position(token: str | None) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        created_at, key = read_json(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(key, str) or "\x00" in key:
            raise ValueError(key)
        return datetime.fromisoformat(created_at), key
    except (ValueError, TypeError):
        raise DomainError("The nextToken is not one this service issued") from None


def page(rows: list, limit: int, key) -> tuple[list, str | None]:
    """`rows` was fetched with limit + 1: the extra row only says whether another page exists."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, next_token(*key(rows[-1]))


def sequence_position(token: str | None) -> int | None:
    """For listings in creation order: the sequence number after which the next page starts."""
    found = position(token)
    if found is None:
        return None
    try:
        return int(found[1])
    except ValueError:
        raise DomainError("The nextToken is not one this service issued") from None

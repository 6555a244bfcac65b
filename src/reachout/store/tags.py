"""Tags of any resource, keyed by its ARN."""
from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, insert, select

from reachout.store.tables import tags

# Built once: every describe and tag call runs them.
_OF = select(tags.c.key, tags.c.value).where(tags.c.resource_arn == bindparam("arn"))
_KEYS_OF = delete(tags).where(tags.c.resource_arn == bindparam("arn"),
                              tags.c.key.in_(bindparam("keys", expanding=True)))
_ALL_OF = delete(tags).where(tags.c.resource_arn == bindparam("arn"))


def get_tags(conn: Connection, arn: str) -> dict[str, str]:
    return {row.key: row.value for row in conn.execute(_OF, {"arn": arn})}


def put_tags(conn: Connection, arn: str, new_tags: dict[str, str]) -> None:
    """Adds or overwrites the given keys; other keys stay."""
    if not new_tags:
        return
    conn.execute(_KEYS_OF, {"arn": arn, "keys": list(new_tags)})
    conn.execute(insert(tags), [{"resource_arn": arn, "key": k, "value": v} for k, v in new_tags.items()])


def remove_tags(conn: Connection, arn: str, keys: list[str] | None = None) -> None:
    """Removes the given keys, or every tag of the resource when keys is None."""
    if keys is None:
        conn.execute(_ALL_OF, {"arn": arn})
    elif keys:
        conn.execute(_KEYS_OF, {"arn": arn, "keys": list(keys)})


def remove_tags_under(conn: Connection, arn: str) -> None:
    """Removes the tags of a resource and of everything whose ARN nests below it (a domain's object
    types and segments)."""
    conn.execute(delete(tags).where((tags.c.resource_arn == arn) | tags.c.resource_arn.startswith(arn + "/", autoescape=True)))

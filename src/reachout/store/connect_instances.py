"""Amazon Connect instances."""
from __future__ import annotations

from sqlalchemy import Connection, Row, insert, select

from reachout.store.sequences import next_value
from reachout.store.tables import connect_instances


def insert_instance(conn: Connection, **values) -> Row:
    conn.execute(insert(connect_instances).values(**values, seq=next_value(conn, "connect_instances")))
    return get_instance(conn, values["region"], values["id"])


def get_instance(conn: Connection, region: str, instance_id: str) -> Row | None:
    return conn.execute(select(connect_instances).where(connect_instances.c.region == region,
                                                        connect_instances.c.id == instance_id)).first()


def find_by_arn(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(connect_instances).where(connect_instances.c.arn == arn)).first()


def alias_taken(conn: Connection, region: str, alias: str) -> bool:
    query = select(connect_instances.c.id).where(connect_instances.c.region == region,
                                                 connect_instances.c.alias == alias)
    return conn.execute(query).first() is not None


def list_instances(conn: Connection, region: str, after: int | None, limit: int) -> list[Row]:
    """In creation order; `after` is the seq of the last instance of the previous page."""
    query = select(connect_instances).where(connect_instances.c.region == region)
    if after is not None:
        query = query.where(connect_instances.c.seq > after)
    return list(conn.execute(query.order_by(connect_instances.c.seq).limit(limit)))

"""Contact flows of Amazon Connect instances."""
from __future__ import annotations

from sqlalchemy import Connection, Row, insert, select

from reachout.store.sequences import next_value
from reachout.store.tables import contact_flows as flows


def insert_flow(conn: Connection, **values) -> None:
    conn.execute(insert(flows).values(**values, seq=next_value(conn, "contact_flows")))


def get_flow(conn: Connection, instance_id: str, flow_id: str) -> Row | None:
    return conn.execute(select(flows).where(flows.c.instance_id == instance_id, flows.c.id == flow_id)).first()


def find_by_arn(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(flows).where(flows.c.arn == arn)).first()


def name_taken(conn: Connection, instance_id: str, name: str) -> bool:
    return conn.execute(select(flows.c.id).where(flows.c.instance_id == instance_id,
                                                 flows.c.name == name)).first() is not None


def list_flows(conn: Connection, instance_id: str, types: list[str] | None, after: int | None,
               limit: int) -> list[Row]:
    query = select(flows).where(flows.c.instance_id == instance_id)
    if types:
        query = query.where(flows.c.type.in_(types))
    if after is not None:
        query = query.where(flows.c.seq > after)
    return list(conn.execute(query.order_by(flows.c.seq).limit(limit)))

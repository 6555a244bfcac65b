"""Phone numbers claimed by Amazon Connect instances."""
from __future__ import annotations

from sqlalchemy import Connection, Row, insert, select

from reachout.store.sequences import next_value
from reachout.store.tables import connect_phone_numbers as numbers


def insert_number(conn: Connection, **values) -> None:
    conn.execute(insert(numbers).values(**values, seq=next_value(conn, "connect_phone_numbers")))


def find_number(conn: Connection, region: str, number: str) -> Row | None:
    return conn.execute(select(numbers).where(numbers.c.region == region, numbers.c.number == number)).first()


def find_by_arn(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(numbers).where(numbers.c.arn == arn)).first()


def list_numbers(conn: Connection, region: str, instance_id: str | None, after: int | None, limit: int, *,
                 country_codes: list[str] | None = None, types: list[str] | None = None,
                 prefix: str | None = None) -> list[Row]:
    """In claim order, filtered as ListPhoneNumbersV2 filters."""
    query = select(numbers).where(numbers.c.region == region)
    if instance_id is not None:
        query = query.where(numbers.c.instance_id == instance_id)
    if country_codes:
        query = query.where(numbers.c.country_code.in_(country_codes))
    if types:
        query = query.where(numbers.c.number_type.in_(types))
    if prefix:
        query = query.where(numbers.c.number.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(numbers.c.seq > after)
    return list(conn.execute(query.order_by(numbers.c.seq).limit(limit)))


def get_number(conn: Connection, number_id: str) -> Row | None:
    return conn.execute(select(numbers).where(numbers.c.id == number_id)).first()

"""Campaign rows <-> Campaign objects."""
from __future__ import annotations

from collections.abc import Iterable
from sqlalchemy import Connection, bindparam, case, delete, func, insert, select, update

from reachout.domain.campaign import Campaign
from reachout.domain.schedule import Schedule
from reachout.store.sequences import next_value
from reachout.store.tables import campaigns

_CONFIG = ("type", "channel_subtype_config", "source", "connect_campaign_flow_arn", "entry_limits_config",
           "communication_time_config", "communication_limits_override")


def _row(campaign: Campaign) -> dict:
    schedule = campaign.schedule
    return {
        "id": campaign.id, "region": campaign.region, "arn": campaign.arn, "name": campaign.name,
        "connect_instance_id": campaign.connect_instance_id, "state": campaign.state,
        "created_at": campaign.created_at,
        "schedule_start": schedule.start_time if schedule else None,
        "schedule_end": schedule.end_time if schedule else None,
        "refresh_frequency": schedule.refresh_frequency if schedule else None,
        **{name: getattr(campaign, name) for name in _CONFIG},
    }


def _campaign(row) -> Campaign:
    schedule = (Schedule(row.schedule_start, row.schedule_end, row.refresh_frequency)
                if row.schedule_start is not None else None)
    return Campaign(
        id=row.id, arn=row.arn, region=row.region, name=row.name,
        connect_instance_id=row.connect_instance_id, created_at=row.created_at, state=row.state,
        schedule=schedule, **{name: getattr(row, name) for name in _CONFIG})


def insert_campaign(conn: Connection, campaign: Campaign) -> None:
    # Values given at execution, not built into the statement: one compiled INSERT serves every call.
    conn.execute(insert(campaigns), {**_row(campaign), "seq": next_value(conn, "campaigns")})


def save_campaign(conn: Connection, campaign: Campaign) -> None:
    # SET takes the row's values as execution parameters (one compiled UPDATE for every call); the
    # WHERE binds a name no column has, as SQLAlchemy reserves column names for SET. The key is left
    # out of SET: rewriting it would make SQLite check the rows that refer to it.
    row = _row(campaign)
    row["saved_id"] = row.pop("id")
    conn.execute(_SAVE, row)


_SAVE = update(campaigns).where(campaigns.c.id == bindparam("saved_id"))


# Statements of every API call, built once: building one (and its cache key) costs more than SQLite
# takes to run it.
_BY_ID = select(campaigns).where(campaigns.c.region == bindparam("region"), campaigns.c.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()  # PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already serialises


def get_campaign(conn: Connection, region: str, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
    row = conn.execute(_BY_ID_LOCKED if for_update else _BY_ID, {"region": region, "id": campaign_id}).first()
    return _campaign(row) if row else None


def get_campaign_by_id(conn: Connection, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
    """For the engine, which works across regions."""
    row = conn.execute(_ANY_REGION_LOCKED if for_update else _ANY_REGION, {"id": campaign_id}).first()
    return _campaign(row) if row else None


_ANY_REGION = select(campaigns).where(campaigns.c.id == bindparam("id"))
_ANY_REGION_LOCKED = _ANY_REGION.with_for_update()


def campaigns_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, Campaign]:
    """For the engine, across regions: those of these campaigns that exist, in one read (a batch of
    an event trigger's firings holds a contact or two of each of many campaigns)."""
    wanted = list(set(ids))
    return {row.id: _campaign(row) for row in conn.execute(_ANY_REGION_IN, {"ids": wanted})} if wanted else {}


_ANY_REGION_IN = select(campaigns).where(campaigns.c.id.in_(bindparam("ids", expanding=True)))


def get_campaigns(conn: Connection, region: str, ids: Iterable[str]) -> dict[str, Campaign]:
    rows = conn.execute(select(campaigns).where(campaigns.c.region == region, campaigns.c.id.in_(list(ids))))
    return {row.id: _campaign(row) for row in rows}


_BY_ARN = select(campaigns).where(campaigns.c.arn == bindparam("arn"))


def find_by_arn(conn: Connection, arn: str) -> Campaign | None:
    row = conn.execute(_BY_ARN, {"arn": arn}).first()
    return _campaign(row) if row else None


def delete_campaign(conn: Connection, campaign_id: str) -> None:
    conn.execute(delete(campaigns).where(campaigns.c.id == campaign_id))


def list_campaigns(conn: Connection, region: str, instance_id: str | None, after: int | None,
                   limit: int) -> list[tuple[int, Campaign]]:
    """(seq, campaign) in creation order; `after` is the seq of the last campaign of the previous page."""
    query = _LISTINGS[instance_id is not None, after is not None]
    return [(row.seq, _campaign(row)) for row in conn.execute(query, {
        "region": region, "instance_id": instance_id, "after": after, "limit": limit})]


def _listing(by_instance: bool, paged: bool):
    query = select(campaigns).where(campaigns.c.region == bindparam("region"))
    if by_instance:
        query = query.where(campaigns.c.connect_instance_id == bindparam("instance_id"))
    if paged:
        query = query.where(campaigns.c.seq > bindparam("after"))
    return query.order_by(campaigns.c.seq).limit(bindparam("limit"))


# Built once per form (filtered by instance or not, first page or not): listings are frequent calls.
_LISTINGS = {(by_instance, paged): _listing(by_instance, paged) for by_instance in (False, True)
             for paged in (False, True)}


_COUNT = select(
    func.count(),
    func.coalesce(func.sum(case((campaigns.c.state.in_(bindparam("states", expanding=True)), 1), else_=0)), 0),
).where(campaigns.c.region == bindparam("region"), campaigns.c.connect_instance_id == bindparam("instance_id"))


def count_campaigns(conn: Connection, region: str, instance_id: str, states: Iterable[str]) -> tuple[int, int]:
    """The instance's campaigns: how many in all, and how many in `states`."""
    total, matching = conn.execute(_COUNT, {"region": region, "instance_id": instance_id,
                                            "states": list(states)}).one()
    return total, matching


def instance_campaign_ids(conn: Connection, region: str, instance_id: str) -> list[str]:
    query = select(campaigns.c.id).where(campaigns.c.region == region,
                                         campaigns.c.connect_instance_id == instance_id)
    return list(conn.execute(query).scalars())

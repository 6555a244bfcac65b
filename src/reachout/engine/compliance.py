"""The compliance regime a campaign selects (its tag `reachout:compliance-regime`, domain/regime.py)
and the calls its per-subject caps count, for planning."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection

from reachout.domain.campaign import Campaign
from reachout.domain.errors import DomainError
from reachout.domain.regime import Regime, regime_from_tags
from reachout.store import subject_calls, tags


def regime_of(conn: Connection, campaign: Campaign) -> Regime | None:
    """The campaign's regime; None without the tag. The API refuses a tag naming no regime, so one
    found here (written before the check existed) is ignored rather than stopping the engine."""
    try:
        return regime_from_tags(tags.get_tags(conn, campaign.arn))
    except DomainError:
        return None


def calls_to(conn: Connection, regime: Regime, recipients: Iterable[str], now: datetime) -> dict[str, list[datetime]]:
    """Each recipient's calls within the regime's cap period before `now` (none without a cap)."""
    if regime.calls_per_subject is None:
        return {}
    return subject_calls.calls_since(conn, recipients, now - regime.cap_period)

"""The live page's figures (store/console_reads.live_figures), read through indexes in a few passes,
against a plain count of the same rows in Python, on both backends. Two campaigns share the tables,
so that nothing of one is counted for the other."""
from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from reachout.store import console_reads
from reachout.store.db import open_database
from reachout.store.tables import contacts, event_outbox, participants, suppressions

START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
REASONS = ["invalid endpoint: EmailAddress 'x' is not an email address", "invalid endpoint: no digits",
           "no time zone: nothing locates the recipient", "communication limit reached: 1 per 1 day",
           "entry limit", "no endpoint"]
# (state, disposition, dispatched?): what the engine leaves on a contact, including dispositions
# without a dispatch (an expired request) and dispatches without a disposition yet.
CONTACT_SHAPES = [("planned", None, False), ("dispatching", None, True), ("sent", None, True),
                  ("completed", "DELIVERED", True), ("completed", "HARD_BOUNCE", True),
                  ("completed", "ANSWERING_MACHINE", True), ("dropped", None, False), ("dropped", "EXPIRED", False),
                  ("dropped", "UNDELIVERABLE", True)]


@pytest.fixture
def database(backend):
    database = open_database(backend)
    yield database
    database.dispose()


def fill(database, campaign_id: str, rng: random.Random, count: int, participant_states: list[str]) -> None:
    parts, made, dropped, events = [], [], [], []
    for n in range(count):
        participant, contact = str(uuid.uuid4()), str(uuid.uuid4())
        at = START + timedelta(seconds=rng.randrange(3 * 86400))
        parts.append({"id": participant, "campaign_id": campaign_id, "profile_id": f"p{n}", "entry": 1,
                      "state": rng.choice(participant_states), "entered_at": START,
                      "release_at": at if rng.random() < 0.1 else None})
        state, disposition, dispatched = rng.choice(CONTACT_SHAPES)
        made.append({"id": contact, "campaign_id": campaign_id, "participant_id": participant, "recipient": f"p{n}",
                     "channel": "email", "endpoint": f"p{n}@example.com", "zones": [], "attempt": 1, "state": state,
                     "due_at": at, "disposition": disposition, "created_at": START,
                     "dispatched_at": at if dispatched else None})
        if rng.random() < 0.3:
            dropped.append({"campaign_id": campaign_id, "participant_id": participant, "contact_id": contact,
                            "recipient": f"p{n}", "channel": rng.choice(["email", None]),
                            "reason": rng.choice(REASONS), "at": at})
        if dispatched:
            events.append({"key": contact, "created_at": at, "event": {"detail": {"contactId": contact, "n": n}}})
    with database.transaction() as conn:
        for table, rows in ((participants, parts), (contacts, made), (suppressions, dropped), (event_outbox, events)):
            if rows:
                conn.execute(insert(table), rows)


def reference(database, campaign_id: str) -> dict:
    """The same figures from every row of the campaign, counted one by one."""
    with database.read() as conn:
        parts = conn.execute(select(participants).where(participants.c.campaign_id == campaign_id)).all()
        made = conn.execute(select(contacts).where(contacts.c.campaign_id == campaign_id)).all()
        dropped = conn.execute(select(suppressions).where(suppressions.c.campaign_id == campaign_id)
                               .order_by(suppressions.c.id.desc())).all()
        ids = {row.id for row in made}
        events = [row.event for row in conn.execute(select(event_outbox).order_by(event_outbox.c.seq.desc()))
                  if row.key in ids][:20]
    by_state = Counter(row.state for row in made)
    waiting = sum(1 for row in parts if row.release_at is not None)
    if waiting:
        by_state["planned (not yet made)"] += waiting
    kinds = Counter(row.reason.split(":", 1)[0] for row in dropped)
    examples: dict[str, list] = {}
    for row in dropped:
        examples.setdefault(row.reason.split(":", 1)[0], []).append(
            {"recipient": row.recipient, "channel": row.channel, "reason": row.reason, "at": row.at})
    return {"participants": dict(sorted(Counter(row.state for row in parts).items())),
            "contacts": dict(by_state), "dispositions": dict(Counter(row.disposition for row in made if row.disposition)),
            "per_hour": sorted(Counter(row.dispatched_at.strftime("%Y-%m-%dT%H") for row in made
                                       if row.dispatched_at).items()),
            "suppressions": {kind: (count, examples[kind][:3]) for kind, count in kinds.items()},
            "events": events}


@pytest.mark.parametrize("participant_states", [["active", "completed", "dropped"],
                                                ["active", "completed", "dropped", "paused"]])
def test_live_figures_count_exactly_what_a_plain_count_of_the_rows_does(database, participant_states):
    """The second case has a participant state the engine does not give: counted all the same."""
    rng = random.Random(14)
    campaign_id, other_id = str(uuid.uuid4()), str(uuid.uuid4())
    fill(database, campaign_id, rng, 600, participant_states)
    fill(database, other_id, rng, 300, participant_states)
    with database.read() as conn:
        figures = console_reads.live_figures(conn, campaign_id)
    expected = reference(database, campaign_id)
    assert figures["participants"] == expected["participants"]
    assert list(figures["participants"]) == sorted(figures["participants"])
    for name in ("contacts", "dispositions"):
        assert figures[name] == expected[name]
        assert list(figures[name].values()) == sorted(figures[name].values(), reverse=True)  # most first
    assert figures["per_hour"] == expected["per_hour"] and len(figures["per_hour"]) > 24
    assert {group["reason"]: (group["count"], group["examples"]) for group in figures["suppressions"]} \
        == expected["suppressions"]
    assert [group["count"] for group in figures["suppressions"]] \
        == sorted((group["count"] for group in figures["suppressions"]), reverse=True)
    assert [group["reason"] for group in figures["limits_hit"]] == ["communication limit reached"]
    assert figures["events"] == expected["events"]


def test_a_campaign_with_no_rows_has_empty_figures(database):
    with database.read() as conn:
        figures = console_reads.live_figures(conn, str(uuid.uuid4()))
    assert figures == {"participants": {}, "contacts": {}, "dispositions": {}, "per_hour": [], "suppressions": [],
                       "limits_hit": [], "events": []}

"""The processes beside `reachout serve` (`reachout profiles import`, `reachout ingest`) stamp what they
ingest on the engine's clock: the server's virtual clock when it runs on one (published in the
database they share), the system clock otherwise."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from reachout.engine.shared_clock import engine_clock
from reachout.store.db import database_url, open_database
from tests.support import (EMAIL, START, Server, World, advance, event_campaign, explain, link, order_type, records,
                           start_server)


def test_imported_objects_fire_on_the_servers_virtual_clock(engine_server: Server, tmp_path) -> None:
    world = World(engine_server)
    order_type(world)
    campaign_id = event_campaign(world, EMAIL)  # moves the virtual clock on by a second
    link(world, campaign_id)
    later = advance(engine_server, seconds=3600)
    rows = tmp_path / "orders.jsonl"
    rows.write_text(json.dumps({"OrderId": "imp-1", "Email": "eve@example.org", "Total": 900}) + "\n")
    imported = subprocess.run([sys.executable, "-m", "reachout", "profiles", "import", str(rows), "--domain",
                               world.domain, "--object-type", "WebOrder", "--db", engine_server.db],
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    [evaluation] = explain(engine_server, world.domain)
    assert evaluation["fired"] is True
    assert datetime.fromisoformat(evaluation["at"]) == later  # not the machine's time
    assert evaluation["reason"].endswith(f"expiring {(later + timedelta(minutes=15)).isoformat()}")
    advance(engine_server, seconds=1)  # the firing is due on the engine's clock: it is sent now
    [contact] = records(engine_server, campaign_id, "contacts")
    assert contact["endpoint"] == "eve@example.org" and contact["dispatched_at"] is not None


def test_a_server_on_the_system_clock_withdraws_the_virtual_one(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'reachout.db'}"
    virtual = start_server(db, tmp_path, "--virtual-clock", START.isoformat())
    database = open_database(database_url(db, tmp_path))
    try:
        clock = engine_clock(database)
        assert clock.now() == START
        advance(virtual, seconds=90)
        assert clock.now() == START + timedelta(seconds=90)  # it follows the server's clock as it moves
        assert virtual.stop() == 0
        system = start_server(db, tmp_path)
        try:
            before = datetime.now(timezone.utc)
            assert before <= clock.now() <= datetime.now(timezone.utc)
        finally:
            assert system.stop() == 0
    finally:
        database.dispose()

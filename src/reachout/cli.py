"""`reachout`: the command line."""
from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Optional

import typer
import uvicorn

from reachout import collector
from reachout.settings import Settings

app = typer.Typer(help="Reachout: a self-hosted outbound campaign engine speaking Amazon Connect's APIs.",
                  no_args_is_help=True)


SMTP_HELP = ("Send email through this SMTP relay instead of the simulated carrier: smtp://user:password@host:port "
             "(STARTTLS when offered) or smtps://... (implicit TLS) [env REACHOUT_SMTP_URL]")
SMPP_HELP = ("Send SMS through this SMS centre (SMPP 3.4 transceiver) instead of the simulated carrier: "
             "smpp://system_id:password@host:port [env REACHOUT_SMPP_URL]")


@app.callback()
def main() -> None:
    """Reachout's commands."""


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Address to listen on [env REACHOUT_HOST, default 127.0.0.1]"),
    port: Optional[int] = typer.Option(None, help="Port to listen on [env REACHOUT_PORT, default 4570]"),
    db: Optional[str] = typer.Option(None, help="Database URL, e.g. postgresql://host/db [env REACHOUT_DB, "
                                                "default SQLite in the data directory]"),
    data_dir: Optional[Path] = typer.Option(None, help="Directory for the embedded SQLite database "
                                                       "[env REACHOUT_DATA_DIR, default .reachout]"),
    virtual_clock: Optional[str] = typer.Option(None, help="Run on a virtual clock starting at this instant "
                                                           "(e.g. 2026-01-05T08:00:00Z) that moves only on POST "
                                                           "/_reachout/clock/advance [env REACHOUT_VIRTUAL_CLOCK]"),
    seed: Optional[int] = typer.Option(None, help="Seed of the simulated carriers [env REACHOUT_SEED, default 0]"),
    engine: bool = typer.Option(True, help="Run the campaign engine here too; --no-engine when `reachout worker` "
                                           "processes do the work"),
    smtp_url: Optional[str] = typer.Option(None, help=SMTP_HELP),
    smpp_url: Optional[str] = typer.Option(None, help=SMPP_HELP),
    tls_cert: Optional[Path] = typer.Option(None, help="Serve HTTPS with this PEM certificate (chain) "
                                                       "[env REACHOUT_TLS_CERT]; needs --tls-key"),
    tls_key: Optional[Path] = typer.Option(None, help="The PEM private key of --tls-cert [env REACHOUT_TLS_KEY]"),
) -> None:
    """Run the AWS-compatible API server and the campaign engine in this process."""
    from functools import partial

    from reachout.http_protocol import HeaderDeadlineProtocol
    from reachout.server import build_app
    from reachout.settings import _instant

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(host=host, port=port, db=db, data_dir=data_dir, seed=seed, engine=engine,
                                 virtual_clock=_instant(virtual_clock) if virtual_clock else None,
                                 smtp_url=smtp_url, smpp_url=smpp_url, tls_cert=tls_cert, tls_key=tls_key)
    if not settings.on_loopback and settings.default_credentials:
        typer.echo(f"Refusing to serve on {settings.host} with the default test/test credentials: anyone who can "
                   "reach this address could use them. Set REACHOUT_ACCESS_KEY_ID and REACHOUT_SECRET_ACCESS_KEY "
                   "to a pair of your own, or bind to 127.0.0.1.", err=True)
        raise typer.Exit(2)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key (REACHOUT_TLS_CERT / REACHOUT_TLS_KEY) go together")
    try:
        application = build_app(settings)
    except ValueError as error:  # a relay or SMS centre URL of the wrong form
        raise typer.BadParameter(str(error)) from None
    logging.getLogger("reachout").info(
        "Reachout on %s://%s:%d (access key %s, account %s, /_reachout/ %s)", "https" if settings.tls_cert else "http",
        settings.host, settings.port, settings.access_key_id, settings.account_id,
        "needs credentials" if settings.admin_auth_required else "open to this machine")
    logging.getLogger("reachout").info("Admin console on /console/ (REACHOUT_CONSOLE_USER / REACHOUT_CONSOLE_PASSWORD)")
    # uvicorn turns SIGTERM into a graceful shutdown (stop accepting, finish requests in flight, close
    # the database), then re-raises the signal under the handler it found. A no-op handler here
    # makes that re-raise harmless, so a clean shutdown exits 0 rather than dying by the signal.
    signal.signal(signal.SIGTERM, lambda *_: None)
    collector.settle_after_start()
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="warning",
                ssl_certfile=settings.tls_cert, ssl_keyfile=settings.tls_key,
                timeout_keep_alive=settings.keep_alive_seconds,
                http=partial(HeaderDeadlineProtocol, header_timeout=settings.header_timeout_seconds))


@app.command()
def worker(
    db: Optional[str] = typer.Option(None, help="Database URL shared with `reachout serve` [env REACHOUT_DB]"),
    data_dir: Optional[Path] = typer.Option(None, help="Data directory [env REACHOUT_DATA_DIR]"),
    seed: Optional[int] = typer.Option(None, help="Seed of the simulated carriers [env REACHOUT_SEED]"),
    smtp_url: Optional[str] = typer.Option(None, help=SMTP_HELP),
    smpp_url: Optional[str] = typer.Option(None, help=SMPP_HELP),
) -> None:
    """Run the campaign engine alone. On PostgreSQL any number of workers share the work: claims
    skip rows another worker holds, and a dead worker's leases expire for the others to take over."""
    import threading

    from reachout.clock import SystemClock
    from reachout.engine.engine import EngineThread
    from reachout.server import build_engine
    from reachout.store.db import database_url, open_database

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(db=db, data_dir=data_dir, seed=seed, smtp_url=smtp_url, smpp_url=smpp_url)
    database = open_database(database_url(settings.db, settings.data_dir))
    try:
        engine = build_engine(settings, database, SystemClock())
    except ValueError as error:
        database.dispose()
        raise typer.BadParameter(str(error)) from None
    thread = EngineThread(engine)
    collector.settle_after_start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    thread.start()
    logging.getLogger("reachout").info("worker %s running", thread.engine.owner)
    stopping.wait()
    thread.stop()  # finishes the pass in progress: nothing is left half-done
    engine.close()
    database.dispose()


@app.command()
def forecast(
    campaign_id: str = typer.Argument(..., help="The campaign to dry-run"),
    start: Optional[str] = typer.Option(None, help="When it would start [default: its schedule's start, or now]"),
    plot: Optional[Path] = typer.Option(None, help="Draw contacts per hour to this PNG"),
    json_output: bool = typer.Option(False, "--json", help="Print the forecast as JSON"),
    db: Optional[str] = typer.Option(None, help="Database URL [env REACHOUT_DB]"),
    data_dir: Optional[Path] = typer.Option(None, help="Data directory [env REACHOUT_DATA_DIR]"),
) -> None:
    """Dry-run a campaign against its current segment on a virtual clock with the simulated carriers:
    who would be dropped and why, contacts per hour, when it would finish. Nothing is written."""
    import json

    from rich.console import Console
    from rich.table import Table

    from reachout.clock import SystemClock
    from reachout.engine.forecast import forecast as run_forecast
    from reachout.engine.forecast import plot as draw
    from reachout.settings import _instant
    from reachout.store.campaigns import get_campaign_by_id
    from reachout.store.db import database_url, open_database

    settings = Settings.from_env(db=db, data_dir=data_dir)
    database = open_database(database_url(settings.db, settings.data_dir))
    console = Console()
    try:
        with database.transaction() as conn:
            campaign = get_campaign_by_id(conn, campaign_id)
        if campaign is None:
            console.print(f"[red]Campaign {campaign_id} not found[/red]")
            raise typer.Exit(2)
        begin = _instant(start) if start else (campaign.schedule.start_time if campaign.schedule
                                                else SystemClock().now())
        result = run_forecast(database, campaign, begin, seed=settings.seed, rate=settings.sim_rate)
    finally:
        database.dispose()
    if plot:
        draw(result, str(plot))
    if json_output:
        print(json.dumps(result.view(), indent=2))
        return
    console.print(f"{result.recipients} recipients, {result.contacts} contacts from {begin.isoformat()}; "
                  f"finishes {result.finish.isoformat() if result.finish else 'with nothing sent'}")
    table = Table("dropped because", "recipients")
    for reason, count in result.dropped.most_common():
        table.add_row(reason, str(count))
    console.print(table)
    hours = Table("hour (UTC)", "contacts")
    for hour, count in sorted(result.per_hour_utc.items()):
        hours.add_row(hour.isoformat(), str(count))
    console.print(hours)


@app.command()
def suppressions(
    campaign_id: str = typer.Argument(..., help="The campaign"),
    db: Optional[str] = typer.Option(None, help="Database URL [env REACHOUT_DB]"),
    data_dir: Optional[Path] = typer.Option(None, help="Data directory [env REACHOUT_DATA_DIR]"),
    limit: int = typer.Option(200, help="At most this many, oldest first"),
) -> None:
    """Why recipients of a campaign were dropped, deferred or limited."""
    from rich.console import Console
    from rich.table import Table

    from reachout.store import recipients
    from reachout.store.db import database_url, open_database

    settings = Settings.from_env(db=db, data_dir=data_dir)
    database = open_database(database_url(settings.db, settings.data_dir))
    with database.transaction() as conn:
        rows = recipients.suppressions_of(conn, campaign_id, limit)
    database.dispose()
    table = Table("at", "recipient", "channel", "reason")
    for row in rows:
        table.add_row(row["at"].isoformat(), row["recipient"], row["channel"] or "", row["reason"])
    Console().print(table)


triggers_app = typer.Typer(help="Customer Profiles event triggers.", no_args_is_help=True)
app.add_typer(triggers_app, name="triggers")


@triggers_app.command("explain")
def explain_triggers(
    domain: str = typer.Option(..., help="Customer Profiles domain"),
    trigger: Optional[str] = typer.Option(None, help="Only this event trigger"),
    profile: Optional[str] = typer.Option(None, help="Only objects of this profile"),
    region: str = typer.Option("us-east-1", help="Region of the domain"),
    limit: int = typer.Option(100, help="At most this many, latest first"),
    db: Optional[str] = typer.Option(None, help="Database URL [env REACHOUT_DB]"),
    data_dir: Optional[Path] = typer.Option(None, help="Data directory [env REACHOUT_DATA_DIR]"),
) -> None:
    """Which trigger each ingested object fired, or exactly why not (condition, segment filter, limit,
    campaign state); a firing's request then shows whether it was sent (taken) or expired."""
    from rich.console import Console

    from reachout.store import event_triggers, profile_domains
    from reachout.store.db import database_url, open_database

    settings = Settings.from_env(db=db, data_dir=data_dir)
    database = open_database(database_url(settings.db, settings.data_dir))
    with database.transaction() as conn:
        found = profile_domains.get_domain(conn, region, domain)
        rows = found and event_triggers.evaluations(conn, found.id, trigger_name=trigger, profile_id=profile,
                                                    limit=limit)
    database.dispose()
    if found is None:
        Console(stderr=True).print(f"[red]Domain {domain} not found in {region}[/red]")
        raise typer.Exit(2)
    # One block per evaluation, its reason unwrapped: reasons are long and meant to be read whole.
    for row in rows:
        outcome = f"FIRED (request {row['request_status']})" if row["fired"] else "not fired"
        typer.echo(f"{row['at'].isoformat()}  {row['trigger_name']}  profile {row['profile_id']}  "
                   f"object {row['object_key']}  {outcome}\n    {row['reason']}")
        for contact in row["contacts"]:
            typer.echo(f"    {contact['channel']} contact {contact['id']}: {contact['state']}"
                       + "".join(f", {contact[k]}" for k in ("disposition", "reason") if contact[k]))


@app.command()
def ingest(
    url: str = typer.Argument(..., help="The Redis server holding the stream: redis://host:port/db"),
    stream: str = typer.Option(..., help="The stream to read (Reachout's stand-in for a Kinesis stream)"),
    domain: str = typer.Option(..., help="Customer Profiles domain the objects go to"),
    object_type: Optional[str] = typer.Option(None, help="Object type of entries without an objectType field"),
    region: str = typer.Option("us-east-1", help="Region of the domain"),
    group: str = typer.Option("reachout", help="Consumer group: the consumers of a group share the stream"),
    consumer: Optional[str] = typer.Option(None, help="This consumer's name in the group, the same across "
                                                      "restarts [default: the host name]"),
    batch: int = typer.Option(500, min=1, max=10_000, help="Entries read and ingested per transaction"),
    show_rejected: bool = typer.Option(False, "--show-rejected", help="List the entries set aside and why, "
                                                                      "latest first, and exit"),
    db: Optional[str] = typer.Option(None, help="Database URL [env REACHOUT_DB, default SQLite in the data directory]"),
    data_dir: Optional[Path] = typer.Option(None, help="Data directory [env REACHOUT_DATA_DIR, default .reachout]"),
) -> None:
    """Read profile objects from a Redis stream and put each through PutProfileObject's path (mapping,
    profile, event triggers), until SIGTERM / Ctrl-C. An entry is XADD STREAM * object JSON [objectType
    NAME]. Restarted after a crash, it resumes from its last acknowledged entry and ingests none twice."""
    import socket
    import threading

    import redis

    from reachout.domain.errors import DomainError
    from reachout.engine.shared_clock import engine_clock
    from reachout.store import stream_entries
    from reachout.store.db import database_url, open_database
    from reachout.stream_ingest import StreamIngest

    settings = Settings.from_env(db=db, data_dir=data_dir)
    database = open_database(database_url(settings.db, settings.data_dir))
    if show_rejected:
        with database.read() as conn:
            rows = stream_entries.rejected(conn, stream, group, limit=1000)
        database.dispose()
        for row in rows:
            typer.echo(f"{row['at'].isoformat()}  entry {row['entry_id']}  {row['object_type'] or '-'}\n"
                       f"    {row['rejected']}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    consumer = consumer or socket.gethostname()
    ingesting = StreamIngest(database, engine_clock(database), redis.Redis.from_url(url), stream=stream, group=group,
                             consumer=consumer, region=region, domain=domain, object_type=object_type, batch=batch)
    try:
        ingesting.prepare()
    except DomainError as error:
        typer.echo(error.message, err=True)
        database.dispose()
        raise typer.Exit(2) from None
    except redis.RedisError as error:
        typer.echo(f"Redis at {url}: {error}", err=True)
        database.dispose()
        raise typer.Exit(2) from None
    collector.settle_after_start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    logging.getLogger("reachout").info("ingesting stream %s as %s of group %s into domain %s", stream, consumer,
                                       group, domain)
    ingesting.run(stopping)
    database.dispose()


profiles_app = typer.Typer(help="Customer Profiles data.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("import")
def import_profiles(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .csv (with a header row) or .jsonl file"),
    domain: str = typer.Option(..., help="Customer Profiles domain to import into"),
    object_type: str = typer.Option(..., help="Object type whose mappings and keys apply to each row"),
    region: str = typer.Option("us-east-1", help="Region of the domain"),
    rejects: Optional[Path] = typer.Option(None, help="Where rejected rows go, one JSON line each "
                                                      "[default FILE.rejects.jsonl]"),
    db: Optional[str] = typer.Option(None, help="Database URL [env REACHOUT_DB, default SQLite in the data directory]"),
    data_dir: Optional[Path] = typer.Option(None, help="Data directory [env REACHOUT_DATA_DIR, default .reachout]"),
) -> None:
    """Stream rows through the same ingestion path as PutProfileObject; bad rows are set aside."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from reachout.domain.errors import DomainError
    from reachout.engine.shared_clock import engine_clock
    from reachout.importer import import_objects
    from reachout.store.db import database_url, open_database

    console = Console(stderr=True)
    settings = Settings.from_env(db=db, data_dir=data_dir)
    database = open_database(database_url(settings.db, settings.data_dir))
    rejects = rejects or file.with_name(file.name + ".rejects.jsonl")
    with file.open("rb") as counting:
        total = max(sum(1 for _ in counting) - (1 if file.suffix.lower() == ".csv" else 0), 0)
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("rows", total=total)
            summary = import_objects(database, engine_clock(database), region, domain, object_type, file, rejects,
                                     lambda n: progress.advance(task, n))
    except DomainError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    console.print(f"{summary.rows} rows: {summary.created} profiles created, {summary.updated} updated, "
                  f"{summary.rejected} rejected" + (f" (see {rejects})" if summary.rejected else ""))
    for reason, count in sorted(summary.reasons.items(), key=lambda item: -item[1]):
        console.print(f"  {count} x {reason}")


if __name__ == "__main__":
    app()

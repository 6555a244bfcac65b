"""`reachout`: the command line."""
from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Optional

import typer
import uvicorn

from reachout.settings import Settings

app = typer.Typer(help="Reachout: a self-hosted outbound campaign engine speaking Amazon Connect's APIs.",
                  no_args_is_help=True)


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
) -> None:
    """Run the AWS-compatible API server (and, later, the engine) in this process."""
    from reachout.server import build_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(host=host, port=port, db=db, data_dir=data_dir)
    application = build_app(settings)
    logging.getLogger("reachout").info(
        "Reachout on http://%s:%d (access key %s, account %s)", settings.host, settings.port,
        settings.access_key_id, settings.account_id)
    # uvicorn turns SIGTERM into a graceful shutdown (stop accepting, finish requests in flight, close
    # the database), then re-raises the signal under the handler it found. A no-op handler here
    # makes that re-raise harmless, so a clean shutdown exits 0 rather than dying by the signal.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    app()

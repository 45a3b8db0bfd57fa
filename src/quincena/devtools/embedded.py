"""Embedded PostgreSQL (pgserver) for machines where no database is configured."""

from __future__ import annotations

import logging
from pathlib import Path

from quincena.core import config

log = logging.getLogger(__name__)


def data_dir() -> Path:
    return config.local_dir() / "pgdata"


def start(persistent: bool = True, database: str = "quincena") -> str:
    """Start (or attach to) the embedded server and return the URI of ``database`` on it.

    persistent=True leaves it running after this process exits (the demo's processes share it);
    False stops it when the last process that attached exits (tests).
    """
    import pgserver  # imported late: heavy, and only needed without a configured database

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every start at INFO
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(directory, cleanup_mode=None if persistent else "stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def stop() -> bool:
    """Stop the embedded server if it runs. Returns whether one was running."""
    import subprocess

    import pgserver

    directory = data_dir()
    if not (directory / "postmaster.pid").exists():
        return False
    handle = pgserver.postgres_server.PostgresServer._instances.get(directory.resolve())
    if handle is not None:  # stopped here: pgserver's own exit clean-up would only fail noisily later
        handle.cleanup_mode = None
    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    user = directory.stat().st_uid
    cmd = [str(pg_ctl), "-D", str(directory), "-m", "fast", "-w", "stop"]
    subprocess.run(cmd, check=False, capture_output=True, user=user)  # noqa: S603
    return True

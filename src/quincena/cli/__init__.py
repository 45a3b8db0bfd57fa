"""`quincena` command line: one entry point, sub-commands registered by feature modules.

Each module in COMMAND_MODULES exposes ``add_cli(subparsers)``, adding its sub-commands with
``set_defaults(handler=...)``; a handler takes the parsed args and returns an exit code.
Modules are imported only to register, so keep their top-level imports light.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

COMMAND_MODULES = (
    "quincena.cli.db",
    "quincena.cli.companies",
    "quincena.cli.simulator",
    "quincena.cli.keys",
    "quincena.cli.demo",
    "quincena.cli.ingest",
    "quincena.cli.reconcile",
    "quincena.cli.prices",
    "quincena.cli.statement",
    "quincena.cli.tax",
    "quincena.cli.export",
    "quincena.cli.eval",
    "quincena.cli.review",
    "quincena.cli.doctor",
    "quincena.cli.access",
    "quincena.cli.chart",
)


class UserError(Exception):
    """A problem the user can fix (bad file, bad argument): printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quincena", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_cli(sub)
    return parser


def _quiet_airflow() -> None:
    """The CLI uses Airflow's hooks, not an Airflow installation: keep Airflow's home inside the project
    (never create or read ~/airflow) and its start-up chatter out of the user's terminal."""
    from quincena.core import config

    os.environ.setdefault("AIRFLOW_HOME", str(config.local_dir() / "airflow"))
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    for name in ("airflow.configuration", "airflow.settings"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    _quiet_airflow()
    args = build_parser().parse_args(argv)
    import airflow  # noqa: F401  -- it configures logging on import (to stdout); ours must come after it

    # Logs and warnings go to stderr, so stdout carries only the command's output (--json stays pure JSON).
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"quincena {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not _is_database_unreachable(exc):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"quincena {args.command}: cannot reach the database: {first}", file=sys.stderr)
        return 1


def _is_database_unreachable(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, psycopg.OperationalError)


if __name__ == "__main__":
    sys.exit(main())

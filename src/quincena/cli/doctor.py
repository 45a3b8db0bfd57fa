"""`quincena doctor [--json]`: is this deployment ready to run a cycle? One line per check."""

from __future__ import annotations

import argparse
from datetime import date


def add_cli(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor",
        help="preflight: database, DeepSeek keys and balance, pool, DAGs, folders, tax rules, registry",
        description="Checks what a cycle needs, changing nothing; prints OK / WARN / FAIL per check and exits "
        "0 (all OK), 1 (a warning) or 2 (a failure). Run it inside a container in production: "
        "docker compose exec airflow-scheduler quincena doctor",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object for monitoring")
    parser.add_argument(
        "--on", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD", help="check as of this date (today)"
    )
    parser.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from quincena.ops import doctor

    checks = doctor.run_checks(today=args.on)
    print(doctor.render_json(checks) if args.json else doctor.render_text(checks))
    return doctor.exit_code(checks)

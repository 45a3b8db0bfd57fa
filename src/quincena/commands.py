"""Core sub-commands: db, companies."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    db_parser = sub.add_parser("db", help="the firm's PostgreSQL (embedded unless DATABASE_URL is set)")
    db_sub = db_parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("migrate", help="apply schema migrations and load the PUC catalog").set_defaults(
        handler=_db_migrate
    )
    db_sub.add_parser("start", help="start the embedded PostgreSQL and print its URI").set_defaults(handler=_db_start)
    db_sub.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(handler=_db_stop)

    companies = sub.add_parser("companies", help="the firm's client registry")
    companies_sub = companies.add_subparsers(dest="companies_command", required=True, metavar="ACTION")
    imp = companies_sub.add_parser("import", help="upsert companies from a CSV (nit,name,active,monthly_budget_usd)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_companies_import)
    companies_sub.add_parser("list", help="list active companies").set_defaults(handler=_companies_list)


def prepare_database() -> str:
    """Resolve the database, migrate it and load the catalog: every command that needs data calls this."""
    from quincena import db, puc

    where = db.ensure_configured()
    db.migrate()
    puc.sync_to_db()
    return where


def _db_migrate(args: argparse.Namespace) -> int:
    from quincena import db, puc

    where = db.ensure_configured()
    applied = db.migrate()
    accounts = puc.sync_to_db()
    print(f"database: {_redact(where)}; applied {len(applied)} migration(s) {applied}; {accounts} PUC accounts")
    return 0


def _db_start(args: argparse.Namespace) -> int:
    from quincena import embedded

    print(embedded.start(persistent=True))
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    from quincena import embedded

    print("stopped" if embedded.stop() else "not running")
    return 0


def _companies_import(args: argparse.Namespace) -> int:
    from quincena import companies

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    try:
        rows = companies.read_csv(args.file)
    except companies.CompanyFileError as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    companies.upsert(rows)
    print(f"{len(rows)} companies imported from {args.file}")
    return 0


def _companies_list(args: argparse.Namespace) -> int:
    from quincena import db

    prepare_database()
    for row in db.query("company_list_active"):
        budget = row["monthly_budget_usd"]
        print(f"{row['nit']}-{row['dv']}\t{row['name']}\t{'' if budget is None else budget}")
    return 0


def _redact(uri: str) -> str:
    """Hide a password in a URI before printing it."""
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", uri)

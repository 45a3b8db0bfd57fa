"""`quincena companies`: the firm's client registry."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli.db import import_csv, prepare_database


def add_cli(sub: argparse._SubParsersAction) -> None:
    companies = sub.add_parser("companies", help="the firm's client registry")
    companies_sub = companies.add_subparsers(dest="companies_command", required=True, metavar="ACTION")
    imp = companies_sub.add_parser("import", help="upsert companies from a CSV (nit,name,active,monthly_budget_usd)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)
    companies_sub.add_parser("list", help="list active companies").set_defaults(handler=_list)


def _import(args: argparse.Namespace) -> int:
    from quincena.core import companies

    return import_csv(args.file, companies.read_csv, companies.upsert, "companies")


def _list(args: argparse.Namespace) -> int:
    from quincena.core import db

    prepare_database()
    for row in db.query("company_list_active"):
        budget = row["monthly_budget_usd"]
        print(f"{row['nit']}-{row['dv']}\t{row['name']}\t{'' if budget is None else budget}")
    return 0

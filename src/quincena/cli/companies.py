"""`quincena companies`: the firm's client registry."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli import UserError
from quincena.cli.db import prepare_database


def add_cli(sub: argparse._SubParsersAction) -> None:
    companies = sub.add_parser("companies", help="the firm's client registry")
    companies_sub = companies.add_subparsers(dest="companies_command", required=True, metavar="ACTION")
    imp = companies_sub.add_parser("import", help="upsert companies from a CSV (nit,name,active,monthly_budget_usd)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)
    companies_sub.add_parser("list", help="list active companies").set_defaults(handler=_list)


def _import(args: argparse.Namespace) -> int:
    from quincena.core import companies

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


def _list(args: argparse.Namespace) -> int:
    from quincena.core import db

    prepare_database()
    for row in db.query("company_list_active"):
        budget = row["monthly_budget_usd"]
        print(f"{row['nit']}-{row['dv']}\t{row['name']}\t{'' if budget is None else budget}")
    return 0

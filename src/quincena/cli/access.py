"""`quincena access`: which companies each user or role may see, correct and approve."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli import UserError
from quincena.cli.db import prepare_database


def add_cli(sub: argparse._SubParsersAction) -> None:
    access = sub.add_parser("access", help="per-company access of users and roles to the review pages")
    access_sub = access.add_subparsers(dest="access_command", required=True, metavar="ACTION")
    imp = access_sub.add_parser(
        "import", help="replace every grant with a CSV's (user,role,company: one of user/role; company a NIT or *)"
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)
    access_sub.add_parser("list", help="every grant").set_defaults(handler=_list)


def _import(args: argparse.Namespace) -> int:
    from quincena.review import access

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    prepare_database()  # the file's companies are checked against the registry
    try:
        grants = access.read_csv(args.file)
    except access.AccessFileError as exc:
        raise UserError(str(exc)) from None
    access.replace(grants)
    print(f"{len(grants)} grants imported from {args.file} (they replace the previous ones)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from quincena.review import access

    prepare_database()
    rows = access.grants()
    if not rows:
        print("no grants: only admins see companies")
    for row in rows:
        company = f"{row['company_nit']}\t{row['company_name']}" if row["company_nit"] else "*\tevery company"
        print(f"{row['principal_kind']}\t{row['principal']}\t{company}")
    return 0

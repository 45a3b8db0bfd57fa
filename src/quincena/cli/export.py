"""`quincena export`: write the approved causaciones of a quincena in an accounting program's import format."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from quincena.cli import UserError
from quincena.cli.db import prepare_database


def add_cli(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export",
        help="export approved causaciones (Siigo, World Office, Helisa, CSV)",
        description="Write the vouchers of the approved companies of a quincena in a program's import format; "
        "templates in include/export/ (or QUINCENA_EXPORT_TEMPLATES).",
    )
    export.add_argument("--cycle", required=True, help="the quincena, e.g. 2026-11-Q1")
    export.add_argument("--company", help="one company's NIT (default: every active company)")
    export.add_argument("--format", required=True, help="siigo, worldoffice, helisa, csv (or a template of the firm)")
    export.add_argument("--out", required=True, type=Path, help="the folder the files go to")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from quincena.books import export as exporter
    from quincena.books.export import templates
    from quincena.core import db, periods
    from quincena.core.nit import InvalidNit, parse_nit

    try:
        periods.cycle_bounds(args.cycle)
    except ValueError as exc:
        raise UserError(f"--cycle: {exc}") from None
    try:
        templates.load(args.format)
    except templates.TemplateError as exc:
        raise UserError(str(exc)) from None
    nit = None
    if args.company:
        try:
            nit = parse_nit(args.company)[0]
        except InvalidNit as exc:
            raise UserError(f"--company: {exc}") from None
    prepare_database()
    active = [row["nit"] for row in db.query("company_list_active")]
    if nit is not None and nit not in active:
        raise UserError(f"company {nit} is not an active company of the registry")
    chosen = [nit] if nit else active
    if not chosen:
        raise UserError("no active companies: import the registry first (quincena companies import FILE)")
    by = f"cli:{getpass.getuser()}"
    skipped = 0
    for company in chosen:
        try:
            result = exporter.export_company_cycle(company, args.cycle, args.format, args.out, created_by=by)
        except exporter.NotApproved as exc:
            if nit is not None:
                raise UserError(str(exc)) from None
            print(f"skipped: {exc}", file=sys.stderr)
            skipped += 1
            continue
        except (exporter.ExportError, templates.TemplateError) as exc:
            raise UserError(f"company {company}: {exc}") from None
        print(f"company {company}: {result.summary()}")
        for path in result.files:
            print(f"  {path}")
        if result.left_out_in_review or result.left_out_pending:
            print(
                f"  left out: {result.left_out_in_review} invoice(s) in review, {result.left_out_pending} pending "
                "(export again once they are approved: they get the next voucher numbers)"
            )
    if skipped:
        print(f"{skipped} of {len(chosen)} compan(ies) not approved for {args.cycle}: not exported", file=sys.stderr)
        return 1
    return 0

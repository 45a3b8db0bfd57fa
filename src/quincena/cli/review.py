"""`quincena review export|import`: the review worklist as a spreadsheet for Excel."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli import UserError
from quincena.cli.db import prepare_database


def add_cli(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser("review", help="the accountants' review worklist as a spreadsheet")
    review_sub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    export = review_sub.add_parser("export", help="write the invoices in review to a CSV for Excel (UTF-8 BOM, ';')")
    export.add_argument("--cycle", required=True, help="e.g. 2026-11-Q1")
    export.add_argument("--company", help="one company's NIT (default: every company with invoices in review)")
    export.add_argument("--out", type=Path, required=True, help="the CSV to write")
    export.set_defaults(handler=_export)
    imp = review_sub.add_parser("import", help="apply the accounts filled into an exported CSV (all rows or none)")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--as", "--user", dest="user", metavar="NAME", help="who made the changes (default: the OS user running this)"
    )
    imp.set_defaults(handler=_import)


def _export(args: argparse.Namespace) -> int:
    from quincena.core import periods
    from quincena.review import spreadsheet

    try:
        periods.cycle_bounds(args.cycle)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    rows = spreadsheet.export_csv(args.cycle, args.out, args.company)
    print(f"{rows} invoice lines in review written to {args.out}")
    return 0


def os_user() -> str:
    """The operating-system user running the command: the audit trail names a person, never a default."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        raise UserError("cannot tell who is running this: pass --as NAME") from None


def _import(args: argparse.Namespace) -> int:
    from quincena.review import spreadsheet

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    prepare_database()
    try:
        result = spreadsheet.import_csv(args.file, args.user or os_user())
    except spreadsheet.SpreadsheetError as exc:
        raise UserError(f"{args.file}: nothing imported:\n" + "\n".join(exc.errors)) from None
    print(
        f"{args.file}: {result.filled} accounts read, {result.changed_lines} lines changed, "
        f"{len(result.approved)} invoices approved"
    )
    return 0

"""`quincena reconcile <export.zip|amount.csv>`: DeepSeek's usage export against our ledger."""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal
from pathlib import Path

from quincena.cli import UserError
from quincena.core.numbers import NumberError, non_negative_decimal


def _tolerance(text: str) -> Decimal:
    try:
        return non_negative_decimal(text, below=Decimal(1))
    except NumberError as exc:
        raise argparse.ArgumentTypeError(f"tolerance is a fraction in [0, 1), e.g. 0.01 for 1 %: {exc}") from None


def _month(text: str) -> date:
    from quincena.costs import monthly

    try:
        return monthly.parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_cli(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "reconcile",
        help="compare DeepSeek's usage export (ZIP or amount-YYYY-M.csv) with the api_calls ledger",
        description="Per UTC day x key x model x token type; exit 0 when everything matches, 1 when "
        "there are gaps above the tolerance, 2 when the file cannot be read.",
    )
    parser.add_argument(
        "export", type=Path, nargs="?", default=None, help="the ZIP from the platform's Usage page, or its amount CSV"
    )
    parser.add_argument(
        "--month", type=_month, default=None,
        help="reconcile a closed month (YYYY-MM) per UTC day from the exports folder, and keep its verdict",
    )  # fmt: skip
    parser.add_argument("--exports", type=Path, default=None, help="with --month: the folder (QUINCENA_USAGE_EXPORTS)")
    parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=None,
        help="relative gap allowed (0.01; with --month, QUINCENA_RECONCILE_TOLERANCE)",
    )
    parser.add_argument("--csv", type=Path, default=None, help="where to write the comparison (default: reports/)")
    parser.set_defaults(handler=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    if (args.export is None) == (args.month is None):
        raise UserError("give either an export file or --month YYYY-MM")
    if args.month is not None:
        return _reconcile_month(args)
    return _reconcile_file(args)


def _reconcile_month(args: argparse.Namespace) -> int:
    from quincena.cli.db import prepare_database
    from quincena.costs import monthly

    prepare_database()
    month = monthly.reconcile_month(args.month, args.exports, args.tolerance)
    for line in month.lines():
        print(line)
    return 0 if month.status == monthly.RECONCILED else 1


def _reconcile_file(args: argparse.Namespace) -> int:
    from quincena.cli.db import prepare_database
    from quincena.core import config
    from quincena.costs import reconcile, usage_export
    from quincena.deepseek import prices as price_table

    try:
        export = usage_export.read_export(args.export)  # read first: a bad file needs no database
    except usage_export.ExportError as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    prices, unit = price_table.load_with_unit()
    try:
        tolerance = Decimal("0.01") if args.tolerance is None else args.tolerance
        result = reconcile.compare(export, reconcile.load_ledger(export.period()), prices, tolerance, unit)
    except usage_export.ExportError as exc:
        raise UserError(str(exc)) from None
    out = args.csv or config.reports_dir() / "reconcile" / f"{args.export.stem}.csv"
    reconcile.write_csv(result, out)
    for line in reconcile.describe(result):
        print(line)
    print(f"comparison written to {out}")
    return 1 if result.gaps else 0

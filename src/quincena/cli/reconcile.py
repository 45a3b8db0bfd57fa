"""`quincena reconcile <export.zip|amount.csv>`: DeepSeek's usage export against our ledger."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from quincena.cli import UserError
from quincena.core.numbers import NumberError, non_negative_decimal


def _tolerance(text: str) -> Decimal:
    try:
        return non_negative_decimal(text, below=Decimal(1))
    except NumberError as exc:
        raise argparse.ArgumentTypeError(f"tolerance is a fraction in [0, 1), e.g. 0.01 for 1 %: {exc}") from None


def add_cli(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "reconcile",
        help="compare DeepSeek's usage export (ZIP or amount-YYYY-M.csv) with the api_calls ledger",
        description="Per UTC day x key x model x token type; exit 0 when everything matches, 1 when "
        "there are gaps above the tolerance, 2 when the file cannot be read.",
    )
    parser.add_argument("export", type=Path, help="the ZIP from the platform's Usage page, or its amount CSV")
    parser.add_argument("--tolerance", type=_tolerance, default=Decimal("0.01"), help="relative gap allowed (0.01)")
    parser.add_argument("--csv", type=Path, default=None, help="where to write the comparison (default: reports/)")
    parser.set_defaults(handler=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
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
        result = reconcile.compare(export, reconcile.load_ledger(export.period()), prices, args.tolerance, unit)
    except usage_export.ExportError as exc:
        raise UserError(str(exc)) from None
    out = args.csv or config.reports_dir() / "reconcile" / f"{args.export.stem}.csv"
    reconcile.write_csv(result, out)
    for line in reconcile.describe(result):
        print(line)
    print(f"comparison written to {out}")
    return 1 if result.gaps else 0

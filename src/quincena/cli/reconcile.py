"""`quincena reconcile <export.zip|amount.csv>`: DeepSeek's usage export against our ledger."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path

from quincena.cli import UserError


def _tolerance(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"tolerance is a fraction in [0, 1), e.g. 0.01 for 1 %: {text!r}")
    return value


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
    from quincena.costs import reconcile

    try:
        export = reconcile.read_export(args.export)  # read first: a bad file needs no database
    except reconcile.ExportError as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    from quincena.costs import health

    prices, unit = health.load_price_table()
    result = reconcile.compare(export, reconcile.load_ledger(export.period()), prices, args.tolerance, unit)
    out = args.csv or config.reports_dir() / "reconcile" / f"{args.export.stem}.csv"
    reconcile.write_csv(result, out)
    for line in reconcile.describe(result):
        print(line)
    print(f"comparison written to {out}")
    return 1 if result.gaps else 0

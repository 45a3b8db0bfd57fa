"""`quincena statement --month YYYY-MM [--company NIT] --out DIR`: the month's client statements."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "statement",
        help="write each client's monthly DeepSeek cost statement (PDF + CSV) and the firm's summary",
        description="Figures are the month's api_calls rows (UTC days, as DeepSeek bills). The exchange rate "
        "defaults to QUINCENA_STATEMENT_COP_PER_USD / QUINCENA_STATEMENT_RATE_DATE; the firm's name to "
        "QUINCENA_FIRM_NAME.",
    )
    parser.add_argument("--month", required=True, help="the month, YYYY-MM")
    parser.add_argument("--company", default=None, help="only this company's statement (NIT, no check digit)")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: reports/monthly/YYYY-MM/)")
    parser.add_argument("--cop-per-usd", default=None, help="exchange rate, COP per US$ (e.g. 4012.35)")
    parser.add_argument("--rate-date", default=None, help="the TRM's date (YYYY-MM-DD); without it: a fixed rate")
    parser.set_defaults(handler=_statement)


def _statement(args: argparse.Namespace) -> int:
    from quincena.billing import statement
    from quincena.cli.db import prepare_database
    from quincena.core import config
    from quincena.costs import monthly

    try:
        first = monthly.parse_month(args.month)
        env_rate, env_date = config.statement_rate()
        rate = statement.parse_rate(args.cop_per_usd or env_rate, args.rate_date or env_date)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    out = args.out or config.reports_dir() / "monthly" / monthly.month_label(first)
    month = statement.build(first, rate)
    try:
        written = statement.write(month, out, args.company)
    except statement.StatementError as exc:
        raise UserError(str(exc)) from None
    print(f"{monthly.month_label(first)}: {len(month.statements)} client(s), account total US${month.total_usd}; "
          f"reconciliation: {month.reconciliation_status()}")  # fmt: skip
    for path in written:
        print(path)
    return 0

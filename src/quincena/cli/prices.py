"""`quincena prices check|reprice`: the price calendar as the ledger reads it, and corrections to it."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from quincena.cli import UserError


def _week(text: str) -> date:
    """An ISO week (2026-W48) or any day in it; the Monday of that week."""
    try:
        if "W" in text.upper():
            year, week = text.upper().split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a week (2026-W48) nor a date (2026-11-23)") from None
    return date.fromordinal(day.toordinal() - day.weekday())


def _instant(text: str) -> datetime:
    """A date (00:00 UTC) or an ISO instant; an instant without offset is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is no date (2026-08-16) nor instant (2026-08-16T16:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_cli(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("prices", help="the DeepSeek price calendar: check a week, reprice the ledger")
    actions = parser.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="print a week's peak hours and rates, to compare with DeepSeek's pricing page"
    )
    check.add_argument("--week", type=_week, default=None, help="2026-W48 or a day in it (default: this week)")
    check.add_argument("--model", action="append", default=None, help="only this model (repeatable)")
    check.set_defaults(handler=_check)
    reprice = actions.add_parser(
        "reprice", help="recompute cost_usd of ledger rows with the current calendar (old figure kept)"
    )
    reprice.add_argument("--from", dest="start", type=_instant, required=True, help="first day or instant (UTC)")
    reprice.add_argument("--to", dest="end", type=_instant, default=None, help="end, exclusive (default: none)")
    reprice.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
    reprice.set_defaults(handler=_reprice)


def _load():
    from deepseek_provider.exceptions import ConfigurationError

    from quincena.deepseek import prices

    try:
        return prices.load(), prices.table_path()
    except ConfigurationError as exc:
        raise UserError(str(exc)) from None


def _check(args: argparse.Namespace) -> int:
    from deepseek_provider.exceptions import UnknownModelError

    from quincena.deepseek import prices

    table, path = _load()
    monday = args.week or _week(datetime.now(UTC).date().isoformat())
    iso, sunday = monday.isocalendar(), date.fromordinal(monday.toordinal() + 6)
    where = path or "deepseek_provider/prices.json"
    print(f"DeepSeek price calendar, week {iso.year}-W{iso.week:02d} ({monday} .. {sunday}, UTC days), table {where}")
    try:
        lines = prices.week_lines(table, monday, args.model)
    except UnknownModelError as exc:
        raise UserError(str(exc)) from None
    for line in lines:
        print(line)
    return 0


def _reprice(args: argparse.Namespace) -> int:
    from quincena.cli.db import prepare_database
    from quincena.costs import reprice

    table, _ = _load()
    if args.end is not None and args.end <= args.start:
        raise UserError(f"--to {args.end.isoformat()} is not after --from {args.start.isoformat()}")
    prepare_database()
    result = reprice.reprice(args.start, args.end, table, dry_run=args.dry_run)
    for line in result.lines():
        print(line)
    return 0

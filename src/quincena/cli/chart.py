"""`quincena chart`: each company's own chart of accounts and its map of generic sub-accounts."""

from __future__ import annotations

import argparse
import csv
import getpass
import sys
from pathlib import Path

from quincena.cli import UserError
from quincena.cli.db import prepare_database
from quincena.core import es
from quincena.core.cells import safe_list


def add_cli(sub: argparse._SubParsersAction) -> None:
    chart = sub.add_parser("chart", help="a company's own chart of accounts (Siigo, World Office, Helisa exports)")
    chart_sub = chart.add_subparsers(dest="chart_command", required=True, metavar="ACTION")
    imp = chart_sub.add_parser("import", help="replace the company's chart with a CSV/.xlsx export, all or nothing")
    imp.add_argument("--company", required=True, help="the company's NIT")
    imp.add_argument("--program", help="siigo, worldoffice, helisa or generic (default: from the headers)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)
    show = chart_sub.add_parser("show", help="the company's chart (CSV on stdout), its last import and its map")
    show.add_argument("--company", required=True)
    show.set_defaults(handler=_show)
    mapping = chart_sub.add_parser("map", help="replace the company's map: a CSV of puc_code,company_code")
    mapping.add_argument("--company", required=True)
    mapping.add_argument("file", type=Path)
    mapping.set_defaults(handler=_map)


def _import(args: argparse.Namespace) -> int:
    from quincena.chart import store
    from quincena.chart.reading import ChartError

    prepare_database()
    try:
        result = store.import_chart(args.company, args.file, f"cli:{getpass.getuser()}", args.program)
    except ChartError as exc:
        raise UserError(f"{args.file}: nothing imported:\n{exc}") from None
    if not result.recorded:
        print(f"{args.file}: {result.accounts} accounts, the same as on file: nothing changed")
        return 0
    print(f"{args.file} ({result.program}): {result.accounts} accounts imported for company {args.company}")
    _print_changes(result.added, result.removed, result.changed)
    targets = store.targets(args.company)
    print(f"  {len(targets)} of them may take a purchase line (postable, under a purchase sub-account)")
    for warning in store.broken_by_chart(args.company):
        print(f"  warning: {warning}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from quincena.chart import store

    prepare_database()
    chart = store.load(args.company)
    last = store.last_import(args.company)
    if not chart.has_chart:
        print(f"company {args.company} has no chart of its own: it is classified into the shipped catalog",
              file=sys.stderr)  # fmt: skip
    else:
        when = es.local_time(last["imported_at"])
        print(f"# imported {when} Bogotá time from {last['file_name']} ({last['program']}) "
              f"by {last['imported_by']}: {last['accounts']} accounts", file=sys.stderr)  # fmt: skip
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("code", "name", "parent", "active", "movements"))
        for a in chart.accounts.values():  # a name from the company's file never runs as a formula
            writer.writerow(safe_list((a["code"], a["name"], a["parent"] or "", str(a["active"]).lower(),
                                       str(a["movements"]).lower())))  # fmt: skip
    for row in store.mapping(args.company):
        print(f"# map {row['puc_code']} -> {row['company_code']} ({row['file_name']})", file=sys.stderr)
    return 0


def _map(args: argparse.Namespace) -> int:
    from quincena.chart import store
    from quincena.chart.reading import ChartError

    prepare_database()
    try:
        result = store.import_map(args.company, args.file)
    except ChartError as exc:
        raise UserError(f"{args.file}: nothing imported:\n{exc}") from None
    if not (result.added or result.removed or result.changed):
        print(f"{args.file}: {result.pairs} generic sub-account(s) mapped, the same as on file: nothing changed")
        return 0
    print(f"{result.pairs} generic sub-account(s) mapped for company {args.company} (they replace the previous map)")
    _print_changes(result.added, result.removed, result.changed)
    return 0


def _print_changes(added: list[str], removed: list[str], changed: list[str]) -> None:
    """What an import changed, at most 20 items a kind."""
    for label, items in (("added", added), ("removed", removed), ("changed", changed)):
        if items:
            shown = ", ".join(items[:20]) + (f" and {len(items) - 20} more" if len(items) > 20 else "")
            print(f"  {label} ({len(items)}): {shown}")

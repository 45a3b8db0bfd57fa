"""Sub-commands for DIAN documents: parse (debugging), sample (demo data), ingest (the inbox)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    parse = sub.add_parser("parse", help="print a DIAN XML/zip file's documents as JSON")
    parse.add_argument("file", type=Path)
    parse.set_defaults(handler=_parse)

    sample = sub.add_parser("sample", help="write realistic sample invoices into an inbox and register the companies")
    sample.add_argument("--companies", type=int, required=True, metavar="N")
    sample.add_argument("--invoices", type=int, required=True, metavar="M", help="good documents per company")
    sample.add_argument("--inbox", type=Path, required=True, metavar="DIR")
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--period", metavar="CYCLE", help="quincena, e.g. 2026-11-Q1 (default: the last closed one)")
    sample.add_argument("--no-register", action="store_true", help="do not write the companies to the database")
    sample.set_defaults(handler=_sample)

    ingest = sub.add_parser("ingest", help="ingest the companies' inboxes into the database")
    ingest.add_argument("--company", action="append", metavar="NIT", help="repeatable; default: every active company")
    ingest.add_argument("--inbox", type=Path, metavar="DIR", help="default: $QUINCENA_INBOX or .local/inbox")
    ingest.add_argument("--json", action="store_true", help="print the reports as JSON")
    ingest.set_defaults(handler=_ingest)


def _parse(args: argparse.Namespace) -> int:
    from quincena.ingest import dian

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    try:
        documents = dian.parse_file(args.file)
    except dian.RejectedDocument as exc:
        raise UserError(f"{args.file}: {exc.reason} [{exc.code}]") from None
    output = {"file": str(args.file), "documents": [dian.document_to_dict(doc) for doc in documents]}
    print(json.dumps(output, ensure_ascii=False, indent=2))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from quincena.core import periods
    from quincena.devtools import sample

    if args.companies < 1 or args.invoices < 1:
        raise UserError("--companies and --invoices must be at least 1")
    try:
        period = sample.resolve_period(args.period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not args.no_register:
        from quincena.cli.db import prepare_database

        prepare_database()
    generated = sample.generate(
        args.companies, args.invoices, args.inbox, seed=args.seed, period=period, register=not args.no_register
    )
    side = sample.sample_dir(args.inbox)
    print(
        f"{len(generated)} companies x {args.invoices} documents for {periods.cycle_id_for(period[0])} "
        f"({period[0]} .. {period[1]}) in {args.inbox}; companies CSV and manifest in {side}"
        + ("" if args.no_register else "; companies registered")
    )
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from quincena.cli.db import prepare_database
    from quincena.core import companies
    from quincena.ingest import inbox as ingest

    if args.inbox is not None and not args.inbox.is_dir():
        raise UserError(f"{args.inbox}: no such inbox directory (one folder per company NIT inside)")
    prepare_database()
    nits = args.company or companies.active_nits()
    if not nits:
        raise UserError("no companies registered; run `quincena companies import` or `quincena sample` first")
    reports = []
    for nit in nits:
        try:
            reports.append(ingest.ingest_company(nit, args.inbox))
        except ingest.UnknownCompany as exc:
            raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for report in reports:
            _print_report(report)
    return 0


def _print_report(report) -> None:
    print(
        f"{report.company_nit}: {report.files_seen} files — {report.ingested} ingested, "
        f"{report.duplicates} duplicate, {report.skipped} already seen, {report.quarantined} quarantined; "
        f"{report.invoices_added} invoices, {report.lines_added} lines added"
    )
    for item in report.quarantined_files:
        print(f"  quarantined {item['path']}: [{item['reason_code']}] {item['reason']}")

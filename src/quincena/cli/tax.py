"""`quincena tax rules`, `quincena suppliers import`, `quincena causacion`: the withholdings by hand."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from quincena.cli import UserError
from quincena.cli.db import import_csv, prepare_database


def add_cli(sub: argparse._SubParsersAction) -> None:
    tax = sub.add_parser("tax", help="the withholding rules (include/tax/rules-YYYY.json)")
    tax_sub = tax.add_subparsers(dest="tax_command", required=True, metavar="ACTION")
    rules = tax_sub.add_parser("rules", help="print the rules in force in a tax year (JSON)")
    rules.add_argument("--year", type=int, required=True)
    rules.set_defaults(handler=_rules)

    suppliers = sub.add_parser("suppliers", help="the firm's supplier profiles")
    suppliers_sub = suppliers.add_subparsers(dest="suppliers_command", required=True, metavar="ACTION")
    imp = suppliers_sub.add_parser("import", help="set suppliers' declarante flag from a CSV (nit,declarante[,name])")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import_suppliers)

    causacion = sub.add_parser("causacion", help="print the proposed entry of a DIAN document (JSON)")
    causacion.add_argument("file", type=Path, help="an XML or ZIP as received")
    causacion.add_argument("--company", required=True, help="the buying company's NIT (its registry profile applies)")
    causacion.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="LINE=ACCOUNT",
        help="the PUC sub-account of a document line (repeatable); others go to 519595",
    )
    causacion.set_defaults(handler=_causacion)


def _rules(args: argparse.Namespace) -> int:
    from quincena.books.withholdings import rules

    try:
        periods = [rules.rules_for(day).to_dict() for day in rules.change_dates(args.year)]
    except rules.RulesError as exc:
        raise UserError(str(exc)) from None
    json.dump({"year": args.year, "periods": periods}, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def _import_suppliers(args: argparse.Namespace) -> int:
    from quincena.books.withholdings import suppliers

    return import_csv(args.file, suppliers.read_csv, suppliers.upsert, "suppliers")


def _accounts(pairs: list[str]) -> dict[int, str]:
    from quincena.core import puc

    valid = puc.purchase_accounts()
    accounts: dict[int, str] = {}
    for pair in pairs:
        line, _, account = pair.partition("=")
        if not line.strip().isdigit() or not account.strip():
            raise UserError(f"--account {pair!r}: expected LINE=ACCOUNT, e.g. 1=511025")
        if account.strip() not in valid:
            raise UserError(f"--account {pair!r}: {account.strip()} is not a purchase sub-account of the PUC catalog")
        accounts[int(line)] = account.strip()
    return accounts


def _causacion(args: argparse.Namespace) -> int:
    from quincena.books import causacion, entries
    from quincena.books.withholdings.rules import RulesError
    from quincena.core import db
    from quincena.core.nit import InvalidNit, parse_nit
    from quincena.ingest.dian import RejectedDocument, parse_file

    accounts = _accounts(args.account)
    try:
        nit = parse_nit(args.company)[0]
    except InvalidNit as exc:
        raise UserError(f"--company: {exc}") from None
    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    try:
        docs = parse_file(args.file)
    except RejectedDocument as exc:
        raise UserError(f"{args.file}: rejected ({exc.code}): {exc.reason}") from None
    prepare_database()
    buyer = entries.load_buyer(nit)
    if buyer is None:
        raise UserError(f"company {nit} is not registered; import it with `quincena companies import`")
    results = []
    for doc in docs:
        known = db.query("tax_supplier_get", {"nit": doc.supplier.nit})
        supplier = causacion.supplier_of(doc, known[0]["declarante"] if known else None)
        original = None
        if doc.doc_type == "credit_note" and doc.billing_reference:
            rows = db.query("tax_credited_invoice", {"company_nit": nit, "cufe": doc.billing_reference})
            original = rows[0] if rows and rows[0]["posted"] else None
        earlier = entries.earlier_in_year(nit, causacion.invoice_of(doc, accounts))  # the supplier's year so far
        try:
            results.append(causacion.proposal_dict(doc, buyer, supplier, accounts, original, earlier))
        except RulesError as exc:
            raise UserError(f"{args.file}: {exc}") from None
    json.dump(results[0] if len(results) == 1 else results, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0

"""The company page's filters and the approval of every invoice whose lines all have an account: the
parsing and matching rules, and the bulk approval on a real first quincena (all or none)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quincena.core import db
from quincena.review import actions, filters, worklist
from tests.helpers import count
from tests.review.conftest import CYCLE_1

USER = "contadora.ana"


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1.500.000", Decimal("1500000")), ("1.500", Decimal("1500")), ("1500000,50", Decimal("1500000.50")),
     ("1.234.567,89", Decimal("1234567.89")), ("1,234,567.89", Decimal("1234567.89")), ("12.5", Decimal("12.5")),
     (" 2 000 ", Decimal("2000")), ("", None)],
)  # fmt: skip
def test_amounts_are_read_as_an_accountant_types_them(typed: str, amount: Decimal | None) -> None:
    assert filters.parse_amount(typed) == amount


@pytest.mark.parametrize("typed", ["-5", "1e3", "abc", "=HYPERLINK(", "9" * 40, "1,2,3,4.5.6"])
def test_anything_else_is_not_an_amount(typed: str) -> None:
    with pytest.raises(ValueError, match="el monto debe ser un número"):
        filters.parse_amount(typed)


def test_reasons_group_by_kind_and_filters_combine() -> None:
    assert filters.reason_kind("item 3: confidence 0.41 below 0.70 for 513520") == "confidence"
    assert filters.reason_kind("item 12: missing from the answer") == "missing from the answer"
    assert filters.reason_kind("withholdings stated in the XML differ: retefuente: XML 1") == (
        "withholdings stated in the XML differ"
    )

    def invoice(supplier: str, total: str, reasons: list[str], accounts: list[str | None]) -> dict:
        lines = [{"account": a} for a in accounts]
        return {"supplier_nit": supplier, "supplier_name": f"<b>{supplier}</b>", "tax_inclusive_amount": total,
                "reasons": reasons, "status": "review", "lines": lines}  # fmt: skip

    a = invoice("900", "100000.00", ["item 1: confidence 0.3 below 0.7 for 513520"], ["513520"])
    b = invoice("901", "2500000.00", ["item 1: missing from the answer"], [None, "513520"])
    c = invoice("900", "3000000.00", ["item 2: missing from the answer"], ["519595"])
    every = [a, b, c]
    query, errors = filters.from_query({"proveedor": "900", "monto_min": "1.000.000", "monto_max": "x"})
    assert errors == ["Monto hasta: el monto debe ser un número, p. ej. 1.500.000 o 1500000,50"]
    assert filters.apply(every, query) == [c] and query.query() == {"proveedor": "900", "monto_min": "1000000"}
    assert filters.apply(every, filters.Filters(reason="missing from the answer")) == [b, c]
    assert filters.apply(every, filters.Filters(high=Decimal("2500000"))) == [a, b]  # bounds inclusive
    assert filters.apply(every, filters.Filters()) == every and not filters.Filters().active
    assert filters.ready(every) == [a, c]  # b still has a line without an account
    kinds, suppliers = filters.choices(every)
    assert kinds == ["confidence", "missing from the answer"] and suppliers == [("900", "<b>900</b>"),
                                                                                 ("901", "<b>901</b>")]  # fmt: skip


def test_approving_many_is_all_or_none(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    # The accountant completes two invoices (their lines without a proposal), the others stay incomplete.
    for invoice in [i for i in worklist.invoices(nit, CYCLE_1) if i not in filters.ready([i])][:2]:
        missing = {ln["line_id"]: "513520" for ln in invoice["lines"] if not ln["account"]}
        actions.save_accounts(nit, CYCLE_1, invoice["id"], missing, "luis")
    in_review = worklist.invoices(nit, CYCLE_1)
    ready = filters.ready(in_review)
    incomplete = [inv for inv in in_review if inv not in ready]
    assert len(ready) >= 2 and incomplete, "the sample must leave invoices with lines without a proposal"
    audited = count("SELECT count(*) AS n FROM classification_history")
    with pytest.raises(actions.ReviewError, match="sin cuenta"):
        actions.approve_many(nit, CYCLE_1, [inv["id"] for inv in ready] + [incomplete[0]["id"]], USER)
    assert count("SELECT count(*) AS n FROM classification_history") == audited
    assert len(worklist.invoices(nit, CYCLE_1)) == len(in_review)

    assert actions.approve_many(nit, CYCLE_1, [inv["id"] for inv in ready], USER) == len(ready)
    statuses = db.query_text("SELECT DISTINCT status FROM invoices WHERE id = ANY(%s)", ([i["id"] for i in ready],))
    assert statuses == [{"status": "classified"}]
    approved = count("SELECT count(*) AS n FROM classification_history WHERE action = 'approved_invoice' "
                     "AND changed_by = %s", (USER,))  # fmt: skip
    assert approved == len(ready)
    assert actions.approve_many(nit, CYCLE_1, [inv["id"] for inv in ready], USER) == 0  # repeated: nothing new

"""One correction, every look-alike line, on a real first quincena (simulator, real entries): what is
offered, what is applied (through the review actions: audit per line, memory, entries, reopening), and
that it is all or nothing."""

from __future__ import annotations

import pytest

from quincena.classify.classifier import description_key
from quincena.core import db
from quincena.review import actions, lookalikes, worklist
from tests.helpers import count, decide
from tests.review.conftest import CYCLE_1, CYCLE_2

USER, OTHER_USER = "contadora.ana", "contador.luis"


def _lines(nit: str, status: str | None, description: str) -> list[tuple[dict, dict]]:
    """(invoice, line) pairs whose description normalises like ``description``."""
    key = description_key(description)
    return [
        (inv, ln)
        for inv in worklist.invoices(nit, CYCLE_1, status=status)
        for ln in inv["lines"]
        if description_key(ln["description"]) == key
    ]


def _repeated_group(nit: str, status: str) -> list[tuple[dict, dict]]:
    """The largest group of one supplier's look-alike lines on invoices in ``status``."""
    groups: dict[tuple[str, str], list[tuple[dict, dict]]] = {}
    for inv in worklist.invoices(nit, CYCLE_1, status=status):
        for ln in inv["lines"]:
            groups.setdefault((inv["supplier_nit"], description_key(ln["description"])), []).append((inv, ln))
    best = max(groups.values(), key=len)
    assert len(best) >= 3, "the sample must repeat a supplier's line for these tests to mean anything"
    return best


def _history(line_id: int) -> list[dict]:
    return db.query_text("SELECT * FROM classification_history WHERE invoice_line_id = %s ORDER BY id", (line_id,))


def _state() -> dict:
    return db.query_text(
        "SELECT (SELECT count(*) FROM classification_history) AS history,"
        " (SELECT string_agg(invoice_line_id || account_code || source, ',' ORDER BY invoice_line_id)"
        "    FROM classifications) AS classifications,"
        " (SELECT count(*) FROM supplier_memory WHERE source = 'accountant') AS lessons,"
        " (SELECT string_agg(invoice_id || account_code, ',' ORDER BY invoice_id, seq) FROM journal_lines) AS journal"
    )[0]


def test_which_lines_look_alike() -> None:
    source = {"line_id": 1, "supplier_nit": "900", "description": "Alineación vehículo NOV 2026 x2",
              "account": "513520", "source": "accountant", "cycle_id": CYCLE_1}  # fmt: skip

    def row(line_id: int, **over) -> dict:
        base = {"line_id": line_id, "invoice_id": 10 + line_id, "supplier_nit": "900", "cycle_id": CYCLE_1,
                "status": "review", "account": None, "description": "alineacion vehiculo dic 2026 x3"}  # fmt: skip
        return {**base, **over}

    rows = [
        source,
        row(2),  # same concept, another month and number: alike
        row(3, status="classified", account="519595"),  # classified in this quincena: alike
        row(4, account="513520"),  # already that account: nothing to change
        row(5, supplier_nit="901"),  # another supplier: never
        row(6, description="llantas rin 15"),  # same supplier, another concept: the supplier reach only
        row(7, cycle_id=CYCLE_2),  # another quincena, in review: the supplier reach only
        row(8, cycle_id=CYCLE_2, status="classified"),  # another quincena, classified: neither
    ]
    alike = lookalikes.targets({**source, "invoice_id": 11}, rows, "description")
    assert [t.line_id for t in alike] == [2, 3]
    assert [t.line_id for t in lookalikes.targets(source, rows, "supplier")] == [2, 6, 7]
    offers = lookalikes.offers(source, rows)
    assert [(o.reach, o.count) for o in offers] == [("description", 2), ("supplier", 3)]
    assert lookalikes.offers({**source, "source": "model"}, rows) == []  # a proposal is not a correction
    same = [source, row(2)]  # both reaches find the same lines: offered once
    assert [o.reach for o in lookalikes.offers(source, same)] == ["description"]


def test_a_correction_is_applied_to_every_look_alike_line_and_audited_per_line(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    group = _repeated_group(nit, "review")
    (first_invoice, first_line), others = group[0], group[1:]
    actions.save_accounts(nit, CYCLE_1, first_invoice["id"], {first_line["line_id"]: "513520"}, USER)

    offers = lookalikes.page_offers(nit, CYCLE_1, worklist.invoices(nit, CYCLE_1))
    [alike] = [o for o in offers[first_line["line_id"]] if o.reach == "description"]
    assert alike.count == len(others) and alike.account == "513520"
    assert set(offers) == {first_line["line_id"]}  # only lines the accountant set offer anything

    done = lookalikes.apply(nit, CYCLE_1, first_line["line_id"], "description", OTHER_USER, expected=len(others))
    assert (done.lines, done.invoices, done.source_invoice_id) == (
        len(others), len({inv["id"] for inv, _ in others}), first_invoice["id"],
    )  # fmt: skip
    for invoice, line in others:
        [audit] = _history(line["line_id"])
        assert (audit["action"], audit["old_account"], audit["new_account"], audit["changed_by"]) == (
            "filled" if line["account"] is None else "changed", line["account"], "513520", OTHER_USER,
        )  # fmt: skip
        assert audit["applied_from_line_id"] == first_line["line_id"] and audit["changed_at"] is not None
        shown = worklist.invoice(nit, CYCLE_1, invoice["id"])["history"][-1]
        assert (shown["from_line_no"], shown["from_invoice"]) == (first_line["line_no"], first_invoice["number"])
        now = db.query_text("SELECT account_code, source FROM classifications WHERE invoice_line_id = %s",
                            (line["line_id"],))  # fmt: skip
        assert now == [{"account_code": "513520", "source": "accountant"}]
    assert _history(first_line["line_id"])[0]["applied_from_line_id"] is None  # the correction itself
    lesson = db.query_text(
        "SELECT account_code, source FROM supplier_memory WHERE company_nit = %s AND supplier_nit = %s "
        "AND description_key = %s",
        (nit, first_invoice["supplier_nit"], description_key(first_line["description"])),
    )
    assert lesson == [{"account_code": "513520", "source": "accountant"}]

    # Nothing left to offer for that reach, and repeating writes nothing.
    again = lookalikes.page_offers(nit, CYCLE_1, worklist.invoices(nit, CYCLE_1)).get(first_line["line_id"], [])
    assert "description" not in {o.reach for o in again}
    before = _state()
    assert lookalikes.apply(nit, CYCLE_1, first_line["line_id"], "description", USER).lines == 0
    assert _state() == before


def test_the_supplier_reach_takes_the_suppliers_other_lines_in_review(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    by_supplier: dict[str, list[tuple[dict, dict]]] = {}
    for inv in worklist.invoices(nit, CYCLE_1):
        for ln in inv["lines"]:
            by_supplier.setdefault(inv["supplier_nit"], []).append((inv, ln))
    lines = next(v for v in by_supplier.values() if len({description_key(ln["description"]) for _, ln in v}) > 1)
    (invoice, line), rest = lines[0], lines[1:]
    account = next(a.code for a in worklist.purchase_accounts() if all(ln["account"] != a.code for _, ln in lines))
    actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: account}, USER)

    done = lookalikes.apply(nit, CYCLE_1, line["line_id"], "supplier", USER, expected=len(rest))
    assert done.lines == len(rest)
    for _, other in rest:
        assert _history(other["line_id"])[-1]["applied_from_line_id"] == line["line_id"]


def test_a_stale_count_or_a_failing_line_changes_nothing(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    group = _repeated_group(nit, "review")
    (invoice, line), others = group[0], group[1:]
    actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: "513520"}, USER)
    before = _state()
    with pytest.raises(actions.ReviewError, match="cambiaron desde que abrió la página"):
        lookalikes.apply(nit, CYCLE_1, line["line_id"], "description", USER, expected=len(others) + 1)
    assert _state() == before

    # The last line's write fails in the database: the lines written before it are rolled back too.
    last = max(others, key=lambda pair: pair[0]["id"])[1]["line_id"]
    db.query_text(
        "ALTER TABLE classifications ADD CONSTRAINT test_refuse_line "
        f"CHECK (invoice_line_id <> {int(last)} OR source <> 'accountant') NOT VALID"
    )
    try:
        with pytest.raises(Exception, match="test_refuse_line"):
            lookalikes.apply(nit, CYCLE_1, line["line_id"], "description", USER)
    finally:
        db.query_text("ALTER TABLE classifications DROP CONSTRAINT test_refuse_line")
    assert _state() == before
    # A line another company's, or one the accountant has not set: refused, nothing written.
    with pytest.raises(actions.ReviewError, match="no es de la empresa"):
        lookalikes.apply("900000001", CYCLE_1, line["line_id"], "description", USER)
    with pytest.raises(actions.ReviewError, match="guárdela primero"):
        lookalikes.apply(nit, CYCLE_1, others[0][1]["line_id"], "description", USER)
    assert _state() == before


def test_look_alikes_on_approved_books_rebuild_entries_and_reopen_the_approval(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    group = _repeated_group(nit, "classified")
    (invoice, line), others = group[0], group[1:]
    account = "519595" if line["account"] != "519595" else "513595"
    actions.reclassify(nit, CYCLE_1, invoice["id"], {line["line_id"]: account}, USER)
    assert decide(nit, CYCLE_1, "approved", "luis").status == "applied"

    done = lookalikes.apply(nit, CYCLE_1, line["line_id"], "description", OTHER_USER)
    assert done.lines == len(others)
    for other_invoice, _ in others:
        accounts = {r["account_code"] for r in db.query_text(
            "SELECT account_code FROM journal_lines WHERE invoice_id = %s", (other_invoice["id"],))}  # fmt: skip
        assert account in accounts  # each entry rebuilt with the repeated account
    decision = db.query_text("SELECT decision, decided_by, comment FROM company_approvals WHERE company_nit = %s",
                             (nit,))[0]  # fmt: skip
    assert (decision["decision"], decision["decided_by"]) == ("reopened", OTHER_USER)
    assert count("SELECT count(*) AS n FROM classification_history WHERE applied_from_line_id = %s",
                 (line["line_id"],)) == len(others)  # fmt: skip

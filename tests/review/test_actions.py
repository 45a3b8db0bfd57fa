"""The accountant's actions on the real database after a real first quincena (simulator, real entries):
validated inputs, the audit trail, entries (re)built, and corrections that teach the next quincena."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.core import db
from quincena.devtools import sample
from quincena.review import actions, worklist
from tests.helpers import count
from tests.review.conftest import CYCLE_1, CYCLE_2, SEED, run_cycle

USER = "contadora.ana"


def _first_unclassified_line(nit: str) -> tuple[dict, dict]:
    """An invoice in review with a line the model could not classify, and that line."""
    for invoice in worklist.invoices(nit, CYCLE_1):
        for line in invoice["lines"]:
            if line["account"] is None:
                return invoice, line
    raise AssertionError("the sample must leave a line without a proposal")


def _history(invoice_id: int) -> list[dict]:
    return db.query_text("SELECT * FROM classification_history WHERE invoice_id = %s ORDER BY id", (invoice_id,))


def _journal(invoice_id: int) -> list[dict]:
    return db.query_text("SELECT * FROM journal_lines WHERE invoice_id = %s ORDER BY seq", (invoice_id,))


def test_inputs_are_validated(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    invoice, line = _first_unclassified_line(nit)
    with pytest.raises(actions.ReviewError, match="subcuenta de compras"):
        actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: "1105"}, USER)  # a class, not a leaf
    with pytest.raises(actions.ReviewError, match="subcuenta de compras"):
        actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: "999999"}, USER)
    with pytest.raises(actions.ReviewError, match="no es de la empresa"):
        actions.save_accounts("900000001", CYCLE_1, invoice["id"], {line["line_id"]: "513520"}, USER)
    with pytest.raises(actions.ReviewError, match="no es de la empresa"):
        actions.save_accounts(nit, CYCLE_2, invoice["id"], {line["line_id"]: "513520"}, USER)
    other_line = db.query_text("SELECT id FROM invoice_lines WHERE invoice_id <> %s LIMIT 1", (invoice["id"],))[0]
    with pytest.raises(actions.ReviewError, match="no son de la factura"):
        actions.save_accounts(nit, CYCLE_1, invoice["id"], {other_line["id"]: "513520"}, USER)
    with pytest.raises(actions.ReviewError, match="sin cuenta"):
        actions.approve_invoice(nit, CYCLE_1, invoice["id"], USER)  # a line still has no account
    assert count("SELECT count(*) AS n FROM classification_history") == 0  # nothing half-done


def test_correct_approve_and_reclassify_are_audited_and_rebuild_the_entry(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    invoice, line = _first_unclassified_line(nit)
    assert _journal(invoice["id"]) == []  # in review since classification: no entry yet

    saved = actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: "513520 — Reparaciones"}, USER)
    assert (saved.changed_lines, saved.status) == (1, "review")
    again = actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: "513520"}, USER)
    assert again.changed_lines == 0  # repeating a choice changes nothing and audits nothing
    [filled] = _history(invoice["id"])
    assert (filled["action"], filled["old_account"], filled["new_account"], filled["changed_by"]) == (
        "filled", None, "513520", USER,
    )  # fmt: skip
    row = db.query_text("SELECT * FROM classifications WHERE invoice_line_id = %s", (line["line_id"],))[0]
    assert (row["account_code"], row["confidence"], row["source"]) == ("513520", Decimal("1.000"), "accountant")

    approved = actions.approve_invoice(nit, CYCLE_1, invoice["id"], USER)
    assert approved.status == "classified" and approved.entry_lines > 0
    status = db.query_text("SELECT status, status_reason FROM invoices WHERE id = %s", (invoice["id"],))[0]
    assert status == {"status": "classified", "status_reason": None}
    journal = _journal(invoice["id"])
    assert sum(j["debit"] for j in journal) == sum(j["credit"] for j in journal) > 0
    assert "513520" in {j["account_code"] for j in journal}
    assert [h["action"] for h in _history(invoice["id"])][-1] == "approved_invoice"
    assert actions.approve_invoice(nit, CYCLE_1, invoice["id"], USER).changed_lines == 0  # idempotent
    assert len(_journal(invoice["id"])) == len(journal)

    changed = actions.reclassify(nit, CYCLE_1, invoice["id"], {line["line_id"]: "513595"}, "contador.luis")
    assert changed.changed_lines == 1 and changed.entry_lines > 0
    accounts = {j["account_code"] for j in _journal(invoice["id"])}
    assert "513595" in accounts and "513520" not in accounts  # the entry follows the new account
    last = _history(invoice["id"])[-1]
    assert (last["action"], last["old_account"], last["old_source"], last["new_account"], last["changed_by"]) == (
        "changed", "513520", "accountant", "513595", "contador.luis",
    )  # fmt: skip
    shown = worklist.invoice(nit, CYCLE_1, invoice["id"])["history"]
    assert [h["action"] for h in shown] == [h["action"] for h in _history(invoice["id"])]


def test_approving_a_flagged_invoice_keeps_the_proposals_and_rebuilds_its_entry(flagged_cycle) -> None:
    nit = flagged_cycle["company_nit"]
    flagged = next(
        i for i in worklist.invoices(nit, CYCLE_1) if all(ln["account"] for ln in i["lines"]) and _journal(i["id"])
    )
    assert any("retenciones del XML difieren" in r for r in flagged["reasons"])
    before = _journal(flagged["id"])
    outcome = actions.approve_invoice(nit, CYCLE_1, flagged["id"], USER)
    assert outcome.status == "classified" and outcome.entry_lines == len(before)
    kept = [h for h in _history(flagged["id"]) if h["action"] == "kept"]
    assert len(kept) == len(flagged["lines"]) and all(h["old_account"] == h["new_account"] for h in kept)
    assert count("SELECT count(*) AS n FROM classifications WHERE invoice_id = %s AND source <> 'accountant'",
                 (flagged["id"],)) == 0  # fmt: skip


def test_a_model_answer_never_overwrites_the_accountants_lesson(first_cycle) -> None:
    nit = first_cycle["company_nit"]
    invoice, line = _first_unclassified_line(nit)
    actions.save_accounts(nit, CYCLE_1, invoice["id"], {line["line_id"]: "513520"}, USER)
    from quincena.classify.classifier import description_key

    key = {
        "company_nit": nit,
        "supplier_nit": invoice["supplier_nit"],
        "description_key": description_key(line["description"]),
    }
    db.execute("memory_remember", {**key, "account": "519595", "confidence": 0.99, "source": "model"})
    memory = db.query_text(
        "SELECT account_code, confidence, source FROM supplier_memory WHERE company_nit = %(company_nit)s "
        "AND supplier_nit = %(supplier_nit)s AND description_key = %(description_key)s",
        key,
    )
    assert memory == [{"account_code": "513520", "confidence": Decimal("1.000"), "source": "accountant"}]


def test_corrections_in_cycle_one_classify_cycle_two_from_memory(first_cycle, simulator) -> None:
    nit = first_cycle["company_nit"]
    taught: dict[tuple[str, str], str] = {}
    from quincena.classify.classifier import description_key

    for invoice in worklist.invoices(nit, CYCLE_1):
        accounts = {ln["line_id"]: "513520" for ln in invoice["lines"] if ln["account"] is None}
        if accounts:
            actions.approve_invoice(nit, CYCLE_1, invoice["id"], USER, accounts)
            for ln in invoice["lines"]:
                taught[(invoice["supplier_nit"], description_key(ln["description"]))] = (
                    accounts.get(ln["line_id"]) or ln["account"]
                )
    assert taught and count("SELECT count(*) AS n FROM invoices WHERE cycle_id = %s AND status = 'review' "
                            "AND status_reason LIKE 'item%%'", (CYCLE_1,)) == 0  # fmt: skip

    requests_before = sum(simulator.settled_stats()["requests_per_key"].values())
    sample.generate(companies=1, invoices=24, inbox=Path(os.environ["QUINCENA_INBOX"]), seed=SEED, period=CYCLE_2)
    run_cycle(CYCLE_2, [nit])
    # Every concept of cycle 2 was seen (and, where the model hesitated, taught) in cycle 1: no API call at all.
    assert sum(simulator.settled_stats()["requests_per_key"].values()) == requests_before

    known = []
    for invoice in worklist.invoices(nit, CYCLE_2, status=None):
        keys = [(invoice["supplier_nit"], description_key(ln["description"])) for ln in invoice["lines"]]
        classified_once = any(ln["source"] for ln in invoice["lines"])  # not held back at ingest
        if classified_once and all(k in taught for k in keys):
            known.append(invoice)
            assert invoice["status"] == "classified" or not invoice["reasons"][0].startswith("item"), invoice
            for ln, k in zip(invoice["lines"], keys, strict=True):
                assert (ln["account"], ln["source"]) == (taught[k], "memory")
    assert known, "cycle 2 must repeat a corrected supplier/description for this test to mean anything"
    calls = db.query_text(
        "SELECT count(*) AS n FROM classifications WHERE cycle_id = %s AND source = 'memory' AND call_id IS NOT NULL",
        (CYCLE_2,),
    )
    assert calls[0]["n"] == 0

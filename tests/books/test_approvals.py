"""Approvals as history, late documents and corrections after export, on the real database.

The accounting rules: a document that reaches the inbox after its quincena's run is booked in the run's
quincena with its own issue date; a note for an exported invoice gets its own voucher naming the original;
a correction after approval reopens the company, and the next export says which vouchers changed.
"""

from __future__ import annotations

import threading
from pathlib import Path

from quincena.books import approvals
from quincena.books import export as exporter
from quincena.core import companies, db
from quincena.core.companies import Company
from quincena.ingest import inbox as ingest
from quincena.pipeline import books
from quincena.review import actions
from tests.books.export_case import NIT, book_as_accountant
from tests.fixtures import dian_docs as d
from tests.helpers import decide

Q1, Q2 = "2026-11-Q1", "2026-11-Q2"
FORMATS = ("csv", "siigo", "worldoffice", "helisa")


def _register() -> None:
    companies.upsert(
        [Company(NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.", gran_contribuyente=True, ica_city="11001")]
    )


def _arrive(inbox: Path, name: str, xml: str, run_cycle: str) -> None:
    """A document reaches the inbox and the run of ``run_cycle`` ingests, classifies (as an accountant would)
    and books it."""
    (inbox / NIT).mkdir(parents=True, exist_ok=True)
    (inbox / NIT / name).write_text(xml, encoding="utf-8")
    ingest.ingest_company(NIT, inbox, run_cycle)
    book_as_accountant(run_cycle)


def _export_all(cycle_id: str, out: Path) -> dict[str, exporter.ExportResult]:
    return {f: exporter.export_company_cycle(NIT, cycle_id, f, out, created_by="test") for f in FORMATS}


def test_late_documents_notes_and_a_correction_after_export(clean_db: str, tmp_path: Path) -> None:
    _register()
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    _arrive(inbox, "fe.xml", d.invoice_xml(), Q1)
    assert approvals.ask_reason(NIT, Q1)[1] == "Primera solicitud de aprobación de esta quincena."
    assert decide(NIT, Q1).approved
    first = _export_all(Q1, out / Q1)
    assert {r.version for r in first.values()} == {1}
    assert approvals.ask_reason(NIT, Q1) is None  # approved books unchanged: not asked again

    # The credit note for the exported invoice, issued in Q1, reaches the inbox after Q1's run: Q2 carries it.
    _arrive(inbox, "nc.xml", d.credit_note_xml(), Q2)
    note = db.query_text("SELECT cycle_id, issue_cycle_id, issue_date::text FROM invoices WHERE number = 'NC-77'")[0]
    assert note == {"cycle_id": Q2, "issue_cycle_id": Q1, "issue_date": "2026-11-10"}
    assert approvals.ask_reason(NIT, Q1) is None  # Q1's approved books did not change
    summary = db.query("company_cycle_summary", {"company_nit": NIT, "cycle_id": Q2})[0]
    assert (summary["invoices"], summary["from_earlier_periods"]) == (1, 1)
    assert decide(NIT, Q2).approved
    csv = exporter.export_company_cycle(NIT, Q2, "csv", out / Q2, created_by="test")
    text = csv.files[0].read_text(encoding="utf-8")
    assert "Ref. comprobante 1 (factura SETP990001234)" in text and ";2;" in text  # its own voucher, number 2

    # A correction after export: refused silently nowhere; it reopens Q1 and outdates its files.
    line = db.query_text(
        "SELECT l.id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.number = 'SETP990001234' "
        "ORDER BY l.line_no LIMIT 1"
    )[0]["id"]
    invoice_id = db.query_text("SELECT id FROM invoices WHERE number = 'SETP990001234'")[0]["id"]
    assert approvals.page_notice(NIT, Q1).startswith("Aprobada el ")
    actions.reclassify(NIT, Q1, invoice_id, {line: "511035"}, "luis")
    state = approvals.current(NIT, Q1)
    assert (state["decision"], state["decided_by"]) == ("reopened", "luis")
    assert {r["status"] for r in db.query_text("SELECT status FROM exports WHERE cycle_id = %s", (Q1,))} == {"outdated"}
    asked = books.to_request(Q2, [NIT], "run:q2")  # the next cycle run asks again for the reopened quincena
    assert [r["conf"]["cycle"] for r in asked] == [Q1]  # Q2: approved, unchanged
    _, reason = approvals.ask_reason(NIT, Q1)
    assert reason.startswith("La quincena fue reabierta el ") and "luis" in reason
    assert "Debe aprobarse de nuevo" in approvals.page_notice(NIT, Q1)

    assert decide(NIT, Q1, by="ana").approved
    second = _export_all(Q1, out / Q1)
    for fmt, result in second.items():  # every format, a new version, with what to do in the program
        assert (result.status, result.version, result.superseded_version) == ("new", 2, 1), fmt
        assert result.changes == [{"voucher": 1, "invoice_number": "SETP990001234", "change": "changed"}]
        told = result.changes_file.read_text(encoding="utf-8")
        assert "anule el comprobante 1 cargado con la versión 1 y cargue el de la versión 2" in told
    statuses = db.query_text("SELECT version, status FROM exports WHERE cycle_id = %s ORDER BY version", (Q1,))
    assert {(r["version"], r["status"]) for r in statuses} == {(1, "superseded"), (2, "current")}
    history = [(h["decision"], h["status"]) for h in approvals.history(NIT, Q1)]
    assert history == [("approved", "applied"), ("reopened", "applied"), ("approved", "applied")]

    # Exporting again repeats nothing: same version, no new file rows, no new voucher numbers.
    before = (
        db.query_text("SELECT count(*) AS n FROM exports")[0]["n"],
        db.query_text("SELECT count(*) AS n FROM voucher_numbers")[0]["n"],
    )
    assert {r.status for r in _export_all(Q1, out / Q1).values()} == {"unchanged"}
    after = (
        db.query_text("SELECT count(*) AS n FROM exports")[0]["n"],
        db.query_text("SELECT count(*) AS n FROM voucher_numbers")[0]["n"],
    )
    assert before == after


def test_the_first_answer_wins_and_later_ones_are_kept_as_refused(clean_db: str, tmp_path: Path) -> None:
    _register()
    _arrive(tmp_path / "inbox", "fe.xml", d.invoice_xml(), Q1)
    request, reason = approvals.ask_reason(NIT, Q1)
    approvals.open_request(request, NIT, Q1, reason, "test")

    # Two answers at the same moment (Airflow 3.3.2 keeps the last of two simultaneous HITL answers).
    barrier = threading.Barrier(2)
    results: dict[str, approvals.Recorded] = {}

    def answer(decision: str, who: str) -> None:
        barrier.wait()
        results[decision] = approvals.record(request, approvals.Answer(decision, who, None), "run-x")

    threads = [threading.Thread(target=answer, args=a) for a in (("approved", "ana"), ("rejected", "luis"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results.values())
    assert statuses == ["applied", "refused"]
    winner = next(r for r in results.values() if r.status == "applied")
    loser = next(r for r in results.values() if r.status == "refused")
    assert approvals.current(NIT, Q1)["decision"] == winner.decision
    assert loser.refused_reason.startswith("la solicitud ya fue respondida: ")
    assert winner.decided_by in loser.refused_reason
    rows = db.query_text("SELECT decision, status FROM approval_decisions ORDER BY id")
    assert len(rows) == 2 and {r["status"] for r in rows} == {"applied", "refused"}  # both on record

    # New books (a late document through a re-run) make a newer request: an answer to the older one is refused.
    _arrive(tmp_path / "inbox", "nc.xml", d.credit_note_xml(), Q1)
    newer, why = approvals.ask_reason(NIT, Q1)
    assert newer != request
    approvals.open_request(newer, NIT, Q1, why, "test")
    stale = approvals.record(request, approvals.Answer("approved", "ana"), "run-y")
    assert stale.status == "refused" and "ya fue respondida" in stale.refused_reason
    second, third = "books__x__1", "books__x__2"
    approvals.open_request(second, NIT, Q1, "otra", "test")
    approvals.open_request(third, NIT, Q1, "otra más", "test")
    replaced = approvals.record(second, approvals.Answer("approved", "ana"), "run-z")
    assert replaced.status == "refused" and "reemplazada" in replaced.refused_reason
    # Corrections while a request waits are what the accountant approves: the books as they are at the answer.
    line = db.query_text("SELECT l.id, l.invoice_id FROM invoice_lines l ORDER BY l.id DESC LIMIT 1")[0]
    db.query_text(
        "UPDATE invoices SET status = 'review', status_reason = 'revisar' WHERE id = %s", (line["invoice_id"],)
    )
    taken = approvals.record(third, approvals.Answer("approved", "ana"), "run-w")
    assert taken.approved and [i["id"] for i in taken.left_out] == [line["invoice_id"]]  # left out, on record
    assert approvals.current(NIT, Q1)["books_digest"] == approvals.books_digest(NIT, Q1)


def test_a_cycle_asks_only_where_something_changed(clean_db: str, tmp_path: Path) -> None:
    _register()
    _arrive(tmp_path / "inbox", "fe.xml", d.invoice_xml(), Q1)
    [first] = books.to_request(Q1, [NIT], "run:a")
    assert first["trigger_run_id"].startswith(f"books__{Q1}__{NIT}__") and first["conf"]["cycle"] == Q1
    assert books.to_request(Q1, [NIT], "run:b")[0]["trigger_run_id"] == first["trigger_run_id"]  # same run id
    summary = books.prepare(first["conf"], first["trigger_run_id"])
    assert summary["reason"] == "Primera solicitud de aprobación de esta quincena." and summary["invoices"] == 1
    assert books.to_request(Q1, [NIT], "run:c") == []  # already waiting for these books
    books.apply(summary, approvals.Answer("rejected", "ana", "falta el RUT"), "run:a")
    [again] = books.to_request(Q1, [NIT], "run:d")  # rejected: a re-run asks again and says why
    assert again["trigger_run_id"] != first["trigger_run_id"] and "falta el RUT" in again["conf"]["reason"]
    books.apply(books.prepare(again["conf"], again["trigger_run_id"]), approvals.Answer("approved", "ana"), "r")
    assert books.to_request(Q1, [NIT], "run:e") == []  # approved and unchanged: nobody is asked

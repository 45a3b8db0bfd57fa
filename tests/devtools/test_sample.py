"""The sample generator: deterministic, realistic, and every file ingests as the manifest says."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from quincena.cli import main as cli_main
from quincena.core import companies, db, puc
from quincena.core.nit import check_digit
from quincena.devtools import sample
from quincena.ingest import dian
from quincena.ingest import inbox as ingest

CYCLE = "2026-11-Q1"


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """3 companies x 60 documents, not registered (the DB tests register their own copy)."""
    inbox = tmp_path_factory.mktemp("sample") / "inbox"
    sample.generate(companies=3, invoices=60, inbox=inbox, seed=42, period=CYCLE, register=False)
    return inbox, sample.read_manifest(inbox)


def _good_documents(inbox: Path, manifest: dict) -> list[tuple[dict, dian.DianDocument]]:
    result = []
    for company in manifest["companies"]:
        for entry in company["documents"]:
            docs = {doc.cufe: doc for doc in dian.parse_file(inbox / entry["file"])}
            result.append((entry, docs[entry["cufe"]]))
    return result


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a" / "inbox", tmp_path / "b" / "inbox", tmp_path / "c" / "inbox"
    sample.generate(2, 30, first, seed=5, period=CYCLE, register=False)
    sample.generate(2, 30, second, seed=5, period=CYCLE, register=False)
    sample.generate(2, 30, other, seed=6, period=CYCLE, register=False)
    assert _digest(first) == _digest(second)
    assert sample.read_manifest(first) == sample.read_manifest(second)
    assert _digest(first) != _digest(other)


# The whole output (inbox, manifest, companies CSV) of a small seeded sample, byte for byte: a refactor of
# the generator or the UBL writer must not change it. Change it only with a deliberate change to the data.
PINNED_SAMPLE_SHA256 = "1f53f35268f6f315545fcadef2d0845e1209deb7bf053deca68c8822e86e937e"


def test_a_seeded_sample_is_pinned_byte_for_byte(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    sample.generate(2, 20, inbox, seed=13, period=CYCLE, register=False)
    combined = hashlib.sha256()
    for root in (inbox, sample.sample_dir(inbox)):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                combined.update(f"{root.name}/{path.relative_to(root).as_posix()}\n".encode())
                combined.update(path.read_bytes())
    assert combined.hexdigest() == PINNED_SAMPLE_SHA256


def test_declared_counts_and_layout(generated: tuple[Path, dict]) -> None:
    inbox, manifest = generated
    assert len(manifest["companies"]) == 3
    files_on_disk = {p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file()}
    listed = {f["path"] for c in manifest["companies"] for f in c["files"]}
    assert files_on_disk == listed  # the inbox holds only supplier files; CSV and manifest live beside it
    kinds = Counter(f["kind"] for c in manifest["companies"] for f in c["files"])
    assert set(sample.BAD_KINDS) <= set(kinds)  # three companies cover every kind of bad file
    for company in manifest["companies"]:
        assert len(company["documents"]) == 60
        assert company["expected"]["invoices_added"] == 60
        types = Counter(d["doc_type"] for d in company["documents"])
        assert types == {"invoice": 57, "credit_note": 2, "debit_note": 1}
        assert all(f["path"].startswith(company["nit"] + "/") for f in company["files"])
    suffixes = Counter(Path(p).suffix for p in files_on_disk)
    assert suffixes[".zip"] > 0 and suffixes[".xml"] > suffixes[".zip"]


def test_companies_csv_and_nits(generated: tuple[Path, dict]) -> None:
    inbox, manifest = generated
    rows = companies.read_csv(sample.sample_dir(inbox) / "companies.csv")  # validates every check digit
    assert [c.nit for c in rows] == [c["nit"] for c in manifest["companies"]]
    assert all(c.name and c.active for c in rows)


def test_totals_are_consistent_to_the_peso(generated: tuple[Path, dict]) -> None:
    inbox, manifest = generated
    documents = _good_documents(inbox, manifest)
    cent = Decimal("0.01")
    envelopes = Counter()
    for _, doc in documents:
        t = doc.totals
        envelopes[doc.envelope] += 1
        assert re.fullmatch(r"[0-9a-f]{96}", doc.cufe)
        assert doc.supplier.dv == str(check_digit(doc.supplier.nit)) and doc.supplier.dv_ok
        assert t.line_extension == sum(line.line_total for line in doc.lines)
        assert t.tax_inclusive == t.line_extension + sum(tax.amount for tax in doc.taxes)
        assert t.payable == t.tax_inclusive - t.prepaid + t.charge_total - t.allowance_total
        assert sum(tax.amount for tax in doc.taxes) == sum(line.tax_amount for line in doc.lines)
        for line in doc.lines:
            assert line.line_total == (line.quantity * line.unit_price).quantize(cent, ROUND_HALF_UP)
            assert line.line_total == line.line_total.quantize(cent)
            exact_tax = line.line_total * (line.tax_percent or 0) / 100
            assert abs(line.tax_amount - exact_tax) <= cent * len(doc.lines)  # the last line absorbs rounding
        for tax in doc.taxes + doc.withholdings:
            assert tax.amount == (tax.taxable_amount * tax.percent / 100).quantize(cent, ROUND_HALF_UP)
        assert date(2026, 11, 1) <= doc.issue_date < date(2026, 11, 16)
    assert envelopes["AttachedDocument"] > envelopes["Invoice"] > 0
    assert any(doc.withholdings for _, doc in documents)
    assert {t.scheme_id for _, doc in documents for t in doc.taxes} == {"01", "04"}


def test_notes_amend_earlier_invoices(generated: tuple[Path, dict]) -> None:
    inbox, manifest = generated
    documents = _good_documents(inbox, manifest)
    invoices = {doc.cufe: doc for _, doc in documents if doc.doc_type == "invoice"}
    notes = [doc for _, doc in documents if doc.doc_type != "invoice"]
    assert notes
    for note in notes:
        original = invoices[note.billing_reference]
        assert original.customer.nit == note.customer.nit and original.supplier.nit == note.supplier.nit
        assert note.issue_date >= original.issue_date


def test_suppliers_and_descriptions_recur(generated: tuple[Path, dict]) -> None:
    inbox, manifest = generated
    by_company: dict[str, Counter] = {}
    descriptions: Counter = Counter()
    for _, doc in _good_documents(inbox, manifest):
        by_company.setdefault(doc.customer.nit, Counter())[doc.supplier.nit] += 1
        descriptions.update((doc.customer.nit, doc.supplier.nit, line.description) for line in doc.lines)
    for suppliers in by_company.values():
        recurring = [nit for nit, n in suppliers.items() if n >= 2]
        assert 8 <= len(recurring) <= 20
        assert sum(suppliers[nit] for nit in recurring) >= 0.8 * sum(suppliers.values())
    assert descriptions.most_common(1)[0][1] >= 5  # the same supplier line, again and again


def test_every_line_has_a_valid_expected_account(generated: tuple[Path, dict]) -> None:
    inbox, manifest = generated
    targets = puc.purchase_accounts()
    by_description = sample.expected_account_by_description()
    assert set(by_description.values()) <= set(targets)
    seen_accounts = set()
    for entry, doc in _good_documents(inbox, manifest):
        for expected, line in zip(entry["lines"], doc.lines, strict=True):
            assert expected["expected_account"] in targets
            description = line.description.removeprefix("Ajuste en precio: ")
            assert by_description[description] == expected["expected_account"]
            seen_accounts.add(expected["expected_account"])
    assert len(seen_accounts) >= 15


def test_generated_inbox_ingests_exactly_as_declared(clean_db: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    generated = sample.generate(companies=3, invoices=40, inbox=inbox, seed=3, period=CYCLE)
    assert companies.active_nits() == sorted(c.nit for c in generated)
    manifest = sample.read_manifest(inbox)

    for company in manifest["companies"]:
        report = ingest.ingest_company(company["nit"], inbox, cycle_id=CYCLE).to_dict()
        expected = company["expected"]
        for key in ("files_seen", "ingested", "duplicates", "quarantined", "invoices_added", "lines_added"):
            assert report[key] == expected[key], (company["nit"], key)
        assert report["quarantine_reasons"] == expected["quarantine_reasons"]
        assert report["invoices_in_cycle"] == 40

    rows = {r["path"]: r for r in db.query_text("SELECT path, outcome, reason_code FROM ingested_files")}
    files = [f for c in manifest["companies"] for f in c["files"]]
    assert len(rows) == len(files)
    for f in files:
        assert (rows[f["path"]]["outcome"], rows[f["path"]]["reason_code"]) == (f["expected_outcome"], f["reason_code"])
    cufes = {r["cufe"] for r in db.query_text("SELECT cufe FROM invoices")}
    assert cufes == {d["cufe"] for c in manifest["companies"] for d in c["documents"]}

    before = db.query_text("SELECT count(*) AS n FROM invoice_lines")[0]["n"]
    again = [ingest.ingest_company(c["nit"], inbox) for c in manifest["companies"]]
    assert all(r.skipped == r.files_seen and r.invoices_added == 0 for r in again)
    assert db.query_text("SELECT count(*) AS n FROM invoice_lines")[0]["n"] == before


def test_forty_by_one_fifty_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    sample.generate(companies=40, invoices=150, inbox=tmp_path / "inbox", seed=1, period=CYCLE, register=False)
    assert time.perf_counter() - started < 20  # a few seconds on a laptop; generous for CI
    manifest = sample.read_manifest(tmp_path / "inbox")
    assert sum(c["expected"]["invoices_added"] for c in manifest["companies"]) == 6000


def test_period_defaults_to_the_last_closed_quincena() -> None:
    assert sample.resolve_period(None, today=date(2026, 11, 20)) == (date(2026, 11, 1), date(2026, 11, 16))
    assert sample.resolve_period("2026-10-Q2") == (date(2026, 10, 16), date(2026, 11, 1))
    with pytest.raises(ValueError):
        sample.resolve_period((date(2026, 11, 5), date(2026, 11, 5)))


def test_sample_cli_registers_and_ingest_cli_reports(clean_db: str, tmp_path: Path, capsys) -> None:
    inbox = tmp_path / "inbox"
    argv = ["sample", "--companies", "2", "--invoices", "12", "--inbox", str(inbox), "--seed", "9", "--period", CYCLE]
    assert cli_main(argv) == 0
    assert "2 companies x 12 documents for 2026-11-Q1" in capsys.readouterr().out
    nits = companies.active_nits()
    assert len(nits) == 2

    assert cli_main(["ingest", "--inbox", str(inbox), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["company_nit"] for r in reports] == nits
    assert all(r["invoices_added"] == 12 for r in reports)

    assert cli_main(["ingest", "--inbox", str(inbox), "--company", nits[0]]) == 0
    assert f"{nits[0]}: " in capsys.readouterr().out

    assert cli_main(["ingest", "--inbox", str(inbox), "--company", "860034313"]) == 2
    assert "not registered" in capsys.readouterr().err


def test_sample_cli_rejects_a_bad_period(tmp_path: Path, capsys) -> None:
    argv = ["sample", "--companies", "1", "--invoices", "1", "--inbox", str(tmp_path), "--period", "2026-13-Q1"]
    assert cli_main([*argv, "--no-register"]) == 2
    assert "not a quincena id" in capsys.readouterr().err

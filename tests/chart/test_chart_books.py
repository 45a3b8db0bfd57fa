"""A company with its own chart, through the cycle's own steps against the real simulator and PostgreSQL:
the model is shown the company's accounts after the shared prefix and answers in them; entries, review and
the export speak the company's codes (every exported line's account is postable in its chart); a
remembered account the company removed sends its line to review, never to the export."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from quincena.chart import store
from quincena.classify import prompt
from quincena.core import db
from quincena.devtools import sample
from quincena.devtools.sample import charts
from quincena.devtools.simulator.classifier import classify_line
from quincena.pipeline import cycle, export
from quincena.review import actions, worklist
from tests.helpers import decide
from tests.review.conftest import FLAGGED_SEED

Q1, Q2 = "2026-11-Q1", "2026-11-Q2"


def _quincena(cycle_id: str, nits: list[str] | None = None, seed: int = 5) -> dict:
    inbox = Path(os.environ["QUINCENA_INBOX"])
    made = sample.generate(companies=1, invoices=24, inbox=inbox, seed=seed, period=cycle_id)
    params = {"cycle": cycle_id, "companies": nits or [c.nit for c in made], "invoices_per_request": 4}
    (target,) = cycle.company_targets(cycle.resolve_cycle(None, None, params))
    cycle.ingest(target)
    return target


def _classified(cycle_id: str) -> list[dict]:
    return db.query_text(
        "SELECT c.account_code, c.source, c.prompt_version, l.description, i.supplier_name, i.status "
        "FROM classifications c "
        "JOIN invoice_lines l ON l.id = c.invoice_line_id JOIN invoices i ON i.id = c.invoice_id "
        "WHERE i.cycle_id = %s",
        (cycle_id,),
    )


def test_classified_reviewed_and_exported_in_the_company_accounts(simulated_firm, tmp_path) -> None:
    simulator = simulated_firm
    target = _quincena(Q1)
    nit = target["company_nit"]
    store.import_chart(nit, charts.write_chart(tmp_path / "siigo.csv"), "ana")
    chart = store.load(nit)
    own = chart.targets()
    cycle.classify(target, concurrency=2)

    rows = _classified(Q1)
    assert rows and [r for r in rows if r["account_code"] not in own] == []  # only the company's accounts
    model = [r for r in rows if r["source"] == "model"]
    assert model and {r["prompt_version"] for r in model} == {prompt.CHART_PROMPT_VERSION}
    # The concept is the one the same model picks without a chart: the sub-account is kept, the auxiliary added.
    assert all(r["account_code"][:6] == classify_line(r["description"], r["supplier_name"])[0] for r in model)
    # The shared prefix stays the same bytes for every company: requests after the first hit the cache.
    assert simulator.stats()["tokens"]["prompt_cache_hit"] > 0

    cycle.store_entries(target)
    review = worklist.invoices(nit, Q1)
    assert review, "the sample sends some invoices to review"
    # The accountant picks one of the company's accounts; a generic sub-account is refused.
    invoice = review[0]
    line = invoice["lines"][0]
    with pytest.raises(actions.ReviewError, match="plan de cuentas de la empresa"):
        actions.save_accounts(nit, Q1, invoice["id"], {line["line_id"]: "513530"}, "ana")
    actions.save_accounts(nit, Q1, invoice["id"], {ln["line_id"]: "51953002" for ln in invoice["lines"]}, "ana")
    assert actions.approve_invoice(nit, Q1, invoice["id"], "ana").status == "classified"
    assert decide(nit, Q1).status == "applied"
    result = export.export_company(target)
    (csv_format,) = result["formats"]
    exported = []
    for path in csv_format["files"]:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            exported += [row["Cuenta"] for row in csv.DictReader(handle, delimiter=";")]
    assert exported and all(chart.postable(code) and code in chart.accounts for code in exported)
    assert all(len(code) == 8 for code in exported)  # auxiliaries only: IVA, payables, withholdings included
    assert "24081001" in exported or "22050501" in exported or "23359501" in exported


def test_a_removed_account_sends_the_remembered_line_to_review(simulated_firm, tmp_path) -> None:
    target = _quincena(Q1)
    nit = target["company_nit"]
    path = charts.write_chart(tmp_path / "siigo.csv")
    store.import_chart(nit, path, "ana")
    cycle.classify(target, concurrency=2)
    remembered = db.query_text("SELECT account_code, count(*) AS n FROM supplier_memory GROUP BY 1 ORDER BY 2 DESC")
    removed = remembered[0]["account_code"]
    # The company closes that account: the chart is re-imported without it.
    with path.open(encoding="utf-8-sig") as handle:
        kept = [line for line in handle if not line.startswith(removed + ";")]
    (tmp_path / "siigo2.csv").write_text("".join(kept), encoding="utf-8")
    result = store.import_chart(nit, tmp_path / "siigo2.csv", "ana")
    assert result.removed == [removed]

    second = _quincena(Q2, [nit])
    cycle.classify(second, concurrency=2)
    rows = _classified(Q2)
    assert rows and all(r["account_code"] != removed for r in rows)
    flagged = db.query_text(
        "SELECT count(*) AS n FROM invoices WHERE cycle_id = %s AND status = 'review' AND status_reason LIKE %s",
        (Q2, f"%la cuenta {removed} que se recordaba para este proveedor ya no está activa%"),
    )[0]["n"]
    assert flagged > 0
    cycle.store_entries(second)
    assert decide(nit, Q2).status == "applied"
    exported = export.export_company(second)
    for path in exported["formats"][0]["files"]:
        assert f";{removed};" not in Path(path).read_text(encoding="utf-8-sig")


def test_lines_classified_before_the_chart_are_approved_through_the_map_and_a_removed_account_is_refused(
    simulated_firm, tmp_path
) -> None:
    target = _quincena(Q1, seed=FLAGGED_SEED)  # two invoices in review, every line with a proposal
    nit = target["company_nit"]
    cycle.classify(target, concurrency=2)  # no chart yet: the catalog's sub-accounts
    cycle.store_entries(target)
    chart_file = charts.write_chart(tmp_path / "siigo.csv")
    store.import_chart(nit, chart_file, "ana")
    used = sorted({r["account_code"] for r in _classified(Q1)})
    with (tmp_path / "mapa.csv").open("w", encoding="utf-8") as handle:
        handle.write("puc_code,company_code\n" + "".join(f"{code},{code}02\n" for code in used if len(code) == 6))
    store.import_map(nit, tmp_path / "mapa.csv")

    # A line still on its generic code is approved as it is: the map books it to the company's auxiliary.
    first, second = worklist.invoices(nit, Q1)[:2]
    assert all(len(ln["account"] or "") == 6 for ln in first["lines"])
    assert actions.approve_invoice(nit, Q1, first["id"], "ana").status == "classified"
    shown = {ln["line_id"]: ln["account"] for ln in first["lines"]}
    assert actions.reclassify(nit, Q1, first["id"], {**shown, first["lines"][0]["line_id"]: "51953001"},
                              "ana").changed_lines == 1  # fmt: skip
    with pytest.raises(actions.ReviewError, match="plan de cuentas de la empresa"):  # not mapped, two auxiliaries
        actions.save_accounts(nit, Q1, second["id"], {second["lines"][0]["line_id"]: "513595"}, "ana")

    # The accountant's own choice is checked again at approval: the company closed that account meanwhile.
    actions.save_accounts(nit, Q1, second["id"], {ln["line_id"]: "51953002" for ln in second["lines"]}, "ana")
    with chart_file.open(encoding="utf-8-sig") as handle:
        kept = [line for line in handle if not line.startswith("51953002;")]
    (tmp_path / "siigo2.csv").write_text("".join(kept), encoding="utf-8")
    assert store.import_chart(nit, tmp_path / "siigo2.csv", "ana").removed == ["51953002"]
    warnings = store.broken_by_chart(nit)  # what `quincena chart import` prints after the import
    assert f"51953002 is used by 1 invoice(s) of {Q1} not yet approved: re-classify them on the review page" in warnings
    assert ("the map books 519530 to 51953002" in " ".join(warnings)) == ("519530" in used)
    with pytest.raises(actions.ReviewError, match="la cuenta 51953002 no es una cuenta de compras activa"):
        actions.approve_invoice(nit, Q1, second["id"], "ana")
    with pytest.raises(actions.ReviewError):
        actions.approve_many(nit, Q1, [second["id"]], "ana")
    assert worklist.invoice(nit, Q1, second["id"])["status"] == "review"


def test_a_code_is_read_as_the_accountant_types_it() -> None:
    allowed = {"513530010101": object(), "51353001": object()}
    assert actions.account_code("513530010101 — Energía sede norte", allowed) == "513530010101"
    assert actions.account_code("5135.30.01", allowed) == "51353001"
    with pytest.raises(actions.ReviewError):
        actions.account_code("51353001abc", allowed)

"""Cycle cost aggregation on a hand-made ledger: exact per company and key, whole-cycle totals."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from quincena.core import db
from quincena.costs import cycle_costs as costs

CYCLE = "2026-11-Q1"
A, B = "900373115", "860034313"


def _seed() -> None:
    with db.transaction() as cur:
        cur.execute("INSERT INTO companies (nit, dv, name) VALUES (%s, 3, 'A SAS'), (%s, 7, 'B SAS')", (A, B))
        for nit, n in ((A, 3), (B, 1)):
            for i in range(n):
                cur.execute(
                    "INSERT INTO invoices (company_nit, cufe, doc_type, number, issue_date, currency, supplier_nit,"
                    " supplier_name, customer_nit, line_extension_amount, tax_exclusive_amount,"
                    " tax_inclusive_amount, payable_amount, cycle_id, status, source_file)"
                    " VALUES (%s, %s, 'invoice', %s, '2026-11-03', 'COP', '800197268', 'S', %s,"
                    " 100, 100, 119, 119, %s, 'classified', 'f.xml')",
                    (nit, f"{nit}-{i}", f"F{i}", nit, CYCLE),
                )
        calls = [
            (A, "k1", "ok", "0.30"),
            (A, "k2", "rate_limited", "0"),
            (B, "k1", "ok", "0.10"),
            (None, "k2", "ok", "0.05"),
        ]
        for nit, key, outcome, cost in calls:
            cur.execute(
                "INSERT INTO api_calls (attempt_id, call_id, attempt_no, started_at, key_name, model, company_nit,"
                " cycle_id, outcome, latency_ms, prompt_cache_hit_tokens, cost_usd)"
                " VALUES (%s, %s, 1, %s, %s, 'deepseek-v4-flash', %s, %s, %s, 10, 100, %s)",
                (uuid.uuid4(), uuid.uuid4(), datetime.now(UTC), key, nit, CYCLE, outcome, Decimal(cost)),
            )


def test_rerun_of_one_company_still_reports_the_whole_cycle(clean_db) -> None:
    _seed()
    result = costs.compute(CYCLE, [A])  # a re-run asked only for A
    by_company = {r["member"]: r for r in result.companies}
    assert set(by_company) == {A, B}  # B has invoices and calls in the cycle: it stays in the report
    assert by_company[A]["cost_usd"] == Decimal("0.30") and by_company[A]["rate_limited"] == 1
    assert by_company[B]["cost_usd"] == Decimal("0.10")
    # The total is the whole ledger (the call filed under no company included), for every counter.
    assert result.total["cost_usd"] == Decimal("0.45") and result.total["calls"] == 4
    assert result.total["rate_limited"] == 1 and result.total["prompt_cache_hit_tokens"] == 400
    assert {k["member"]: k["cost_usd"] for k in result.keys} == {"k1": Decimal("0.40"), "k2": Decimal("0.05")}
    # Proportional view: share of invoices x total (A has 3 of 4 invoices).
    assert by_company[A]["proportional_cost_usd"] == Decimal("0.33750000")
    assert result.total["avg_cost_per_invoice_usd"] == Decimal("0.11250000")


def test_each_companys_wait_is_reported_from_the_cycles_first_call(clean_db, tmp_path) -> None:
    _seed()
    offsets = {(A, "ok"): 0, (A, "rate_limited"): 90, (B, "ok"): 30}
    for (nit, outcome), seconds in offsets.items():
        db.query_text(
            "UPDATE api_calls SET started_at = timestamptz '2026-11-16 10:00:00+00' + make_interval(secs => %s)"
            " WHERE company_nit = %s AND outcome = %s",
            (seconds, nit, outcome),
        )
    result = costs.write_artifacts(costs.compute(CYCLE, [A, B]), tmp_path)
    waits = {r["member"]: (r["first_call_s"], r["last_call_s"]) for r in result.companies}
    assert waits == {A: (0, 90), B: (30, 30)}
    html = (tmp_path / "cycle_report.html").read_text(encoding="utf-8")
    assert "Primera llamada (s tras la primera del ciclo)" in html


def test_a_cycle_without_calls_prints_zero_costs_without_exponent(clean_db, tmp_path) -> None:
    with db.transaction() as cur:
        cur.execute("INSERT INTO companies (nit, dv, name) VALUES (%s, 3, 'A SAS')", (A,))
    result = costs.aggregate_cycle(CYCLE, [A], tmp_path)
    assert result.companies[0]["proportional_cost_usd"] == 0  # a Decimal whose str() is "0E-8"
    assert result.to_dict()["total_cost_usd"] == "0"
    csv_text, page = result.csv_path.read_text(encoding="utf-8"), result.html_path.read_text(encoding="utf-8")
    assert "0E-8" not in csv_text and "0.00000000" in csv_text  # the CSV keeps the ledger's precision
    assert "0E-8" not in page and "US$0,00" in page  # the page shows money as money (Colombian notation)


def test_spend_is_split_into_peak_and_off_peak(clean_db, tmp_path) -> None:
    """A call priced inside a peak window carries the price table's ':peak' version; the report splits on it."""
    from quincena.deepseek import prices

    table = prices.load()
    peak_at, off_at = datetime(2026, 11, 16, 2, 0, tzinfo=UTC), datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    with db.transaction() as cur:
        cur.execute("INSERT INTO companies (nit, dv, name) VALUES (%s, 3, 'A SAS')", (A,))
        for at in (peak_at, off_at):
            cost, version = table.cost("deepseek-v4-flash", 0, 1_000_000, 0, at)
            cur.execute(
                "INSERT INTO api_calls (attempt_id, call_id, attempt_no, started_at, key_name, model, company_nit,"
                " cycle_id, outcome, latency_ms, prompt_cache_miss_tokens, cost_usd, price_version)"
                " VALUES (%s, %s, 1, %s, 'k1', 'deepseek-v4-flash', %s, %s, 'ok', 10, 1000000, %s, %s)",
                (uuid.uuid4(), uuid.uuid4(), at, A, CYCLE, cost, version),
            )
    result = costs.aggregate_cycle(CYCLE, [A], tmp_path)
    assert result.total["peak_cost_usd"] == Decimal("0.30") and result.total["off_peak_cost_usd"] == Decimal("0.15")
    assert result.companies[0]["peak_cost_usd"] == Decimal("0.30")
    assert result.to_dict()["peak_cost_usd"] == "0.30000000"
    stored = db.query_text(
        "SELECT peak_cost_usd FROM cycle_costs WHERE dimension = 'total' AND cycle_id = %s", (CYCLE,)
    )
    assert stored[0]["peak_cost_usd"] == Decimal("0.30")
    assert "Costo en hora pico" in result.html_path.read_text(encoding="utf-8")

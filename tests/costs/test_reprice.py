"""`quincena prices reprice`: a corrected calendar re-prices the ledger, keeps the old figure and
version per row, and the stored cycle figures follow.

The ledger was billed by a table that treated weekends as weekdays (the calendar before its days):
two Saturday 02:00 UTC calls at peak (US$0.0186 each) and one Monday 02:00 call at peak. Under the
shipped calendar Saturday is off-peak: US$0.0093 each; Monday stays peak.
"""

from __future__ import annotations

from decimal import Decimal

from quincena.cli import main as cli_main
from quincena.core import db
from quincena.costs import cycle_costs
from tests.costs.health_seed import OFF, PEAK, at, call, insert_calls

NIT = "900000001"
CYCLE = "2026-11-Q2"
WRONG = "v4.1-2026-08-16:peak"  # what the weekend-blind table called a Saturday 02:00 call


def _seed() -> None:
    db.query_text("INSERT INTO companies (nit, dv, name) VALUES (%s, 0, 'Alfa SAS')", (NIT,))
    rows = [
        call("k1", at("2026-11-21T02:00:00"), company=NIT, cost=PEAK),  # Saturday
        call("k1", at("2026-11-21T02:05:00"), company=NIT, cost=PEAK),  # Saturday
        call("k1", at("2026-11-23T02:00:00"), company=NIT, cost=PEAK),  # Monday: really peak
        call("k1", at("2026-11-23T02:01:00"), "rate_limited", company=NIT),  # billed nothing, stays nothing
    ]
    for row in rows:
        row["cycle_id"] = CYCLE
    insert_calls(rows)
    db.query_text("UPDATE api_calls SET price_version = %s", (WRONG,))


def _total() -> Decimal:
    (row,) = db.query_text("SELECT cost_usd FROM cycle_costs WHERE cycle_id = %s AND dimension = 'total'", (CYCLE,))
    return row["cost_usd"]


def test_reprice_changes_the_totals_and_keeps_the_audit(clean_db, tmp_path, capsys) -> None:
    _seed()
    cycle_costs.aggregate_cycle(CYCLE, [NIT], tmp_path / "before")
    assert _total() == 3 * PEAK

    assert cli_main(["prices", "reprice", "--from", "2026-11-16", "--dry-run"]) == 0
    assert "would change 2" in capsys.readouterr().out  # the Monday calls (and the 429's zero) stand
    assert _total() == 3 * PEAK  # a dry run writes nothing

    assert cli_main(["prices", "reprice", "--from", "2026-11-16"]) == 0
    out = capsys.readouterr().out
    assert "total US$0.05580000 -> US$0.03720000 (difference -0.01860000)" in out
    assert f"cycle figures recomputed: {CYCLE}" in out

    rows = db.query_text(
        "SELECT started_at, outcome, cost_usd, price_version, cost_usd_before_reprice, price_version_before_reprice "
        "FROM api_calls ORDER BY started_at"
    )
    saturday = [r for r in rows if r["started_at"].weekday() == 5]
    assert [(r["cost_usd"], r["price_version"]) for r in saturday] == [(OFF, "v4.1-2026-08-16")] * 2
    assert [(r["cost_usd_before_reprice"], r["price_version_before_reprice"]) for r in saturday] == [(PEAK, WRONG)] * 2
    monday_ok = next(r for r in rows if r["outcome"] == "ok" and r["started_at"].weekday() == 0)
    assert (monday_ok["cost_usd"], monday_ok["cost_usd_before_reprice"]) == (PEAK, None)  # untouched
    assert _total() == 2 * OFF + PEAK  # cycle_costs follow the rows

    assert cli_main(["prices", "reprice", "--from", "2026-11-16"]) == 0
    assert "changed 0" in capsys.readouterr().out  # a second run finds nothing to correct
    (audit,) = db.query_text("SELECT count(*) AS n FROM api_calls WHERE repriced_at IS NOT NULL")
    assert audit["n"] == 2


def test_check_prints_a_week_with_its_weekend(capsys) -> None:
    assert cli_main(["prices", "check", "--week", "2026-W48", "--model", "deepseek-v4-flash"]) == 0
    out = capsys.readouterr().out
    assert "Mon 2026-11-23  v4.1-2026-08-16: peak 01:00-04:00, 06:00-10:00 UTC (Bogotá Sun 20:00-23:00" in out
    assert "Sat 2026-11-28  v4.1-2026-08-16: off-peak all day" in out
    assert "USD per 1M tokens" in out and "peak:     cache hit 0.006, cache miss 0.3, output 1.2" in out


def test_check_shows_the_16_00_switch(capsys) -> None:
    assert cli_main(["prices", "check", "--week", "2026-08-16", "--model", "deepseek-v4-flash"]) == 0
    assert "Sun 2026-08-16  v4-launch: one price all day (no peak billing); from 16:00 UTC v4.1-2026-08-16" in (
        capsys.readouterr().out
    )

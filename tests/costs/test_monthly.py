"""A closed month reconciled per UTC day, with the likely cause of each flagged day.

November 2026 in the ledger (each answered call 100k hit + 20k miss + 10k output tokens):
- Sat Nov 21, k1: 2 calls at 02:00 UTC that a weekend-blind table billed at peak (US$0.0186 each);
  DeepSeek billed them off-peak (US$0.0093): the calendar error the report must catch;
- Mon Nov 23, k1: 1 call at 02:00 UTC, peak on both sides: matches;
- Tue Nov 24, k2: 1 call at 15:00 UTC off-peak, but DeepSeek charged a price our table does not have;
- Wed Nov 25, k1: 1 call we recorded; the export has no such day;
- Thu Nov 26, k3: DeepSeek billed a call the ledger never saw.
"""

from __future__ import annotations

from decimal import Decimal

from quincena.cli import main as cli_main
from quincena.core import db
from quincena.costs import monthly
from tests.costs.health_seed import OFF, PEAK, at, call, insert_calls
from tests.costs.test_reconcile import PRICES, amount_lines, write_csv

PEAK_PRICES = {"input_cache_hit_tokens": "0.000000006", "input_cache_miss_tokens": "0.0000003",
               "output_tokens": "0.0000012"}  # fmt: skip
ODD_PRICES = {**PRICES, "output_tokens": "0.0000015"}  # 1.50 per 1M: beyond our off-peak 0.60 and peak 1.20
NOVEMBER = monthly.parse_month("2026-11")


def _ledger() -> None:
    insert_calls([
        call("k1", at("2026-11-21T02:00:00"), company=None, cost=PEAK),
        call("k1", at("2026-11-21T02:10:00"), company=None, cost=PEAK),
        call("k1", at("2026-11-23T02:00:00"), company=None, cost=PEAK),
        call("k2", at("2026-11-24T15:00:00"), company=None, cost=OFF),
        call("k1", at("2026-11-25T15:00:00"), company=None, cost=OFF),
    ])  # fmt: skip


def _export(folder) -> None:
    lines = (
        amount_lines([("2026-11-21", "k1", 2)], prices=PRICES)
        + amount_lines([("2026-11-23", "k1", 1)], prices=PEAK_PRICES)
        + amount_lines([("2026-11-24", "k2", 1)], prices=ODD_PRICES)
        + amount_lines([("2026-11-26", "k3", 1)], prices=PRICES)
    )
    folder.mkdir(exist_ok=True)
    write_csv(folder / "amount-2026-11.csv", lines)


def test_a_weekend_billed_as_peak_is_caught_with_its_cause(clean_db, tmp_path) -> None:
    _ledger()
    _export(tmp_path / "exports")
    month = monthly.reconcile_month(NOVEMBER, tmp_path / "exports", Decimal("0.01"), tmp_path / "out")
    days = {str(d["utc_date"]): d for d in month.days}
    saturday = days["2026-11-21"]
    assert saturday["flagged"] and saturday["cause"] == monthly.CALENDAR
    assert (saturday["ledger_usd"], saturday["deepseek_usd"], saturday["difference_usd"]) == (
        2 * PEAK, 2 * OFF, Decimal("-0.0186"),
    )  # fmt: skip
    assert not days["2026-11-23"]["flagged"]  # a weekday peak call is peak on both sides
    assert days["2026-11-24"]["cause"] == monthly.PRICE_CHANGE
    assert days["2026-11-25"]["cause"] == monthly.MISSING
    assert days["2026-11-26"]["cause"] == monthly.OUTSIDE
    assert [str(d["utc_date"]) for d in month.flagged] == ["2026-11-21", "2026-11-24", "2026-11-25", "2026-11-26"]
    assert len(month.days) == 30 and month.status == monthly.DIFFERENCES
    stored = monthly.stored("2026-11")
    assert stored["status"] == "differences" and stored["ledger_usd"] == 3 * PEAK + 2 * OFF
    assert (tmp_path / "out" / "reconciliation_days.csv").read_text(encoding="utf-8").count("\n") == 31


def test_cli_month_says_each_flagged_day(clean_db, tmp_path, capsys) -> None:
    _ledger()
    _export(tmp_path / "exports")
    assert cli_main(["reconcile", "--month", "2026-11", "--exports", str(tmp_path / "exports")]) == 1
    out = capsys.readouterr().out
    assert "2026-11: DIFFERENCES" in out
    assert (
        "2026-11-21: ledger US$0.03720000 vs DeepSeek US$0.01860000 (difference -0.01860000)" in out
        and "likely cause: calendar" in out
    )


def test_no_export_is_a_missing_export_not_a_match(clean_db, tmp_path) -> None:
    _ledger()
    month = monthly.reconcile_month(NOVEMBER, tmp_path / "nothing", Decimal("0.01"), tmp_path / "out")
    assert month.status == monthly.MISSING and month.deepseek_usd is None
    assert {d["cause"] for d in month.flagged} == {monthly.MISSING}


def test_a_matching_month_is_reconciled(clean_db, tmp_path) -> None:
    insert_calls([call("k1", at("2026-11-21T02:00:00"), company=None, cost=OFF)])
    (tmp_path / "exports").mkdir()
    write_csv(tmp_path / "exports" / "amount-2026-11.csv", amount_lines([("2026-11-21", "k1", 1)]))
    month = monthly.reconcile_month(NOVEMBER, tmp_path / "exports", Decimal("0.01"), tmp_path / "out")
    assert month.status == monthly.RECONCILED and month.deepseek_usd == month.ledger_usd == OFF
    assert db.query_text("SELECT status FROM month_reconciliations") == [{"status": "reconciled"}]

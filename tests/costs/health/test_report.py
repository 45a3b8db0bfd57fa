"""The weekly health report on a seeded ledger (tests/costs/health_seed.py): every figure against values
computed by hand from the seed, the alerts of the seeded week, the stored row and the files."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from deepseek_provider.hooks.deepseek import Balance, BalanceInfo

from quincena.core import db
from quincena.costs.health.report import WeeklyHealth, report_dir, run_week
from quincena.costs.health.rules import decide_alerts, signals_from_figures
from quincena.costs.health.settings import HealthSettings, Thresholds
from quincena.costs.health.week import week_for_label
from tests.costs import health_seed
from tests.costs.health_seed import A, B, D
from tests.helpers import HOSTILE, assert_no_formula

W45 = "2026-W45"


def _balance(total: str = "5.00", currency: str = "USD", available: bool = True) -> Balance:
    return Balance(available, (BalanceInfo(currency, Decimal(total), Decimal("1.00"), Decimal(total) - 1),))


@pytest.fixture
def seeded(clean_db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("QUINCENA_PRICE_TABLE", str(health_seed.write_price_table(tmp_path)))
    health_seed.seed()


def _run(tmp_path, fetch=lambda: _balance(), budget: str | None = "1.00", **thresholds) -> WeeklyHealth:
    settings = HealthSettings(
        Thresholds(**{k: Decimal(v) for k, v in thresholds.items()}),
        None if budget is None else Decimal(budget),
        trend_weeks=4,
        pool_slots=16,
    )
    return run_week(week_for_label(W45), settings, fetch_balance=fetch, out_dir=tmp_path / "out")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- every figure of the seeded week -----------------------------------------------------------
def _key(name, status, calls, ok, rl, failed, rate, p50, p95, n_ok, cost, share, active, even, dev, flag, **extra):
    return {
        "key": name, "status": status, "disabled_at": extra.get("disabled_at"),
        "disabled_reason": extra.get("disabled_reason"), "calls": calls, "ok_calls": ok, "rate_limited": rl,
        "failed_calls": failed, "in_flight_calls": 0, "rate_429": rate, "p50_ms": p50, "p95_ms": p95,
        "prompt_cache_hit_tokens": 100_000 * n_ok, "prompt_cache_miss_tokens": 20_000 * n_ok,
        "completion_tokens": 10_000 * n_ok, "cost_usd": cost, "share_of_calls": share, "active_share": active,
        "even_share": even, "spread_deviation": dev, "spread_flag": flag,
    }  # fmt: skip


EXPECTED_KEYS = [
    # k1: 14 ok at 1000..2300 ms → p50 = (1600+1700)/2, p95 at rank 12.35 = 2200 + .35*100; 14 x 0.0093
    _key("k1", "active", 20, 14, 6, 0, "0.3000", 1650.0, 2235.0, 14, "0.13020000", "0.4762", "0.5000", "0.3333",
         "0.5000", True),
    # k2: 9 ok at 2000..2800 → p50 2400, p95 at rank 7.6 = 2760; 2/12 = 0.1667
    _key("k2", "active", 12, 9, 2, 1, "0.1667", 2400.0, 2760.0, 9, "0.08370000", "0.2857", "0.3000", "0.3333",
         "-0.1000", False),
    # k3: 8 ok at 500..1200 in a peak hour (0.0186 each) → p50 850, p95 at rank 6.65 = 1165
    _key("k3", "active", 8, 8, 0, 0, "0.0000", 850.0, 1165.0, 8, "0.14880000", "0.1905", "0.2000", "0.3333",
         "-0.4000", True),
    # k4: disabled: not part of the spread
    _key("k4", "disabled", 2, 1, 0, 1, "0.0000", 3000.0, 3000.0, 1, "0.00930000", "0.0476", None, None, None, False,
         disabled_at="2026-11-03T10:00:01+00:00", disabled_reason="HTTP 401 on chat: authentication failed"),
]  # fmt: skip


def test_every_figure_of_the_week(seeded, tmp_path) -> None:
    figures = _run(tmp_path).figures

    assert figures["keys"] == EXPECTED_KEYS
    # 32 ok latencies merged: rank 15.5 → (1700+1800)/2; rank 29.45 → 2700 + .45*100
    assert figures["total"] == {
        "key": "all", "status": "", "disabled_at": None, "disabled_reason": None,
        "calls": 42, "ok_calls": 32, "rate_limited": 8, "failed_calls": 2, "in_flight_calls": 0, "rate_429": "0.1905",
        "p50_ms": 1750.0, "p95_ms": 2745.0, "prompt_cache_hit_tokens": 3_200_000,
        "prompt_cache_miss_tokens": 640_000, "completion_tokens": 320_000, "cost_usd": "0.37200000",
        "share_of_calls": "1.0000", "active_keys": 3, "active_calls": 40, "keys_with_429": 2,
    }  # fmt: skip

    # W40's 429 is outside; W43 had no call; the call at Nov 9 05:00Z belongs to the next week.
    assert figures["trend"] == {
        "weeks": [
            {"week": "2026-W41", "calls": 20, "rate_limited": 0, "rate_429": "0.0000"},
            {"week": "2026-W42", "calls": 20, "rate_limited": 1, "rate_429": "0.0500"},
            {"week": "2026-W43", "calls": 0, "rate_limited": 0, "rate_429": None},
            {"week": "2026-W44", "calls": 20, "rate_limited": 1, "rate_429": "0.0500"},
            {"week": "2026-W45", "calls": 42, "rate_limited": 8, "rate_429": "0.1905"},
        ],
        "previous_calls": 60, "previous_rate_limited": 2, "previous_rate_429": "0.0333", "direction": "rising",
    }  # fmt: skip
    assert figures["hours"] == {
        "hours": [
            {"hour_utc": 3, "hour_bogota": 22, "rate_limited": 1},
            {"hour_utc": 14, "hour_bogota": 9, "rate_limited": 7},
        ],
        "top_hours_utc": [14, 3], "top_hours_bogota": [9, 22], "top_share": "1.0000",
    }  # fmt: skip

    # Month to date = the week + 2 calls on Nov 1 (the Nov 1 04:00Z call is Oct 31 in Bogotá).
    # Forecast = MTD x 30 / 8: 0.3906 → 1.46475 → 1.4648; A 0.48825 → 0.4883; B 0.2604 → 0.9765.
    spend = figures["spend"]
    assert {k: v for k, v in spend.items() if k != "companies"} == {
        "month": "2026-11", "week_cost_usd": "0.37200000", "mtd_cost_usd": "0.39060000", "days_elapsed": "8",
        "days_in_month": "30", "forecast_month_usd": "1.4648", "remaining_forecast_usd": "1.0742",
        "budget_usd": "1.00", "budget_used": "0.3906", "forecast_ratio": "1.4648",
        "unattributed_week_cost_usd": "0.00000000",
    }  # fmt: skip
    assert spend["companies"] == [
        {
            "nit": A,
            "name": "Alfa SAS",
            "budget_usd": "1.00",
            "week_cost_usd": "0.13020000",
            "mtd_cost_usd": "0.13020000",
            "forecast_month_usd": "0.4883",
            "forecast_ratio": "0.4883",
            "over_budget": False,
        },
        {
            "nit": B,
            "name": "Beta SAS",
            "budget_usd": "0.50",
            "week_cost_usd": "0.24180000",
            "mtd_cost_usd": "0.26040000",
            "forecast_month_usd": "0.9765",
            "forecast_ratio": "1.9530",
            "over_budget": True,
        },
        {
            "nit": D,
            "name": "Delta SAS",
            "budget_usd": "2.00",
            "week_cost_usd": "0.00000000",
            "mtd_cost_usd": "0.00000000",
            "forecast_month_usd": "0.0000",
            "forecast_ratio": "0.0000",
            "over_budget": False,
        },
    ]  # fmt: skip  (Gamma: no budget and no spend → not listed)

    # Balance 5.00 at 0.3720/7 a day = 94.09 days; after the 1.0742 still forecast: 3.9258.
    assert figures["balance"] == {
        "status": "ok", "reason": None, "currency": "USD", "is_available": True, "total_balance": "5.00",
        "granted_balance": "1.00", "topped_up_balance": "4.00", "daily_spend_usd": "0.0531", "runway_days": "94.1",
        "remaining_forecast_usd": "1.0742", "balance_after_forecast_usd": "3.9258", "covers_forecast": True,
    }  # fmt: skip

    # 32 answered calls x 130k tokens; 8 (k3) at 02h UTC = peak: 24 x 0.0093 + 8 x 0.0186.
    assert figures["off_peak"] == {
        "price_versions": ["v4.1-2026-08-16"], "peak_pricing": True,
        "peak_windows_utc": [["01:00", "04:00"], ["06:00", "10:00"]],
        "peak_windows_bogota": [["20:00", "23:00"], ["01:00", "05:00"]],
        "peak_days_utc": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],  # the seed's table has no days: all
        "tokens": 4_160_000, "peak_tokens": 1_040_000, "peak_token_share": "0.2500",
        "priced_as_run_usd": "0.37200000", "all_off_peak_usd": "0.29760000", "all_peak_usd": "0.59520000",
        "saving_usd": "0.07440000", "saving_share": "0.2000", "unpriced_models": [],
        "spent_peak_usd": "0.14880000", "spent_off_peak_usd": "0.22320000",  # 8 x 0.0186 | 24 x 0.0093
    }  # fmt: skip


def test_advice_follows_from_the_numbers(seeded, tmp_path) -> None:
    advice = {(a["topic"], a["text"]) for a in _run(tmp_path).figures["advice"]}
    topics = [topic for topic, _ in advice]
    texts = " | ".join(text for _, text in advice)
    assert "agregar claves no lo sube" in texts and "Los 429 tocaron 2 clave(s)" in texts
    # 8/42 throttled with 16 slots: floor(16 x 34/42) = 12
    assert "reduzca el pool deepseek (16 cupos) a 12 cupos" in texts
    assert "habrían costado US$0,2976 en vez de US$0,372: US$0,0744 (20,00 %) menos" in texts
    assert "La clave k1 tomó 50,00 %" in texts and "La clave k3 tomó 20,00 %" in texts
    assert "La clave k2 tomó" not in texts
    assert "La clave k4 está deshabilitada (HTTP 401 on chat: authentication failed)" in texts
    assert "La empresa 900000002 (Beta SAS) va camino de US$0,9765" in texts
    assert "La empresa 900000001" not in texts
    assert topics.count("budget") == 2


def test_alerts_of_the_seeded_week(seeded, tmp_path) -> None:
    report = _run(tmp_path)
    assert [(a.kind, a.subject, a.value) for a in report.alerts] == [
        ("rate_429", "account", "19.05%"),
        ("spread", "k1", "+50.00%"),
        ("spread", "k3", "-40.00%"),
        ("budget", "firm", "146.48%"),
        ("budget", B, "195.30%"),
        ("low_balance", "account", "US$5.00"),
    ]
    relaxed = _run(tmp_path, fetch=lambda: _balance("500.00"), budget="2.00", max_429_rate="0.20",
                   max_spread="0.50", budget_ratio="2.0")  # fmt: skip
    assert relaxed.alerts == []


def test_report_row_is_upserted_once_per_week(seeded, tmp_path) -> None:
    _run(tmp_path)
    _run(tmp_path, budget="3.00")
    rows = db.query_text("SELECT week, week_start, figures, alerts FROM weekly_health")
    assert len(rows) == 1 and rows[0]["week"] == W45 and rows[0]["week_start"] == _utc("2026-11-02T05:00")
    assert rows[0]["figures"]["spend"]["budget_usd"] == "3.00"
    assert [a["subject"] for a in rows[0]["alerts"] if a["kind"] == "budget"] == [B]


def test_csv_and_html_artifacts(seeded, tmp_path) -> None:
    report = _run(tmp_path)
    assert report.csv_path == tmp_path / "out" / "weekly_health.csv"
    with report.csv_path.open(encoding="utf-8") as handle:
        lines = {(r["section"], r["member"], r["figure"]): r["value"] for r in csv.DictReader(handle)}
    assert lines[("key", "k1", "rate_429")] == "0.3000"
    assert lines[("key", "all", "p95_ms")] == "2745.0"
    assert lines[("spend", B, "forecast_month_usd")] == "0.9765"
    assert lines[("off_peak", "week", "saving_usd")] == "0.07440000"
    assert lines[("trend", "summary", "direction")] == "rising"
    page = health_seed.check_html(report.html_path.read_text(encoding="utf-8"))
    assert page.counts["svg"] >= 6 and page.counts["table"] >= 8
    assert "Beta SAS" in "".join(page.text)


def test_default_report_dir_is_weekly_label(seeded) -> None:
    assert report_dir(week_for_label(W45)).parts[-2:] == ("weekly", W45)


def test_balance_failure_never_breaks_the_report_nor_leaks_a_key(seeded, tmp_path) -> None:
    def broken():
        raise ConnectionError("POST with Bearer sk-live-0123456789abcdef failed: connection refused")

    report = _run(tmp_path, fetch=broken)
    balance = report.figures["balance"]
    assert balance["status"] == "unavailable"
    assert balance["reason"] == "ConnectionError: POST with Bearer sk-*** failed: connection refused"
    assert "low_balance" not in [a.kind for a in report.alerts]
    html = report.html_path.read_text(encoding="utf-8")
    assert "Saldo de DeepSeek no disponible" in html
    for text in (html, report.csv_path.read_text(encoding="utf-8"), json.dumps(report.to_dict())):
        assert "0123456789abcdef" not in text


def test_balance_in_another_currency_is_not_compared(seeded, tmp_path) -> None:
    report = _run(tmp_path, fetch=lambda: _balance("1.00", currency="CNY"))
    assert report.figures["balance"]["status"] == "not_usd"
    assert "low_balance" not in [a.kind for a in report.alerts]


def test_an_exhausted_balance_alerts_whatever_the_amount(seeded, tmp_path) -> None:
    report = _run(tmp_path, fetch=lambda: _balance("900.00", available=False))
    assert ("low_balance", "unavailable") in [(a.kind, a.value) for a in report.alerts]


def test_an_empty_week_reports_zeros(clean_db, tmp_path) -> None:
    report = _run(tmp_path)
    assert report.figures["total"]["calls"] == 0 and report.figures["total"]["rate_429"] is None
    assert report.figures["spend"]["forecast_month_usd"] == "0.0000"
    assert report.figures["balance"]["runway_days"] is None
    assert report.figures["trend"]["direction"] == "no history"
    assert [a.kind for a in report.alerts] == ["low_balance"]  # 5.00 < 10, the only threshold crossed
    health_seed.check_html(report.html_path.read_text(encoding="utf-8"))


def test_signals_round_trip_through_the_stored_figures(seeded, tmp_path) -> None:
    report = _run(tmp_path)
    signals = signals_from_figures(json.loads(json.dumps(report.figures)))
    assert signals.calls == 42 and signals.rate_limited == 8
    assert dict(signals.active_key_calls) == {"k1": 20, "k2": 12, "k3": 8}
    assert signals.firm_forecast_usd == Decimal("1.4648") and signals.balance_usd == Decimal("5.00")
    assert decide_alerts(signals, Thresholds()) == report.alerts


def test_the_week_has_one_total_wherever_it_is_shown(seeded, tmp_path) -> None:
    """Keys, spend and the off-peak view all state the ledger's exact total (never a re-priced twin).

    Three tiny calls of one cache-hit token each: the ledger rounds each to US$0.00000000, re-pricing
    their summed tokens would say US$0.00000001 — the two totals that used to disagree."""
    tiny = [health_seed.call("k1", health_seed.at("2026-11-05T15:00:00"), cost=Decimal(0)) for _ in range(3)]
    for row in tiny:
        row.update(hit=1, miss=0, out=0)
    health_seed.insert_calls(tiny)
    figures = _run(tmp_path).figures
    total = figures["total"]["cost_usd"]
    assert figures["off_peak"]["priced_as_run_usd"] == total
    assert Decimal(figures["spend"]["week_cost_usd"]) == Decimal(total)


def test_the_weekly_csv_neutralises_formulas(seeded, tmp_path) -> None:
    db.query_text("UPDATE companies SET name = %s", (HOSTILE,))
    report = _run(tmp_path)
    with report.csv_path.open(encoding="utf-8", newline="") as handle:
        values = [cell for row in csv.DictReader(handle) for cell in row.values()]
    assert_no_formula(values)
    assert "'" + HOSTILE in values

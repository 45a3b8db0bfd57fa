"""Production agreement, checked against a scripted review session (tests/quality/review_script.py)."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from deepseek_provider.models import Balance, BalanceInfo

from quincena.costs import alerts, cycle_costs
from quincena.costs.health.report import run_week
from quincena.costs.health.rules import decide_alerts, signals_from_figures
from quincena.costs.health.settings import HealthSettings, Thresholds, resolve_settings
from quincena.costs.health.week import week_for_label
from quincena.quality import agreement
from tests.quality import review_script as script


@pytest.fixture
def reviewed(clean_db: str) -> None:
    script.seed()


def _balance() -> Balance:
    return Balance(True, (BalanceInfo("USD", Decimal("50.00"), Decimal("0"), Decimal("50.00")),))


def test_cycle_figures_match_the_hand_count(reviewed) -> None:
    f = agreement.cycle_figures(script.NEW_CYCLE)
    assert f["cycles"] == [script.OLD_CYCLE, script.NEW_CYCLE]
    latest = f["latest"]
    assert (latest["reviewed"], latest["kept"], latest["changed"], latest["filled"]) == (23, 18, 4, 1)
    assert latest["agreement"] == round(18 / 23, 4) and latest["filled_share"] == round(1 / 23, 4)
    companies = {(c["cycle_id"], c["nit"]): c for c in f["companies"]}
    a, b = companies[(script.NEW_CYCLE, script.A)], companies[(script.NEW_CYCLE, script.B)]
    assert (a["kept"], a["changed"], a["filled"], a["agreement"]) == (16, 4, 0, 0.8)
    assert (b["kept"], b["changed"], b["filled"], b["reviewed"]) == (2, 0, 1, 3)
    assert b["name"] == "Servicios Boyacá Ltda"
    assert [(t["cycle_id"], t["kept"], t["reviewed"]) for t in f["trend"]] == [
        (script.OLD_CYCLE, 19, 20),
        (script.NEW_CYCLE, 18, 23),
    ]
    assert [(v["model"], v["prompt_version"], v["kept"], v["reviewed"]) for v in f["versions"]] == [
        (script.OLD_MODEL, "p1", 19, 20),
        (script.NEW_MODEL, "p1", 18, 22),
    ]
    assert f["top_corrections"] == [
        {"proposed": "519595", "chosen": "519530", "lines": 2},
        {"proposed": "", "chosen": "511025", "lines": 1},
        {"proposed": "513530", "chosen": "513525", "lines": 1},  # the first action, not the later re-change
        {"proposed": "513535", "chosen": "513520", "lines": 1},
    ]
    assert [(r["account"], r["changed"]) for r in f["most_corrected_accounts"]] == [
        ("519595", 2),
        ("513530", 1),
        ("513535", 1),
    ]


def test_a_cycle_not_yet_reviewed_shows_the_trend_only(reviewed) -> None:
    f = agreement.cycle_figures("2026-12-Q1")
    assert f["latest_cycle"] == "2026-12-Q1" and f["latest"]["reviewed"] == 0 and f["latest"]["agreement"] is None
    assert len(f["trend"]) == 2


def test_cycle_report_has_the_agreement_section(reviewed, tmp_path) -> None:
    costs = cycle_costs.aggregate_cycle(script.NEW_CYCLE, [script.A, script.B], out_dir=tmp_path)
    page = costs.html_path.read_text(encoding="utf-8")
    assert "Acuerdo de los contadores con el modelo" in page
    assert "mantuvieron 18 de 23 propuestas del modelo" in page and "519595" in page


def test_weekly_report_shows_agreement_and_alerts_through_the_notifier(reviewed, tmp_path, caplog) -> None:
    report = run_week(week_for_label("2026-W47"), HealthSettings(), fetch_balance=_balance, out_dir=tmp_path)
    figures = report.figures["agreement"]
    assert figures["latest_cycle"] == script.NEW_CYCLE and figures["latest"]["kept"] == 18
    kinds = sorted((a.kind, a.subject) for a in report.alerts)
    assert kinds == [
        ("agreement", script.A),  # 16/20 = 80 % < 85 %, with 20 reviewed lines
        ("agreement", "firm"),  # 18/23 = 78.26 %; company B (3 lines) is too small to judge
        ("agreement_drop", f"{script.NEW_MODEL} / prompt p1"),  # 95 % -> 81.82 %
    ]
    drop = next(a for a in report.alerts if a.kind == "agreement_drop")
    assert drop.value == "13.18%" and drop.threshold == "5.00%"
    with report.csv_path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["section"] == "agreement"]
    assert {"member": script.NEW_CYCLE, "figure": "agreement", "value": str(round(18 / 23, 4))}.items() <= next(
        r for r in rows if r["member"] == script.NEW_CYCLE and r["figure"] == "agreement"
    ).items()
    assert "Acuerdo de los contadores con el modelo" in report.html_path.read_text(encoding="utf-8")
    # the stored figures give the same alerts back, and the existing notifier delivers them
    assert decide_alerts(signals_from_figures(report.figures), HealthSettings().thresholds) == report.alerts
    result = alerts.notify_step(report.to_dict(), channels=alerts.AlertChannels(None, None, None))
    assert result["fired"] and result["alerts"] == 3
    assert "ALERT agreement_drop" in caplog.text


def test_thresholds_are_configurable(reviewed, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("QUINCENA_HEALTH_MIN_AGREEMENT", "0.75")
    monkeypatch.setenv("QUINCENA_HEALTH_MAX_AGREEMENT_DROP", "0.15")
    settings = resolve_settings({})
    assert settings.thresholds.min_agreement == Decimal("0.75")
    report = run_week(week_for_label("2026-W47"), settings, fetch_balance=_balance, out_dir=tmp_path)
    assert [a for a in report.alerts if a.kind.startswith("agreement")] == []
    strict = Thresholds(min_agreement=Decimal("0.81"), max_agreement_drop=Decimal("0.15"))
    assert [(a.kind, a.subject) for a in decide_alerts(signals_from_figures(report.figures), strict)] == [
        ("agreement", "firm"),
        ("agreement", script.A),
    ]


def test_a_week_before_any_review_has_no_agreement(clean_db, tmp_path) -> None:
    report = run_week(week_for_label("2026-W47"), HealthSettings(), fetch_balance=_balance, out_dir=tmp_path)
    assert report.figures["agreement"]["cycles"] == [] and report.alerts == []

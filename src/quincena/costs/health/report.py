"""The weekly report as a whole: compute the figures and alerts, store the row, write the CSV and HTML."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quincena.core import config, db
from quincena.core.cells import safe_rows
from quincena.core.numbers import plain
from quincena.costs.health import html
from quincena.costs.health.advice import advice
from quincena.costs.health.figures import (
    BalanceFetcher,
    approvals_waiting_figures,
    balance_figures,
    default_balance_fetcher,
    hour_figures,
    key_figures,
    off_peak_figures,
    spend_figures,
    tax_rules_figures,
    trend_figures,
)
from quincena.costs.health.rules import Alert, decide_alerts, signals_from_figures
from quincena.costs.health.settings import HealthSettings
from quincena.costs.health.week import Week

log = logging.getLogger(__name__)


@dataclass
class WeeklyHealth:
    week: Week
    figures: dict[str, Any]
    alerts: list[Alert]
    csv_path: Path | None = None
    html_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for XCom: figures as stored, alerts, where the artifacts are."""
        return {
            "week": self.week.to_dict(),
            "figures": self.figures,
            "alerts": [a.to_dict() for a in self.alerts],
            "csv": str(self.csv_path) if self.csv_path else None,
            "html": str(self.html_path) if self.html_path else None,
        }


def compute(
    week: Week,
    settings: HealthSettings,
    fetch_balance: BalanceFetcher | None = None,
    reconciliation: Mapping[str, Any] | None = None,
) -> WeeklyHealth:
    t = settings.thresholds
    keys, total = key_figures(week, t)
    spend = spend_figures(week, settings.monthly_budget_usd, t)
    fetch = fetch_balance or default_balance_fetcher(settings.balance_deadline_s)
    figures: dict[str, Any] = {
        "week": week.to_dict(),
        "settings": settings.to_dict(),
        "keys": keys,
        "total": total,
        "trend": trend_figures(week, settings.trend_weeks),
        "hours": hour_figures(week),
        "spend": spend,
        "balance": balance_figures(fetch, spend),
        "off_peak": off_peak_figures(week),
        "tax_rules": tax_rules_figures(week),
        "approvals": approvals_waiting_figures(week),
    }
    figures["advice"] = advice(figures, settings)
    figures["reconciliation"] = dict(reconciliation) if reconciliation else None
    figures["agreement"] = _agreement(week)
    figures = plain(figures)
    alerts = decide_alerts(signals_from_figures(figures), t)
    return WeeklyHealth(week, figures, alerts)


def _agreement(week: Week) -> dict[str, Any]:
    from quincena.quality import agreement

    return agreement.weekly_figures(week.end)


def store(report: WeeklyHealth) -> None:
    """Upsert the week's row: recomputing a week replaces it."""
    from psycopg.types.json import Jsonb

    db.execute(
        "health_upsert",
        {
            "week": report.week.label,
            "week_start": report.week.start,
            "week_end": report.week.end,
            "figures": Jsonb(report.figures),
            "alerts": Jsonb([a.to_dict() for a in report.alerts]),
        },
    )


def report_dir(week: Week) -> Path:
    return config.reports_dir() / "weekly" / week.label


CSV_COLUMNS = ("section", "member", "figure", "value")


def csv_rows(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every scalar figure as one (section, member, figure, value) line."""
    rows: list[dict[str, Any]] = []

    def add(section: str, member: str, data: Mapping[str, Any]) -> None:
        for name, value in data.items():
            if not isinstance(value, Mapping | list):
                rows.append({"section": section, "member": member, "figure": name, "value": value})

    for key in figures["keys"]:
        add("key", key["key"], key)
    add("key", "all", figures["total"])
    for week in figures["trend"]["weeks"]:
        add("trend", week["week"], week)
    add("trend", "summary", figures["trend"])
    for hour in figures["hours"]["hours"]:
        add("429_hours", f"{hour['hour_utc']:02d} UTC", hour)
    add("spend", "firm", figures["spend"])
    for company in figures["spend"]["companies"]:
        add("spend", company["nit"] or "unattributed", company)
    add("balance", "account", figures["balance"])
    add("off_peak", "week", figures["off_peak"])
    agreement = figures.get("agreement") or {}
    for cycle in agreement.get("trend", []):
        add("agreement", cycle["cycle_id"], cycle)
    for company in agreement.get("companies", []):
        add("agreement", f"{company['cycle_id']} {company['nit']}", company)
    for version in agreement.get("versions", []):
        add("agreement_version", f"{version['model']} / {version['prompt_version']}", version)
    for i, item in enumerate(figures["advice"], 1):
        rows.append({"section": "advice", "member": item["topic"], "figure": str(i), "value": item["text"]})
    return rows


def write_artifacts(report: WeeklyHealth, out_dir: Path | None = None) -> WeeklyHealth:
    out_dir = out_dir or report_dir(report.week)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.csv_path = out_dir / "weekly_health.csv"
    with report.csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(safe_rows(csv_rows(report.figures)))
    report.html_path = out_dir / "weekly_health.html"
    report.html_path.write_text(html.render(report.figures, [a.to_dict() for a in report.alerts]), encoding="utf-8")
    return report


def run_week(
    week: Week,
    settings: HealthSettings,
    fetch_balance: BalanceFetcher | None = None,
    reconciliation: Mapping[str, Any] | None = None,
    out_dir: Path | None = None,
) -> WeeklyHealth:
    """Compute, store and write the week's report."""
    report = compute(week, settings, fetch_balance, reconciliation)
    store(report)
    write_artifacts(report, out_dir)
    log.info(
        "weekly health %s: %d attempts, 429 rate %s, week US$%s, %d alert(s); report %s",
        week.label, report.figures["total"]["calls"], report.figures["total"]["rate_429"],
        report.figures["spend"]["week_cost_usd"], len(report.alerts), report.html_path,
    )  # fmt: skip
    return report

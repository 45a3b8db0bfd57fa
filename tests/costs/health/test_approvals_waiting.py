"""The weekly report lists the approvals an accountant owes for longer than the firm allows, and alerts."""

from __future__ import annotations

from quincena.books import approvals
from quincena.core import companies, db
from quincena.core.companies import Company
from quincena.costs.health.figures import approvals_waiting_figures
from quincena.costs.health.rules import decide_alerts, signals_from_figures
from quincena.costs.health.settings import Thresholds
from quincena.costs.health.week import week_for_label

WEEK = "2026-W49"  # Monday 30 November – Sunday 6 December 2026


def test_a_request_open_too_long_is_listed_and_alerted(clean_db, monkeypatch) -> None:
    monkeypatch.setenv("QUINCENA_APPROVAL_WAITING_DAYS", "3")
    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S."), Company("900000001", 1, "Otra")])
    approvals.open_request("books__2026-11-Q2__900373115__a", "900373115", "2026-11-Q2", "Primera.", "test")
    approvals.open_request("books__2026-11-Q2__900000001__b", "900000001", "2026-11-Q2", "Primera.", "test")
    week = week_for_label(WEEK)
    db.query_text("UPDATE approval_requests SET requested_at = %s - interval '5 days' WHERE company_nit = '900373115'",
                  (week.end,))  # fmt: skip
    db.query_text("UPDATE approval_requests SET requested_at = %s - interval '1 day' WHERE company_nit = '900000001'",
                  (week.end,))  # fmt: skip
    figures = approvals_waiting_figures(week)
    assert [(w["company_nit"], w["days"]) for w in figures["waiting"]] == [("900373115", 5.0)]

    base = {
        "total": {"calls": 0, "rate_limited": 0}, "keys": [], "balance": {},
        "spend": {"forecast_month_usd": None, "budget_usd": None, "companies": []}, "approvals": figures,
    }  # fmt: skip
    alerts = decide_alerts(signals_from_figures(base), Thresholds())
    assert [(a.kind, a.subject) for a in alerts] == [("approval_waiting", "900373115")]
    assert "2026-11-Q2 espera la aprobación de su contador hace 5.0 días" in alerts[0].message

    db.query_text("UPDATE approval_requests SET closed_at = now(), outcome = 'approved'")  # answered: off the list
    assert approvals_waiting_figures(week)["waiting"] == []


def test_the_report_section_lists_them_escaped() -> None:
    from quincena.costs.health import html

    waiting = [
        {"company_nit": "9", "company_name": "<b>x</b>", "cycle_id": "2026-11-Q2", "days": 5.0, "request_id": "r"}
    ]
    section = html._waiting({"approvals": {"days": 3, "waiting": waiting}})
    assert "2026-11-Q2" in section and "&lt;b&gt;x&lt;/b&gt;" in section and "<b>x" not in section
    assert "Ninguna aprobación espera más de 3 días" in html._waiting({"approvals": {"days": 3, "waiting": []}})

"""The biweekly cycle's steps, as plain functions the DAG wires (and tests call directly).

Inputs and outputs are plain dicts: they travel through XCom.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from quincena.books import entries
from quincena.classify import classifier
from quincena.core import config, db, numbers, periods, puc
from quincena.costs import cycle_costs as costs

log = logging.getLogger(__name__)


class PlanError(ValueError):
    """The run's request cannot be planned (bad cycle, unknown NIT, no companies): fix it and trigger again."""


def _local_date(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        import pendulum

        return pendulum.instance(moment).in_timezone(config.TIMEZONE).date()
    return moment


def resolve_cycle(
    interval_start: datetime | date | None, interval_end: datetime | date | None, params: dict[str, Any]
) -> dict[str, Any]:
    """Which quincena and which companies this run processes, validated, and the run's settings."""
    db.migrate()  # cheap when current; keeps a fresh deployment from failing on a missing table
    puc.sync_to_db()  # the catalog the answers are validated against must be the shipped one
    cycle_id = (params.get("cycle") or "").strip()
    try:
        if not cycle_id:
            if interval_start is None or interval_end is None:  # a manual run without a logical date
                cycle_id = periods.previous_closed_cycle(datetime.now(config.TZ).date())
            else:
                cycle_id = periods.cycle_for_interval(_local_date(interval_start), _local_date(interval_end))
        start, end = periods.cycle_bounds(cycle_id)
        settings = _settings(params)
    except PlanError:
        raise
    except ValueError as exc:
        raise PlanError(str(exc)) from exc
    names = {row["nit"]: row["name"] for row in db.query("company_list_active")}
    wanted = [str(n).strip() for n in params.get("companies") or []]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise PlanError(f"not active companies of the registry: {', '.join(unknown)}")
    chosen = wanted or sorted(names)
    if not chosen:
        raise PlanError("no active companies: import the registry first (quincena companies import FILE)")
    db.execute("cycle_start", {"cycle_id": cycle_id, "period_start": start, "period_end": end})
    log.info("cycle %s [%s, %s): %d companies, settings %s", cycle_id, start, end, len(chosen), settings)
    return {
        "cycle_id": cycle_id,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "companies": chosen,
        "company_names": {nit: names[nit] for nit in chosen},
        "settings": settings,
    }


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    """Run settings from the trigger form; validated by building classifier.Settings."""
    per_request = params.get("invoices_per_request")
    chosen = {
        "invoices_per_request": 8 if per_request is None else int(per_request),  # 0 is an error, not 8
        "dry_run": bool(params.get("dry_run", False)),
        "model": (params.get("model") or "").strip() or None,
    }
    classifier.Settings(**chosen)
    return chosen


def company_targets(cycle: dict[str, Any]) -> list[dict[str, Any]]:
    """One mapped task group per company: what each needs to know."""
    names = cycle.get("company_names") or {}
    return [
        {
            "company_nit": nit,
            "company_name": names.get(nit, ""),
            "cycle_id": cycle["cycle_id"],
            "period_end": cycle["period_end"],
            "settings": cycle["settings"],
        }
        for nit in cycle["companies"]
    ]


def label_company_task(target: dict[str, Any]) -> None:
    """Name the running mapped task after its company in the grid (the DAG's map_index_template)."""
    from airflow.sdk import get_current_context

    try:
        context = get_current_context()
    except RuntimeError:  # called outside a task (tests, the CLI): nothing to label
        return
    context["company_label"] = f"{target['company_nit']} {target.get('company_name', '')}".strip()  # type: ignore[typeddict-unknown-key]


def ingest(target: dict[str, Any]) -> dict[str, Any]:
    from quincena.ingest import inbox as ingest_module

    label_company_task(target)
    report = ingest_module.ingest_company(target["company_nit"], config.inbox_dir(), target["cycle_id"])
    result = report.to_dict()
    log.info("company %s ingest: %s", target["company_nit"], result)
    return result


def classify(target: dict[str, Any], concurrency: int, hook: Any = None) -> dict[str, Any]:
    """Classify the company's pending invoices with ``concurrency`` requests in flight at most.

    The caller (the DAG task) holds exactly ``concurrency`` pool slots, so the pool bounds the
    requests in flight across the whole deployment.
    """
    label_company_task(target)
    settings = classifier.Settings(**target["settings"], concurrency=concurrency)
    if hook is None and not settings.dry_run:
        from quincena.deepseek.store import pipeline_hook

        hook = pipeline_hook()
    nit, cycle_id = target["company_nit"], target["cycle_id"]
    run = classifier.CompanyClassifier(nit, cycle_id, hook, settings)
    before = date.fromisoformat(target["period_end"])
    report = run.run(before, progress=lambda r: _log_progress(nit, cycle_id, r))
    log.info("company %s classification: %s", nit, report.to_dict())
    return report.to_dict()


def _log_progress(nit: str, cycle_id: str, report: classifier.Report) -> None:
    done = report.classified + report.review
    spent = db.query("company_cycle_cost", {"company_nit": nit, "cycle_id": cycle_id})[0]["cost_usd"]
    log.info(
        "company %s: %d/%d invoices done (%d classified, %d review), %d requests, cost so far US$%s",
        nit, done, report.pending_at_start, report.classified, report.review, report.requests,
        Decimal(spent).quantize(Decimal("0.000001")),
    )  # fmt: skip


def store_entries(target: dict[str, Any]) -> dict[str, Any]:
    label_company_task(target)
    result = entries.post_company_entries(target["company_nit"])
    log.info("company %s entries: %s", target["company_nit"], result)
    return result


def summarize(target: dict[str, Any]) -> dict[str, Any]:
    label_company_task(target)
    row = db.query("company_cycle_summary", {"company_nit": target["company_nit"], "cycle_id": target["cycle_id"]})[0]
    summary = {**numbers.plain(row), "company_name": target.get("company_name", "")}
    log.info("company %s summary: %s", target["company_nit"], summary)
    return summary


def aggregate(cycle: dict[str, Any]) -> dict[str, Any]:
    dry_run = bool(cycle["settings"]["dry_run"])
    result = costs.aggregate_cycle(cycle["cycle_id"], cycle["companies"], dry_run=dry_run)
    status = "incomplete" if result.incomplete() else "complete"
    db.execute("cycle_finish", {"cycle_id": cycle["cycle_id"], "status": status})
    summary = result.to_dict()
    log.info("cycle %s %s: %s", cycle["cycle_id"], status, summary)
    return summary


def check_complete(summary: dict[str, Any]) -> None:
    """Fail the run (after the reports are written) when any company is left incomplete."""
    incomplete = summary["incomplete_companies"]
    if summary.get("dry_run"):
        log.info("dry run of %s: %d invoices left pending on purpose", summary["cycle_id"], summary["pending"])
        return
    if incomplete:
        raise RuntimeError(
            f"cycle {summary['cycle_id']}: {len(incomplete)} compan(ies) with pending invoices: "
            f"{', '.join(incomplete)} — fix the cause (see their task logs) and clear their task groups"
        )

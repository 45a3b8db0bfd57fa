"""The biweekly cycle's steps, as plain functions the DAG wires (and tests call directly).

Inputs and outputs are plain dicts: they travel through XCom.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from quincena.books import entries
from quincena.classify import classifier, queue
from quincena.core import config, db, numbers, periods, puc
from quincena.costs import cycle_costs as costs

log = logging.getLogger(__name__)


class IncompleteCompany(RuntimeError):
    """A company's classification did not finish: its books wait."""


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
    _label_task("company_label", f"{target['company_nit']} {target.get('company_name', '')}".strip())


def _label_task(key: str, label: str) -> None:
    """Set the context variable a map_index_template renders (COMPANY_LABEL, LANE_LABEL in the DAG)."""
    from airflow.sdk import get_current_context

    try:
        context = get_current_context()
    except RuntimeError:  # called outside a task (tests, the CLI): nothing to label
        return
    context[key] = label  # type: ignore[literal-required]


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


# --- classification as request-sized batches sent by lanes (one pool slot = one request in flight) ------


class PeakHours(Exception):
    """Policy ``strict``: a DeepSeek request would start inside a peak window; run again at ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"peak billing window until {until.isoformat()}: off-peak policy 'strict' waits")
        self.until = until


def plan_batches(target: dict[str, Any]) -> list[dict[str, Any]]:
    """After ingest: the company's memory pass and its request-sized batches (plain dicts for XCom)."""
    label_company_task(target)
    settings = classifier.Settings(**target["settings"])
    report, planned = classifier.plan_batches(
        target["company_nit"], target["cycle_id"], date.fromisoformat(target["period_end"]), settings
    )
    log.info(
        "company %s: %d pending, %d invoice(s) from memory, %d batch(es) planned (%d wave 1)",
        target["company_nit"], report.pending_at_start, report.memory_invoices, len(planned),
        sum(1 for b in planned if b.wave == 1),
    )  # fmt: skip
    if settings.dry_run:
        return []
    return [{**batch.to_dict(), "company_nit": target["company_nit"]} for batch in planned]


def schedule_lanes(
    targets: list[dict[str, Any]],
    planned: list[list[dict[str, Any]]],
    policy: str,
    lanes: int | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Queue every company's batches in fair order (classify/queue.py) and return the classify lanes.

    One lane per pool slot (``lanes``, default the deepseek pool's size), never more than there are
    batches. Each lane holds one slot and sends one request at a time, taking the next ready batch of any
    company as soon as its request ends: the pool stays full without a task start-up per request.
    """
    if not targets:
        return []
    cycle_id = targets[0]["cycle_id"]
    ordered = queue.fair_order(batches_by_company(targets, planned))
    queue.fill(cycle_id, ordered, now or datetime.now(UTC))
    count = min(lanes or config.deepseek_pool_slots(), len(ordered))
    log.info("cycle %s: %d batch(es) of %d compan(ies) queued for %d lane(s)", cycle_id, len(ordered),
             len(targets), count)  # fmt: skip
    common = {
        "cycle_id": cycle_id,
        "period_end": targets[0]["period_end"],
        "settings": targets[0]["settings"],
        "offpeak_policy": policy,
    }
    return [{**common, "lane": n, "lanes": count, "label": f"carril {n}/{count}"} for n in range(1, count + 1)]


def batches_by_company(targets: list[dict[str, Any]], planned: Any) -> list[list[dict[str, Any]]]:
    """Each company's planned batches, in the targets' order, from what the mapped group gathered: one list
    per company, or (a single mapped company) that company's batches themselves, as Airflow hands them over."""
    by_company: dict[str, list[dict[str, Any]]] = {t["company_nit"]: [] for t in targets}
    for item in planned or []:
        for batch in item if isinstance(item, list) else [item]:
            by_company.setdefault(batch["company_nit"], []).append(batch)
    return list(by_company.values())


# When nothing is ready because the representatives being sent by other lanes must teach the memory first.
LESSON_POLL_S = 1.0


def classify_lane(lane: dict[str, Any], hook: Any = None, now: Any = None) -> dict[str, Any]:
    """Send queued batches of any company, one request at a time, until the cycle's queue is empty.

    A wave-2 batch waits for its representatives (other lanes may be sending them); under policy
    ``strict`` the lane raises ``PeakHours`` before a request would start inside a peak window, and the
    DAG task turns it into a reschedule, which gives the pool slot back. A batch the lane cannot finish
    (``ClassificationHalted``) goes back to the queue before the error is raised.
    """
    clock = now or (lambda: datetime.now(UTC))
    name = f"lane-{lane['lane']}"
    _label_task("lane_label", lane["label"])
    settings = classifier.Settings(**lane["settings"], concurrency=1)
    totals = LaneReport(name)
    if settings.dry_run:
        return totals.to_dict()
    with db.session():
        _send_until_empty(lane, name, settings, hook, clock, totals)
    log.info("%s done: %s", lane["label"], totals.to_dict())
    return totals.to_dict()


def _send_until_empty(
    lane: dict[str, Any], name: str, settings: classifier.Settings, hook: Any, clock: Any, totals: LaneReport
) -> None:
    from quincena.deepseek import offpeak

    policy = lane.get("offpeak_policy") or "ignore"
    before = date.fromisoformat(lane["period_end"])
    resumed = queue.own_claims(lane["cycle_id"], name)  # a retried lane first sends what it held
    while True:
        until = offpeak.pause_batch(clock(), policy, model=settings.model)
        if until is not None:
            raise PeakHours(until)
        batch = resumed.pop(0) if resumed else _next_batch(lane["cycle_id"], name)
        if batch is None:
            break
        if hook is None:
            from quincena.deepseek.store import pipeline_hook

            hook = pipeline_hook()
        run = classifier.CompanyClassifier(batch.company_nit, batch.cycle_id, hook, settings)
        try:
            report = run.run_batch(before, batch.invoice_ids)
        except classifier.ClassificationHalted:
            queue.release(batch)
            raise
        queue.done(batch)
        totals.add(report)
        log.info("%s: company %s wave %d batch #%d: %d classified, %d review, %d request(s)", lane["label"],
                 batch.company_nit, batch.wave, batch.position, report.classified, report.review,
                 report.requests)  # fmt: skip


def _next_batch(cycle_id: str, lane: str) -> queue.QueuedBatch | None:
    """The next ready batch; waits while other lanes send what the queued look-alikes must learn from.
    None when the queue has nothing left for this lane."""
    while True:
        batch = queue.claim(cycle_id, lane, config.lesson_wait_s())
        if batch is not None:
            return batch
        queued, elsewhere = queue.left(cycle_id, lane)
        if not queued:
            return None
        if not elsewhere:  # nothing in flight can teach them any more: ask anyway
            return queue.claim(cycle_id, lane, lesson_wait_s=0)
        time.sleep(LESSON_POLL_S)


@dataclass
class LaneReport:
    """What one lane did, summed over its batches; plain dict across XCom."""

    lane: str
    batches: int = 0
    requests: int = 0
    classified: int = 0
    review: int = 0
    memory_invoices: int = 0
    companies: set[str] = field(default_factory=set)

    def add(self, report: classifier.Report) -> None:
        self.batches += 1
        self.requests += report.requests
        self.classified += report.classified
        self.review += report.review
        self.memory_invoices += report.memory_invoices
        self.companies.add(report.company_nit)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "companies": sorted(self.companies)}


def company_pending(target: dict[str, Any]) -> int:
    """Invoices of the company still pending for this cycle (issued before its end)."""
    rows = db.query(
        "invoices_pending_count_company",
        {"company_nit": target["company_nit"], "before": date.fromisoformat(target["period_end"])},
    )
    return int(rows[0]["n"])


def _log_progress(nit: str, cycle_id: str, report: classifier.Report) -> None:
    done = report.classified + report.review
    spent = db.query("company_cycle_cost", {"company_nit": nit, "cycle_id": cycle_id})[0]["cost_usd"]
    log.info(
        "company %s: %d/%d invoices done (%d classified, %d review), %d requests, cost so far US$%s",
        nit, done, report.pending_at_start, report.classified, report.review, report.requests,
        Decimal(spent).quantize(Decimal("0.000001")),
    )  # fmt: skip


def store_entries(target: dict[str, Any], require_complete: bool = False) -> dict[str, Any]:
    """Post the company's entries. ``require_complete`` (the DAG, where classification is shared by
    every company): fail when invoices of the cycle are still pending, so an incomplete company stops
    here while the others go on."""
    label_company_task(target)
    if require_complete and not target["settings"].get("dry_run"):
        left = company_pending(target)
        if left:
            raise IncompleteCompany(
                f"company {target['company_nit']}: {left} invoice(s) still pending — a classify_lane failed "
                "(see its log); fix the cause, clear the failed classify_lane instances and this task"
            )
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
    # Every company the cycle ever covered: a run for some companies must not shrink the cycle's totals.
    earlier = [r["member"] for r in db.query("cycle_report_companies", {"cycle_id": cycle["cycle_id"]})]
    companies = sorted(set(cycle["companies"]) | set(earlier))
    result = costs.aggregate_cycle(cycle["cycle_id"], companies, dry_run=dry_run)
    status = "incomplete" if result.incomplete() else "complete"
    db.execute("cycle_finish", {"cycle_id": cycle["cycle_id"], "status": status})
    summary = result.to_dict()
    log.info("cycle %s %s: %s", cycle["cycle_id"], status, summary)
    return summary


def check_complete(cycle_plan: dict[str, Any]) -> None:
    """Fail the run (after the reports are written) when any company is left with pending invoices: read
    from the database now, so a resumed run is judged on what it finished, not on an earlier summary."""
    if cycle_plan["settings"].get("dry_run"):
        log.info("dry run of %s: invoices left pending on purpose", cycle_plan["cycle_id"])
        return
    incomplete = [t["company_nit"] for t in company_targets(cycle_plan) if company_pending(t)]
    if incomplete:
        raise IncompleteCompany(
            f"cycle {cycle_plan['cycle_id']}: {len(incomplete)} compan(ies) with pending invoices: "
            f"{', '.join(incomplete)} — fix the cause (see the failed classify_lane logs), then clear the failed "
            "classify_lane tasks with their downstream"
        )


def approval_requests(cycle_plan: dict[str, Any], run_id: str | None) -> list[dict[str, Any]]:
    """The quincena_books runs to start: complete companies only (an incomplete one is asked once its
    invoices are classified, by the run that finishes them)."""
    from quincena.pipeline import books

    if cycle_plan["settings"].get("dry_run"):
        return []
    complete = [t["company_nit"] for t in company_targets(cycle_plan) if not company_pending(t)]
    return books.to_request(cycle_plan["cycle_id"], complete, f"run:{run_id}" if run_id else None)

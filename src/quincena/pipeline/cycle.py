"""The biweekly cycle's steps, as plain functions the DAG wires (and tests call directly).

Inputs and outputs are plain dicts: they travel through XCom.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from quincena.books import entries
from quincena.classify import classifier
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


# --- classification as request-sized batches (the DAG's shape: one pool slot = one request) ---------


class WaitForLessons(Exception):
    """A wave-2 unit's representatives are still pending: run it again later (holding no pool slot)."""

    def __init__(self, seconds: float, waiting_for: int) -> None:
        super().__init__(f"{waiting_for} representative invoice(s) still pending: trying again in {seconds:.0f} s")
        self.seconds = seconds


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


def schedule_units(
    targets: list[dict[str, Any]],
    planned: list[list[dict[str, Any]]],
    policy: str,
    requests_per_unit: int | None = None,
    max_units: int | None = None,
    now: datetime | None = None,
    tail_units: int | None = None,
) -> list[dict[str, Any]]:
    """Every company's batches as classify_batch units, in the order the pool serves them.

    Fairness: round robin over companies (every company's first unit before anyone's second), wave 1
    before wave 2. A unit holds ``requests_per_unit`` batches of one company and wave (more when the
    batches outnumber ``max_units``, Airflow's max_map_length), sent one request at a time; the last
    ``tail_units`` (default: the pool's size) are split in quarters.
    """
    per_unit = requests_per_unit or config.requests_per_unit() or _requests_for_target()
    limit = max_units or config.max_mapped_units()
    total = sum(len(batches) for batches in planned)
    per_unit = max(per_unit, -(-total // limit)) if total else per_unit
    by_nit = {t["company_nit"]: t for t in targets}
    planned_at = (now or datetime.now(UTC)).isoformat()
    queues: list[list[dict[str, Any]]] = []
    for batches in planned:
        for wave in (1, 2):
            chosen = [b for b in batches if b["wave"] == wave]
            units = [chosen[i : i + per_unit] for i in range(0, len(chosen), per_unit)]
            queues.append([_unit(by_nit[b[0]["company_nit"]], wave, n, len(units), b, policy, planned_at)
                           for n, b in enumerate(units)])  # fmt: skip
    ordered = sorted(
        (unit for queue in queues for unit in queue), key=lambda u: (u["wave"], u["seq"], u["company_nit"])
    )
    ordered = _split_tail(ordered, tail_units if tail_units is not None else config.deepseek_pool_slots(), limit)
    log.info("%d batch(es) in %d classify_batch unit(s) of up to %d request(s)", total, len(ordered), per_unit)
    return ordered


def _requests_for_target() -> int:
    """Requests per unit that fill QUINCENA_UNIT_TARGET_S at the recent median answer time (10 s when the
    ledger has none yet), between 1 and 50."""
    rows = db.query("api_calls_recent_latency", {})
    median_ms = rows[0]["median_ms"] if rows and rows[0]["median_ms"] is not None else 10_000
    return max(1, min(50, round(config.unit_target_s() * 1000 / max(float(median_ms), 100.0))))


def _split_tail(units: list[dict[str, Any]], tail: int, limit: int) -> list[dict[str, Any]]:
    """The last ``tail`` units (as many as the pool has slots) become one-request units, so the run does
    not end with a few slots busy for several answers while the others idle (within ``limit``)."""
    head, end = units[: max(0, len(units) - tail)], units[max(0, len(units) - tail) :]
    split: list[dict[str, Any]] = []
    room = limit - len(units)
    for unit in end:
        size = max(1, -(-len(unit["batches"]) // 4))  # quarters: short enough to end together
        pieces = [unit["batches"][i : i + size] for i in range(0, len(unit["batches"]), size)]
        if len(pieces) - 1 <= 0 or len(pieces) - 1 > room:
            split.append(unit)
            continue
        room -= len(pieces) - 1
        for n, piece in enumerate(pieces):
            split.append({**unit, "batches": piece, "label": f"{unit['label']} ({n + 1}/{len(pieces)})"})
    return head + split


def _unit(
    target: dict[str, Any], wave: int, seq: int, of: int, batches: list[dict[str, Any]], policy: str, planned_at: str
) -> dict[str, Any]:
    label = f"{target['company_nit']} {target.get('company_name', '')}".strip()
    return {
        **target,
        "wave": wave,
        "seq": seq,
        "label": f"{label} · ola {wave} · {seq + 1}/{of}",
        "batches": [b["invoice_ids"] for b in batches],
        "waits_for": sorted({i for b in batches for i in b["waits_for"]}),
        "offpeak_policy": policy,
        "planned_at": planned_at,
    }


def classify_unit(unit: dict[str, Any], hook: Any = None, now: Any = None) -> dict[str, Any]:
    """Send one unit's batches, one request at a time (the task holds one pool slot).

    Raises ``WaitForLessons`` while a wave-2 unit's representatives are pending (within
    QUINCENA_LESSON_WAIT_S of planning) and ``PeakHours`` when policy ``strict`` forbids starting now;
    the DAG task turns both into a reschedule, which gives the pool slot back.
    """
    from quincena.deepseek import offpeak

    clock = now or (lambda: datetime.now(UTC))
    _label_unit(unit)
    settings = classifier.Settings(**unit["settings"], concurrency=1)
    if settings.dry_run:
        return classifier.Report(unit["company_nit"]).to_dict()
    waiting = _pending_representatives(unit)
    if waiting:
        waited = (clock() - datetime.fromisoformat(unit["planned_at"])).total_seconds()
        if waited < config.lesson_wait_s():
            raise WaitForLessons(min(30.0, max(5.0, config.lesson_wait_s() - waited)), waiting)
        log.warning("unit %s: %d representative(s) still pending after %.0f s: asking anyway", unit["label"],
                    waiting, waited)  # fmt: skip
    policy = unit.get("offpeak_policy") or "ignore"
    until = offpeak.pause_batch(clock(), policy, model=settings.model)
    if until is not None:
        raise PeakHours(until)
    if hook is None:
        from quincena.deepseek.store import pipeline_hook

        hook = pipeline_hook()
    run = classifier.CompanyClassifier(unit["company_nit"], unit["cycle_id"], hook, settings)
    paused: list[datetime] = []

    def pause() -> bool:  # strict: a later batch of this unit must not start inside a window either
        later = offpeak.pause_batch(clock(), policy, model=settings.model)
        if later is not None:
            paused.append(later)
        return later is not None

    report = run.run_batches(date.fromisoformat(unit["period_end"]), unit["batches"], pause=pause)
    log.info("unit %s: %s", unit["label"], report.to_dict())
    if paused:
        raise PeakHours(paused[0])
    return report.to_dict()


def _pending_representatives(unit: dict[str, Any]) -> int:
    if not unit.get("waits_for"):
        return 0
    rows = db.query("invoices_pending_count", {"invoice_ids": unit["waits_for"]})
    return int(rows[0]["n"])


def _label_unit(unit: dict[str, Any]) -> None:
    from airflow.sdk import get_current_context

    try:
        context = get_current_context()
    except RuntimeError:
        return
    context["batch_label"] = unit["label"]  # type: ignore[typeddict-unknown-key]


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
                f"company {target['company_nit']}: {left} invoice(s) still pending — a classify_batch unit of it "
                "failed (see its log); fix the cause, clear the failed classify_batch instances and this task"
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

"""The weekly DeepSeek health run's steps, as plain functions the DAG wires (and tests call directly).

Inputs and outputs are plain dicts: they travel through XCom.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from quincena.core import config, db
from quincena.costs import reconcile
from quincena.costs.health import report, settings, week

log = logging.getLogger(__name__)


def plan(interval_start: datetime | None, interval_end: datetime | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Which week and which settings a run uses, validated before anything is computed."""
    db.migrate()  # cheap when current; a fresh deployment must not fail on a missing table
    chosen_week = week.resolve_week(interval_start, interval_end, params)
    chosen = settings.resolve_settings(params)
    log.info(
        "weekly health %s [%s, %s): settings %s", chosen_week.label, chosen_week.start, chosen_week.end,
        chosen.to_dict(),
    )  # fmt: skip
    reconcile_exports = bool(params.get("reconcile", True))
    return {"week": chosen_week.to_dict(), "settings": chosen.to_dict(), "reconcile": reconcile_exports}


def reconcile_exports(run_plan: Mapping[str, Any]) -> dict[str, Any]:
    """Reconcile every usage export in QUINCENA_USAGE_EXPORTS into the week's report folder (when asked)."""
    if not run_plan["reconcile"]:
        return {"folder": None, "files": []}
    out_dir = report.report_dir(week.Week.from_dict(run_plan["week"])) / "reconcile"
    return reconcile.reconcile_folder(config.usage_exports_dir(), out_dir, reconcile.default_tolerance())


def weekly_report(run_plan: Mapping[str, Any], reconciliation: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Compute, store and write the week's report; its summary goes on to the alert step."""
    chosen_week = week.Week.from_dict(run_plan["week"])
    chosen = settings.HealthSettings.from_dict(run_plan["settings"])
    return report.run_week(chosen_week, chosen, reconciliation=reconciliation).to_dict()


def alert(summary: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Fire the notifier when the report crossed a threshold (see costs.alerts.notify_step)."""
    from quincena.costs import alerts

    return alerts.notify_step(summary, context)

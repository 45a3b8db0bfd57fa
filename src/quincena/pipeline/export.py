"""The cycle's export step: after a company's approval, its files for the accounting programs.

Writes every format of QUINCENA_EXPORT_FORMATS (default csv) under reports/<cycle>/export/<nit>/ and
logs where each file went; a company not approved for the quincena is skipped with a log line.
"""

from __future__ import annotations

import logging
from typing import Any

from quincena.books import export as exporter
from quincena.core import config
from quincena.pipeline.cycle import label_company_task

log = logging.getLogger(__name__)


def _run_id() -> str | None:
    from airflow.sdk import get_current_context

    try:
        return get_current_context()["run_id"]
    except (RuntimeError, KeyError):  # called outside a task (tests, the CLI)
        return None


def export_company(target: dict[str, Any]) -> dict[str, Any]:
    """Export the company's approved vouchers of the quincena in every configured format (plain dict for XCom)."""
    label_company_task(target)
    nit, cycle_id = target["company_nit"], target["cycle_id"]
    state = exporter.approval(nit, cycle_id)
    if not state.approved:
        message = exporter.not_approved_message(nit, cycle_id, state)
        log.info("export skipped: %s", message)
        return {"company_nit": nit, "cycle_id": cycle_id, "exported": False, "reason": message, "formats": []}
    out_dir = config.company_export_dir(cycle_id, nit)
    run_id = _run_id()
    created_by = f"run:{run_id}" if run_id else "pipeline"
    formats = []
    for name in config.export_formats():
        result = exporter.export_company_cycle(nit, cycle_id, name, out_dir, created_by=created_by, run_id=run_id)
        for path in result.files:
            log.info("company %s export %s v%s: %s", nit, name, result.version, path)
        formats.append(result.to_dict())
    log.info("company %s exported %d format(s) to %s", nit, len(formats), out_dir)
    return {
        "company_nit": nit,
        "cycle_id": cycle_id,
        "exported": True,
        "out_dir": str(out_dir),
        "left_out_in_review": state.in_review,
        "formats": formats,
    }

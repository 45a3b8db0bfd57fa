"""The monthly billing run's steps, as plain functions the DAG wires (and tests call directly).

After a month closes (UTC, as DeepSeek bills): reconcile it per day against DeepSeek's usage
export, then write each client's statement and the firm's summary. Inputs and outputs are plain
dicts: they travel through XCom.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from quincena.core import config, db

log = logging.getLogger(__name__)


def closed_month(interval_end: datetime | None, today: date | None = None) -> date:
    """The month before the run's data interval ends (or before today): the last closed month."""
    moment = interval_end.astimezone(UTC).date() if interval_end else (today or datetime.now(UTC).date())
    return date(moment.year - 1, 12, 1) if moment.month == 1 else date(moment.year, moment.month - 1, 1)


def plan(interval_end: datetime | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Which month; the exchange rate from the environment, checked before anything is written."""
    from quincena.billing import statement
    from quincena.costs import monthly

    db.migrate()  # cheap when current; a fresh deployment must not fail on a missing table
    text = (params.get("month") or "").strip()
    first = monthly.parse_month(text) if text else closed_month(interval_end)
    statement.parse_rate(*config.statement_rate())  # a bad rate fails here, before any file
    label = monthly.month_label(first)
    log.info("monthly billing run for %s", label)
    return {"month": label, "out_dir": str(config.reports_dir() / "monthly" / label)}


def reconcile(run_plan: Mapping[str, Any]) -> dict[str, Any]:
    from quincena.costs import monthly

    first = monthly.parse_month(run_plan["month"])
    return monthly.reconcile_month(first, out_dir=Path(run_plan["out_dir"])).to_dict()


def statements(run_plan: Mapping[str, Any], reconciliation: Mapping[str, Any]) -> dict[str, Any]:
    from quincena.billing import statement
    from quincena.core.numbers import decimal_text
    from quincena.costs import monthly

    month = statement.build(monthly.parse_month(run_plan["month"]), statement.parse_rate(*config.statement_rate()))
    written = statement.write(month, Path(run_plan["out_dir"]))
    log.info("%s: %d statement(s), account total US$%s, reconciliation %s", run_plan["month"],
             len(month.statements), month.total_usd, reconciliation["status"])  # fmt: skip
    return {"month": run_plan["month"], "clients": len(month.statements), "total_usd": decimal_text(month.total_usd),
            "reconciliation": reconciliation["status"], "files": [str(p) for p in written]}  # fmt: skip

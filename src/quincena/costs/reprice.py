"""Re-price ledger rows after the price calendar was corrected, with an audit trail.

Each api_calls row from a given instant is priced again with the configured calendar (the same
``PriceTable.cost`` that billed it). A row whose figure or version changes keeps its first-billed cost
and version in ``cost_usd_before_reprice`` / ``price_version_before_reprice``; the stored cycle
figures (``cycle_costs`` and the cycle report) of every cycle touched are recomputed from the rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quincena.core import db

log = logging.getLogger(__name__)

_EIGHT = Decimal("0.00000001")  # api_calls.cost_usd is numeric(14, 8)


@dataclass
class Repricing:
    start: datetime
    end: datetime | None
    rows: int = 0
    changed: int = 0
    before_usd: Decimal = Decimal(0)
    after_usd: Decimal = Decimal(0)
    by_version: dict[tuple[str, str], int] = field(default_factory=dict)  # (old, new) version -> rows
    unpriced: dict[str, int] = field(default_factory=dict)  # model -> rows left as they were
    cycles: list[str] = field(default_factory=list)  # cycles whose stored figures were recomputed
    dry_run: bool = False

    def lines(self) -> list[str]:
        until = f" to {self.end.isoformat()}" if self.end else ""
        head = "would change" if self.dry_run else "changed"
        out = [
            f"repriced ledger rows from {self.start.isoformat()}{until}: {self.rows} row(s) read, {head} "
            f"{self.changed}; total US${_fmt(self.before_usd)} -> US${_fmt(self.after_usd)} "
            f"(difference {_fmt(self.after_usd - self.before_usd, sign=True)})"
        ]
        out += [f"  {old} -> {new}: {n} row(s)" for (old, new), n in sorted(self.by_version.items())]
        out += [f"  {model}: {n} row(s) not priced by the calendar, left as they were" for model, n in
                sorted(self.unpriced.items())]  # fmt: skip
        if self.cycles:
            out.append(f"  cycle figures recomputed: {', '.join(self.cycles)}")
        return out


def _fmt(value: Decimal, sign: bool = False) -> str:
    return format(value.quantize(_EIGHT, ROUND_HALF_UP), "+f" if sign else "f")


def priced(row: dict[str, Any], table: Any) -> tuple[Decimal, str]:
    """What the calendar says the row costs now (rounded as the ledger stores it)."""
    cost, version = table.cost(
        row["model"], row["prompt_cache_hit_tokens"], row["prompt_cache_miss_tokens"], row["completion_tokens"],
        row["started_at"],
    )  # fmt: skip
    return cost.quantize(_EIGHT, ROUND_HALF_UP), version


def _plan(rows: list[dict[str, Any]], table: Any, result: Repricing) -> list[dict[str, Any]]:
    from deepseek_provider.exceptions import UnknownModelError

    changes: list[dict[str, Any]] = []
    unpriced: dict[str, int] = defaultdict(int)
    versions: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        old = Decimal(row["cost_usd"])
        result.before_usd += old
        try:
            cost, version = priced(row, table)
        except UnknownModelError:
            unpriced[row["model"]] += 1
            result.after_usd += old
            continue
        result.after_usd += cost
        if cost != old or version != row["price_version"]:
            versions[(str(row["price_version"]), version)] += 1
            changes.append({"id": row["id"], "cost_usd": cost, "price_version": version, "cycle_id": row["cycle_id"]})
    result.by_version, result.unpriced = dict(versions), dict(unpriced)
    return changes


def reprice(start: datetime, end: datetime | None = None, table: Any = None, dry_run: bool = False) -> Repricing:
    """Re-price [start, end) with the configured calendar; ``dry_run`` only counts."""
    from quincena.deepseek import prices

    table = table if table is not None else prices.load()
    result = Repricing(start, end, dry_run=dry_run)
    rows = db.query("reprice_calls", {"start": start, "end": end})
    result.rows = len(rows)
    changes = _plan(rows, table, result)
    result.changed = len(changes)
    if dry_run or not changes:
        return result
    with db.transaction() as cur:
        db.execute_many("reprice_update", changes, cur)
    result.cycles = refresh_cycles(sorted({c["cycle_id"] for c in changes if c["cycle_id"]}))
    log.info("%s", "; ".join(result.lines()))
    return result


def refresh_cycles(cycles: list[str]) -> list[str]:
    """Recompute the stored figures (and report files) of those cycles that have them."""
    from quincena.costs import cycle_costs

    stored = db.query("cycle_costs_companies", {"cycles": cycles})
    for row in stored:
        cycle_costs.aggregate_cycle(row["cycle_id"], list(row["companies"] or []))
    return [row["cycle_id"] for row in stored]

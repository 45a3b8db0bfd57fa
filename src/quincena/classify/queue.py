"""The cycle's classification queue (table ``classify_queue``): every company's request-sized batches in
fair order, claimed one at a time by the classify lanes.

A lane holds one pool slot and sends one request at a time, so requests in flight never exceed the pool;
when a lane's request ends it takes the next ready batch of any company at once, with no task start-up
in between (seconds of CPU per task instance on a small machine, in which a slot carries no request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quincena.core import db

# A claim older than this belongs to a lane that died for good (its retries spent): any lane may take the
# batch again. Longer than a batch can take: two calls (an answer and its validation retry) within the
# hook's deadline (300 s by default) each.
LEASE_S = 900


@dataclass(frozen=True)
class QueuedBatch:
    cycle_id: str
    position: int
    company_nit: str
    wave: int
    invoice_ids: tuple[int, ...]


def fair_order(planned: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Round robin over companies: every company's n-th batch before anyone's (n+1)-th. Within a company
    its own order holds (wave 1, then the look-alikes of wave 2), so a company with 2,000 invoices gets
    one turn per round like the others and starves nobody."""
    ranked = [(n, c, batch) for c, batches in enumerate(planned) for n, batch in enumerate(batches)]
    return [batch for _, _, batch in sorted(ranked, key=lambda r: (r[0], r[1]))]


def fill(cycle_id: str, batches: Sequence[dict[str, Any]], planned_at: datetime) -> None:
    """Replace the cycle's queue with ``batches`` (already in fair order)."""
    rows = [
        {
            "cycle_id": cycle_id,
            "position": position,
            "company_nit": batch["company_nit"],
            "wave": batch["wave"],
            "invoice_ids": list(batch["invoice_ids"]),
            "waits_for": list(batch.get("waits_for") or []),
            "planned_at": planned_at,
        }
        for position, batch in enumerate(batches)
    ]
    with db.transaction() as cur:
        cur.execute(db.load_sql("classify_queue_clear"), {"cycle_id": cycle_id})
        db.execute_many("classify_queue_insert", rows, cur)


def claim(cycle_id: str, lane: str, lesson_wait_s: float) -> QueuedBatch | None:
    """The next ready batch for ``lane`` (None: nothing ready now)."""
    rows = db.query(
        "classify_queue_claim",
        {"cycle_id": cycle_id, "lane": lane, "lease_s": LEASE_S, "lesson_wait_s": lesson_wait_s},
    )
    return _batch(cycle_id, rows[0]) if rows else None


def own_claims(cycle_id: str, lane: str) -> list[QueuedBatch]:
    """The batches ``lane`` had claimed when its previous try died (a retry sends them first)."""
    return [_batch(cycle_id, row) for row in db.query("classify_queue_own", {"cycle_id": cycle_id, "lane": lane})]


def _batch(cycle_id: str, row: dict[str, Any]) -> QueuedBatch:
    return QueuedBatch(cycle_id, row["position"], row["company_nit"], row["wave"], tuple(row["invoice_ids"]))


def done(batch: QueuedBatch) -> None:
    db.execute("classify_queue_done", {"cycle_id": batch.cycle_id, "position": batch.position})


def release(batch: QueuedBatch) -> None:
    db.execute("classify_queue_release", {"cycle_id": batch.cycle_id, "position": batch.position})


def left(cycle_id: str, lane: str) -> tuple[int, int]:
    """(batches still queued, batches other lanes are sending now)."""
    row = db.query("classify_queue_left", {"cycle_id": cycle_id, "lane": lane, "lease_s": LEASE_S})[0]
    return int(row["queued"] or 0), int(row["elsewhere"] or 0)

"""The usage/cost ledger: one AttemptRecord per HTTP attempt, written ahead (``in_flight``) and then
completed, through a pluggable recorder."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

OUTCOMES = frozenset(
    {
        "ok",
        "rate_limited",
        "server_error",
        "timeout",
        "connection_error",
        "auth_failed",
        "insufficient_balance",
        "bad_request",
        "bad_content",
        "redirected",
        "in_flight",  # written before the request is sent; replaced by the outcome once it is read
    }
)
IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class AttemptRecord:
    """One HTTP attempt. Holds the key's NAME, never its secret."""

    attempt_id: uuid.UUID
    call_id: uuid.UUID
    attempt_no: int
    started_at: datetime  # UTC, timezone-aware
    key_name: str
    model: str
    outcome: str
    status_code: int | None
    error_class: str | None
    latency_ms: int
    prompt_cache_hit_tokens: int = 0
    prompt_cache_miss_tokens: int = 0
    completion_tokens: int = 0  # includes reasoning tokens, as DeepSeek bills them
    reasoning_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    price_version: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")


@runtime_checkable
class CallRecorder(Protocol):
    """A write-ahead ledger: ``begin`` before the request is sent, ``finish`` once its answer is read.

    A worker killed in between leaves the ``in_flight`` record: a visible attempt of unknown cost,
    not a silent gap. Both are idempotent by ``attempt_id``; ``finish`` without ``begin`` inserts.
    """

    def begin(self, attempt: AttemptRecord) -> None:
        """Persist the attempt as ``in_flight`` (no tokens, no cost yet); a repeat has no further effect."""

    def finish(self, attempt: AttemptRecord) -> None:
        """Complete the attempt (outcome, tokens, cost); completing it again has no further effect."""


class NullCallRecorder:
    """Records nothing."""

    def begin(self, attempt: AttemptRecord) -> None:
        return None

    def finish(self, attempt: AttemptRecord) -> None:
        return None

    record = finish


class InMemoryCallRecorder:
    """Keeps the latest attempts in memory (bounded), thread-safe: the hook's default."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._maxlen = maxlen
        self._records: dict[uuid.UUID, AttemptRecord] = {}  # insertion-ordered: oldest first

    def begin(self, attempt: AttemptRecord) -> None:
        with self._lock:
            if attempt.attempt_id not in self._records:
                self._insert(attempt)

    def finish(self, attempt: AttemptRecord) -> None:
        with self._lock:
            current = self._records.get(attempt.attempt_id)
            if current is None:
                self._insert(attempt)
            elif current.outcome == IN_FLIGHT:
                self._records[attempt.attempt_id] = attempt  # completed in place: keeps its position

    record = finish  # a one-shot record of a finished attempt

    def _insert(self, attempt: AttemptRecord) -> None:
        if len(self._records) >= self._maxlen:
            del self._records[next(iter(self._records))]
        self._records[attempt.attempt_id] = attempt

    @property
    def records(self) -> list[AttemptRecord]:
        with self._lock:
            return list(self._records.values())

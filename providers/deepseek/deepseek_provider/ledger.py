"""The usage/cost ledger: one AttemptRecord per HTTP attempt, handed to a pluggable recorder."""

from __future__ import annotations

import threading
import uuid
from collections import deque
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
    }
)


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
    def record(self, attempt: AttemptRecord) -> None:
        """Persist one attempt; recording the same attempt_id twice must have no further effect."""


class NullCallRecorder:
    """Records nothing."""

    def record(self, attempt: AttemptRecord) -> None:
        return None


class InMemoryCallRecorder:
    """Keeps the latest attempts in memory (bounded), thread-safe: the hook's default."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[AttemptRecord] = deque(maxlen=maxlen)
        self._seen: set[uuid.UUID] = set()

    def record(self, attempt: AttemptRecord) -> None:
        with self._lock:
            if attempt.attempt_id in self._seen:
                return
            if len(self._records) == self._records.maxlen:
                self._seen.discard(self._records[0].attempt_id)  # keep the dedup set as bounded as the log
            self._seen.add(attempt.attempt_id)
            self._records.append(attempt)

    @property
    def records(self) -> list[AttemptRecord]:
        with self._lock:
            return list(self._records)

"""The retry policy, in one place: what is retried, how long to wait, when to give up.

| failure                                   | retried? | wait before the next attempt            |
|-------------------------------------------|----------|-----------------------------------------|
| 429 rate limited                          | yes      | Retry-After (>= 0.5 s), else full jitter|
| 500/502/503/504 server error              | yes      | Retry-After (>= 0.5 s), else full jitter|
| connection error, attempt timeout         | yes      | full jitter                             |
| blank / unparsable JSON content           | yes      | full jitter                             |
| 401 authentication                        | yes      | none: that key is disabled, next key    |
| 400/422 bad request                       | no       |                                         |
| 402 insufficient balance                  | no       | raise at once: stop spending            |
| 3xx redirect (not followed)               | no       | raise at once: fix the Base URL         |

Every attempt rotates to another key. Attempts stop at the call's wall-clock deadline, not after a
fixed count; a wait that would end past the deadline is not started.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception

from deepseek_provider.exceptions import (
    AuthenticationError,
    BadContentError,
    DeadlineExceededError,
    DeepSeekError,
    RateLimitedError,
    ServerError,
    TransportError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The least wait after a 429/5xx whose Retry-After says 0 (or a date already past): "now" from an
#: overloaded server is not an invitation to hammer it.
MIN_SERVER_WAIT_S = 0.5

_RETRYABLE = (RateLimitedError, ServerError, TransportError, BadContentError, AuthenticationError)


def is_retryable(exc: BaseException) -> bool:
    """The single retry decision. 400/422, 402, no usable key and configuration errors are final."""
    return isinstance(exc, _RETRYABLE)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: wait ~ U(0, min(maximum, base * 2**(n-1)))."""

    base: float = 1.0
    maximum: float = 30.0

    def seconds(self, exc: BaseException | None, attempt_no: int, rng: random.Random | None = None) -> float:
        if isinstance(exc, AuthenticationError):
            return 0.0  # that key is now disabled; the next key can go right away
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return max(MIN_SERVER_WAIT_S, float(retry_after))  # the server said when; jitter would only add risk
        ceiling = min(self.maximum, self.base * 2 ** max(0, attempt_no - 1))
        return (rng or random).uniform(0.0, ceiling)


def call_with_retries(attempt: Callable[[], T], *, deadline_at: float, backoff: Backoff, label: str) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or ``deadline_at`` (time.monotonic()) passes.

    Raises the final error unchanged when it is not retryable, DeadlineExceededError otherwise.
    """

    def wait(state: RetryCallState) -> float:
        return backoff.seconds(_failure(state), state.attempt_number)

    def stop(state: RetryCallState) -> bool:
        return time.monotonic() + state.upcoming_sleep >= deadline_at

    def before_sleep(state: RetryCallState) -> None:
        exc = _failure(state)
        log.warning(
            "%s: attempt %d failed (%s: %s); retrying in %.2fs",
            label,
            state.attempt_number,
            type(exc).__name__,
            exc,
            state.upcoming_sleep,
        )

    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        wait=wait,
        stop=stop,
        before_sleep=before_sleep,
        reraise=False,
    )
    try:
        return retrying(attempt)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        attempts = exc.last_attempt.attempt_number
        message = f"{label}: deadline passed after {attempts} attempt(s); last error {type(last).__name__}: {last}"
        raise DeadlineExceededError(message, last_error=last, attempts=attempts) from last


def _failure(state: RetryCallState) -> DeepSeekError | BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None

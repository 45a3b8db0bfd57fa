"""Every error the DeepSeek hook raises, under one base class.

Whether an error is retried is decided in one place, :func:`deepseek_provider.retry.is_retryable`;
the classes only describe what happened.
"""

from __future__ import annotations


class DeepSeekError(Exception):
    """Base of every DeepSeek provider error."""

    #: ledger outcome of the HTTP attempt that raised it (see deepseek_provider.ledger.OUTCOMES)
    outcome: str = "error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        key_name: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.key_name = key_name
        self.retry_after = retry_after


class ConfigurationError(DeepSeekError):
    """The connection or the price table is unusable (fix the configuration, do not retry)."""


class UnknownModelError(ConfigurationError):
    """The price table has no price for this model at this time: never bill a call as free."""


class AuthenticationError(DeepSeekError):
    """401: the key is wrong or revoked. The key is disabled; another key may work."""

    outcome = "auth_failed"


class InsufficientBalanceError(DeepSeekError):
    """402: the account ran out of money. Stop spending; resume after a top-up."""

    outcome = "insufficient_balance"


class BadRequestError(DeepSeekError):
    """400/422 (or another 4xx): the request itself is wrong; retrying cannot help."""

    outcome = "bad_request"


class RateLimitedError(DeepSeekError):
    """429: the account's concurrency/rate limit (shared by all keys) was reached."""

    outcome = "rate_limited"


class ServerError(DeepSeekError):
    """5xx: DeepSeek failed or is overloaded."""

    outcome = "server_error"


class BadContentError(DeepSeekError):
    """HTTP 200 whose answer is unusable: blank content, unparsable JSON, broken envelope."""

    outcome = "bad_content"


class TransportError(DeepSeekError):
    """The connection failed or broke before a complete response arrived."""

    outcome = "connection_error"


class AttemptTimeoutError(TransportError):
    """One HTTP attempt exceeded its total time budget (keep-alive blank lines included)."""

    outcome = "timeout"


class NoUsableKeyError(DeepSeekError):
    """Every key of the account is disabled (or none is configured)."""


class DeadlineExceededError(DeepSeekError):
    """The call's wall-clock deadline passed before any attempt succeeded.

    ``last_error`` is the failure of the final attempt (also chained as ``__cause__``).
    """

    def __init__(self, message: str, *, last_error: BaseException | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.last_error = last_error
        self.attempts = attempts


class RedirectError(ConfigurationError):
    """3xx: the Base URL answers with a redirect. Not followed (another host's 401 is not our account's)."""

    outcome = "redirected"

"""The retry policy table and the errors it decides on (deepseek_provider.retry, .exceptions, .responses)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from deepseek_provider.exceptions import (
    AttemptTimeoutError,
    AuthenticationError,
    BadContentError,
    BadRequestError,
    ConfigurationError,
    DeepSeekError,
    InsufficientBalanceError,
    NoUsableKeyError,
    RateLimitedError,
    RedirectError,
    ServerError,
    TransportError,
)
from deepseek_provider.ledger import OUTCOMES
from deepseek_provider.responses import error_message, raise_for_status, retry_after
from deepseek_provider.retry import MIN_SERVER_WAIT_S, Backoff, is_retryable


def test_retry_decision_is_one_table() -> None:
    retried = [RateLimitedError("x"), ServerError("x"), TransportError("x"), AttemptTimeoutError("x")]
    retried += [BadContentError("x"), AuthenticationError("x")]
    final = [BadRequestError("x"), InsufficientBalanceError("x"), NoUsableKeyError("x"), DeepSeekError("x")]
    assert all(is_retryable(e) for e in retried) and not any(is_retryable(e) for e in final)


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (401, AuthenticationError, "auth_failed"),
        (402, InsufficientBalanceError, "insufficient_balance"),
        (400, BadRequestError, "bad_request"),
        (422, BadRequestError, "bad_request"),
        (429, RateLimitedError, "rate_limited"),
        (500, ServerError, "server_error"),
        (503, ServerError, "server_error"),
    ],
)
def test_status_codes_become_errors_with_ledger_outcomes(status: int, error: type, outcome: str) -> None:
    with pytest.raises(error) as caught:
        raise_for_status(status, {}, b'{"error": {"message": "nope"}}', "key-1", {})
    assert caught.value.outcome == outcome and outcome in OUTCOMES
    assert (caught.value.status_code, caught.value.key_name, str(caught.value)) == (
        status,
        "key-1",
        f"HTTP {status}: nope",
    )
    raise_for_status(200, {}, b"", "key-1", {})  # success raises nothing


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after({"Retry-After": "2.5"}) == 2.5
    assert retry_after({"Retry-After": "-3"}) == 0.0
    assert retry_after({}) is None and retry_after({"Retry-After": "soon"}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (retry_after({"Retry-After": later}) or 0) <= 60
    with pytest.raises(RateLimitedError) as caught:
        raise_for_status(429, {"Retry-After": "7"}, b"", "k", {})
    assert caught.value.retry_after == 7.0


def test_an_echoed_secret_is_hidden_in_error_messages() -> None:
    raw = b'{"error": {"message": "Authentication Fails, Your api key: sk-echoed-123 is invalid"}}'
    message = error_message(raw, {"k": "sk-echoed-123"})
    assert "sk-echoed-123" not in message and "***" in message


def test_backoff_waits() -> None:
    backoff = Backoff(base=1.0, maximum=4.0)
    rng = random.Random(7)
    assert backoff.seconds(AuthenticationError("x"), 3) == 0.0  # next key right away
    assert backoff.seconds(RateLimitedError("x", retry_after=2.0), 1) == 2.0  # the server's word, no jitter
    waits = [backoff.seconds(ServerError("x"), n, rng) for n in range(1, 8) for _ in range(50)]
    assert all(0.0 <= w <= 4.0 for w in waits) and max(waits) > 2.0  # full jitter up to the capped ceiling
    assert all(backoff.seconds(ServerError("x"), 1, rng) <= 1.0 for _ in range(50))


def test_error_texts_are_scrubbed_before_they_are_cut() -> None:
    secret = "sk-" + "4d1f" * 12
    # A plain-text 401 echoing the header right where a 300-character cut would fall.
    raw = ("x" * 280 + f" Authorization: Bearer {secret} and the prefix {secret[:20]}").encode()
    message = error_message(raw, {"k": secret})
    assert all(secret[i : i + 8] not in message for i in range(3, len(secret) - 7)), message
    assert len(message) <= 300
    assert error_message(b"got Authorization: Bearer whatever-it-was", {}) == "got Authorization: Bearer ***"
    as_json = json.dumps({"error": {"message": "y" * 295 + f" key {secret}"}}).encode()
    message = error_message(as_json, {"k": secret})
    assert all(secret[i : i + 8] not in message for i in range(3, len(secret) - 7)) and len(message) <= 300
    # A key that does not look like sk-...: a long enough prefix of it is still hidden.
    odd = "ZQ" + "9e8d" * 10
    assert odd[:14] not in error_message(f"bad key {odd[:14]}".encode(), {"k": odd})


def test_retry_after_zero_still_waits_a_minimum() -> None:
    backoff = Backoff(base=0.005, maximum=0.05)
    assert backoff.seconds(RateLimitedError("x", retry_after=0.0), 1) >= MIN_SERVER_WAIT_S > 0
    assert backoff.seconds(ServerError("x", retry_after=0.01), 4) >= MIN_SERVER_WAIT_S
    assert backoff.seconds(RateLimitedError("x", retry_after=2.0), 1) == 2.0  # a real wait is kept as is


def test_a_redirect_is_a_final_configuration_error_naming_the_host() -> None:
    headers = {"Location": "https://user:pw@elsewhere.example:8443/v1/chat?x=1"}
    with pytest.raises(RedirectError) as caught:
        raise_for_status(302, headers, b"moved", "key-1", {})
    assert isinstance(caught.value, ConfigurationError) and not is_retryable(caught.value)
    assert "elsewhere.example:8443" in str(caught.value) and "pw" not in str(caught.value)
    assert caught.value.outcome == "redirected" and caught.value.outcome in OUTCOMES

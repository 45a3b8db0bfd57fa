"""Request bodies out, DeepSeek answers in: status codes to errors, JSON bodies to results.

Pure functions over bytes and headers (no I/O), so the hook and the tests share one reading.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from deepseek_provider.exceptions import (
    AuthenticationError,
    BadContentError,
    BadRequestError,
    InsufficientBalanceError,
    RateLimitedError,
    RedirectError,
    ServerError,
)
from deepseek_provider.models import Balance, BalanceInfo, Usage
from deepseek_provider.redact import clip


@dataclass(frozen=True)
class Answer:
    """One readable chat completion body (not yet checked for blank or broken JSON content)."""

    content: str
    finish_reason: str | None
    usage: Usage
    model: str


def request_body(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    response_format: Mapping[str, Any] | None,
    max_tokens: int | None,
    temperature: float | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages], "stream": False}
    if response_format is not None:
        body["response_format"] = dict(response_format)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    return body


def error_message(raw: bytes, secrets: Mapping[str, str]) -> str:
    """The server's error text, scrubbed of every secret BEFORE it is cut (a cut key is not recognised)."""
    text = raw.decode("utf-8", "replace").strip()
    with contextlib.suppress(ValueError, KeyError, TypeError):  # not DeepSeek's JSON: the body as it is
        text = str(json.loads(text)["error"]["message"])
    return clip(text, secrets.values())


def redirect_target(headers: Mapping[str, str]) -> str:
    """host[:port] of a redirect's Location (never its user info, path or query), or a placeholder."""
    location = headers.get("Location") or ""
    try:
        parts = urllib.parse.urlsplit(location)
        host = parts.hostname
        port = parts.port
    except ValueError:
        host, port = None, None
    if not host:
        return "an unknown location" if not location else "a path on the same host"
    return f"{host}:{port}" if port else host


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or an HTTP date), if it did."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def raise_for_status(status: int, headers: Mapping[str, str], raw: bytes, key: str, secrets: Mapping[str, str]) -> None:
    if 300 <= status < 400:
        # Redirects are not followed: another host's answer (a 401 above all) says nothing about our keys.
        message = (
            f"HTTP {status}: the API redirects to {redirect_target(headers)}; redirects are not followed "
            "for API calls: set the connection's Base URL to the API's own address"
        )
        raise RedirectError(message, status_code=status, key_name=key)
    if status < 400:
        return
    message = f"HTTP {status}: {error_message(raw, secrets)}"
    if status == 401:
        raise AuthenticationError(message, status_code=status, key_name=key)
    if status == 402:
        raise InsufficientBalanceError(message, status_code=status, key_name=key)
    if status == 429:
        raise RateLimitedError(message, status_code=status, key_name=key, retry_after=retry_after(headers))
    if status >= 500:
        raise ServerError(message, status_code=status, key_name=key, retry_after=retry_after(headers))
    raise BadRequestError(message, status_code=status, key_name=key)


def parse_answer(raw: bytes, model: str, key: str) -> Answer:
    try:
        # json.loads skips the leading blank lines DeepSeek sends while it holds a request.
        data = json.loads(raw)
        choice = data["choices"][0]
        content = choice["message"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise BadContentError("HTTP 200 with an unreadable body", status_code=200, key_name=key) from None
    return Answer(str(content), choice.get("finish_reason"), Usage.from_api(data.get("usage")), model)


def decode_content(answer: Answer, expect_json: bool, key: str) -> Any:
    """The decoded JSON answer (None when JSON is not expected).

    Blank content (DeepSeek's JSON mode may answer only spaces) and broken JSON are retryable failures.
    """
    if not answer.content.strip():
        raise BadContentError(f"blank content (finish_reason={answer.finish_reason})", status_code=200, key_name=key)
    if not expect_json:
        return None
    try:
        return json.loads(answer.content)
    except ValueError:
        message = f"content is not valid JSON (finish_reason={answer.finish_reason})"
        raise BadContentError(message, status_code=200, key_name=key) from None


def parse_balance(raw: bytes, key: str) -> Balance:
    try:
        data = json.loads(raw)
        infos = tuple(
            BalanceInfo(
                currency=str(info["currency"]),
                total_balance=Decimal(str(info["total_balance"])),
                granted_balance=Decimal(str(info.get("granted_balance", "0"))),
                topped_up_balance=Decimal(str(info.get("topped_up_balance", "0"))),
            )
            for info in data.get("balance_infos", [])
        )
        return Balance(bool(data["is_available"]), infos)
    except (ValueError, KeyError, TypeError, ArithmeticError):
        raise BadContentError("unreadable /user/balance answer", status_code=200, key_name=key) from None

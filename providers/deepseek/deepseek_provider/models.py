"""What a hook call returns: a chat result with its token usage and cost, and the account balance."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Usage:
    """DeepSeek's ``usage`` block. completion_tokens already includes reasoning_tokens."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_cache_hit_tokens: int = 0
    prompt_cache_miss_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> Usage:
        data = data or {}
        details = data.get("completion_tokens_details") or {}

        def number(value: Any) -> int:
            return int(value) if isinstance(value, int | float) else 0

        return cls(
            prompt_tokens=number(data.get("prompt_tokens")),
            completion_tokens=number(data.get("completion_tokens")),
            total_tokens=number(data.get("total_tokens")),
            prompt_cache_hit_tokens=number(data.get("prompt_cache_hit_tokens")),
            prompt_cache_miss_tokens=number(data.get("prompt_cache_miss_tokens")),
            reasoning_tokens=number(details.get("reasoning_tokens")),
        )


@dataclass(frozen=True)
class ChatResult:
    content: str
    parsed: Any  # the decoded JSON answer when JSON was expected, else None
    finish_reason: str | None
    usage: Usage  # of the successful attempt
    key_name: str  # key of the successful attempt
    attempts: int
    cost_usd: Decimal  # every billed attempt of the call (a blank JSON answer is billed too)
    call_id: uuid.UUID
    model: str
    price_version: str | None = None


@dataclass(frozen=True)
class BalanceInfo:
    currency: str
    total_balance: Decimal
    granted_balance: Decimal
    topped_up_balance: Decimal


@dataclass(frozen=True)
class Balance:
    is_available: bool
    balance_infos: tuple[BalanceInfo, ...]

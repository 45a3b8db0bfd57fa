"""The simulator's knobs: every one can be set at start and changed at runtime (POST /admin/config)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

RATE_KNOBS = (
    "rate_429",
    "rate_500",
    "rate_503",
    "rate_blank",
    "rate_truncated",
    "rate_off_catalog",
    "rate_never_start",
)
# What a scripted request may be forced to do (POST /admin/config {"script": [...]}): FIFO, one per request.
SCRIPT_FAULTS = frozenset({"429", "500", "503", "blank", "truncated", "never_start", "ok"})


@dataclass
class SimulatorConfig:
    keys: dict[str, str] = field(default_factory=dict)  # key name -> secret accepted as Bearer token
    revoked_keys: frozenset[str] = frozenset()  # key NAMES answered with 401
    concurrency: int = 8  # in-flight requests the whole account may have (all keys together)
    latency_ms: float = 50.0  # mean of a lognormal latency
    latency_sd_ms: float = 20.0  # its standard deviation; 0 = constant
    keepalive_interval_s: float = 0.5  # a blank line this often while a request waits
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_blank: float = 0.0  # 200 with content of spaces, finish_reason stop
    rate_truncated: float = 0.0  # 200 with JSON cut in half, finish_reason length
    rate_off_catalog: float = 0.0  # per classified line: an account that is not in the PUC
    rate_never_start: float = 0.0  # 200 then blank lines until the client gives up (or max_hold_s)
    retry_after_s: float | None = None  # Retry-After header on 429/503 when set
    spend_limit_usd: Decimal | None = None  # 402 once the account's spend reaches it
    price_cache_hit: Decimal = Decimal("0.0028")  # USD per 1M tokens, for the simulated spend only
    price_cache_miss: Decimal = Decimal("0.14")
    price_output: Decimal = Decimal("0.28")
    chars_per_token: int = 4
    cache_unit_tokens: int = 64
    max_hold_s: float = 600.0  # DeepSeek closes a request that never started after 10 minutes
    seed: int | None = None
    script: list[str] = field(default_factory=list)

    def updated(self, knobs: Mapping[str, Any]) -> SimulatorConfig:
        """A copy with ``knobs`` applied and validated (ValueError names the bad knob)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(knobs) - names)
        if unknown:
            raise ValueError(f"unknown simulator knob(s): {', '.join(unknown)}")
        values = {name: _coerce(name, value) for name, value in knobs.items()}
        new = dataclasses.replace(self, **values)
        new.validate()
        return new

    def validate(self) -> None:
        for name in RATE_KNOBS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.latency_ms < 0 or self.latency_sd_ms < 0 or self.keepalive_interval_s <= 0:
            raise ValueError("latency_ms, latency_sd_ms must be >= 0 and keepalive_interval_s > 0")
        bad = sorted(set(self.script) - SCRIPT_FAULTS)
        if bad:
            raise ValueError(f"script entries must be among {sorted(SCRIPT_FAULTS)}, got {bad}")

    def public(self) -> dict[str, Any]:
        """The configuration as JSON-able data, key NAMES only."""
        data = dataclasses.asdict(self)
        data["keys"] = sorted(self.keys)
        data["revoked_keys"] = sorted(self.revoked_keys)
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()}


def _coerce(name: str, value: Any) -> Any:
    if name in ("spend_limit_usd", "price_cache_hit", "price_cache_miss", "price_output"):
        return None if value is None else Decimal(str(value))
    if name == "revoked_keys":
        return frozenset([value] if isinstance(value, str) else value)
    if name == "keys":
        return dict(value)
    if name == "script":
        return [str(v) for v in value]
    if name in ("concurrency", "chars_per_token", "cache_unit_tokens"):
        return int(value)
    if name == "seed":
        return None if value is None else int(value)
    if name == "retry_after_s":
        return None if value is None else float(value)
    return float(value)

"""Pool advice from the observed 429 rate and latency (no database)."""

from __future__ import annotations

from quincena.costs.health.advice import _pool_advice
from quincena.costs.health.settings import Thresholds


def test_pool_advice_raises_when_latency_not_the_limit_binds() -> None:
    quiet = {"calls": 1000, "rate_limited": 3, "p50_ms": 4200.0}
    assert "amplíe el pool deepseek (16 cupos) a 20 cupos" in _pool_advice(quiet, 16, Thresholds())["text"]
    throttled = {"calls": 100, "rate_limited": 50, "p50_ms": 800.0}
    assert "reduzca el pool deepseek (1 cupos)." in _pool_advice(throttled, 1, Thresholds())["text"]
    fast = {"calls": 1000, "rate_limited": 3, "p50_ms": 800.0}
    assert "mantenga el pool deepseek" in _pool_advice(fast, 16, Thresholds())["text"]

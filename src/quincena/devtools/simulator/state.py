"""The simulated DeepSeek account: one concurrency limit, one prefix cache and one balance that every
key shares; admission (429/500/503 by rate or script, the faults of admitted requests, latency),
token accounting and billing. Thread-safe; the HTTP handler in ``server`` only asks it."""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from quincena.devtools.simulator import classifier
from quincena.devtools.simulator.config import SimulatorConfig

UNLIMITED_BALANCE = Decimal("1000.00")  # what /user/balance shows when no spend limit is set


class RequestError(Exception):
    def __init__(self, status: int, message: str, key_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.key_name = key_name


@dataclass(frozen=True)
class Admission:
    """How an admitted request will be answered (it holds one slot of the account's concurrency)."""

    fault: str  # ok, blank, truncated, never_start
    latency_s: float


class SimulatorState:
    """Configuration, statistics, prefix cache and spend of the simulated account (thread-safe)."""

    def __init__(self, config: SimulatorConfig) -> None:
        config.validate()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified whenever a request leaves the account
        self.stopping = threading.Event()
        self.config = config
        self._rng = random.Random(config.seed)
        self._by_secret = {secret: name for name, secret in config.keys.items()}
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests_per_key: Counter[str] = Counter()  # answers delivered (errors included)
        self.abandoned_per_key: Counter[str] = Counter()  # admitted, but the client left first
        self.status_counts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.spend = Decimal(0)
        self.unauthorized = 0
        self.keepalive_lines = 0
        self.disconnects = 0
        self._cache: set[bytes] = set()

    # -- admin ---------------------------------------------------------------------------
    def configure(self, knobs: dict[str, Any]) -> SimulatorConfig:
        with self._lock:
            self.config = self.config.updated(knobs)
            self._by_secret = {secret: name for name, secret in self.config.keys.items()}
            if "seed" in knobs:
                self._rng = random.Random(self.config.seed)
            return self.config

    def reset(self) -> None:
        """Forget statistics, prefix cache, spend and any pending script (the configuration stays).

        ``in_flight`` is a live gauge, not a statistic: a request still being answered releases its slot
        later, so zeroing it here would leave the gauge negative (and ``wait_idle`` waiting for ever)."""
        with self._lock:
            in_flight = self.in_flight
            self._reset_counters()
            self.in_flight = self.max_in_flight = in_flight
            self.config = self.config.updated({"script": []})

    def topup(self, amount: Decimal) -> None:
        with self._lock:
            if self.config.spend_limit_usd is not None:
                self.config = self.config.updated({"spend_limit_usd": self.config.spend_limit_usd + amount})

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "requests_per_key": dict(self.requests_per_key),
                "abandoned_per_key": dict(self.abandoned_per_key),
                "status_counts": dict(self.status_counts),
                "faults": dict(self.faults),
                "tokens": dict(self.tokens),
                "spend_usd": str(self.spend),
                "unauthorized": self.unauthorized,
                "keepalive_lines": self.keepalive_lines,
                "disconnects": self.disconnects,
            }

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + n)

    def abandoned(self, key_name: str) -> None:
        """Count a request whose client left before its answer was delivered."""
        with self._lock:
            self.abandoned_per_key[key_name] += 1

    def answered(self, key_name: str | None, status: int) -> None:
        """Count a request the client got an answer to (or started to get, for held requests)."""
        with self._lock:
            self.status_counts[str(status)] += 1
            if key_name is not None:
                self.requests_per_key[key_name] += 1

    # -- the API's decisions -------------------------------------------------------------
    def authenticate(self, header: str) -> str:
        """The key NAME behind a Bearer header; RequestError(401) otherwise."""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with self._lock:
            self.requests += 1
            name = self._by_secret.get(token)
            if name is None:
                self.unauthorized += 1
                raise RequestError(401, f"Authentication Fails, Your api key: ****{token[-4:]} is invalid")
            if name in self.config.revoked_keys:
                raise RequestError(401, f"Authentication Fails, Your api key: ****{token[-4:]} is invalid", name)
            if self.config.spend_limit_usd is not None and self.spend >= self.config.spend_limit_usd:
                raise RequestError(402, "Insufficient Balance", name)
            return name

    def balance(self) -> Decimal:
        with self._lock:
            limit = self.config.spend_limit_usd
            return max(Decimal(0), (UNLIMITED_BALANCE if limit is None else limit) - self.spend)

    def admit(self) -> Admission:
        """Take a concurrency slot, or raise RequestError(429/500/503) without one."""
        with self._lock:
            cfg = self.config
            head = cfg.script[0] if cfg.script else None
            if head in ("429", "500", "503"):
                cfg.script.pop(0)
                self.faults[f"scripted_{head}"] += 1
                raise RequestError(int(head), _REJECTIONS[head])
            if self.in_flight >= cfg.concurrency:
                self.faults["over_concurrency"] += 1
                raise RequestError(429, "Rate Limit Reached: too many concurrent requests for this account")
            for status in ("429", "500", "503"):
                if self._rng.random() < getattr(cfg, f"rate_{status}"):
                    self.faults[f"random_{status}"] += 1
                    raise RequestError(int(status), _REJECTIONS[status])
            fault = cfg.script.pop(0) if cfg.script else self._random_fault()
            if fault != "ok":
                self.faults[fault] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return Admission(fault, self._latency())

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no request is in flight (its counters final: an answer is counted after its last
        byte is written, so a client can read the answer before the server has counted it)."""
        with self._idle:
            return self._idle.wait_for(lambda: self.in_flight == 0, timeout)

    def _random_fault(self) -> str:
        cfg = self.config
        for fault in ("never_start", "blank", "truncated"):
            if self._rng.random() < getattr(cfg, f"rate_{fault}"):
                return fault
        return "ok"

    def _latency(self) -> float:
        mean, sd = self.config.latency_ms, self.config.latency_sd_ms
        if mean <= 0:
            return 0.0
        if sd <= 0:
            return mean / 1000
        sigma2 = math.log(1 + (sd / mean) ** 2)  # lognormal with the requested mean and sd
        return self._rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)) / 1000

    def content_for(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            return classifier.answer(messages, self._rng, self.config.rate_off_catalog)

    def prompt_tokens(self, text: str) -> tuple[int, int]:
        """(cache-hit, cache-miss) tokens: hits are the longest seen prefix in whole cache units."""
        cpt, unit_tokens = self.config.chars_per_token, self.config.cache_unit_tokens
        total = max(1, math.ceil(len(text) / cpt))
        unit_chars = cpt * unit_tokens
        digests = []
        running = hashlib.sha256()
        for start in range(0, len(text) - unit_chars + 1, unit_chars):
            running.update(text[start : start + unit_chars].encode("utf-8"))
            digests.append(running.copy().digest())
        with self._lock:
            hit_units = 0
            for digest in digests:  # the set is prefix-closed, so the first miss ends the hit
                if digest not in self._cache:
                    break
                hit_units += 1
            self._cache.update(digests)
        hit = min(total, hit_units * unit_tokens)
        return hit, total - hit

    def bill(self, hit: int, miss: int, completion: int, reasoning: int) -> None:
        with self._lock:
            cfg = self.config
            cost = hit * cfg.price_cache_hit + miss * cfg.price_cache_miss + completion * cfg.price_output
            self.spend += cost / Decimal(1_000_000)
            self.tokens.update(
                {"prompt_cache_hit": hit, "prompt_cache_miss": miss, "completion": completion, "reasoning": reasoning}
            )


_REJECTIONS = {
    "429": "Rate Limit Reached",
    "500": "Internal Server Error",
    "503": "Server Overloaded",
}

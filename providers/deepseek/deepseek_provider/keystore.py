"""Which API key the next attempt uses, and which keys are out of rotation.

The rate limit belongs to the account, so rotation is not about throughput: it spreads usage evenly
(per-key usage stays comparable in DeepSeek's export) and routes around revoked keys. A store may be
shared by many hooks, threads and processes; the in-memory one covers a single process.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from deepseek_provider.exceptions import NoUsableKeyError


@dataclass(frozen=True)
class KeyStatus:
    name: str
    active: bool
    picks: int
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@runtime_checkable
class KeyStore(Protocol):
    """Rotation state and health of an account's keys, by key NAME (secrets never reach a store)."""

    def register(self, names: Iterable[str]) -> None:
        """Make the keys known (idempotent); a new key starts active."""

    def pick(self, names: Collection[str], exclude: Collection[str] = ()) -> str:
        """Atomically choose the least-used active key among ``names`` and count the pick.

        Keys in ``exclude`` are chosen only when no other active key remains.
        Raises NoUsableKeyError when none of ``names`` is active.
        """

    def disable(self, name: str, reason: str) -> None:
        """Take a key out of rotation, recording when and why."""

    def statuses(self) -> dict[str, KeyStatus]:
        """Every known key's state."""


class InMemoryKeyStore:
    """Thread-safe store for one process: the default, so a hook works with just a connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, KeyStatus] = {}

    def register(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                if name not in self._keys:
                    # Start level with the least-used key so a newcomer does not take every pick.
                    floor = min((k.picks for k in self._keys.values() if k.active), default=0)
                    self._keys[name] = KeyStatus(name=name, active=True, picks=floor)

    def pick(self, names: Collection[str], exclude: Collection[str] = ()) -> str:
        with self._lock:
            candidates = [self._keys[n] for n in names if n in self._keys and self._keys[n].active]
            if not candidates:
                raise NoUsableKeyError(f"no usable DeepSeek key: all of {sorted(names)} are disabled or unknown")
            chosen = min(candidates, key=lambda k: (k.name in exclude, k.picks, k.name))
            self._keys[chosen.name] = replace(chosen, picks=chosen.picks + 1)
            return chosen.name

    def disable(self, name: str, reason: str) -> None:
        with self._lock:
            current = self._keys.get(name) or KeyStatus(name=name, active=False, picks=0)
            self._keys[name] = replace(current, active=False, disabled_at=datetime.now(UTC), disabled_reason=reason)

    def enable(self, name: str) -> None:
        with self._lock:
            current = self._keys[name]
            floor = max((k.picks for k in self._keys.values() if k.active), default=current.picks)
            self._keys[name] = replace(current, active=True, disabled_at=None, disabled_reason=None, picks=floor)

    def statuses(self) -> dict[str, KeyStatus]:
        with self._lock:
            return dict(self._keys)

"""Peak and off-peak hours of DeepSeek billing, read from the price table, and the cycle's waiting rule.

DeepSeek bills peak hours double; the windows (UTC) are part of each dated price entry
(``peak_windows_utc``), so they are read from the one price table (``quincena.deepseek.prices``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from quincena.core import config


def peak_windows(at: datetime, table: Any = None, model: str | None = None) -> list[tuple[time, time]]:
    """The peak windows (UTC clock times) in force at ``at`` for ``model`` (None: the connection's default)."""
    from deepseek_provider.connection import HookSettings
    from deepseek_provider.exceptions import UnknownModelError

    from quincena.deepseek import prices

    table = table if table is not None else prices.load()
    try:
        entry = table.entry(model or HookSettings.model, at)
    except UnknownModelError:  # not priced at ``at``: no known windows
        return []
    return sorted(entry.peak_windows) if entry.peak is not None else []


def peak_end(at: datetime, table: Any = None, model: str | None = None) -> datetime | None:
    """When the peak window holding ``at`` ends (following back-to-back windows), or None when off-peak."""
    at = at.astimezone(UTC)
    windows = peak_windows(at, table, model)
    end: datetime | None = None
    moment = at
    for _ in range(len(windows) + 1):
        clock = moment.time()
        inside = [w for w in windows if w[0] <= clock < w[1]]
        if not inside:
            break
        end = datetime.combine(moment.date(), max(w[1] for w in inside), tzinfo=UTC)
        moment = end
    return end


def in_peak(at: datetime, table: Any = None, model: str | None = None) -> bool:
    return peak_end(at, table, model) is not None


def wait_until(now: datetime, policy: str, table: Any = None, model: str | None = None) -> datetime:
    """When classification may start under ``policy``: ``now``, or the end of the peak window ``now`` is in."""
    if policy not in config.OFFPEAK_POLICIES:
        raise ValueError(f"off-peak policy must be one of {', '.join(config.OFFPEAK_POLICIES)}, not {policy!r}")
    if policy == "ignore":
        return now
    return peak_end(now, table, model) or now


def pause_batch(now: datetime, policy: str, table: Any = None, model: str | None = None) -> datetime | None:
    """Under ``strict``, the moment a batch about to start at ``now`` must wait for (None: go now)."""
    if policy != "strict":
        return None
    return peak_end(now, table, model)


def resolve_policy(param: str | None) -> str:
    """The run's policy: the trigger form's value when given, else QUINCENA_OFFPEAK_POLICY."""
    chosen = (param or "").strip().lower() or config.offpeak_policy()
    if chosen not in config.OFFPEAK_POLICIES:
        raise ValueError(f"off-peak policy must be one of {', '.join(config.OFFPEAK_POLICIES)}, not {chosen!r}")
    return chosen

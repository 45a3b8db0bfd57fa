"""Peak and off-peak hours of DeepSeek billing, read from the price table, and the cycle's waiting rule.

DeepSeek bills peak hours double; the peak days and windows (UTC) are part of each dated price entry,
so they are read from the one price calendar (``quincena.deepseek.prices``), the same one billing uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from quincena.core import config


def _calendar(table: Any, model: str | None) -> tuple[Any, str]:
    from deepseek_provider.connection import HookSettings

    from quincena.deepseek import prices

    return (table if table is not None else prices.load()), model or HookSettings.model


def peak_windows(at: datetime, table: Any = None, model: str | None = None) -> list[tuple[time, time]]:
    """The peak windows (UTC clock times) of ``at``'s UTC day for ``model`` (None: the connection's
    default); none on a day the calendar leaves off-peak (weekends) or before peak billing started."""
    from deepseek_provider.exceptions import UnknownModelError

    table, model = _calendar(table, model)
    try:
        entry = table.entry(model, at)
    except UnknownModelError:  # not priced at ``at``: no known windows
        return []
    return list(entry.peak_windows_on(at.astimezone(UTC).date()))


def peak_end(at: datetime, table: Any = None, model: str | None = None) -> datetime | None:
    """When the peak stretch holding ``at`` ends (following back-to-back windows), or None when off-peak."""
    table, model = _calendar(table, model)
    return table.peak_end(model, at)


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

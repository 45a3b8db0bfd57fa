"""The reported week: Bogotá calendar weeks (Monday 00:00 to next Monday 00:00) and their month."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from quincena.core.config import TZ

WEEK = timedelta(days=7)
_WEEK_RE = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Week:
    """One reported week and the calendar month its last day belongs to (UTC-aware bounds)."""

    label: str  # ISO week of the Bogotá Monday, e.g. 2026-W45
    start: datetime
    end: datetime  # exclusive
    month_start: datetime
    month_end: datetime  # exclusive

    @property
    def days_elapsed(self) -> Decimal:
        """Days of the month covered by the month-to-date figures (up to the week's end)."""
        return Decimal(int((self.end - self.month_start).total_seconds())) / 86400

    @property
    def days_in_month(self) -> Decimal:
        return Decimal(int((self.month_end - self.month_start).total_seconds())) / 86400

    @property
    def month(self) -> str:
        return self.month_start.astimezone(TZ).strftime("%Y-%m")

    def to_dict(self) -> dict[str, str]:
        return {
            "week": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "month_start": self.month_start.isoformat(),
            "month_end": self.month_end.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Week:
        return cls(
            data["week"],
            *(datetime.fromisoformat(data[k]) for k in ("start", "end", "month_start", "month_end")),
        )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TZ).astimezone(UTC)


def week_from_bounds(start: datetime, end: datetime) -> Week:
    """The report week of a data interval; the month is that of the interval's last instant."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("week bounds must be timezone-aware")
    if end <= start:
        raise ValueError(f"empty week: {start.isoformat()} .. {end.isoformat()}")
    local_start = start.astimezone(TZ).date()
    iso = local_start.isocalendar()
    last_day = (end - timedelta(microseconds=1)).astimezone(TZ).date()
    first = last_day.replace(day=1)
    after = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    return Week(
        f"{iso.year:04d}-W{iso.week:02d}",
        start.astimezone(UTC),
        end.astimezone(UTC),
        _local_midnight(first),
        _local_midnight(after),
    )


def week_for_label(label: str) -> Week:
    """``2026-W45`` → Monday 00:00 to next Monday 00:00, Bogotá time."""
    match = _WEEK_RE.fullmatch(label.strip())
    if not match:
        raise ValueError(f"not an ISO week: {label!r} (expected e.g. 2026-W45)")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"not an ISO week: {label!r} ({exc})") from None
    start = _local_midnight(monday)
    return week_from_bounds(start, _local_midnight(monday + timedelta(days=7)))


def resolve_week(
    interval_start: datetime | None,
    interval_end: datetime | None,
    params: Mapping[str, Any],
    now: datetime | None = None,
) -> Week:
    """The ``week`` param when given, else the run's data interval, else (a manual run without a
    logical date) the last week that has closed in Bogotá."""
    label = str(params.get("week") or "").strip()
    if label:
        return week_for_label(label)
    if interval_start is None or interval_end is None:
        return last_closed_week(now or datetime.now(TZ))
    return week_from_bounds(interval_start, interval_end)


def last_closed_week(now: datetime) -> Week:
    """The Monday-to-Sunday week (Bogotá) before the one ``now`` falls in."""
    today = now.astimezone(TZ).date()
    year, number, _ = (today - timedelta(days=7)).isocalendar()
    return week_for_label(f"{year}-W{number:02d}")

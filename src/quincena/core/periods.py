"""Quincenas: the firm's fortnightly cycles, 1st–15th (Q1) and 16th–end of month (Q2).

A cycle id looks like ``2026-11-Q1``. Bounds are half-open ``[start, end)`` like Airflow's data
intervals, so Q2 ends on the 1st of the next month whatever the month's length.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

_CYCLE_RE = re.compile(r"(\d{4})-(\d{2})-Q([12])")


def cycle_id_for(day: date) -> str:
    """The quincena a calendar day belongs to."""
    if isinstance(day, datetime):  # a datetime is a date too; its calendar day is what counts
        day = day.date()
    half = 1 if day.day <= 15 else 2
    return f"{day.year:04d}-{day.month:02d}-Q{half}"


def books_cycle(issue_day: date, run_cycle: str | None) -> str:
    """The quincena whose approval and export carry a document: its own, or the quincena of the run that
    ingests it when that is later (a document that reached the inbox after its own quincena's run is booked
    in the current one, with its own issue date, never in a quincena already handed to the accountant)."""
    own = cycle_id_for(issue_day)
    return max(own, run_cycle) if run_cycle else own  # "YYYY-MM-Qn" sorts in time order


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def cycle_bounds(cycle_id: str) -> tuple[date, date]:
    """``(first day, day after the last)`` of a cycle id; ValueError for anything else."""
    match = _CYCLE_RE.fullmatch(cycle_id.strip()) if isinstance(cycle_id, str) else None
    if not match:
        raise ValueError(f"not a quincena id: {cycle_id!r} (expected e.g. 2026-11-Q1)")
    year, month, half = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or year < 1:
        raise ValueError(f"not a quincena id: {cycle_id!r} (month must be 01-12)")
    if half == 1:
        return date(year, month, 1), date(year, month, 16)
    return date(year, month, 16), _first_of_next_month(date(year, month, 1))


def _as_day(value: date, what: str) -> date:
    """A date, or a datetime at exactly midnight (in its own timezone)."""
    if isinstance(value, datetime):
        if value.timetz().replace(tzinfo=None) != time(0, 0):
            raise ValueError(
                f"data interval {what} {value.isoformat()} is not at midnight; "
                "convert it to the timetable's timezone first"
            )
        return value.date()
    if isinstance(value, date):
        return value
    raise ValueError(f"data interval {what} must be a date or datetime, got {type(value).__name__}")


def cycle_for_interval(start: date, end: date) -> str:
    """The cycle an Airflow data interval covers: exactly ``[1st, 16th)`` or ``[16th, 1st next month)``."""
    first, after = _as_day(start, "start"), _as_day(end, "end")
    cycle_id = cycle_id_for(first)
    if (first, after) != cycle_bounds(cycle_id):
        raise ValueError(
            f"data interval {first.isoformat()} .. {after.isoformat()} is not a quincena "
            "(expected [1st, 16th) or [16th, 1st of next month))"
        )
    return cycle_id


def previous_cycle(cycle_id: str) -> str:
    start, _ = cycle_bounds(cycle_id)
    return cycle_id_for(date.fromordinal(start.toordinal() - 1))


def next_cycle(cycle_id: str) -> str:
    _, after = cycle_bounds(cycle_id)
    return cycle_id_for(after)


def previous_closed_cycle(today: date) -> str:
    """The latest quincena that has fully ended by ``today`` (the one a run on ``today`` processes)."""
    return previous_cycle(cycle_id_for(today))

"""Report weeks: Bogotá calendar weeks and the month they belong to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quincena.costs.health.week import resolve_week, week_for_label, week_from_bounds

W45 = "2026-W45"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_week_label_is_the_bogota_calendar_week() -> None:
    week = week_for_label(W45)
    assert (week.start, week.end) == (_utc("2026-11-02T05:00"), _utc("2026-11-09T05:00"))
    assert (week.month_start, week.month_end) == (_utc("2026-11-01T05:00"), _utc("2026-12-01T05:00"))
    assert (week.days_elapsed, week.days_in_month, week.month) == (8, 30, "2026-11")
    assert week_from_bounds(week.start, week.end) == week


def test_week_spanning_two_months_belongs_to_the_month_of_its_last_day() -> None:
    week = week_for_label("2026-W44")  # Mon Oct 26 .. Sun Nov 1
    assert week.month == "2026-11" and week.days_elapsed == 1
    ends_on_first = week_for_label("2026-W22")  # Mon May 25 .. Sun May 31: ends at Jun 1 00:00
    assert ends_on_first.month == "2026-05"
    assert ends_on_first.days_elapsed == ends_on_first.days_in_month == 31


def test_week_resolution_prefers_the_param() -> None:
    start, end = _utc("2026-11-02T05:00"), _utc("2026-11-09T05:00")
    assert resolve_week(start, end, {"week": ""}).label == W45
    assert resolve_week(start, end, {"week": "2026-W40"}).label == "2026-W40"
    with pytest.raises(ValueError, match="not an ISO week"):
        resolve_week(None, None, {"week": "2026-45"})


def test_a_manual_run_without_an_interval_reports_the_last_closed_week() -> None:
    from quincena.core.config import TZ

    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # in 2026-W48
    assert resolve_week(None, None, {}, now=wednesday).label == "2026-W47"
    monday_early = datetime(2026, 11, 23, 0, 30, tzinfo=TZ)  # W48 just began in Bogotá (05:30 UTC)
    assert resolve_week(None, None, {}, now=monday_early).label == "2026-W47"
    assert resolve_week(None, None, {"week": "2026-W45"}, now=wednesday).label == "2026-W45"

"""Quincenas: cycle ids, bounds, Airflow data intervals."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from quincena.core.periods import (
    cycle_bounds,
    cycle_for_interval,
    cycle_id_for,
    next_cycle,
    previous_closed_cycle,
    previous_cycle,
)


@pytest.mark.parametrize(
    ("day", "cycle"),
    [
        (date(2026, 11, 1), "2026-11-Q1"),
        (date(2026, 11, 15), "2026-11-Q1"),
        (date(2026, 11, 16), "2026-11-Q2"),
        (date(2026, 11, 30), "2026-11-Q2"),
        (date(2028, 2, 29), "2028-02-Q2"),
        (datetime(2026, 1, 15, 23, 59), "2026-01-Q1"),
    ],
)
def test_cycle_id_for(day: date, cycle: str) -> None:
    assert cycle_id_for(day) == cycle


@pytest.mark.parametrize(
    ("cycle", "bounds"),
    [
        ("2026-11-Q1", (date(2026, 11, 1), date(2026, 11, 16))),
        ("2026-11-Q2", (date(2026, 11, 16), date(2026, 12, 1))),
        ("2026-12-Q2", (date(2026, 12, 16), date(2027, 1, 1))),
        ("2027-02-Q2", (date(2027, 2, 16), date(2027, 3, 1))),
    ],
)
def test_cycle_bounds(cycle: str, bounds: tuple[date, date]) -> None:
    assert cycle_bounds(cycle) == bounds


def test_every_day_of_a_year_is_inside_its_cycle() -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        start, end = cycle_bounds(cycle_id_for(day))
        assert start <= day < end
        day += timedelta(days=1)


@pytest.mark.parametrize("bad", ["2026-13-Q1", "2026-11-Q3", "2026-11", "2026-1-Q1", "", "x"])
def test_cycle_bounds_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError, match="not a quincena id"):
        cycle_bounds(bad)


def test_cycle_for_interval_accepts_airflow_intervals() -> None:
    assert cycle_for_interval(date(2026, 11, 1), date(2026, 11, 16)) == "2026-11-Q1"
    assert cycle_for_interval(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)) == "2026-11-Q2"
    bogota = timezone(timedelta(hours=-5))
    assert cycle_for_interval(datetime(2026, 12, 16, tzinfo=bogota), datetime(2027, 1, 1, tzinfo=bogota)) == (
        "2026-12-Q2"
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 11, 1), date(2026, 11, 15)),  # one day short
        (date(2026, 11, 2), date(2026, 11, 16)),  # not from the 1st
        (date(2026, 11, 1), date(2026, 12, 1)),  # a whole month
        (date(2026, 11, 16), date(2026, 11, 30)),
    ],
)
def test_cycle_for_interval_rejects_other_intervals(start: date, end: date) -> None:
    with pytest.raises(ValueError, match="is not a quincena"):
        cycle_for_interval(start, end)


def test_cycle_for_interval_rejects_non_midnight() -> None:
    with pytest.raises(ValueError, match="not at midnight"):
        cycle_for_interval(datetime(2026, 11, 1, 5, tzinfo=UTC), datetime(2026, 11, 16, 5, tzinfo=UTC))


def test_previous_and_next() -> None:
    assert previous_cycle("2026-01-Q1") == "2025-12-Q2"
    assert previous_cycle("2026-11-Q2") == "2026-11-Q1"
    assert next_cycle("2026-12-Q2") == "2027-01-Q1"
    assert previous_closed_cycle(date(2026, 11, 16)) == "2026-11-Q1"
    assert previous_closed_cycle(date(2026, 11, 15)) == "2026-10-Q2"
    assert previous_closed_cycle(date(2026, 12, 1)) == "2026-11-Q2"
    assert previous_closed_cycle(date(2027, 1, 3)) == "2026-12-Q2"

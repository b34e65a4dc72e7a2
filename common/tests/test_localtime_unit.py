"""Local days, weeks and months in the portal's zone, around midnight and the clock changes."""

from datetime import UTC, date, datetime, timedelta

import pytest

from kundonline_common.localtime import (
    day_start,
    days,
    local_date,
    month_label,
    month_of,
    month_starts,
    today,
    week_of,
    zone,
)

STOCKHOLM = zone("Europe/Stockholm")


def test_a_swedish_day_starts_at_23_utc_in_winter_and_22_in_summer() -> None:
    assert day_start(date(2025, 1, 15), STOCKHOLM) == datetime(2025, 1, 14, 23, tzinfo=UTC)
    assert day_start(date(2025, 7, 15), STOCKHOLM) == datetime(2025, 7, 14, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2025, 3, 30), 23), (date(2025, 10, 26), 25), (date(2025, 3, 31), 24)],
)
def test_the_days_the_clock_changes_are_23_and_25_hours_long(day: date, hours: int) -> None:
    start, end = days(day, day, STOCKHOLM)
    assert end - start == timedelta(hours=hours)


def test_a_range_of_days_holds_both_ends_whole() -> None:
    start, end = days(date(2025, 3, 1), date(2025, 3, 31), STOCKHOLM)
    assert (start, end) == (
        datetime(2025, 2, 28, 23, tzinfo=UTC),
        datetime(2025, 3, 31, 22, tzinfo=UTC),
    )


def test_a_day_whose_midnight_the_clock_skips_begins_when_it_jumps() -> None:
    # Santiago moved its clocks from 00:00 to 01:00 on 2024-09-08: that day has no midnight.
    start = day_start(date(2024, 9, 8), zone("America/Santiago"))
    assert start == datetime(2024, 9, 8, 4, tzinfo=UTC)
    assert start.astimezone(zone("America/Santiago")).hour == 1


def test_half_past_eleven_utc_on_the_last_of_the_month_is_the_next_month_in_sweden() -> None:
    late = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)
    assert month_label(late, STOCKHOLM) == "2025-04"
    assert local_date(late, STOCKHOLM) == date(2025, 4, 1)
    assert month_label(late, zone("UTC")) == "2025-03"
    assert month_label(datetime(2025, 3, 31, 21, 59, tzinfo=UTC), STOCKHOLM) == "2025-03"


def test_month_starts_cover_every_month_from_first_to_last_in_local_time() -> None:
    starts = list(
        month_starts(
            datetime(2024, 12, 31, 23, 30, tzinfo=UTC),  # already January in Stockholm
            datetime(2025, 3, 31, 22, 0, tzinfo=UTC),  # April, just
            STOCKHOLM,
        )
    )
    assert starts == [
        ("2025-01", datetime(2024, 12, 31, 23, tzinfo=UTC)),
        ("2025-02", datetime(2025, 1, 31, 23, tzinfo=UTC)),
        ("2025-03", datetime(2025, 2, 28, 23, tzinfo=UTC)),
        ("2025-04", datetime(2025, 3, 31, 22, tzinfo=UTC)),
    ]


def test_weeks_run_monday_to_sunday_and_months_first_to_last() -> None:
    assert week_of(date(2025, 3, 30)) == (date(2025, 3, 24), date(2025, 3, 30))
    assert week_of(date(2025, 3, 31)) == (date(2025, 3, 31), date(2025, 4, 6))
    assert month_of(date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_of(date(2025, 12, 31)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_today_is_the_local_date() -> None:
    assert today(STOCKHOLM, datetime(2025, 6, 30, 22, 5, tzinfo=UTC)) == date(2025, 7, 1)

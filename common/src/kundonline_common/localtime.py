"""The portal's local time: days, weeks and months as people in the zone of the setting
`time_zone` live them. Moments are stored and sent in UTC; only their reading is local."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "Europe/Stockholm"


@cache
def zone(name: str = DEFAULT_TIME_ZONE) -> ZoneInfo:
    """The zone of that IANA name (the settings document has checked it)."""
    return ZoneInfo(name)


def day_start(day: date, tz: tzinfo) -> datetime:
    """The moment `day` begins in `tz`, in UTC.

    Where a clock change skips midnight, the day begins when the clock jumps (fold 0 of a
    missing time takes the offset from before the change); where midnight comes twice, at
    the first one.
    """
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def days(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The moments from the start of `first` to the end of `last` (both days whole), as a
    half-open UTC range [start, end). A day is 23 or 25 hours long when the clock changes."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def today(tz: tzinfo, now: datetime | None = None) -> date:
    return local_date(now or datetime.now(UTC), tz)


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week that holds `day` (weeks begin on Monday in Sweden)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    """The first and the last day of the month that holds `day`."""
    first = day.replace(day=1)
    return first, _next_month(first) - timedelta(days=1)


def month_label(moment: datetime, tz: tzinfo) -> str:
    """`YYYY-MM` of the local month a moment falls in."""
    return moment.astimezone(tz).strftime("%Y-%m")


def month_starts(first: datetime, last: datetime, tz: tzinfo) -> Iterator[tuple[str, datetime]]:
    """Each local month from the one holding `first` to the one holding `last`: its label
    (`YYYY-MM`) and the UTC moment it begins."""
    month = local_date(first, tz).replace(day=1)
    end = local_date(last, tz)
    while month <= end:
        yield month.strftime("%Y-%m"), day_start(month, tz)
        month = _next_month(month)


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)

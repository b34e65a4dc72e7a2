"""Times in forms: a datetime-local field holds a clock time without a zone, which staff read
and type in the portal's time zone, while the services take and give moments in UTC."""

from datetime import UTC, datetime, tzinfo

from .templates import moment

FIELD_FORMAT = "%Y-%m-%dT%H:%M"


def field_value(value: str | None, tz: tzinfo) -> str:
    """A time from a service as a datetime-local field shows it: local, to the minute."""
    return moment(value).astimezone(tz).strftime(FIELD_FORMAT) if value else ""


def read_field(text: str, tz: tzinfo, was: str | None = None) -> str | None:
    """The moment (ISO 8601, UTC) a datetime-local value names in `tz`; None when blank, and
    a ValueError when it is no time.

    Where the clock is put back, a local time comes twice: it is read as the moment the field
    showed (`was`) if that is one of the two, so saving a form unchanged moves nothing, and as
    the first otherwise. Where the clock jumps forward, a time in the hour it skips is read
    with the offset before the jump, as the clock would have shown it (02:30 is 03:30).
    """
    if not text.strip():
        return None
    typed = datetime.fromisoformat(text.strip())
    try:
        if typed.tzinfo is not None:
            return typed.astimezone(UTC).isoformat()
        first, second = (typed.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    except OverflowError as exc:  # a time in year 1 or 9999 whose UTC leaves the calendar
        raise ValueError(text) from exc
    shown = moment(was) if was else None
    return (shown if shown in (first, second) else first).astimezone(UTC).isoformat()

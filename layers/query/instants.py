"""The ``datetime`` parameter: an instant (as-of) or an interval over valid time.

RFC 3339 date-times; a bare date means that whole UTC day. A date-time without an
offset is read as UTC, which is what OGC API Features prescribes for its examples.
Open ends are ``..`` or empty.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from layers.query.errors import InvalidQuery
from layers.temporal import AsOf, During, Selection

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(text: str, *, parameter: str = "datetime") -> dt.datetime:
    """One RFC 3339 date-time (or date, read as its UTC midnight), always timezone-aware."""
    value = text.strip()
    if _DATE_RE.match(value):
        try:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
        except ValueError:
            raise InvalidQuery(f"{value!r} is not a valid date", parameter=parameter) from None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise InvalidQuery(
            f"{value!r} is not an RFC 3339 date-time such as 2024-05-01T08:00:00Z", parameter=parameter
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _end_of_day(text: str) -> dt.datetime:
    return parse_instant(text) + dt.timedelta(days=1) - dt.timedelta(microseconds=1)


def parse_datetime(text: str) -> Selection:
    """``datetime`` → :class:`AsOf` for an instant, :class:`During` for an interval or a date.

    Raises:
        InvalidQuery: unreadable values, or an interval that ends before it starts.
    """
    value = text.strip()
    if not value:
        raise InvalidQuery("datetime is empty", parameter="datetime")
    if "/" not in value:
        if _DATE_RE.match(value):
            return During(parse_instant(value), _end_of_day(value))
        return AsOf(parse_instant(value))
    if value.count("/") != 1:
        raise InvalidQuery("an interval has exactly one '/'", parameter="datetime")
    lo_text, hi_text = (p.strip() for p in value.split("/"))
    lo = None if lo_text in ("", "..") else parse_instant(lo_text)
    hi = None
    if hi_text not in ("", ".."):
        hi = _end_of_day(hi_text) if _DATE_RE.match(hi_text) else parse_instant(hi_text)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidQuery("the interval ends before it starts", parameter="datetime")
    return During(lo, hi)


# Versions share their start times (one per changeset), and the text depends on the instant only
# (equal aware datetimes hash alike whatever their zone): item by id formats two per request.
@functools.lru_cache(maxsize=4096)
def rfc3339(value: dt.datetime) -> str:
    """UTC RFC 3339 with ``Z``; microseconds only when present."""
    utc = value.astimezone(dt.UTC)
    text = utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)
def http_date(value: dt.datetime) -> str:
    """RFC 9110 HTTP-date (GMT), as Memento-Datetime wants."""
    return value.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")

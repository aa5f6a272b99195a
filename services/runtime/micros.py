"""Times as whole microseconds since the Unix epoch: exact, compact, ordered as the
datetimes are. The deadline heaps and the packed key cache keep their times this way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(at: datetime) -> int:
    """``at`` as whole microseconds since the epoch (a time without a zone is UTC)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC time ``micros`` microseconds after the epoch."""
    return _EPOCH + micros * _MICROSECOND

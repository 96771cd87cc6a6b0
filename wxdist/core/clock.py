"""The merchant's clock: times are stored as naive UTC, days are counted in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def to_local(moment: datetime) -> datetime:
    """A stored naive-UTC moment as an aware Shanghai time."""
    return moment.replace(tzinfo=UTC).astimezone(SHANGHAI)


def utc_start(day: date) -> datetime:
    """Midnight of a Shanghai day as naive UTC (how times are stored)."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def from_local(moment: datetime) -> datetime:
    """A naive Shanghai wall-clock time (as staff type it) as naive UTC (how times are
    stored)."""
    return moment.replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)

"""The merchant's clock: times are stored as naive UTC, days are counted in Asia/Shanghai."""

from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

"""Fault injection: make the emulator time out or fail on chosen endpoints.

A fault is armed for a key, the request path (`/pay/orderquery`) or, on the Alipay gateway,
the method name (`alipay.trade.refund`), for a number of requests:

- `error500`: answer HTTP 500 without doing anything;
- `error500_after`: do the work, then answer HTTP 500 (the caller cannot know it happened);
- `timeout`: do the work, then hold the answer for `seconds` (longer than the caller waits);
- `fail`: answer a definite, correctly signed business failure (each endpoint decides its
  shape; see `Faults.take_business_failure`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

MODES = ("error500", "error500_after", "timeout", "fail")


@dataclass
class ArmedFault:
    mode: str
    remaining: int
    seconds: float = 0.0
    code: str = "SYSTEMERROR"
    message: str = "emulated failure"


class Faults:
    """Thread-safe registry of armed faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, ArmedFault] = {}

    def arm(self, key: str, fault: ArmedFault) -> None:
        if fault.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self._armed[key] = fault

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, key: str, modes: tuple[str, ...] = MODES) -> ArmedFault | None:
        """Consume one use of the fault armed for `key` if its mode is in `modes`."""
        with self._lock:
            fault = self._armed.get(key)
            if fault is None or fault.mode not in modes:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._armed[key]
            return fault

"""Running the periodic jobs of `wxdist.core.schedule` without Redis (the embedded default).

In production `rq cron jobs/cron_config.py` runs the same schedule.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask

from wxdist.core.schedule import SCHEDULE
from wxdist.core.tasks import function

log = logging.getLogger(__name__)


def _call(func_path: str) -> Any:
    return function(func_path)()


def run_all_once() -> list[tuple[str, Any]]:
    """Run every periodic job now, in order, in the current app context."""
    return [(periodic.func_path, _call(periodic.func_path)) for periodic in SCHEDULE]


def start_inline_scheduler(app: Flask, tick_seconds: float = 5.0) -> threading.Thread:
    """A daemon thread that runs each periodic job when it is due. A failing job is logged
    and tried again at its next turn; it never stops the others."""
    next_run = {periodic.func_path: 0.0 for periodic in SCHEDULE}

    def loop() -> None:
        while True:
            now = time.monotonic()
            for periodic in SCHEDULE:
                if now < next_run[periodic.func_path]:
                    continue
                next_run[periodic.func_path] = now + periodic.every_seconds
                try:
                    with app.app_context():
                        _call(periodic.func_path)
                except Exception:
                    log.exception("periodic job %s failed", periodic.func_path)
            time.sleep(tick_seconds)

    thread = threading.Thread(target=loop, name="inline-scheduler", daemon=True)
    thread.start()
    return thread

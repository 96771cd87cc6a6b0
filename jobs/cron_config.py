"""Config file for `rq cron jobs/cron_config.py`: registers every job of `jobs.schedule`.

RQ's cron loader executes this file and collects what it registers; nothing else imports it.
"""

from __future__ import annotations

import importlib

from rq import cron

from jobs.schedule import SCHEDULE

for periodic in SCHEDULE:
    module_name, _, name = periodic.func_path.rpartition(".")
    cron.register(
        getattr(importlib.import_module(module_name), name),
        queue_name=periodic.queue,
        interval=periodic.every_seconds,
        name=periodic.func_path,
    )

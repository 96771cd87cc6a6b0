"""Config file for `rq cron jobs/cron_config.py`: registers every job of
`wxdist.core.schedule`, on the queue (and with the timeout) its `@job` declares.

RQ's cron loader executes this file and collects what it registers; nothing else imports it.
"""

from __future__ import annotations

from rq import cron

from wxdist.core.schedule import SCHEDULE
from wxdist.core.tasks import function, spec

for periodic in SCHEDULE:
    declared = spec(periodic.func_path)
    cron.register(
        function(periodic.func_path),
        queue_name=declared.queue,
        job_timeout=declared.timeout,
        interval=periodic.every_seconds,
        name=periodic.func_path,
    )

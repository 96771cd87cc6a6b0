"""The RQ worker class for wxdist: `rq worker -w jobs.worker.AppWorker default payouts`.

RQ's default worker forks a child per job; without this, every child would import the app
and run `create_app()` again (over a second per job). AppWorker builds the app once in the
parent, before any fork, so each child inherits it ready. The parent never touches the
database, so no connection is shared across a fork.
"""

from __future__ import annotations

from typing import Any

from rq import Worker

import jobs


class AppWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        jobs.preload_app()

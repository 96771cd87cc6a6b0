"""The RQ worker class for wxdist: `rq worker -w jobs.worker.AppWorker default payouts`.

RQ's default worker forks a child per job; without this, every child would import the app
and run `create_app()` again (over a second per job). AppWorker builds the app once in the
parent, before any fork, so each child inherits it ready, and warms what every child
would otherwise redo: the modules jobs import lazily (the services, the gateway SDKs:
~0.1 s) and the database dialect's first-connect checks (a few round trips). The parent
closes that one connection before any fork, so no connection is shared across a fork.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import Flask
from rq import Worker
from sqlalchemy.exc import OperationalError

import jobs

log = logging.getLogger(__name__)

# What the jobs import inside their functions (so that `import jobs` stays light).
WARM_MODULES = (
    "wxdist.money.payouts",
    "wxdist.shop.payment_flow",
    "wxdist.distribution.commissions",
    "wxdist.shop.refunds",
    "wxdist.integrations.delivery",
    "payments.wechat_transfer_v2",
    "payments.wechat_transfer_v3",
    "payments.alipay_transfer",
)


def warm(app: Flask) -> None:
    """Import WARM_MODULES and run the dialect's first connect, then close the connection
    (a server database only). Raises ImportError; a database that does not answer yet is
    logged and left to the jobs, which raise on it."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    from wxdist.core.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return
        try:
            with db.engine.connect():
                pass
        except OperationalError as exc:
            log.warning("worker warm-up: the database did not answer (%s)", exc.orig)
        finally:
            db.engine.dispose()  # nothing pooled crosses a fork


class AppWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        warm(jobs.preload_app())

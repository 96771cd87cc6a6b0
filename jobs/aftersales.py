"""After-sale jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job()
def sweep_aftersales() -> int:
    """Periodic: the after-sale timeouts (no answer -> agreed, no return -> closed)."""
    with app_context():
        from wxdist.shop.aftersales.sweep import sweep

        return sweep()

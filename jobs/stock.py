"""Stock alert jobs (wxdist.catalog.stock_alerts)."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job(timeout=300)
def sweep_stock_alerts() -> int:
    """Periodic: move every SKU's alert state to what its stock says (the alerts, the
    webhooks and auto-pause follow), commit, then tell staff. Returns how many changes."""
    with app_context():
        from wxdist.catalog.stock_alerts import sweep

        return sweep()

"""Commission jobs."""

from __future__ import annotations

from jobs import app_context
from wxdist.core.tasks import job


@job()
def settle_commissions() -> dict[str, int]:
    """Periodic: attribute paid orders a lost job missed, auto-complete long-shipped
    orders, then settle what is due."""
    with app_context():
        from wxdist.distribution.commissions import attribute_missed
        from wxdist.distribution.settlement import auto_complete_orders, settle_due

        return {
            "attributed_late": attribute_missed(),
            "auto_completed": auto_complete_orders(),
            "settled": settle_due(),
        }

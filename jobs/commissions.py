"""Commission jobs."""

from __future__ import annotations

from jobs import app_context


def settle_commissions() -> dict[str, int]:
    """Periodic: auto-complete long-shipped orders, then settle what is due."""
    with app_context():
        from wxdist.commissions import auto_complete_orders, settle_due

        return {"auto_completed": auto_complete_orders(), "settled": settle_due()}

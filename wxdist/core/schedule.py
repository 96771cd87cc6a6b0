"""Every periodic job, declared once: its name and how often it runs. `rq cron` runs them in
production (see `jobs/cron_config.py`, which queues each on the queue its `@job` declares);
`flask serve` runs them inline on the embedded defaults (`wxdist.cli.scheduler`).

The jobs are named, not imported: `jobs` stands above every domain (see `core.tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    func_path: str
    every_seconds: int


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("jobs.orders.close_expired_orders", every_seconds=60),
    Periodic("jobs.refunds.resend_processing_refunds", every_seconds=300),
    Periodic("jobs.commissions.settle_commissions", every_seconds=600),
    Periodic("jobs.payouts.resume_payouts", every_seconds=60),
    Periodic("jobs.payouts.expire_unconfirmed_bills", every_seconds=900),
    Periodic("jobs.payouts.run_payout_cycle", every_seconds=600),
    Periodic("jobs.marketing.expire_coupons", every_seconds=3600),
    Periodic("jobs.marketing.fail_expired_groups", every_seconds=60),
    Periodic("jobs.marketing.pay_group_rewards", every_seconds=600),
    Periodic("jobs.notifications.resend_messages", every_seconds=60),
    Periodic("jobs.shipping.sweep_shipping_uploads", every_seconds=60),
    Periodic("jobs.webhooks.sweep_webhooks", every_seconds=15),
    Periodic("jobs.open_api.purge_open_api", every_seconds=3600),
    Periodic("jobs.stock.sweep_stock_alerts", every_seconds=30),
    Periodic("jobs.aftersales.sweep_aftersales", every_seconds=600),
    Periodic("jobs.recommendations.refresh_recommendations", every_seconds=6 * 3600),
    Periodic("jobs.incentives.pay_sales_bonuses", every_seconds=3600),
)

"""What staff and time do in `flask demo --story`, through the services the panel and the
periodic jobs use: the settings the story needs, reviewing the application, shipping,
days passing (auto-completion and settlement with a clock moved forward), approving the
withdrawal, and the dashboard's figures.

Every function runs in the CLI's app context, on the database of the running app, and
raises StoryFailed (a DemoFailed) with a message saying what is wrong. Each starts by
ending the session's transaction, so it sees what the running app committed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app

from wxdist.accounts.audit import audited_action
from wxdist.cli.demo import DemoFailed, yuan
from wxdist.core.errors import ApiError
from wxdist.core.extensions import db

T = TypeVar("T")

AUDIT_IP = "flask demo --story"
SAFE_ENVS = ("development", "test")


class StoryFailed(DemoFailed):
    pass


def _service(step: str, call: Callable[[], T]) -> T:
    """Run a service call on a fresh transaction; its ApiError becomes StoryFailed."""
    db.session.rollback()
    try:
        return call()
    except ApiError as exc:
        db.session.rollback()
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise StoryFailed(f"{step}: {exc.message}{' (' + detail + ')' if detail else ''}") from None


def require_safe_instance() -> None:
    """Refuse anything but a development or test instance on the gateway emulator: the
    story changes settings, moves the store's clock and pays out. Raises StoryFailed."""
    config = current_app.config
    if config["GATEWAY"] != "emulator":
        raise StoryFailed(
            "the story pays through the gateway emulator; GATEWAY is "
            f"{config['GATEWAY']!r} (run it against `make run`)"
        )
    if config["WXDIST_ENV"] not in SAFE_ENVS:
        raise StoryFailed(
            f"the story changes settings and moves the clock; WXDIST_ENV is "
            f"{config['WXDIST_ENV']!r}, it runs only in development or test"
        )


def prepare_settings() -> str:
    """Set what the story needs (programme on, applications reviewed by staff, Alipay among
    the withdrawal methods, no automatic approval of withdrawals) and say what it set and
    what was already so. Raises StoryFailed if the settings refuse a change."""
    from wxdist.distribution.settings import get_settings, update_settings

    db.session.rollback()
    current = get_settings()
    wanted: dict[str, Any] = {
        "enabled": True,
        "distributor_mode": "application",
        "application_review": "manual",
        "withdraw_auto_approve_below_fen": 0,
    }
    if "alipay" not in current.methods:
        wanted["withdraw_methods"] = ",".join((*current.methods, "alipay"))
    changes = {k: v for k, v in wanted.items() if getattr(current, k) != v}
    if changes:
        _service("settings", lambda: update_settings(**changes))
    changed = ", ".join(f"{k} {getattr(current, k)}→{v}" for k, v in changes.items())
    return (
        "programme on, applications reviewed by staff, withdrawals to Alipay reviewed by "
        f"staff, auto-complete {current.auto_complete_days} d, freeze {current.freeze_days} d; "
        + (f"changed {changed}" if changed else "nothing changed")
    )


def check_same_database(user_id: int, phone: str) -> None:
    """The application the API just took must be in this database: else the CLI and the
    running app are configured apart. Raises StoryFailed."""
    from wxdist.models import Distributor

    db.session.rollback()
    row = db.session.get(Distributor, user_id)
    if row is None or row.phone != phone:
        raise StoryFailed(
            "the running app does not use this database "
            f"({db.engine.url.render_as_string(hide_password=True)}): run the story with the "
            "environment the server runs with (DATABASE_URL)"
        )


def approve_application(user_id: int) -> str:
    """Staff approve the application, audited as the panel's review is. Raises StoryFailed."""
    from wxdist.distribution import distributors

    def review() -> str:
        with audited_action(
            None, "distributor.review", "distributor", user_id, {"status": "pending"}, AUDIT_IP
        ) as note:
            row = distributors.review(user_id, True, "demo story")
            note.after = {"status": row.status, "review_note": row.review_note}
        return str(row.status)

    return _service("review", review)


def ship(order_id: int, carrier: str, tracking_no: str) -> str:
    """Staff ship the order, audited as the panel's ship. Raises StoryFailed."""
    from wxdist.models import Order
    from wxdist.shop.shipments import ship_whole_order

    def call() -> str:
        with audited_action(
            None, "order.ship", "order", order_id, {"status": "paid"}, AUDIT_IP
        ) as note:
            shipment = ship_whole_order(order_id, carrier, tracking_no)
            order = db.session.get(Order, order_id)
            assert order is not None
            note.after = {
                "status": order.status,
                "shipment_id": shipment.id,
                "carrier": carrier,
                "tracking_no": tracking_no,
            }
        return str(order.status)

    return _service("ship", call)


def _order_status(order_id: int) -> tuple[str, datetime | None]:
    from wxdist.models import Order

    db.session.rollback()
    order = db.session.get(Order, order_id)
    if order is None:
        raise StoryFailed(f"order #{order_id} is not in this database")
    return str(order.status), order.commission_settled_at


def days_pass_to_completion(order_id: int) -> tuple[int, datetime]:
    """Run the auto-completion as if `auto_complete_days` (and a minute) had passed: every
    order shipped by then completes, ours included. Returns (days, that moment). Raises
    StoryFailed if ours did not complete."""
    from wxdist.distribution.settings import get_settings
    from wxdist.distribution.settlement import auto_complete_orders
    from wxdist.models.types import utcnow

    db.session.rollback()
    days = get_settings().auto_complete_days
    later = utcnow() + timedelta(days=days, minutes=1)
    while _service("complete", lambda: auto_complete_orders(later)):
        pass  # 500 at a time, until none is left
    status, _ = _order_status(order_id)
    if status != "completed":
        raise StoryFailed(f"complete: the order is {status} after {days} days, not completed")
    return days, later


def days_pass_to_settlement(order_id: int, completed: datetime) -> int:
    """Run the settlement as if `freeze_days` (and a minute) had passed since `completed`:
    every order due by then settles, ours included. Returns the days. Raises StoryFailed
    if ours did not settle."""
    from wxdist.distribution.settings import get_settings
    from wxdist.distribution.settlement import settle_due

    db.session.rollback()
    days = get_settings().freeze_days
    later = completed + timedelta(days=days, minutes=1)
    while _service("settle", lambda: settle_due(later)):
        pass
    _, settled_at = _order_status(order_id)
    if settled_at is None:
        raise StoryFailed(f"settle: the order's commission is not settled after {days} days")
    return days


def withdraw_limits() -> tuple[int, int]:
    """(minimum, maximum per request) of a withdrawal, in fen."""
    from wxdist.distribution.settings import get_settings

    db.session.rollback()
    settings = get_settings()
    return settings.withdraw_min_fen, settings.withdraw_max_fen


def approve_withdrawal(withdrawal_id: int) -> str:
    """Finance approve, through `money.withdrawals` and audited, as the panel does; the
    payout job is enqueued (inline without REDIS_URL: it pays before this returns).
    Returns the status now. Raises StoryFailed."""
    from wxdist.models import Withdrawal
    from wxdist.money import withdrawals

    def call() -> str:
        with audited_action(
            None,
            "withdrawal.approve",
            "withdrawal",
            withdrawal_id,
            {"status": "pending_review"},
            AUDIT_IP,
        ) as note:
            withdrawals.approve(withdrawal_id, "demo story")
            note.after = {"status": "approved"}
        db.session.rollback()
        row = db.session.get(Withdrawal, withdrawal_id)
        return str(row.status) if row else "missing"

    return _service("approve", call)


def dashboard_today() -> str:
    """Today's figures as the panel's dashboard shows them (daily aggregates, withdrawals
    waiting for review)."""
    from wxdist.panel.queries.withdrawals import waiting_totals
    from wxdist.reporting import daily_stats

    db.session.rollback()
    today = daily_stats.local_day()
    totals = daily_stats.total(daily_stats.by_day(today, today), today)
    waiting, waiting_fen = waiting_totals()
    return (
        f"today: sales {yuan(totals.net_sales_fen)} in {totals.paid_orders} paid orders, "
        f"{totals.new_distributors} new distributors, commission "
        f"{yuan(totals.net_commission_fen)}; {waiting} withdrawals waiting ({yuan(waiting_fen)})"
    )

"""`flask reconcile`: check the money and referral invariants, list every discrepancy.

Each check is one aggregate query, so it runs on a large database without loading rows:
- every balance equals the sum of its ledger entries in that bucket;
- frozen and withdrawing are never negative, available only after a clawback (a debt);
- the frozen balance equals the net of the distributor's frozen commission records;
- commission on an order (and on an item) never exceeds what was paid for it;
- commission depth is 1 or 2;
- every referral path is consistent with its parent and holds no cycle;
- no paid order sits parked without commission after failed attributions;
- per order, what its paid payments took (across channels, less their refunds) equals what
  the order kept, and a paid payment the order did not take is refunded (or being refunded);
- prices and coupons add up (`reconcile_offers`);
- after-sales refunded what their refunds did, and no commission settled on a line while an
  after-sale on it was open (`reconcile_aftersales`);
- incentive campaigns kept within their budgets, and sales bonuses match their ledger
  entries (`reconcile_incentives`);
- flash sales: activity stock held by live orders plus what is left equals the activity
  stock, and each per-user counter equals the user's live units (`reconcile_flash`);
- group buys: activity stock held by members plus what is left equals the activity stock,
  every failed group's paid members refunded, no commission on an order of a group still
  forming or failed (`reconcile_group`).

Queries compare columns only with columns, numbers and bound values, never with strings the
database builds (CAST … AS CHAR takes the connection's collation, which a
utf8mb4_unicode_ci column refuses to compare with: "Illegal mix of collations").
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, literal, or_, select

from wxdist.core.extensions import db
from wxdist.models import (
    Commission,
    CommissionStatus,
    DistributorAccount,
    LedgerBucket,
    LedgerEntry,
    Order,
    OrderItem,
    Payment,
    PaymentStatus,
    Referral,
    Refund,
    RefundStatus,
)
from wxdist.reporting import (
    reconcile_aftersales,
    reconcile_flash,
    reconcile_group,
    reconcile_incentives,
    reconcile_offers,
    reconcile_reports,
)

LIMIT = 1000  # discrepancies listed per check

# `flask reconcile` exit codes (0: clean). Click uses 2 for a usage error.
EXIT_DISCREPANCIES = 1
EXIT_FAILED = 3  # a check could not run (database error, ...): nothing was judged


def _ledger_sums():  # type: ignore[no-untyped-def]
    def bucket_sum(bucket: str):  # type: ignore[no-untyped-def]
        return func.coalesce(
            func.sum(case((LedgerEntry.bucket == bucket, LedgerEntry.amount_fen), else_=0)), 0
        )

    return (
        select(
            LedgerEntry.user_id.label("user_id"),
            bucket_sum(LedgerBucket.FROZEN).label("frozen"),
            bucket_sum(LedgerBucket.AVAILABLE).label("available"),
            bucket_sum(LedgerBucket.WITHDRAWING).label("withdrawing"),
            func.sum(case((LedgerEntry.kind == "clawback", 1), else_=0)).label("clawbacks"),
        )
        .group_by(LedgerEntry.user_id)
        .subquery()
    )


def check_balances() -> list[str]:
    problems: list[str] = []
    sums = _ledger_sums()
    account = DistributorAccount
    rows = db.session.execute(
        select(
            account.user_id,
            account.frozen_fen,
            account.available_fen,
            account.withdrawing_fen,
            func.coalesce(sums.c.frozen, 0),
            func.coalesce(sums.c.available, 0),
            func.coalesce(sums.c.withdrawing, 0),
            func.coalesce(sums.c.clawbacks, 0),
        )
        .outerjoin(sums, sums.c.user_id == account.user_id)
        .where(
            or_(
                account.frozen_fen != func.coalesce(sums.c.frozen, 0),
                account.available_fen != func.coalesce(sums.c.available, 0),
                account.withdrawing_fen != func.coalesce(sums.c.withdrawing, 0),
                account.frozen_fen < 0,
                account.withdrawing_fen < 0,
                and_(account.available_fen < 0, func.coalesce(sums.c.clawbacks, 0) == 0),
            )
        )
        .limit(LIMIT)
    ).all()
    for user_id, frozen, available, withdrawing, l_frozen, l_avail, l_withdr, claws in rows:
        for name, balance, entries in (
            ("frozen", frozen, l_frozen),
            ("available", available, l_avail),
            ("withdrawing", withdrawing, l_withdr),
        ):
            if balance != entries:
                problems.append(f"user {user_id}: {name} {balance} != ledger {entries}")
        if frozen < 0 or withdrawing < 0:
            problems.append(f"user {user_id}: negative frozen/withdrawing ({frozen}/{withdrawing})")
        if available < 0 and not claws:
            problems.append(f"user {user_id}: available {available} < 0 without a clawback")
    orphans = db.session.scalars(
        select(sums.c.user_id)
        .outerjoin(account, account.user_id == sums.c.user_id)
        .where(account.user_id.is_(None))
        .limit(LIMIT)
    ).all()
    problems.extend(f"user {user_id}: ledger entries without an account" for user_id in orphans)
    return problems


def check_frozen_matches_commissions() -> list[str]:
    frozen = (
        select(
            Commission.beneficiary_id.label("user_id"),
            func.sum(Commission.amount_fen - Commission.clawed_fen).label("net"),
        )
        .where(Commission.status == CommissionStatus.FROZEN)
        .group_by(Commission.beneficiary_id)
        .subquery()
    )
    rows = db.session.execute(
        select(DistributorAccount.user_id, DistributorAccount.frozen_fen, frozen.c.net)
        .outerjoin(frozen, frozen.c.user_id == DistributorAccount.user_id)
        .where(DistributorAccount.frozen_fen != func.coalesce(frozen.c.net, 0))
        .limit(LIMIT)
    ).all()
    return [
        f"user {user_id}: frozen {balance} != frozen commission {net or 0}"
        for user_id, balance, net in rows
    ]


def check_commission_within_paid() -> list[str]:
    problems: list[str] = []
    per_order = db.session.execute(
        select(Order.id, Order.paid_fen, func.sum(Commission.amount_fen))
        .join(Commission, Commission.order_id == Order.id)
        .group_by(Order.id, Order.paid_fen)
        .having(func.sum(Commission.amount_fen) > Order.paid_fen)
        .limit(LIMIT)
    ).all()
    problems.extend(
        f"order {order_id}: commission {total} > paid {paid}" for order_id, paid, total in per_order
    )
    per_item = db.session.execute(
        select(OrderItem.id, OrderItem.paid_fen, func.sum(Commission.amount_fen))
        .join(Commission, Commission.order_item_id == OrderItem.id)
        .group_by(OrderItem.id, OrderItem.paid_fen)
        .having(func.sum(Commission.amount_fen) > OrderItem.paid_fen)
        .limit(LIMIT)
    ).all()
    problems.extend(
        f"order item {item_id}: commission {total} > paid {paid}"
        for item_id, paid, total in per_item
    )
    wrong = db.session.execute(
        select(Commission.id, Commission.level, Commission.clawed_fen, Commission.amount_fen)
        .where(
            or_(
                Commission.level.not_in((1, 2)),
                Commission.clawed_fen < 0,
                Commission.clawed_fen > Commission.amount_fen,
            )
        )
        .limit(LIMIT)
    ).all()
    problems.extend(
        f"commission {cid}: level {level}, clawed {clawed} of {amount}"
        for cid, level, clawed, amount in wrong
    )
    return problems


def check_referral_graph() -> list[str]:
    """Paths agree with parents and depths, and no user appears in their own ancestry."""
    # concat() of a number and bound strings is "coercible": the column's collation wins.
    own = literal("%/").concat(Referral.user_id).concat("/%")
    last = literal("%/").concat(Referral.parent_id).concat("/")
    rows = db.session.execute(
        select(Referral.user_id, Referral.parent_id, Referral.path, Referral.depth)
        .where(
            or_(
                Referral.path.like(own),
                and_(Referral.parent_id.is_not(None), Referral.path.not_like(last)),
                and_(Referral.parent_id.is_(None), Referral.path != "/"),
                Referral.depth
                != func.length(Referral.path)
                - func.length(func.replace(Referral.path, "/", ""))
                - 1,
            )
        )
        .limit(LIMIT)
    ).all()
    problems = []
    for user_id, parent_id, path, depth in rows:
        if f"/{user_id}/" in path:
            problems.append(f"user {user_id}: referral cycle, ancestry {path}")
        else:
            problems.append(
                f"user {user_id}: path {path} depth {depth} parent {parent_id} disagree"
            )
    return problems


def _refunds_of_payments(*statuses: str):  # type: ignore[no-untyped-def]
    """Per payment, the sum of its refunds in `statuses`."""
    return (
        select(Refund.payment_id.label("payment_id"), func.sum(Refund.amount_fen).label("fen"))
        .where(Refund.status.in_(statuses))
        .group_by(Refund.payment_id)
        .subquery()
    )


def _not_taken():  # type: ignore[no-untyped-def]
    """A paid payment its order did not take: not of the channel the order was paid by."""
    return or_(Order.pay_channel.is_(None), Payment.channel != Order.pay_channel)


def check_payments_kept() -> list[str]:
    """Per order: the paid payments' amounts less what was refunded on them (and, for a
    payment the order did not take, less what is being refunded) equal the order's paid
    less refunded. Money taken twice, or kept without a payment, shows here."""
    in_flight = _refunds_of_payments(RefundStatus.PROCESSING)
    net = Payment.amount_fen - Payment.refunded_fen
    taken = (
        select(
            Payment.order_id.label("order_id"),
            func.sum(
                case((_not_taken(), net - func.coalesce(in_flight.c.fen, 0)), else_=net)
            ).label("fen"),
        )
        .join(Order, Order.id == Payment.order_id)
        .outerjoin(in_flight, in_flight.c.payment_id == Payment.id)
        .where(Payment.status == PaymentStatus.PAID)
        .group_by(Payment.order_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Order.id, Order.paid_fen, Order.refunded_fen, func.coalesce(taken.c.fen, 0))
        .outerjoin(taken, taken.c.order_id == Order.id)
        .where(Order.paid_fen - Order.refunded_fen != func.coalesce(taken.c.fen, 0))
        .order_by(Order.id)
        .limit(LIMIT)
    ).all()
    return [
        f"order {order_id}: payments took {fen} net of refunds, the order kept "
        f"{paid - refunded} (paid {paid}, refunded {refunded})"
        for order_id, paid, refunded, fen in rows
    ]


def check_untaken_payments_refunded() -> list[str]:
    """Every paid payment its order did not take (a second channel, or a payment after
    the order ended) has refunds, done or in flight, for all of it."""
    refunded = _refunds_of_payments(RefundStatus.PROCESSING, RefundStatus.SUCCEEDED)
    rows = db.session.execute(
        select(
            Order.id,
            Payment.out_trade_no,
            Payment.channel,
            Payment.amount_fen,
            func.coalesce(refunded.c.fen, 0),
        )
        .join(Order, Order.id == Payment.order_id)
        .outerjoin(refunded, refunded.c.payment_id == Payment.id)
        .where(
            Payment.status == PaymentStatus.PAID,
            _not_taken(),
            func.coalesce(refunded.c.fen, 0) < Payment.amount_fen,
        )
        .order_by(Order.id, Payment.id)
        .limit(LIMIT)
    ).all()
    return [
        f"order {order_id}: payment {out_trade_no} ({channel}) took {amount} but the order "
        f"did not take it, and only {fen} is refunded or being refunded"
        for order_id, out_trade_no, channel, amount, fen in rows
    ]


def check_parked_attributions() -> list[str]:
    """Paid orders whose commission attribution failed so often that the drain parked them
    (wxdist.distribution.attribution_failures) and that are still without commission."""
    from wxdist.distribution.attribution_failures import parked

    return [
        f"order {order_id} ({order_no}): commission attribution parked after {attempts} "
        f"failed attempts, last: {error}"
        for order_id, order_no, attempts, error in parked()
    ]


def check_all() -> list[str]:
    """Every discrepancy found (empty when the books and the graph are sound)."""
    return [
        *check_balances(),
        *check_frozen_matches_commissions(),
        *check_commission_within_paid(),
        *check_referral_graph(),
        *check_payments_kept(),
        *check_untaken_payments_refunded(),
        *check_parked_attributions(),
        *reconcile_offers.check_all(),
        *reconcile_aftersales.check_all(),
        *reconcile_reports.check_all(),
        *reconcile_incentives.check_all(),
        *reconcile_flash.check_all(),
        *reconcile_group.check_all(),
    ]

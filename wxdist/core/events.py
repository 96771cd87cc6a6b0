"""Signals by which a lower layer makes a higher one react, without importing it.

Each signal says when it is sent and whether its receivers run inside the sender's
transaction:

- **inside**: the receiver's writes commit or roll back with the sender's change; a
  receiver that raises aborts the sender's operation (the sender rolls back). Receivers
  must not commit, roll back or call out to a gateway.
- **after commit**: the change is durable whatever the receiver does. Receivers should not
  raise (an exception reaches the sender's caller, the change stays) and must have their
  own recovery for what they could not do: a sweep or a retry.

Receivers are connected by each domain's `receivers.connect()`, which `create_app` calls
(never at import), and run in the order they were connected: lower domains first, so an
in-transaction reaction takes its row locks in the order the domain's own code does
(distribution's ledger rows before reporting's daily row, as attribution takes them).
A signal that the money flow relies on is sent with `send_required`, which refuses to run
with nobody listening rather than lose the reaction silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any, NamedTuple

from blinker import NamedSignal, Namespace


class _InsertionOrderedSet:
    """The little of `set` blinker uses, remembering insertion order (blinker's `set_class`
    hook), so receivers run in the order they were connected."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items: dict[Any, None] = dict.fromkeys(items)

    def add(self, item: Any) -> None:
        self._items[item] = None

    def discard(self, item: Any) -> None:
        self._items.pop(item, None)

    def copy(self) -> _InsertionOrderedSet:
        return _InsertionOrderedSet(self._items)

    def __or__(self, other: Iterable[Any]) -> _InsertionOrderedSet:
        return _InsertionOrderedSet([*self._items, *other])

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._items


class _OrderedSignal(NamedSignal):
    set_class = _InsertionOrderedSet  # type: ignore[assignment]


class _OrderedNamespace(Namespace):
    def signal(self, name: str, doc: str | None = None) -> NamedSignal:
        if name not in self:
            self[name] = _OrderedSignal(name, doc)
        return self[name]


signals = _OrderedNamespace()

user_joined = signals.signal(
    "user_joined",
    doc="""Inside the transaction creating user `user_id` (created at `created_at`), before
    its commit. Customers gives the shopper their customer row.""",
)

order_paid = signals.signal(
    "order_paid",
    doc="""After commit. An order was paid (`order_id`), or a gateway repeated the notify of
    a payment already recorded (`repeated=True`). Distribution queues the order's commission
    attribution.""",
)

order_paying = signals.signal(
    "order_paying",
    doc="""Inside the payment's transaction, the order row locked: order `order_id` (which
    used coupon `coupon_id`, or None, and which activity `held_by` holds, or None) is being
    marked paid (before `order_paid`). Marketing marks the coupon used, and a group buy
    counts its member's payment (a held order only: others cost no query).""",
)

order_ending = signals.signal(
    "order_ending",
    doc="""Inside the transaction that cancels or closes unpaid order `order_id` (its stock
    released in the same transaction). Marketing gives the order's coupon back.""",
)

order_reviving = signals.signal(
    "order_reviving",
    doc="""Inside the transaction of a late payment that revives cancelled or closed order
    `order_id` (its SKU stock taken again). A receiver takes back what it gave back when the
    order ended (a flash sale's activity stock and quota) and answers False when it cannot
    (having taken nothing): the SKU stock is then returned and the payment refunded.""",
)

refund_applying = signals.signal(
    "refund_applying",
    doc="""Inside the refund's transaction, with the order row locked. Refund `refund_id` of
    `refund_fen` succeeded on `order` (its items already carry their refunded share).
    Distribution claws back the commission; then reporting counts the refund (its report
    aggregates read the records distribution just clawed); integrations write the webhook.""",
)


orders_released = signals.signal(
    "orders_released",
    doc="""After commit. An activity released the hold on paid orders `order_ids` (a group
    buy whose group succeeded; `wxdist.shop.holds`). Distribution queues their commission
    attribution exactly as for a paid order (its attribution skipped them while held).""",
)


class AttributedOrder(NamedTuple):
    paid_at: datetime | None
    order_id: int
    paid_fen: int
    commission_fen: int
    user_id: int  # the buyer
    refunded_fen: int  # refunded before the attribution (its clawback is in the same batch)


orders_attributed = signals.signal(
    "orders_attributed",
    doc="""Inside the attribution's transaction. `orders`: an `AttributedOrder` for each order
    whose commission was just attributed. Reporting counts paid orders and commission.""",
)

commission_clawed = signals.signal(
    "commission_clawed",
    doc="""Inside the refund's transaction. `taken_fen` of commission on `order_id` was clawed
    back. Reporting counts it.""",
)

distributor_approving = signals.signal(
    "distributor_approving",
    doc="""Inside the approving transaction. `user_id` becomes a distributor. Reporting counts
    the new distributor.""",
)

distributor_approved = signals.signal(
    "distributor_approved",
    doc="""After commit. `user_id` is an approved distributor. Sharing draws their posters
    ahead.""",
)

referral_bound = signals.signal(
    "referral_bound",
    doc="""Inside the binding's transaction. `user_id` was bound to `referrer_id` through
    `share_code_id` (None for a plain scene or a binding staff made). Sharing counts the share
    code's binds; reporting counts a new team member of `referrer_id`.""",
)

product_shelved = signals.signal(
    "product_shelved",
    doc="""After commit. Product `product_id` went on shelf, or an on-shelf product's face (what
    a poster shows: title, lowest price, first picture) changed. Sharing draws its posters
    ahead.""",
)

stock_alerting = signals.signal(
    "stock_alerting",
    doc="""Inside the transaction of a stock check (`catalog.stock_alerts.check`), once per
    alert state a SKU for sale actually moved to: SKU `sku_id` of product `product_id` went
    from `previous` to `state` ("ok", "low" or "out") with `stock` left against its
    `threshold`. Integrations write `stock.low` (ok → low) or `stock.out`.""",
)

stock_alerted = signals.signal(
    "stock_alerted",
    doc="""After commit, sent by the caller of the stock check (`stock_alerts.announce`),
    with the same arguments as `stock_alerting`. Notifications tell the staff who opted in
    (low from ok, and out).""",
)

# Fulfilment, after-sales and the notices they and the money flow owe shoppers and
# distributors (issue 14). Senders: shop (shipments, after-sales), distribution
# (settlement), money (payouts); receivers: notifications, integrations.

order_shipped = signals.signal(
    "order_shipped",
    doc="""After commit. Shipment `shipment_id` of order `order_id` was recorded (one per
    package of a split delivery; `all_delivered` when it was the order's last). The shipping
    information upload and the shopper's shipping notice follow.""",
)

shipment_recording = signals.signal(
    "shipment_recording",
    doc="""Inside the shipment's transaction, before its commit. Shipment `shipment_id` of
    order `order_id` is recorded (`all_delivered` when it ships the order's last item).
    Integrations write the `order.shipped` webhook.""",
)

order_completing = signals.signal(
    "order_completing",
    doc="""Inside the transaction that moves order `order_id` shipped → completed (the
    shopper confirmed receipt, WeChat's settlement said so, or the confirmation period ran
    out), before its commit. Integrations write the `order.completed` webhook.""",
)

withdrawal_finishing = signals.signal(
    "withdrawal_finishing",
    doc="""Inside the transaction that ends withdrawal `withdrawal_id` of `user_id` `paid` or
    `failed` (`status`), before its commit. Integrations write `withdrawal.paid`.""",
)

aftersale_moving = signals.signal(
    "aftersale_moving",
    doc="""Inside the transaction that opens after-sale `aftersale_id` of user `user_id` or
    moves it to `status`, before its commit (`aftersale_changed` follows after it).
    Integrations write the `aftersale.changed` webhook.""",
)

aftersale_changed = signals.signal(
    "aftersale_changed",
    doc="""After commit. After-sale `aftersale_id` of user `user_id` moved to `status` (applied,
    agreed, refused, buyer_shipped, received, receipt_refused, refunding, refunded, closed,
    cancelled). The shopper is told the results (agreed, refused, receipt_refused, refunded,
    closed).""",
)

commission_settled = signals.signal(
    "commission_settled",
    doc="""After commit. Commissions of `beneficiary_id` totalling `amount_fen` on order
    `order_id` became available (settled). The distributor's notice follows.""",
)

withdrawal_finished = signals.signal(
    "withdrawal_finished",
    doc="""After commit. Withdrawal `withdrawal_id` of `user_id` ended `paid` or `failed`
    (`status`). The distributor's notice follows.""",
)

# Account deletion and data export (issue 15). Sender: accounts (deletion, export), the
# lowest domain; each domain that keeps a person's data answers for its own tables.


class DeletionBlocker(NamedTuple):
    """Why an account cannot be deleted yet: a stable `code` (withdrawal_open,
    aftersale_open, order_open, ...) and the message for the person, already translated."""

    code: str
    message: str


deletion_blockers = signals.signal(
    "deletion_blockers",
    doc="""Inside the deletion's transaction (and alone, when the person asks for a
    confirmation). `user_id` wants their account deleted: each receiver returns a list of
    `DeletionBlocker` for what it still holds open for them (empty when nothing). Receivers
    only read (they may lock the rows they read).""",
)

account_deleted = signals.signal(
    "account_deleted",
    doc="""Inside the deletion's transaction, nothing blocking it. `user_id` deleted their
    account: each domain anonymises its own personal data of that user (payout accounts,
    distributor profile, order addresses, consents) and keeps what the books need. The
    user's row still holds its old values (accounts empties it after the receivers).""",
)

export_sections = signals.signal(
    "export_sections",
    doc="""Read only, no transaction of its own. `user_id` asked for a copy of their data:
    each receiver returns a dict of sections ({name: JSON-able value}) of what its domain
    keeps about them.""",
)


_PRIVACY_HOOKS = (
    ("blockers", deletion_blockers),
    ("anonymise", account_deleted),
    ("export", export_sections),
)


@cache
def _by_user(hook: Callable[[int], Any]) -> Callable[..., Any]:
    """`hook(user_id)` as a receiver; one per hook, so connecting it again is a no-op."""

    def receiver(_sender: Any, *, user_id: int) -> Any:
        return hook(user_id)

    receiver.__name__ = receiver.__qualname__ = f"{hook.__module__}.{hook.__qualname__}"
    return receiver


def connect_privacy(privacy: ModuleType) -> None:
    """Connect a domain's privacy module: whichever of `blockers(user_id)` (to
    `deletion_blockers`), `anonymise(user_id)` (to `account_deleted`) and `export(user_id)`
    (to `export_sections`) it defines. Idempotent."""
    for name, signal in _PRIVACY_HOOKS:
        hook = getattr(privacy, name, None)
        if hook is not None:
            signal.connect(_by_user(hook), weak=False)


class NobodyListening(RuntimeError):
    """A signal the money flow relies on was sent with no receiver connected."""


def send_required(signal: NamedSignal, sender: Any, **kwargs: Any) -> list[tuple[Any, Any]]:
    """Send `signal` and insist someone received it (an app built without `create_app`'s
    receivers would otherwise drop commission or counters silently).

    Raises NobodyListening before anything is sent when no receiver is connected.
    """
    if not signal.receivers:
        raise NobodyListening(f"no receiver connected to {signal.name}")
    return signal.send(sender, **kwargs)

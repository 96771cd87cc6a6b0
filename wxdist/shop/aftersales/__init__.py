"""After-sales per order line: a shopper asks for a refund (仅退款) or a return and refund
(退货退款) of part of a line; staff agree or refuse, receive the return, and refund through
the existing refund path (`shop.refunds`); the after-sale is refunded only when the refund
settles (notify or query), which `shop.aftersale_refund.follow_refund` applies inside the refund's
transaction.

- `service`: apply, cancel, ship back (the shopper's), agree, refuse, receive, refuse
  receipt, start refund (staff's), each a compare-and-set with a log row;
- `rules`: the settings, what a line can still refund, the reasons;
- `sweep`: the timeouts (no answer -> agreed, no return shipped -> closed);
- `evidence`: pictures a shopper uploads as evidence.

Every move that changes a status sends `core.events.aftersale_changed` after commit. While
an after-sale is open on a line, settlement leaves the line's commission frozen
(`distribution.settlement` asks `rules.open_item_ids`).

May import: `catalog`, `accounts`, `core`, `models`, `payments`, and `shop` modules. This
`__init__` imports nothing.
"""

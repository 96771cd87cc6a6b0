"""Customers (客户管理): every shopper's figures for staff, staff-defined tags, staff notes,
the customer list and detail, and coupons issued to a filtered set.

May import: every domain package below reporting (marketing's coupon issuing, accounts'
blocking); only surfaces import it. Lower packages make it react through `core.events`.

**Figures.** `customer_stats` keeps one row per user, moved in the transaction of each change
(`stats`): created with the account (`user_joined`), its source distributor and channel
from the latest referral binding (`referral_bound`), orders, spend net of refunds and first
and last order (payment) time when a payment is attributed (`orders_attributed`) and when a
refund succeeds (`refund_applying`). An order counts once attributed; a wholly refunded one
leaves the order count, its refunds leave the spend. The migration backfills the row of every
existing user the same way; `stats.check()` compares the rows with the orders.

**Which index serves which filter** (`listing`; sort keys end with `user_id`, so pages are
keyset-paged on (sort value, user_id) whatever the filter, and the total is counted up to
`COUNT_CAP`, shown "10000+" beyond):

(`ix_customer_stats_` left out of the names below)

- no filter: sort newest `created`, last order `last_order`, spend `spend`;
- source distributor: `source_created`, `source_last_order`, `source_spend` (one per sort,
  the source as first column, so the page is an index range in sort order);
- spend range: `spend` (the range) when sorting by spend; otherwise the sort's index,
  the spend checked on the rows walked;
- last-order range: `last_order` (the range) when sorting by last order; otherwise the
  sort's index, the time checked on the rows walked;
- tag: `ix_user_tags_tag_user` gives the tag's members, then the stats rows by primary key.

A source filter with a range adds the range on the matching source index (its second column
for the sort of the same name). A tag is the narrowest filter in practice: its members are
read from `ix_user_tags_tag_user` and sorted (the list caps the members it sorts at
`COUNT_CAP` past the page).
"""

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
- tag: `user_tags` keeps copies of each tagged customer's sort keys (creation time, spend,
  last order; moved with the figures in the same transaction), so a tag and its sort are
  one range of `ix_user_tags_tag_created`, `ix_user_tags_tag_last_order` or
  `ix_user_tags_tag_spend`, the stats rows then read by primary key; a spend or last-order
  range with a tag is checked on the tag's copies (a range of the index of the same name
  when it is also the sort); a source with a tag is checked on the stats rows.

A source with a spend or last-order range walks the source index of the sort, the range
checked on its rows (a source has few customers). `stats.check()` (run by `flask reconcile`)
also compares the tags' copies with the figures.
"""

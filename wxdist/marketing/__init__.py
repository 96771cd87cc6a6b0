"""Marketing: coupon templates and coupons, limited-time discounts, full reductions.

The shop prices orders through one pipeline (`shop.pricing`); marketing supplies the
offers in force and the shopper's coupons by registering an `OfferSource`
(`shop.offers`), and follows each order's coupon through the shop's signals (locked when
placed, used when paid, back when the unpaid order ends, by policy on a full refund).

May import: `shop`, `catalog`, `accounts`, `core`, `models`.
"""

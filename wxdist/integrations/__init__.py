"""Integrations with the merchant's other systems (ERP, warehouse): outbound webhooks
(Standard Webhooks: an outbox written in the transaction of each change, delivered by a
drain job with retries over about three days) and, later, the open API for ERPs.

May import the domains below it (money, sharing, distribution, marketing, shop, catalog,
accounts, core); reacts to them only through `core.events` signals.
"""

"""Buying: the cart, orders, their payment through a channel, refunds, shipping and receipt.
What differs between payment channels lives in `channels` (one `PayChannel` each,
registered by name); nothing else branches on a channel's name.

May import: `catalog`, `accounts`, `core`, `models`, `payments`. It tells the distribution
programme about paid orders and refunds through `core.events`, never by import.
"""

"""Buying: orders, their payment through a channel, refunds, shipping and receipt.

May import: `catalog`, `accounts`, `core`, `models`, `payments`. It tells the distribution
programme about paid orders and refunds through `core.events`, never by import.
"""

"""Who uses the store: shoppers (WeChat login, tokens) and the merchant's staff accounts.

May import: `core`, `models`, `payments`.
"""

"""Accounts: shoppers (WeChat login, tokens, phone number, deletion and the export of their
data: `phone`, `deletion`, `export`), the merchant's staff and their audit log, and
the ledger: each distributor's balance account, written only by `accounts.ledger`, which
every domain that moves a distributor's money posts to (commission, withdrawals, rewards).

May import: `core`, `models`, `payments`.
"""

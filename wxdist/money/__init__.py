"""Paying distributors: withdrawals, their review, the account vault, payouts on their rails
and the payout cycle. (The ledger itself is in `core`: every domain posts to it.)

May import: `distribution` and everything below it. Not `sharing`.
"""

"""Paying distributors: withdrawals, their review, the account vault, payouts on their rails
and the payout cycle. Balances move only through `accounts.ledger`.

May import: `distribution` and everything below it. Not `sharing`.
"""

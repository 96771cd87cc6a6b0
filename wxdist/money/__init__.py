"""Paying distributors: withdrawals, their review, the account vault, payouts on their rails
and the payout cycle. Balances move only through `accounts.ledger`. What differs between
payout methods lives in `rails` (one `PayoutRail` each, registered by name).

May import: `distribution` and everything below it. Not `sharing`.
"""

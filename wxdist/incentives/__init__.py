"""Incentive campaigns (激励机制): commission rate boosts with a budget, tiered sales bonuses
paid once per distributor and period, and each campaign's leaderboard.

Owns `campaigns` (create, edit, stop, read), `boosts` (the rate a campaign sets in
attribution and the reservation of its budget), `bonuses` (net sales and the periodic
payout) and `leaderboard`.

May import: shop, catalog, accounts, core, models. `distribution` imports `boosts` while it
attributes; `distribution`'s settings reach `bonuses` as arguments from the job.
"""

"""The distribution programme: its settings, distributors and their levels, referral
binding, commission attribution, settlement and clawback, the distributor centre.

May import: `shop`, `catalog`, `accounts`, `core`, `models`, `payments`.
"""

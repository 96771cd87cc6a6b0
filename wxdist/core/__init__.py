"""Infrastructure every domain stands on: extensions, errors, SQL helpers and locks, ids,
money arithmetic, the clock, the ledger (the one writer of balances), Redis and job
plumbing, gateway and media registries, events (signals) and the staff audit log.

May import: `models`, `payments`, `config`. Nothing in `wxdist` above it.
"""

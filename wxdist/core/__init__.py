"""Infrastructure every domain stands on: extensions, errors, SQL helpers and locks, ids,
money arithmetic, the clock, Redis and job plumbing, gateway and media registries, and
events (signals).

May import: `payments`, `config`. Not `models` (models stand on `core.extensions`), nothing
of `wxdist` above it.
"""

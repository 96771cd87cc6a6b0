"""Group buys (拼团): activities with a time window, SKUs with a group price and an
activity stock of their own, a group size and a time limit to fill a group.

A leader opens a group by placing an activity order of the shop (`shop.activity_orders`,
one unit at the group price); the group opens when that order is paid. Members join by
placing and paying an activity order through the group; a seat is taken by a conditional
UPDATE in the order's transaction (`service`) and given back when an unpaid member order
ends (`receivers`). Every group order is held by the shop's activity hold (`shop.holds`):
not shipped, not attributed, until its group succeeds (`progress`); a group not full at
its deadline fails and every paid member is refunded in full (`failures`).

May import: `shop`, `catalog`, `accounts`, `core`, `models`.
"""

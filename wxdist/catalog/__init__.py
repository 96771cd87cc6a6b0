"""Products, SKUs, stock and categories: the shopper's view and the staff's edits.

May import: `accounts`, `core`, `models`, `payments`.
"""

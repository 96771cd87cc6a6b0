"""How distributors bring shoppers: scenes, share codes and links, mini-program codes and
posters, and a shopper's arrival through one of them.

May import: `distribution` and everything below it. Not `money`.
"""

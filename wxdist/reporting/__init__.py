"""What the merchant reads: daily aggregates (kept by receivers of `core.events`) and the
reconcile checks.

May import: every domain package. Only surfaces import it.
"""

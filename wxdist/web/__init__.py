"""Surface: HTTP endpoints that are not the mini-program API or the panel: gateway notifies
and media files.

May import: any domain package.
"""

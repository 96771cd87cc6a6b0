"""What the panel's pages read: one module per page, named functions returning rows,
objects or a `Page`. Views call these (reads) or the domain services (writes) and never
touch the session themselves. Nothing here writes or commits."""

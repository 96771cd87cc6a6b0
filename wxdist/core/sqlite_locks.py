"""SELECT … FOR UPDATE on SQLite: take the database's write lock instead of no lock.

SQLite has no row locks and its dialect drops FOR UPDATE, so two transactions can read the
same row "locked", both decide on it, and both write (two channels paid at once kept both
payments; two attributions of one order counted its sale twice). On a SQLite engine,
`install` makes every SELECT … FOR UPDATE first run a no-op UPDATE of its table
(`WHERE 0`), which takes SQLite's one write lock at once; every other writer then waits
(the busy timeout) until this transaction ends, so what the locking read returns stays
true until commit, as a row lock guarantees on MySQL. Statements that already serialise
themselves (compare-and-set updates) are unaffected. Code that must hold the lock before a
plain read (a lookup that decides which rows to lock) calls `sql.serialise_writers`, which
takes it the same way (`take_write_lock`).

A transaction that read before its locking read may meet SQLITE_BUSY when it upgrades
(another writer committed since its snapshot); that is raised like any database error and
the caller's transaction is rolled back, never half-written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, event, false, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.selectable import Join


def _first_table(statement: Select[Any]) -> Table | None:
    for source in statement.get_final_froms():
        while isinstance(source, Join):
            source = source.left
        if isinstance(source, Table):
            return source
    return None


def take_write_lock(conn: Connection, table: Table) -> None:
    """Take SQLite's write lock for `conn`'s transaction: a no-op UPDATE of `table` (which
    must have a primary key) that matches no row still takes the lock at once."""
    key = next(iter(table.primary_key.columns))
    conn.execute(update(table).where(false()).values({key.name: key}))


def _lock_before_locking_read(conn: Connection, clauseelement: Any, *_: Any, **__: Any) -> None:
    if not isinstance(clauseelement, Select) or clauseelement._for_update_arg is None:
        return
    table = _first_table(clauseelement)
    if table is not None and table.primary_key.columns:
        take_write_lock(conn, table)


def install(engine: Engine) -> None:
    """On a SQLite engine, make SELECT … FOR UPDATE serialise writers (module docstring);
    nothing on any other database."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "before_execute", _lock_before_locking_read)

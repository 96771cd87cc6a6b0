"""Small SQL helpers that differ between MySQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from wxdist.core.extensions import db


def insert_ignore(table: Table, **values: Any) -> None:
    """INSERT a row unless its key exists (INSERT IGNORE / ON CONFLICT DO NOTHING)."""
    if db.engine.dialect.name == "mysql":
        statement = mysql_insert(table).values(**values).prefix_with("IGNORE")
    else:
        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    db.session.execute(statement)


MYSQL_RETRYABLE = (1213, 1205)  # deadlock victim, lock wait timeout


def is_deadlock(exc: OperationalError) -> bool:
    """True when MySQL rolled the statement back as a deadlock victim or lock-wait timeout
    (safe to retry the whole transaction)."""
    code = getattr(exc.orig, "args", (None,))[0]
    return code in MYSQL_RETRYABLE


def serialise_writers(table: Table) -> None:
    """Make the session's transaction the database's only writer from now on, where the
    database has no row locks: call it before a plain read that decides which rows to lock.

    A SELECT … FOR UPDATE needs no call: on SQLite it takes the write lock itself
    (wxdist.core.sqlite_locks). Every other writer then waits (busy timeout) until this
    transaction ends. On MySQL/MariaDB it does nothing: the caller's SELECT … FOR UPDATE
    locks the rows.
    """
    if db.engine.dialect.name == "sqlite":
        from wxdist.core.sqlite_locks import take_write_lock

        take_write_lock(db.session.connection(), table)

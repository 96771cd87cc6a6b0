"""Returning a connection to the pool without a needless ROLLBACK.

SQLAlchemy's pool rolls back every connection it gets back ("reset on return"), even one
whose transaction SQLAlchemy has just committed: one more round trip per request. The
scheme here keeps the pool's reset but skips it when SQLAlchemy itself ended the
connection's last transaction with a successful COMMIT or ROLLBACK and nothing ran since:

- a transaction beginning (every statement through SQLAlchemy begins one) marks the
  connection dirty; a COMMIT or ROLLBACK marks it clean, and a failing one dirty again
  (`handle_error` runs before the exception leaves SQLAlchemy);
- checkout marks it dirty, so a connection is never trusted across owners;
- on return, a dirty connection is rolled back as before (SQLAlchemy's own rollback of an
  open transaction on close also counts as clean).

The DBAPI connection's own status cannot serve: MariaDB reports no transaction after a
plain SELECT (whose snapshot is open) or after a failed first statement (whose locks are
held). Code that drives the raw DBAPI connection (`engine.raw_connection()`) must end its
transaction itself.

The engine must be built with `pool_reset_on_return=None` (the pool's own reset off) and
this installed on it before first use; `install` refuses an engine whose pool still resets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.pool import PoolResetState
from sqlalchemy.pool.base import reset_none

CLEAN = "wxdist_transaction_ended"

# create_engine / SQLALCHEMY_ENGINE_OPTIONS keyword that goes with `install`.
ENGINE_OPTIONS: dict[str, Any] = {"pool_reset_on_return": None}


def _dirty(conn: Connection, *_: Any) -> None:
    conn.info.pop(CLEAN, None)


def _clean(conn: Connection) -> None:
    conn.info[CLEAN] = True


def _on_error(context: ExceptionContext) -> None:
    conn = context.connection
    if conn is not None and not conn.closed and not conn.invalidated:
        conn.info.pop(CLEAN, None)


def _on_checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
    record.info.pop(CLEAN, None)


def _on_reset(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
    """Roll back unless SQLAlchemy ended the transaction; RuntimeErrors here invalidate."""
    clean = record is not None and record.info.pop(CLEAN, False)
    if state.terminate_only or state.transaction_was_reset or clean:
        return
    dbapi_connection.rollback()


def install(engine: Engine) -> None:
    """Put the scheme on `engine`. Raises RuntimeError if its pool still resets on return
    (the engine was not built with ENGINE_OPTIONS)."""
    if engine.pool._reset_on_return is not reset_none:  # no public accessor
        raise RuntimeError("build the engine with pool_reset_on_return=None")
    if event.contains(engine, "reset", _on_reset):
        return
    event.listen(engine, "begin", _dirty)
    event.listen(engine, "commit", _clean)
    event.listen(engine, "rollback", _clean)
    event.listen(engine, "handle_error", _on_error)
    event.listen(engine, "checkout", _on_checkout)
    event.listen(engine, "reset", _on_reset)

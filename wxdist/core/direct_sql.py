"""Hot-path statements run on the DBAPI cursor of the connection the session holds.

SQLAlchemy's work around each statement it executes (the compiled-cache lookup, the
execution context, parameter processing, the result object) costs about as much CPU as
PyMySQL's own for the small statements of placing an order: a cart checkout's read and four
writes spend ~0.45 ms less of the request's ~2.4 ms of CPU this way (measured by
interleaving both paths on MariaDB; bench/profile_flow.py --cart profiles the whole
request). `execute` and `rows` are for those few statements only; everything else goes
through SQLAlchemy as usual.

What stays SQLAlchemy's: the SQL (each statement is compiled by SQLAlchemy once per dialect
and set of parameter names, so MariaDB and SQLite each get their own), the parameters'
order, their types' bind processors and the result columns' result processors (public
`TypeEngine.bind_processor` / `result_processor`), the columns' Python-side defaults and
onupdates (`updated_at`; a callable one gets no execution context), rows as `Row`s (named,
`_mapping`), the connection and its transaction (the session's, begun by SQLAlchemy, so
the pool's reset bookkeeping in `wxdist.core.pool_reset` holds), the
`before_cursor_execute` and `after_cursor_execute` events (fired when something listens,
with no execution context), and the errors: a DBAPI error is raised as SQLAlchemy's
(`IntegrityError`, `OperationalError`, … with `.orig`), and a disconnect invalidates the
connection first.

What is not: `execute` hands back RETURNING values raw (no result processing: return plain
integers only), the `before_execute` event is not fired (nothing here may be a locking
read: see `wxdist.core.sqlite_locks`), and expanding IN parameters are refused with
ValueError (build one statement per count instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from wxdist.core.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a direct statement did: rows matched, the last inserted id, RETURNING rows."""

    rowcount: int
    lastrowid: int | None
    returned: Sequence[tuple[Any, ...]]


@dataclass(frozen=True)
class _Plan:
    compiled: Any  # SQLAlchemy's compiled statement
    positional: tuple[str, ...] | None  # parameter order for qmark/format drivers
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    defaults: tuple[tuple[str, Any], ...]  # Python-side column defaults and onupdates
    row: Callable[[Sequence[Any]], Row[Any]] | None  # a SELECT's Row maker
    columns: tuple[Callable[[Any], Any] | None, ...]  # a SELECT's result processors


@lru_cache(maxsize=512)
def _plan(statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> _Plan:
    """`statement` compiled for `dialect` with the parameters `names` (an INSERT without
    values writes those columns). Raises ValueError for an expanding parameter."""
    compiled = statement.compile(dialect=dialect, column_keys=list(names))  # type: ignore[attr-defined]
    processors = []
    for bind, name in compiled.bind_names.items():  # names as rendered (anonymous ones too)
        if bind.expanding:
            raise ValueError(f"direct_sql cannot expand the IN parameter {name!r}")
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((compiled.escaped_bind_names.get(name, name), processor))
    positional = tuple(compiled.positiontup) if compiled.positional else None
    prefetched = [*compiled.insert_prefetch, *compiled.update_prefetch]
    defaults = tuple(
        (c.key, c.default if c in compiled.insert_prefetch else c.onupdate) for c in prefetched
    )
    if not isinstance(statement, Select):
        return _Plan(compiled, positional, tuple(processors), defaults, None, ())
    selected = list(statement.selected_columns)
    columns = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected)
    row = result_tuple([c.key for c in selected])
    return _Plan(compiled, positional, tuple(processors), defaults, row, columns)


def _default_value(default: Any) -> Any:
    """A Python-side column default's value as SQLAlchemy computes it before executing (a
    callable gets no execution context: ours take none)."""
    return default.arg(None) if default.is_callable else default.arg


def execute(statement: Executable, params: Mapping[str, Any]) -> Outcome:
    """Run `statement` with `params` in the session's transaction (begun if need be), on
    the DBAPI cursor. Raises SQLAlchemy's DBAPIError subclasses as `Connection.execute`
    would, ValueError for a statement with an expanding parameter, and SQLAlchemy's
    InvalidRequestError when a parameter is missing."""
    return _run(statement, params, lambda cursor, _plan: _outcome(cursor))


def rows(statement: Select[Any], params: Mapping[str, Any]) -> list[Row[Any]]:
    """The rows of `statement` as `Connection.execute(...).all()` gives them (each column
    through its type's result processor). Raises what `execute` raises."""
    return _run(statement, params, _rows)


def _outcome(cursor: Any) -> Outcome:
    returned = cursor.fetchall() if cursor.description is not None else ()
    return Outcome(cursor.rowcount, cursor.lastrowid, returned)


def _rows(cursor: Any, plan: _Plan) -> list[Row[Any]]:
    make, columns = plan.row, plan.columns
    assert make is not None
    if not any(columns):
        return [make(raw) for raw in cursor.fetchall()]
    return [
        make([value if fn is None else fn(value) for fn, value in zip(columns, raw, strict=True)])
        for raw in cursor.fetchall()
    ]


def _run(statement: Executable, params: Mapping[str, Any], read: Callable[[Any, _Plan], T]) -> T:
    conn = db.session.connection()
    dialect = conn.dialect
    plan = _plan(statement, dialect, tuple(params))
    if plan.defaults:
        params = {
            **{key: _default_value(d) for key, d in plan.defaults if key not in params},
            **params,
        }
    values = plan.compiled.construct_params(params)  # literal binds' defaults, checked
    for name, processor in plan.processors:
        values[name] = processor(values[name])
    args: Any = values if plan.positional is None else tuple(values[n] for n in plan.positional)
    sql: str = plan.compiled.string
    dbapi_connection = conn.connection.dbapi_connection
    cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
    dispatch = conn.dispatch
    try:
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(conn, cursor, sql, args, None, False)
        cursor.execute(sql, args)
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(conn, cursor, sql, args, None, False)
        return read(cursor, plan)
    except dialect.loaded_dbapi.Error as exc:
        invalidated = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            args,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=dialect,
        ) from exc
    finally:
        cursor.close()

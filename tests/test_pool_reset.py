"""The pool's reset on return (wxdist.core.pool_reset): no ROLLBACK after SQLAlchemy committed,
one whenever the transaction may still be open. Counted at the DBAPI connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from wxdist.core import pool_reset
from wxdist.models import Category


class CountingConnection:
    """A DBAPI connection that counts rollbacks and can fail its next commit."""

    def __init__(self, conn: Any, error: type[Exception]) -> None:
        self._conn = conn
        self._error = error
        self.rollbacks = 0
        self.fail_next_commit = False

    def rollback(self) -> None:
        self.rollbacks += 1
        self._conn.rollback()

    def commit(self) -> None:
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise self._error("injected commit failure")
        self._conn.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.fixture()
def counted(app: Flask) -> Iterator[tuple[Engine, list[CountingConnection]]]:
    """An engine on the test database with one pooled connection, its rollbacks counted."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    made: list[CountingConnection] = []
    plain = create_engine(url)
    dialect = plain.dialect
    cargs, cparams = dialect.create_connect_args(plain.url)

    def creator() -> CountingConnection:
        raw = dialect.connect(*cargs, **cparams)
        made.append(CountingConnection(raw, dialect.loaded_dbapi.OperationalError))
        return made[-1]

    options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0} if "mysql" in url else {}
    engine = create_engine(url, creator=creator, **options, **pool_reset.ENGINE_OPTIONS)
    pool_reset.install(engine)
    with engine.connect() as conn:  # connect (the dialect's first connect rolls back)
        conn.execute(text("SELECT 1"))
    for conn in made:
        conn.rollbacks = 0
    yield engine, made
    engine.dispose()
    plain.dispose()


def test_no_rollback_after_a_commit(counted: tuple[Engine, list[CountingConnection]]) -> None:
    engine, made = counted
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        conn.commit()
    with Session(engine) as session:
        session.add(Category(name="pool-reset"))
        session.commit()
        session.query(Category).delete()
        session.commit()
    assert sum(c.rollbacks for c in made) == 0


def test_rollback_whenever_the_transaction_may_be_open(
    counted: tuple[Engine, list[CountingConnection]],
) -> None:
    engine, made = counted
    with engine.connect() as conn:  # a read left open (its snapshot would leak)
        conn.execute(text("SELECT 1"))
    assert sum(c.rollbacks for c in made) == 1
    with engine.connect() as conn:  # a statement after the commit
        conn.execute(text("SELECT 1"))
        conn.commit()
        conn.execute(text("SELECT 1"))
    assert sum(c.rollbacks for c in made) == 2
    raw = engine.raw_connection()  # the DBAPI connection driven directly
    raw.cursor().execute("SELECT 1")
    raw.close()
    assert sum(c.rollbacks for c in made) == 3


def test_a_failed_commit_is_not_taken_for_a_clean_end(
    counted: tuple[Engine, list[CountingConnection]],
) -> None:
    engine, made = counted
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        made[-1].fail_next_commit = True
        with pytest.raises(OperationalError):
            conn.commit()
        # Marked for the pool's rollback should SQLAlchemy not roll back itself.
        assert pool_reset.CLEAN not in conn.info


def test_an_engine_whose_pool_still_resets_is_refused(app: Flask) -> None:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with pytest.raises(RuntimeError):
        pool_reset.install(engine)
    engine.dispose()

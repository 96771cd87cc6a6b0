"""Small SQL helpers that differ between MySQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from wxdist.extensions import db


def insert_ignore(table: Table, **values: Any) -> None:
    """INSERT a row unless its key exists (INSERT IGNORE / ON CONFLICT DO NOTHING)."""
    if db.engine.dialect.name == "mysql":
        statement = mysql_insert(table).values(**values).prefix_with("IGNORE")
    else:
        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    db.session.execute(statement)

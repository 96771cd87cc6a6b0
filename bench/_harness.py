"""Shared pieces of the benchmarks: a throwaway MariaDB database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pymysql


@dataclass(frozen=True)
class Database:
    """A database created for one bench run and dropped after it."""

    server_url: str  # mysql+pymysql://user@host:port
    name: str

    @property
    def url(self) -> str:
        return f"{self.server_url}/{self.name}?charset=utf8mb4"

    def _server(self) -> dict[str, Any]:
        from sqlalchemy import make_url

        url = make_url(self.server_url)
        return {
            "host": url.host or "127.0.0.1",
            "port": url.port or 3306,
            "user": url.username or "root",
            "password": url.password or "",
        }

    def connect(self, use_db: bool = True) -> pymysql.connections.Connection:  # type: ignore[type-arg]
        return pymysql.connect(
            **self._server(),
            database=self.name if use_db else None,
            autocommit=True,
            charset="utf8mb4",
        )

    @contextmanager
    def cursor(self, use_db: bool = True) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor on a connection of its own (autocommit), closed afterwards."""
        conn = self.connect(use_db)
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    def create(self) -> None:
        with self.cursor(use_db=False) as cur:
            cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")

    def drop(self) -> None:
        with self.cursor(use_db=False) as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self.cursor() as cur:
            cur.execute(sql, args)
            row = cur.fetchone()
            return None if row is None else row[0]

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def has_column(self, table: str, column: str) -> bool:
        return bool(
            self.scalar(
                "SELECT COUNT(*) FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s AND column_name = %s",
                (self.name, table, column),
            )
        )

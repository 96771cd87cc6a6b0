"""Shared pieces of the benchmarks: a throwaway MariaDB database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymysql


@dataclass
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
            **self._server(), database=self.name if use_db else None, autocommit=True
        )

    def create(self) -> None:
        conn = self.connect(use_db=False)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        conn.close()

    def drop(self) -> None:
        conn = self.connect(use_db=False)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        conn.close()

"""Shared pieces of the benchmarks: a throwaway MariaDB database, the processes a bench
starts, and CPU accounting read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import requests

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A process this script started, in its own process group (stopped by its id only)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_service(name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> Service:
    """Start `cmd` from the project root in a new session, its output in workdir/name.log."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, proc, log_path)


def wait_http(service: Service, url: str, timeout: float = 30.0) -> None:
    """Wait until `url` answers 200. Raises RuntimeError if the service exits or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not answer {url} in {timeout:.0f} s")


# --------------------------------------------------------------------------- CPU accounting


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (field 3 onwards), or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime (and, with `children`, of its reaped children: RQ's work-horses)."""
    fields = stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def process_tree(root: int) -> list[int]:
    """`root` and every living descendant."""
    parents = {}
    for pid in _all_pids():
        fields = stat_fields(pid)
        if fields is not None:
            parents[pid] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def pids_named(*names: str) -> list[int]:
    found = []
    for pid in _all_pids():
        with suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() in names:
                found.append(pid)
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts) - idle) / CLK_TCK, sum(parts) / CLK_TCK

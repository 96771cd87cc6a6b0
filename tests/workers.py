"""Real RQ worker processes for crash tests: started against the test session's database,
Redis and emulator, and SIGKILLed with their work-horses, as an OOM kill or a lost machine
would (tests/test_payout_crash.py, tests/test_webhook_delivery.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from flask import Flask

from payments.emulator import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
RQ = Path(sys.executable).parent / "rq"


def worker_env(app: Flask, emulator: EmulatorServer) -> dict[str, str]:
    """The worker builds its own app from the environment (jobs.app_context → create_app):
    point it at this session's database, Redis database and emulator."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        EMULATOR_URL=emulator.url,
        WXDIST_ENV="test",
        GATEWAY_TIMEOUT_SECONDS=str(app.config["GATEWAY_TIMEOUT_SECONDS"]),
        PYTHONPATH=str(ROOT),
        FLASK_APP="wsgi.py",
    )
    return env


def start_worker(
    env: dict[str, str], log: Path, *extra: str, queue: str = "payouts"
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(RQ), "worker", queue, "--url", env["REDIS_URL"], *extra],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed by its id
        )


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError):
                raw = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def alive(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw[raw.rindex(")") + 2] != "Z"


def kill_worker(proc: subprocess.Popen[bytes]) -> int:
    """SIGKILL the worker's process group and its work-horse's: RQ's forking worker puts the
    horse in a process group of its own (os.setpgrp), so killing the worker's group alone
    would leave the horse paying on. Returns how many horses were killed."""
    horses = descendants(proc.pid)
    own_group = os.getpgrp()
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in horses:
        with suppress(ProcessLookupError):
            group = os.getpgid(pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in horses):
        assert time.monotonic() < deadline, "the work-horse survived SIGKILL"
        time.sleep(0.05)
    return len(horses)


@pytest.fixture()
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes the test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            kill_worker(proc)

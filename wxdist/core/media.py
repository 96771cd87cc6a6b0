"""Stored media (mini-program codes, posters, QR images, fetched pictures) and the locks
that make "fetch or draw once" hold across processes.

`MediaStorage` is the one interface; `LocalDirStorage` keeps files under `MEDIA_DIR`
(`instance/media` by default). Another backend (object storage, say) implements the same
four methods and is installed with `set_storage(app, storage)`. Keys are relative paths
such as `wxacode/3f/3f9c….png`; writes are atomic (a reader sees all of a file or none).

`key_lock(key)` serialises work on one key: a Redis lock (SET NX with expiry) when
`REDIS_URL` is set, so every web process and worker shares it; else (and while Redis is
unreachable) an exclusive `flock` on a file under `MEDIA_DIR/.locks`, which holds between
threads and processes of one host.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from flask import Flask, current_app

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,200}$")
LOCK_SECONDS = 60  # a holder that died frees the key after this
REMOTE_MAX_BYTES = 5 * 1024 * 1024
REMOTE_RETRY_SECONDS = 60  # a failed fetch of a picture is not retried sooner
MEDIA_URL_PREFIX = "/media/"


def check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key or "//" in key:
        raise ValueError(f"bad media key {key!r}")
    return key


class MediaStorage(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


class LocalDirStorage:
    """Files under one directory; `put` writes a temporary file and renames it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()


def set_storage(app: Flask, storage: MediaStorage) -> None:
    app.extensions["wxdist_media_storage"] = storage


def storage() -> MediaStorage:
    """The app's storage: the one installed by `set_storage`, else MEDIA_DIR on disk."""
    installed = current_app.extensions.get("wxdist_media_storage")
    if installed is not None:
        return installed  # type: ignore[no-any-return]
    return LocalDirStorage(current_app.config["MEDIA_DIR"])


def hashed_key(folder: str, material: str, ext: str) -> str:
    """`folder/ab/abcdef….ext` from a digest of `material` (fans out the directory)."""
    digest = hashlib.sha256(material.encode()).hexdigest()[:40]
    return f"{folder}/{digest[:2]}/{digest}.{ext}"


@contextlib.contextmanager
def key_lock(key: str, wait_seconds: float = 30.0) -> Iterator[bool]:
    """Hold the lock of `key`; yields False if it could not be had within `wait_seconds`
    (the caller decides: re-check, then do the work anyway or give up)."""
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        from wxdist.core.redis_conn import UNAVAILABLE, redis_client

        lock = redis_client(redis_url).lock(
            f"wxdist:lock:{key}", timeout=LOCK_SECONDS, blocking_timeout=wait_seconds
        )
        try:
            acquired = bool(lock.acquire())
        except UNAVAILABLE as exc:  # policy (wxdist.core.redis_conn): this host's file lock
            log.warning("Redis unreachable (%s): file lock for %s", exc, key)
        else:
            try:
                yield acquired
            finally:
                if acquired:
                    with contextlib.suppress(Exception):  # expired meanwhile: nothing to free
                        lock.release()
            return
    locks = Path(current_app.config["MEDIA_DIR"]) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    with open(locks / f"{name}.lock", "a+b") as fh:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---- pictures named by URL (product images, avatars) ----------------------------------

_failed: dict[str, float] = {}
_failed_lock = threading.Lock()


@dataclass(frozen=True)
class Picture:
    data: bytes | None
    retry: bool = False  # a fetch failed for now: do not cache what is drawn without it


def load_picture(url: str) -> Picture:
    """The bytes of a picture named by URL (`data` None if there is none to be had).

    `/media/<key>` reads the storage. An http(s) URL is fetched once (when
    MEDIA_FETCH_REMOTE is on) and kept in the storage under a digest of the URL; a failed
    fetch answers `retry=True` and is not tried again for a minute. Anything else (empty,
    or a URL this app cannot read) is no picture.
    """
    url = (url or "").strip()
    if not url:
        return Picture(None)
    store = storage()
    if url.startswith(MEDIA_URL_PREFIX):
        try:
            return Picture(store.get(url[len(MEDIA_URL_PREFIX) :]))
        except ValueError:
            return Picture(None)
    if not url.startswith(("http://", "https://")) or not current_app.config["MEDIA_FETCH_REMOTE"]:
        return Picture(None)
    key = hashed_key("remote", url, "bin")
    data = store.get(key)
    if data is not None:
        return Picture(data)
    with _failed_lock:
        if _failed.get(url, 0.0) > time.monotonic():
            return Picture(None, retry=True)
    try:
        with requests.get(
            url, timeout=float(current_app.config["GATEWAY_TIMEOUT_SECONDS"]), stream=True
        ) as res:
            res.raise_for_status()
            data = res.raw.read(REMOTE_MAX_BYTES + 1, decode_content=True)
        if len(data) > REMOTE_MAX_BYTES:
            raise ValueError("picture too large")
    except (requests.RequestException, ValueError) as exc:
        log.warning("could not fetch picture %s: %s", url, exc)
        with _failed_lock:
            _failed[url] = time.monotonic() + REMOTE_RETRY_SECONDS
        return Picture(None, retry=True)
    store.put(key, data)
    return Picture(data)

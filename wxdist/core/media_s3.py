"""`S3Storage`: the `MediaStorage` of a bucket on any S3 API server (Tencent COS, Aliyun
OSS, MinIO, AWS), chosen by `MEDIA_STORAGE_URL` (config/media_storage.py), so every web
process and worker of every host reads what any of them wrote.

A put is one PutObject: a reader sees all of an object or none. Nothing connects before the
first use; each process (a forked RQ worker too) makes its own client. A failure of the
server or the network raises `S3StorageError`, an OSError as a failing disk raises under
`LocalDirStorage`; a missing key is None / False, as there.
"""

from __future__ import annotations

import mimetypes
import os
import threading
from typing import Any

from flask import Flask

from config import ConfigError
from config.media_storage import MediaStorageUrlError, S3Location, parse_media_storage_url
from wxdist.core.media import check_key, set_storage

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
_MISSING = ("404", "NoSuchKey", "NotFound")


class S3StorageError(OSError):
    """The S3 server refused a request or could not be reached."""


class S3Storage:
    """Objects `prefix + key` in one bucket; boto3 underneath, one client per process."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._client: Any = None
        self._pid = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage({self.location!r})"

    def client(self) -> Any:
        """The boto3 S3 client of this process, made at first use (no network until then)."""
        pid = os.getpid()
        with self._lock:
            if self._client is None or self._pid != pid:
                self._client = self._make_client()
                self._pid = pid
            return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        loc = self.location
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": loc.addressing},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "max_attempts": 3},
            # COS, OSS and older MinIO refuse the CRC trailers boto3 now adds by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=loc.endpoint_url,
            region_name=loc.region,
            aws_access_key_id=loc.access_key,
            aws_secret_access_key=loc.secret_key,
            config=config,
        )

    def _name(self, key: str) -> str:
        return self.location.prefix + check_key(key)

    def _request(self, action: str, key: str, **extra: Any) -> Any | None:
        """The answer of `<action>_object` on `key`; None when the server has no such key.

        Raises S3StorageError when the server refuses or cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._name(key)
        method = getattr(self.client(), f"{action}_object")
        try:
            answer = method(Bucket=self.location.bucket, Key=name, **extra)
            if action == "get":
                answer["Body"] = answer["Body"].read()
            return answer
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise S3StorageError(f"S3 {action} of {name!r} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise S3StorageError(f"S3 {action} of {name!r} failed: {exc}") from exc

    def get(self, key: str) -> bytes | None:
        answer = self._request("get", key)
        return None if answer is None else bytes(answer["Body"])

    def exists(self, key: str) -> bool:
        return self._request("head", key) is not None

    def put(self, key: str, data: bytes) -> None:
        """One PutObject: readers see the whole object or the one before (or none)."""
        mimetype = mimetypes.guess_type(key)[0] or "application/octet-stream"
        self._request("put", key, Body=data, ContentType=mimetype)

    def delete(self, key: str) -> None:
        """S3 answers 204 for a key that is not there: deleting is idempotent."""
        self._request("delete", key)


def install(app: Flask) -> None:
    """Install the S3 storage `MEDIA_STORAGE_URL` names; empty leaves `MEDIA_DIR` in use.

    Raises config.ConfigError for a malformed URL (one passed to create_app in `config`
    has not been through load_settings). No network.
    """
    try:
        location = parse_media_storage_url(app.config.get("MEDIA_STORAGE_URL") or "")
    except MediaStorageUrlError as exc:
        raise ConfigError(str(exc)) from None
    if location is not None:
        set_storage(app, S3Storage(location))

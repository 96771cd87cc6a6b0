"""`MEDIA_STORAGE_URL`: where stored media live when not in the local `MEDIA_DIR`.

    s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[/prefix][?region=…&secure=1&addressing=path]

Any server of the S3 API: Tencent COS (`cos.ap-shanghai.myqcloud.com`), Aliyun OSS
(`s3.oss-cn-hangzhou.aliyuncs.com`, region `cn-hangzhou`), both with `addressing=virtual`;
MinIO; AWS. The credentials are
part of the URL (percent-encode `/`, `+`, `@`, `:` in them). Query options:

- `region`: the signing region (default `us-east-1`, which MinIO accepts);
- `secure`: `1` (default) for https, `0` for plain http (a MinIO on loopback);
- `addressing`: `path` (default: `host/bucket/key`) or `virtual` (`bucket.host/key`).

Empty means the local directory. Parsing is pure: nothing here connects to anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

NAME = "MEDIA_STORAGE_URL"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,100}$")
_REGION_RE = re.compile(r"^[a-z0-9-]{1,40}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
OPTIONS = ("region", "secure", "addressing")


class MediaStorageUrlError(ValueError):
    """The URL is malformed; the message names the variable and never shows the secret.
    (A ValueError, not config.ConfigError: this module imports nothing of `config`, which
    imports it; `load_settings` and `media_s3.install` raise ConfigError from it.)"""


@dataclass(frozen=True)
class S3Location:
    """A bucket (and key prefix) on an S3 API server, and the keys to reach it."""

    endpoint_url: str  # scheme://host[:port], no path
    bucket: str
    prefix: str  # "" or "folder/" (ends with a slash)
    region: str
    access_key: str
    secret_key: str
    addressing: str  # "path" or "virtual"

    def __repr__(self) -> str:  # never print the secret
        return f"S3Location({self.endpoint_url}/{self.bucket}/{self.prefix}, region={self.region})"


def _fail(problem: str) -> MediaStorageUrlError:
    return MediaStorageUrlError(
        f"{NAME} {problem} (expected s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket[/prefix]"
        "[?region=…&secure=1&addressing=path])"
    )


def _option(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise _fail(f"gives {name} twice")
    return values[0].strip()


def _endpoint(host: str, port_text: str, secure: bool) -> str:
    if not _HOST_RE.match(host):
        raise _fail(f"has a bad host {host!r}")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _fail(f"has a bad port {port_text!r}")
        host = f"{host}:{int(port_text)}"
    return f"{'https' if secure else 'http'}://{host}"


def _host_and_port(netloc: str) -> tuple[str, str]:
    """Split `host[:port]` (an IPv6 host stays bracketed)."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _fail("has a bad host")
        rest = netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _fail("has a bad host")
        return netloc[: end + 1], rest[1:]
    host, _, port = netloc.partition(":")
    return host, port


def parse_media_storage_url(raw: str) -> S3Location | None:
    """The S3 location named by `raw`, or None when it is empty (the local directory).

    Raises MediaStorageUrlError for another scheme, missing credentials, host or bucket, a
    bad port, bucket name, prefix or option, or an option this parser does not know.
    """
    raw = raw.strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:  # an unclosed IPv6 bracket, say
        raise _fail("is not a URL") from None
    if parts.scheme != "s3":
        raise _fail("must start with s3://")
    if parts.fragment:
        raise _fail("has a #fragment")
    userinfo, at, netloc = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        raise _fail("needs ACCESS_KEY:SECRET_KEY@ before the host")
    access, _, secret = userinfo.partition(":")
    access, secret = unquote(access), unquote(secret)
    if not access or not secret:
        raise _fail("needs both an access key and a secret key")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise _fail(f"has unknown options {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    secure_text = _option(query, "secure", "1").lower()
    if secure_text not in ("1", "0", "true", "false"):
        raise _fail(f"secure must be 1 or 0, got {secure_text!r}")
    region = _option(query, "region", "us-east-1")
    if not _REGION_RE.match(region):
        raise _fail(f"has a bad region {region!r}")
    addressing = _option(query, "addressing", "path")
    if addressing not in ("path", "virtual"):
        raise _fail(f"addressing must be path or virtual, got {addressing!r}")
    host, port = _host_and_port(netloc)
    endpoint = _endpoint(host, port, secure_text in ("1", "true"))
    bucket, _, prefix = parts.path.lstrip("/").partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise _fail(f"needs a bucket name (3-63 of a-z 0-9 . -) after the host, got {bucket!r}")
    prefix = prefix.strip("/")
    if prefix and (not _PREFIX_RE.match(prefix) or ".." in prefix or "//" in prefix):
        raise _fail(f"has a bad key prefix {prefix!r}")
    return S3Location(
        endpoint_url=endpoint,
        bucket=bucket,
        prefix=f"{prefix}/" if prefix else "",
        region=region,
        access_key=access,
        secret_key=secret,
        addressing=addressing,
    )

"""A fix for alipay-sdk-python's HTTP transport, applied on demand (never at import).

`alipay.aop.api.util.WebUtils.get_http_connection` ignores the port of the server URL (it
always connects to 80/443, and would crash on `str + int` if it tried), so the SDK cannot
reach a gateway on another port, such as the emulator. `apply()` swaps in a version that
honours scheme, host and port; `do_post` looks the function up in the module's globals, so
the swap takes effect for every client.
"""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

_lock = threading.Lock()


def get_http_connection(
    url: str, query_string: str | None, timeout: float
) -> tuple[str, http.client.HTTPConnection]:
    """Return (request target, unopened connection) for `url` plus `query_string`.

    Raises ValueError for a URL that is not http(s)://host[:port]/path or has a bad port.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Alipay server URL must be http(s)://host[:port]/path, got {url!r}")
    port = parts.port  # raises ValueError when out of range or not a number
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port or 443, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(parts.hostname, port or 80, timeout=timeout)
    # Origin-form request target; a query already in the server URL is kept.
    target = parts.path or "/"
    query = "&".join(q for q in (parts.query, query_string) if q)
    if query:
        target += "?" + query
    return target, connection


def apply() -> None:
    """Install the fixed `get_http_connection` into the SDK. Idempotent and thread-safe."""
    from alipay.aop.api.util import WebUtils

    with _lock:
        if WebUtils.get_http_connection is not get_http_connection:
            WebUtils.get_http_connection = get_http_connection

"""Errors raised by the gateway adapters.

The split matters for money: a `GatewayRejected` is a definite answer (the gateway refused,
nothing happened), a `GatewayUnavailable` means the result is unknown (timeout, 5xx, broken
connection) and must be settled by a query with the same idempotency number, never by a
blind retry.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class for gateway failures."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GatewayRejected(GatewayError):
    """The gateway answered, correctly signed, with a definite business failure."""


class GatewayUnavailable(GatewayError):
    """No trustworthy answer: timeout, connection error, HTTP 5xx, or a bad signature on the
    answer. The operation may or may not have happened."""


class InvalidNotify(Exception):
    """A notify failed verification (signature, shape, appid or merchant id)."""

"""A person's copy of their own data (the right of access, PIPL art. 45).

The profile is this package's; every other section comes from the domain that keeps it,
through `events.export_sections` (orders with items, commissions, withdrawals with the
account numbers masked, referrals, coupons, subscribe-message consents, the cart; a
domain added later connects one more receiver). The address book is this package's too.
The phone number and the addresses are given whole here: it is the person's own copy,
asked for with their own token.
"""

from __future__ import annotations

from typing import Any

from wxdist.accounts import addresses
from wxdist.core import events
from wxdist.core.clock import to_local
from wxdist.models import User


def iso(value: Any) -> str | None:
    """A stored UTC time as Asia/Shanghai ISO 8601 (None stays None)."""
    return None if value is None else to_local(value).isoformat(timespec="seconds")


def profile(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "openid": user.openid,
        "unionid": user.unionid,
        "nickname": user.nickname,
        "avatar_url": user.avatar_url,
        "phone": user.phone,
        "phone_country_code": user.phone_country_code,
        "paid_orders": user.paid_orders,
        "paid_spend_fen": user.paid_spend_fen,
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
    }


def export(user: User) -> dict[str, Any]:
    """Every section of `user`'s data: {"profile": ..., "orders": ..., ...}."""
    sections: dict[str, Any] = {
        "profile": profile(user),
        "addresses": addresses.export_rows(user.id),
    }
    for _receiver, answer in events.export_sections.send(None, user_id=user.id):
        sections.update(answer or {})
    return sections

"""Account deletion (账号注销), in two steps.

1. `request_deletion` checks nothing blocks it and hands out a confirmation token, signed
   and valid `CONFIRM_SECONDS`, bound to the user and their token version.
2. `delete_account` checks the token and the blockers again and, in one transaction,
   anonymises the person: the openid becomes a unique tombstone (so the unique index holds
   and a later WeChat login with that openid makes a fresh user), unionid, nickname,
   avatar and phone are emptied, the address book deleted, the token version is bumped
   (every token stops working), and `events.account_deleted` lets each domain anonymise
   its own data: money forgets the payout accounts, distribution the distributor's profile
   and detaches their team, shop masks the orders' receiver and empties the cart,
   notifications drops the consents. Orders, commissions and
   ledger rows stay: the books and the law need them. The audit log records the deletion
   (ids only, no personal data).

What blocks a deletion: money held or owed on the ledger (here: this package owns the
balance accounts) and whatever the domains answer to `events.deletion_blockers` (an open
withdrawal, an open after-sale, an order not yet completed). Each blocker is named by a
stable code in the error's `fields`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from wxdist.accounts import addresses, audit
from wxdist.core import events
from wxdist.core.errors import ApiError, Conflict
from wxdist.core.events import DeletionBlocker
from wxdist.core.extensions import db
from wxdist.models import DistributorAccount, User
from wxdist.models.types import utcnow

CONFIRM_SALT = "wxdist-account-deletion"
CONFIRM_SECONDS = 600


@dataclass(frozen=True)
class DeletionTicket:
    confirm: str
    expires_in: int


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def tombstone(user_id: int) -> str:
    """The openid a deleted user keeps: unique, and never one WeChat issues."""
    return f"deleted:{user_id}:{secrets.token_hex(8)}"


def blockers(user_id: int) -> list[DeletionBlocker]:
    """Everything that keeps `user_id` from deleting their account now (empty: nothing)."""
    found = _ledger_blockers(user_id)
    for _receiver, answer in events.deletion_blockers.send(None, user_id=user_id):
        found.extend(answer or ())
    return found


def _ledger_blockers(user_id: int) -> list[DeletionBlocker]:
    # Locked: a withdrawal requested meanwhile waits for the deletion, then finds nothing.
    account = db.session.scalar(
        select(DistributorAccount).where(DistributorAccount.user_id == user_id).with_for_update()
    )
    if account is None:
        return []
    found: list[DeletionBlocker] = []
    if account.frozen_fen > 0 or account.available_fen > 0 or account.withdrawing_fen > 0:
        found.append(
            DeletionBlocker(
                "balance_held",
                _("commission is still held for you: withdraw it or wait until it is settled"),
            )
        )
    if account.available_fen < 0:
        found.append(
            DeletionBlocker(
                "balance_owed", _("you owe commission taken back by a refund; settle it first")
            )
        )
    return found


def _refuse_if_blocked(user_id: int) -> None:
    found = blockers(user_id)
    if found:
        db.session.rollback()
        raise Conflict(
            _("the account cannot be deleted yet"),
            code="deletion_blocked",
            fields={b.code: b.message for b in found},
        )


def request_deletion(user: User) -> DeletionTicket:
    """The confirmation token for deleting `user`'s account. Raises Conflict
    `deletion_blocked` naming each blocker in `fields`."""
    _refuse_if_blocked(user.id)
    db.session.rollback()  # the blockers were only read
    token = _serializer().dumps({"uid": user.id, "v": user.token_version})
    return DeletionTicket(confirm=token, expires_in=CONFIRM_SECONDS)


def _check_confirm(user: User, confirm: str) -> None:
    wrong = ApiError(
        _("the confirmation is not valid; ask for a new one"),
        code="invalid_confirmation",
        fields={"confirm": _("not valid for this account, or expired")},
    )
    try:
        data = _serializer().loads(confirm, max_age=CONFIRM_SECONDS)
    except (SignatureExpired, BadSignature):
        raise wrong from None
    if not isinstance(data, dict) or data.get("uid") != user.id:
        raise wrong
    if data.get("v") != user.token_version:
        raise wrong


def delete_account(user_id: int, confirm: str) -> None:
    """Delete (anonymise) `user_id`'s account; commits.

    Raises ApiError 400 `invalid_confirmation` (field `confirm`) for a token that is not
    this user's, expired or forged, and Conflict `deletion_blocked` (a field per blocker)
    while anything is still open.
    """
    user = db.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None or user.deleted_at is not None:
        db.session.rollback()
        raise ApiError(
            _("the confirmation is not valid; ask for a new one"),
            code="invalid_confirmation",
            fields={"confirm": _("not valid for this account, or expired")},
        )
    _check_confirm(user, confirm)
    _refuse_if_blocked(user.id)
    events.send_required(events.account_deleted, None, user_id=user.id)
    addresses.forget_all(user.id)
    user.openid = tombstone(user.id)
    user.unionid = None
    user.nickname = ""
    user.avatar_url = ""
    user.phone = None
    user.phone_country_code = None
    user.first_scene = None
    user.token_version = (user.token_version or 0) + 1
    user.deleted_at = utcnow()
    audit.record(None, "account.delete", "user", user.id, after={"deleted": True})
    db.session.commit()

"""The consent ledger: per (user, template) how many messages the user allowed and we have
not sent. WeChat gives no way to read it, so we count: each "accept" the shopper's
`wx.requestSubscribeMessage` returned adds one, each send spends one, a 43101 answer (the
user has none left at WeChat) sets it to zero. Every change is one conditional UPDATE."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wxdist.accounts.auth import TokenClaims, check_claims
from wxdist.core.errors import ApiError, NotFound
from wxdist.core.extensions import db
from wxdist.models import SubscribeConsent, User
from wxdist.models.types import utcnow

ACCEPT, REJECT, BAN, FILTER = "accept", "reject", "ban", "filter"
RESULTS = (ACCEPT, REJECT, BAN, FILTER)
# What wx.requestSubscribeMessage's success callback carries besides the template ids.
CALLBACK_KEYS = ("errMsg",)
MAX_TEMPLATES = 20  # WeChat asks for at most 3 per call; a little slack, no more


@dataclass(frozen=True)
class ConsentCount:
    template_id: str
    kind: str
    remaining: int


def template_kinds() -> dict[str, str]:
    """{template id: notice kind} of the templates in the settings."""
    return {tid: kind for kind, tid in current_app.config["SUBSCRIBE_TEMPLATES"].items()}


def _checked(results: Mapping[str, object]) -> dict[str, str]:
    """The (template id → result) pairs, each checked. Raises ApiError 400 for a result
    that is none of RESULTS, NotFound `unknown_template` naming each unknown template."""
    known = template_kinds()
    pairs = {k: v for k, v in results.items() if k not in CALLBACK_KEYS}
    if len(pairs) > MAX_TEMPLATES:
        raise ApiError(
            _("too many templates"), code="invalid", fields={"body": _("too many templates")}
        )
    wrong = {
        k: _("must be accept, reject, ban or filter") for k, v in pairs.items() if v not in RESULTS
    }
    if wrong:
        raise ApiError(_("the request has invalid fields"), code="invalid", fields=wrong)
    unknown = {k[:64]: _("not a template of this store") for k in pairs if k not in known}
    if unknown:
        raise NotFound(_("no such message template"), code="unknown_template", fields=unknown)
    return {k: str(v) for k, v in pairs.items()}


def _add_one(user_id: int, template_id: str) -> None:
    """One more consent, creating the row at the first (a racing first insert is retried
    as an update)."""
    now = utcnow()
    bump = (
        update(SubscribeConsent)
        .where(SubscribeConsent.user_id == user_id, SubscribeConsent.template_id == template_id)
        .values(
            remaining=SubscribeConsent.remaining + 1,
            accepted_total=SubscribeConsent.accepted_total + 1,
            updated_at=now,
        )
    )
    if db.session.execute(bump).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                SubscribeConsent(
                    user_id=user_id,
                    template_id=template_id,
                    remaining=1,
                    accepted_total=1,
                    updated_at=now,
                )
            )
    except IntegrityError:
        db.session.execute(bump)


def record(claims: TokenClaims, results: Mapping[str, object]) -> list[ConsentCount]:
    """Record what the user's `wx.requestSubscribeMessage` returned ({template id: accept |
    reject | ban | filter}): each accept adds one consent, a ban (the user switched the
    template off) zeroes it. Commits; returns the user's counts. Raises ApiError
    (`unknown_template`, naming each template id at fault), Unauthorized."""
    checked = _checked(results)
    version = db.session.scalar(select(User.token_version).where(User.id == claims.user_id))
    check_claims(claims, version)
    for template_id, result in sorted(checked.items()):
        if result == ACCEPT:
            _add_one(claims.user_id, template_id)
        elif result == BAN:
            zero(claims.user_id, template_id)
    db.session.commit()
    return counts(claims.user_id)


def counts(user_id: int) -> list[ConsentCount]:
    """The user's consents per template of the settings (0 where none)."""
    rows = dict(
        db.session.execute(
            select(SubscribeConsent.template_id, SubscribeConsent.remaining).where(
                SubscribeConsent.user_id == user_id
            )
        ).all()
    )
    return [
        ConsentCount(template_id, kind, int(rows.get(template_id, 0)))
        for template_id, kind in template_kinds().items()
    ]


def any_left(user_id: int, template_id: str) -> bool:
    """Whether the user has a consent for the template now (a send still spends it
    atomically: this only spares a job for a message that cannot go)."""
    remaining = db.session.scalar(
        select(SubscribeConsent.remaining).where(
            SubscribeConsent.user_id == user_id, SubscribeConsent.template_id == template_id
        )
    )
    return bool(remaining)


def spend(user_id: int, template_id: str) -> bool:
    """Take one consent, in the caller's transaction; False when none is left."""
    taken = db.session.execute(
        update(SubscribeConsent)
        .where(
            SubscribeConsent.user_id == user_id,
            SubscribeConsent.template_id == template_id,
            SubscribeConsent.remaining >= 1,
        )
        .values(remaining=SubscribeConsent.remaining - 1, updated_at=utcnow())
    )
    return bool(taken.rowcount)


def give_back(user_id: int, template_id: str) -> None:
    """Return a consent WeChat did not use (it refused the message), in the caller's
    transaction."""
    db.session.execute(
        update(SubscribeConsent)
        .where(SubscribeConsent.user_id == user_id, SubscribeConsent.template_id == template_id)
        .values(remaining=SubscribeConsent.remaining + 1, updated_at=utcnow())
    )


def zero(user_id: int, template_id: str) -> None:
    """No consent left (WeChat said 43101, or the user banned the template), in the
    caller's transaction."""
    db.session.execute(
        update(SubscribeConsent)
        .where(
            SubscribeConsent.user_id == user_id,
            SubscribeConsent.template_id == template_id,
            SubscribeConsent.remaining != 0,
        )
        .values(remaining=0, updated_at=utcnow())
    )

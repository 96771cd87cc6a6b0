"""WeChat login and the API's bearer tokens.

A token is signed (itsdangerous, with SECRET_KEY) and expires after TOKEN_TTL_SECONDS; it
carries the user's id and token version, so bumping the version revokes it. The WeChat
`session_key` is never stored, returned or logged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.errors import ApiError, GatewayFailed, Unauthorized
from wxdist.core.events import user_joined
from wxdist.core.extensions import db
from wxdist.core.gateways import gateways
from wxdist.core.ids import is_id
from wxdist.models import User
from wxdist.models.types import utcnow

TOKEN_SALT = "wxdist-api-token"


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    expires_in: int
    created: bool


@dataclass(frozen=True)
class TokenClaims:
    """What a genuine, unexpired token says, not yet checked against the user's row."""

    user_id: int
    version: object


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=8)
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    """One serializer per key (building one derives its signing key: a hash per request)."""
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def issue_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "v": user.token_version})


def token_claims(token: str) -> tuple[int, object]:
    """(user id, token version) of a genuine, unexpired token, not yet checked against the
    user's current version. Raises Unauthorized if it is forged or expired."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except SignatureExpired:
        raise Unauthorized(_("the token has expired; log in again"), code="token_expired") from None
    except BadSignature:
        raise Unauthorized(_("the token is not valid"), code="invalid_token") from None
    if not isinstance(data, dict) or not is_id(data.get("uid")):
        raise Unauthorized(_("the token is not valid"), code="invalid_token")
    return data["uid"], data.get("v")


def claims_from_token(token: str) -> TokenClaims:
    """The claims of a genuine, unexpired token. Raises Unauthorized if it is forged or
    expired. The caller must still hold them against the user's row (`check_claims`)."""
    user_id, version = token_claims(token)
    return TokenClaims(user_id, version)


def check_claims(claims: TokenClaims, current_version: int | None) -> None:
    """Refuse a token whose user is gone (`current_version` None) or has revoked it (bumped
    the version). Raises Unauthorized."""
    if current_version is None or current_version != claims.version:
        raise Unauthorized(_("the token has been revoked; log in again"), code="invalid_token")


def user_from_token(token: str) -> User:
    """The user a bearer token names. Raises Unauthorized if it is forged, expired or revoked."""
    user_id, version = token_claims(token)
    user = db.session.get(User, user_id)
    check_claims(TokenClaims(user_id, version), None if user is None else user.token_version)
    assert user is not None
    return user


def login_with_code(
    code: str, scene: str | None = None, nickname: str | None = None, avatar_url: str | None = None
) -> LoginResult:
    """Exchange a wx.login code for a user and a token.

    Raises ApiError 400 (field `code`) when WeChat refuses the code, GatewayFailed when
    WeChat cannot be reached.
    """
    try:
        session = gateways().miniprogram.code_to_session(code)
    except GatewayRejected as exc:
        raise ApiError(
            _("WeChat refused the login code"), code="invalid_code", fields={"code": exc.message}
        ) from None
    except GatewayUnavailable:
        raise GatewayFailed(_("WeChat did not answer; try again")) from None

    user, created = _find_or_create(session.openid, session.unionid, scene)
    if nickname:
        user.nickname = nickname
    if avatar_url:
        user.avatar_url = avatar_url
    if session.unionid and not user.unionid:
        user.unionid = session.unionid
    user.last_login_at = utcnow()
    db.session.commit()
    return LoginResult(
        user=user,
        token=issue_token(user),
        expires_in=current_app.config["TOKEN_TTL_SECONDS"],
        created=created,
    )


def _find_or_create(openid: str, unionid: str | None, scene: str | None) -> tuple[User, bool]:
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is not None:
        return user, False
    user = User(openid=openid, unionid=unionid, first_scene=scene or None)
    db.session.add(user)
    try:
        db.session.flush()
        user_joined.send(__name__, user_id=user.id, created_at=user.created_at)
        db.session.commit()
    except IntegrityError:
        # The same code (or a second wx.login) raced us to create this openid.
        db.session.rollback()
        user = db.session.scalar(select(User).where(User.openid == openid))
        if user is None:
            raise
        return user, False
    return user, True

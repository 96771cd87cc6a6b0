"""Login with a wx.login code, and the current user."""

from __future__ import annotations

from flask import Blueprint

from miniprogram_api import schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import body, current_user, login_required
from wxdist.sharing import arrival

bp = Blueprint("api_auth", __name__)


@bp.post("/auth/login")
@api_doc(
    body=schemas.LoginIn,
    response=schemas.LoginOut,
    status=201,  # a new user; 200 for one who logged in before
    also=(200,),
    errors=(400, 502),
    tag="auth",
)
def login():  # type: ignore[no-untyped-def]
    """Exchange a wx.login code for a bearer token (the WeChat session_key stays on the server)."""
    data = body(schemas.LoginIn)
    came = arrival.login(data.code, data.scene, data.nickname, data.avatar_url)
    result, referral = came.login, came.referral
    out = schemas.LoginOut(
        token=result.token,
        expires_in=result.expires_in,
        created=result.created,
        user=schemas.UserOut.model_validate(result.user),
        referral=schemas.BindOut.model_validate(referral) if referral else None,
    )
    return out.model_dump(mode="json"), 201 if result.created else 200


@bp.get("/me")
@api_doc(response=schemas.UserOut, errors=(), tag="auth")
@login_required
def me():  # type: ignore[no-untyped-def]
    """The logged-in user."""
    return schemas.UserOut.model_validate(current_user()).model_dump(mode="json")

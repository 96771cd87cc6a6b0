"""Schemas of logging in and of the user: the login, the user shown, a referral binding."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints, field_serializer

from miniprogram_api.schemas.base import Out, Required, Strict, Text, shanghai_iso


class LoginIn(Strict):
    code: Required(128)
    scene: Annotated[Text, StringConstraints(max_length=32)] | None = None
    nickname: Annotated[Text, StringConstraints(max_length=64)] | None = None
    avatar_url: Annotated[Text, StringConstraints(max_length=512)] | None = None


class BindIn(Strict):
    scene: Required(32)


class UserOut(Out):
    id: int
    nickname: str
    avatar_url: str
    created_at: datetime

    @field_serializer("created_at")
    def _created(self, value: datetime) -> str | None:
        return shanghai_iso(value)


class BindOut(Out):
    bound: bool
    reason: str
    referrer_id: int | None = None


class LoginOut(Out):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    created: bool
    user: UserOut
    referral: BindOut | None = None

"""Schemas of logging in and of the user: the login, the user shown (phone masked), a
referral binding, the phone number, account deletion and the data export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_serializer, field_validator

from miniprogram_api.schemas.base import Out, Required, Strict, Text, shanghai_iso
from wxdist.accounts.phone import mask_phone


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
    phone: str | None = Field(
        None, description="The bound phone number, masked (138****0000); null when none."
    )
    created_at: datetime

    @field_validator("phone")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        return mask_phone(value)

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


class PhoneIn(Strict):
    code: Required(128) = Field(description="The code of the getPhoneNumber button's event.")


class DeletionTicketOut(Out):
    confirm: str = Field(description="Send it back to POST /me/deletion to delete the account.")
    expires_in: int = Field(description="Seconds the confirmation stays valid.")


class DeletionIn(Strict):
    confirm: Required(512)


class DeletionOut(Out):
    deleted: bool


class ExportOut(Out):
    """The person's own data, one key per section (more may be added: read what you know)."""

    model_config = ConfigDict(extra="allow")

    profile: dict[str, Any]
    orders: list[dict[str, Any]] = []
    commissions: list[dict[str, Any]] = []
    withdrawals: list[dict[str, Any]] = []
    referrals: dict[str, Any] = {}
    distributor: dict[str, Any] | None = None
    coupons: list[dict[str, Any]] = []
    subscribe_consents: list[dict[str, Any]] = []

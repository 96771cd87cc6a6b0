"""The person's own account: bind a phone number, delete the account (two steps), export
their data."""

from __future__ import annotations

from flask import Blueprint

from miniprogram_api import schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import body, current_user, login_required
from wxdist.accounts import deletion, phone
from wxdist.accounts.export import export

bp = Blueprint("api_account", __name__)


@bp.post("/me/phone")
@api_doc(body=schemas.PhoneIn, response=schemas.UserOut, errors=(400, 502), tag="auth")
@login_required
def bind_phone():  # type: ignore[no-untyped-def]
    """Exchange the code of a getPhoneNumber button for the number and keep it on the
    account; the answer shows it masked. 400 `invalid_phone_code` when WeChat refuses the
    code (unknown, expired or used)."""
    data = body(schemas.PhoneIn)
    user = phone.bind_phone(current_user(), data.code)
    return schemas.UserOut.model_validate(user).model_dump(mode="json")


@bp.post("/me/deletion/request")
@api_doc(response=schemas.DeletionTicketOut, errors=(409,), tag="auth")
@login_required
def deletion_request():  # type: ignore[no-untyped-def]
    """Ask to delete the account: a confirmation valid a few minutes, or 409
    `deletion_blocked` with a field per reason (withdrawal_open, aftersale_open,
    order_open, order_unpaid, balance_held, balance_owed)."""
    ticket = deletion.request_deletion(current_user())
    return schemas.DeletionTicketOut(
        confirm=ticket.confirm, expires_in=ticket.expires_in
    ).model_dump(mode="json")


@bp.post("/me/deletion")
@api_doc(body=schemas.DeletionIn, response=schemas.DeletionOut, errors=(400, 409), tag="auth")
@login_required
def delete_account():  # type: ignore[no-untyped-def]
    """Delete (anonymise) the account with the confirmation from /me/deletion/request.
    Orders, commission and ledger rows stay for the books; every token stops working and
    a later login makes a new account. 400 `invalid_confirmation`, 409 `deletion_blocked`."""
    data = body(schemas.DeletionIn)
    deletion.delete_account(current_user().id, data.confirm)
    return schemas.DeletionOut(deleted=True).model_dump(mode="json")


@bp.get("/me/export")
@api_doc(response=schemas.ExportOut, tag="auth")
@login_required
def export_data():  # type: ignore[no-untyped-def]
    """A copy of the person's own data, one key per section."""
    return schemas.ExportOut.model_validate(export(current_user())).model_dump(mode="json")

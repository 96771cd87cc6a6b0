"""Withdrawals: the review queue and every withdrawal, approve / reject (one or many), retry
a definite payout failure, settle bank transfers by hand, CSV export.

Reads come from `wxdist.panel.queries.withdrawals` (which says which index answers each
filter), changes from `wxdist.money.withdrawals`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from wxdist.accounts.audit import decode
from wxdist.core.errors import ApiError
from wxdist.models import Withdrawal, WithdrawalStatus
from wxdist.money import rails
from wxdist.money import withdrawals as service
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp, panel_referrer
from wxdist.panel.filters import csv_time
from wxdist.panel.queries import withdrawals as queries
from wxdist.panel.ui import audited, choice_arg, csv_response, fen_text, page_arg

STATUSES = (
    WithdrawalStatus.PENDING_REVIEW,
    WithdrawalStatus.APPROVED,
    WithdrawalStatus.PAYING,
    WithdrawalStatus.WAITING_CONFIRM,
    WithdrawalStatus.PAID,
    WithdrawalStatus.FAILED,
    WithdrawalStatus.REJECTED,
    WithdrawalStatus.CANCELLED,
)
METHODS = rails.methods()
BULK_MAX = 200  # ids in one bulk action (four pages of the list)
# The CSV's column names, in the reader's language (the cells keep the stored codes).
CSV_HEADER = (
    _l("ID"),
    _l("Created"),
    _l("User ID"),
    _l("Real name"),
    _l("Amount"),
    _l("Fee"),
    _l("Net"),
    _l("Method"),
    _l("Account"),
    _l("Status"),
    _l("Payout number"),
    _l("Failure reason"),
    _l("Review note"),
    _l("Paid out at"),
)


class BulkForm(FlaskForm):
    """The list's checkboxes (`ids`, read from the form) and what to do with them."""

    action = HiddenField(_l("Action"))
    reason = StringField(
        _l("Reason (for a rejection)"),
        validators=[Optional(), Length(max=255, message=_l("Reason: at most 255 characters."))],
    )


class ApproveForm(FlaskForm):
    note = StringField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=255, message=_l("Note: at most 255 characters."))],
    )


class RejectForm(FlaskForm):
    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Tell the distributor why (reason).")),
            Length(max=255, message=_l("Reason: at most 255 characters.")),
        ],
        description=_l("The distributor sees this in the mini-program."),
    )


class RetryForm(FlaskForm):
    pass


class BankPaidForm(FlaskForm):
    reference = StringField(
        _l("Bank reference"),
        validators=[
            DataRequired(_l("The bank's transfer reference is required.")),
            Length(max=64, message=_l("Bank reference: at most 64 characters.")),
        ],
    )


class BankFailedForm(FlaskForm):
    reason = StringField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Say why the transfer failed (reason).")),
            Length(max=255, message=_l("Reason: at most 255 characters.")),
        ],
    )


def _state(withdrawal: Withdrawal) -> dict[str, Any]:
    """What the audit log keeps of a withdrawal before and after an action."""
    return {
        "status": withdrawal.status,
        "user_id": withdrawal.user_id,
        "amount_fen": withdrawal.amount_fen,
        "fee_fen": withdrawal.fee_fen,
        "net_fen": withdrawal.net_fen,
        "method": withdrawal.method,
        "payout_no": withdrawal.payout_no,
    }


def _fresh(withdrawal_id: int) -> Withdrawal:
    withdrawal = queries.withdrawal(withdrawal_id, fresh=True)
    assert withdrawal is not None
    return withdrawal


def _filters() -> dict[str, str]:
    return {
        "status": choice_arg("status", STATUSES),
        "method": choice_arg("method", METHODS),
        "q": request.args.get("q", "").strip()[:32],
    }


def _render_list(bulk: BulkForm, status: int = 200):  # type: ignore[no-untyped-def]
    filters = _filters()
    page = queries.withdrawal_page(page_arg(), **filters)
    waiting_count, waiting_fen = queries.waiting_totals()
    return (
        render_template(
            "panel/withdrawals.html",
            page=page,
            filters=filters,
            statuses=STATUSES,
            methods=METHODS,
            bulk=bulk,
            waiting_count=waiting_count,
            waiting_fen=waiting_fen,
        ),
        status,
    )


@panel_bp.get("/withdrawals")
@area("withdrawals")
def withdrawals():  # type: ignore[no-untyped-def]
    return _render_list(BulkForm(formdata=None))


@panel_bp.post("/withdrawals/bulk")
@area("withdrawals")
def withdrawals_bulk():  # type: ignore[no-untyped-def]
    """Approve or reject the ticked withdrawals (rejections share one reason)."""
    form = BulkForm()
    ids: list[int] = []
    for raw in request.form.getlist("ids"):
        if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) not in ids:
            ids.append(int(raw))
    valid = form.validate()
    action = request.form.get("action", "")
    reason = (form.reason.data or "").strip()
    if not ids:
        form.action.errors = [_("Tick at least one withdrawal (ids).")]
        valid = False
    elif len(ids) > BULK_MAX:
        form.action.errors = [_("At most %(count)s withdrawals at once (ids).", count=BULK_MAX)]
        valid = False
    if action not in ("approve", "reject"):
        form.action.errors = [*form.action.errors, _("Choose approve or reject (action).")]
        valid = False
    if action == "reject" and not reason:
        form.reason.errors = [*form.reason.errors, _("A rejection needs a reason.")]
        valid = False
    if not valid:
        flash(_("Nothing was changed: correct the fields marked below."), "error")
        return _render_list(form, 400)

    before = {row.id: _state(row) for row in queries.waiting_among(ids)}
    waiting = [i for i in ids if i in before]
    if action == "approve":
        done = _approve_many(waiting, before)
        flash(_("Approved %(done)s of %(count)s selected.", done=done, count=len(ids)), "success")
    else:
        done = 0
        for withdrawal_id in waiting:
            try:
                with audited(
                    "withdrawal.reject", "withdrawal", withdrawal_id, before[withdrawal_id]
                ) as note:
                    service.reject(withdrawal_id, reason)
                    note.after = {**_state(_fresh(withdrawal_id)), "reason": reason}
                done += 1
            except ApiError:  # someone else acted on it meanwhile (rolled back): skip it
                pass
        flash(_("Rejected %(done)s of %(count)s selected.", done=done, count=len(ids)), "success")
    skipped = len(ids) - done
    if skipped:
        flash(
            _(
                "%(count)s were no longer waiting for review and were left as they are.",
                count=skipped,
            ),
            "error",
        )
    return redirect(panel_referrer("panel.withdrawals"), 303)


def _approve_many(ids: list[int], before: dict[int, dict[str, Any]]) -> int:
    """One service call for the batch (payouts enqueued in batches), one audit entry each."""
    if not ids:
        return 0
    with ExitStack() as stack:
        notes = {
            i: stack.enter_context(audited("withdrawal.approve", "withdrawal", i, before[i]))
            for i in ids
        }
        moved = set(service.approve_batch(ids))
        for withdrawal_id, note in notes.items():
            result = "approved" if withdrawal_id in moved else "not approved: no longer waiting"
            note.after = {**_state(_fresh(withdrawal_id)), "result": result}
    return len(moved)


@panel_bp.get("/withdrawals.csv")
@area("withdrawals")
def withdrawals_csv():  # type: ignore[no-untyped-def]
    filters = _filters()

    def rows() -> Iterator[list[Any]]:
        for withdrawal, real_name in queries.withdrawal_rows(**filters):
            yield [
                withdrawal.id,
                csv_time(withdrawal.created_at),
                withdrawal.user_id,
                safe_cell(real_name or ""),
                fen_text(withdrawal.amount_fen),
                fen_text(withdrawal.fee_fen),
                fen_text(withdrawal.net_fen),
                withdrawal.method,
                safe_cell(withdrawal.account_masked),
                withdrawal.status,
                withdrawal.payout_no,
                safe_cell(withdrawal.failure_reason or ""),
                safe_cell(withdrawal.review_note),
                csv_time(withdrawal.paid_at),
            ]

    return csv_response("withdrawals.csv", [str(name) for name in CSV_HEADER], rows())


def safe_cell(text: str) -> str:
    """Text typed by users, made inert for spreadsheets (no =, +, -, @ formulas)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _render_detail(withdrawal_id: int, status: int = 200, **forms: FlaskForm):  # type: ignore[no-untyped-def]
    withdrawal = _existing(withdrawal_id)
    facts = queries.withdrawal_facts(withdrawal)
    defaults: dict[str, FlaskForm] = {
        "approve": ApproveForm(formdata=None),
        "reject": RejectForm(formdata=None),
        "retry": RetryForm(formdata=None),
        "bank_paid": BankPaidForm(formdata=None),
        "bank_failed": BankFailedForm(formdata=None),
        **forms,
    }
    return (
        render_template(
            "panel/withdrawal_detail.html",
            w=withdrawal,
            api_label=rails.api_label(withdrawal.payout_api) if withdrawal.payout_api else "",
            distributor=facts.distributor,
            user=facts.user,
            entries=facts.entries,
            history=facts.history,
            decode=decode,
            forms=defaults,
            S=WithdrawalStatus,
        ),
        status,
    )


@panel_bp.get("/withdrawals/<int:withdrawal_id>")
@area("withdrawals")
def withdrawal_detail(withdrawal_id: int):  # type: ignore[no-untyped-def]
    return _render_detail(withdrawal_id)


def _back(withdrawal_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("panel.withdrawal_detail", withdrawal_id=withdrawal_id), 303)


def _existing(withdrawal_id: int) -> Withdrawal:
    withdrawal = queries.withdrawal(withdrawal_id)
    if withdrawal is None:
        abort(404)
    return withdrawal


@panel_bp.post("/withdrawals/<int:withdrawal_id>/approve")
@area("withdrawals")
def withdrawal_approve(withdrawal_id: int):  # type: ignore[no-untyped-def]
    form = ApproveForm()
    if not form.validate():
        return _render_detail(withdrawal_id, 400, approve=form)
    before = _state(_existing(withdrawal_id))
    with audited("withdrawal.approve", "withdrawal", withdrawal_id, before) as note:
        service.approve(withdrawal_id, (form.note.data or "").strip())
        note.after = _state(_fresh(withdrawal_id))
    flash(_("Withdrawal %(id)s approved.", id=withdrawal_id), "success")
    return _back(withdrawal_id)


@panel_bp.post("/withdrawals/<int:withdrawal_id>/reject")
@area("withdrawals")
def withdrawal_reject(withdrawal_id: int):  # type: ignore[no-untyped-def]
    form = RejectForm()
    if not form.validate():
        return _render_detail(withdrawal_id, 400, reject=form)
    before = _state(_existing(withdrawal_id))
    reason = (form.reason.data or "").strip()
    with audited("withdrawal.reject", "withdrawal", withdrawal_id, before) as note:
        service.reject(withdrawal_id, reason)
        note.after = {**_state(_fresh(withdrawal_id)), "reason": reason}
    flash(
        _("Withdrawal %(id)s rejected; the money is back in the balance.", id=withdrawal_id),
        "success",
    )
    return _back(withdrawal_id)


@panel_bp.post("/withdrawals/<int:withdrawal_id>/retry")
@area("withdrawals")
def withdrawal_retry(withdrawal_id: int):  # type: ignore[no-untyped-def]
    form = RetryForm()
    if not form.validate():
        return _render_detail(withdrawal_id, 400, retry=form)
    withdrawal = _existing(withdrawal_id)
    before = {**_state(withdrawal), "failure_reason": withdrawal.failure_reason}
    with audited("withdrawal.retry", "withdrawal", withdrawal_id, before) as note:
        service.retry_failed(withdrawal_id)
        retried = _fresh(withdrawal_id)
        note.after = {**_state(retried), "retries": retried.retries}
    flash(_("Withdrawal %(id)s sent again with a new payout number.", id=withdrawal_id), "success")
    return _back(withdrawal_id)


@panel_bp.post("/withdrawals/<int:withdrawal_id>/bank-paid")
@area("withdrawals")
def withdrawal_bank_paid(withdrawal_id: int):  # type: ignore[no-untyped-def]
    form = BankPaidForm()
    if not form.validate():
        return _render_detail(withdrawal_id, 400, bank_paid=form)
    before = _state(_existing(withdrawal_id))
    reference = (form.reference.data or "").strip()
    with audited("withdrawal.bank_paid", "withdrawal", withdrawal_id, before) as note:
        service.mark_bank_paid(withdrawal_id, reference)
        note.after = {**_state(_fresh(withdrawal_id)), "reference": reference}
    flash(_("Withdrawal %(id)s marked paid.", id=withdrawal_id), "success")
    return _back(withdrawal_id)


@panel_bp.post("/withdrawals/<int:withdrawal_id>/bank-failed")
@area("withdrawals")
def withdrawal_bank_failed(withdrawal_id: int):  # type: ignore[no-untyped-def]
    form = BankFailedForm()
    if not form.validate():
        return _render_detail(withdrawal_id, 400, bank_failed=form)
    before = _state(_existing(withdrawal_id))
    reason = (form.reason.data or "").strip()
    with audited("withdrawal.bank_failed", "withdrawal", withdrawal_id, before) as note:
        service.mark_bank_failed(withdrawal_id, reason)
        note.after = {**_state(_fresh(withdrawal_id)), "reason": reason}
    flash(
        _("Withdrawal %(id)s marked failed; the money is back in the balance.", id=withdrawal_id),
        "success",
    )
    return _back(withdrawal_id)

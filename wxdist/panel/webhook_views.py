"""Settings, webhooks (消息推送): the merchant's endpoints, their event filters and signing
secrets, and each endpoint's delivery log with replay. Owner only (`settings` area).

A secret is shown once, on the page that answers its creation or rotation; afterwards
only its last characters. Every change is audited (`webhook.create|update|enable|disable|
rotate|replay`).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from wxdist.core.errors import ApiError, Conflict
from wxdist.integrations import endpoints as service
from wxdist.integrations.outbox import ALL
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp, panel_referrer
from wxdist.panel.marketing_views import attach
from wxdist.panel.queries import webhooks as queries
from wxdist.panel.ui import audited

EVENT_LABELS = {
    ALL: _l("every event"),
    "order.paid": _l("order paid"),
    "order.cancelled": _l("order cancelled or closed unpaid"),
    "order.shipped": _l("order shipped (each package)"),
    "order.completed": _l("order completed"),
    "refund.succeeded": _l("refund succeeded"),
    "aftersale.changed": _l("after-sale changed"),
    "stock.low": _l("stock low"),
    "stock.out": _l("stock out"),
    "distributor.approved": _l("distributor application approved"),
    "withdrawal.paid": _l("withdrawal paid"),
}


class EndpointForm(FlaskForm):
    url = StringField(_l("Address (URL)"), validators=[DataRequired(), Length(max=500)])
    description = StringField(_l("Description"), validators=[Length(max=200)])
    events = SelectMultipleField(
        _l("Events"),
        choices=[(code, label) for code, label in EVENT_LABELS.items()],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=False,  # the service names a wrong one
    )


def _state(endpoint_id: int) -> dict[str, object]:
    found = queries.endpoint(endpoint_id)
    if found is None:
        abort(404)
    return {"url": found.url, "events": found.events, "enabled": found.enabled,
            "description": found.description}  # fmt: skip


def _secret_page(endpoint_id: int, secret: str, rotated: bool):  # type: ignore[no-untyped-def]
    return render_template(
        "panel/webhook_secret.html", endpoint=queries.endpoint(endpoint_id), secret=secret,
        rotated=rotated,
    )  # fmt: skip


@panel_bp.route("/webhooks", methods=["GET", "POST"])
@area("settings")
def webhooks():  # type: ignore[no-untyped-def]
    form = EndpointForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with audited("webhook.create", "webhook_endpoint", "new") as note:
                    made = service.create(form.url.data or "", form.events.data or [],
                                          form.description.data or "")  # fmt: skip
                    note.target_id = made.endpoint_id
                    note.after = _state(made.endpoint_id)
                return _secret_page(made.endpoint_id, made.secret, rotated=False)
            except ApiError as exc:
                attach(form, exc.fields, exc.message)
        status = 400
    return render_template(
        "panel/webhooks.html", form=form, endpoints=queries.endpoints(),
        counts=queries.delivery_counts(), hints=queries.secret_hints, labels=EVENT_LABELS,
    ), status  # fmt: skip


@panel_bp.route("/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@area("settings")
def webhook_detail(endpoint_id: int):  # type: ignore[no-untyped-def]
    endpoint = queries.endpoint(endpoint_id)
    if endpoint is None:
        abort(404)
    form = EndpointForm(data=None if request.method == "POST" else _state(endpoint_id))
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with audited("webhook.update", "webhook_endpoint", endpoint_id,
                             before=_state(endpoint_id)) as note:  # fmt: skip
                    service.change(endpoint_id, form.url.data or "", form.events.data or [],
                                   form.description.data or "")  # fmt: skip
                    note.after = _state(endpoint_id)
                flash(_("Endpoint saved."), "success")
                return redirect(url_for("panel.webhook_detail", endpoint_id=endpoint_id), 303)
            except ApiError as exc:
                attach(form, exc.fields, exc.message)
        status = 400
    state = request.args.get("state", "")
    shown = queries.deliveries(endpoint_id, state)
    return render_template(
        "panel/webhook_detail.html", endpoint=endpoint, form=form, deliveries=shown,
        attempts=queries.attempts([d.id for d in shown]), state=state,
        hints=queries.secret_hints(endpoint_id), labels=EVENT_LABELS,
    ), status  # fmt: skip


@panel_bp.post("/webhooks/<int:endpoint_id>/enabled")
@area("settings")
def webhook_enabled(endpoint_id: int):  # type: ignore[no-untyped-def]
    enable = request.form.get("action") == "enable"
    with audited("webhook.enable" if enable else "webhook.disable", "webhook_endpoint",
                 endpoint_id, before=_state(endpoint_id)) as note:  # fmt: skip
        service.set_enabled(endpoint_id, enable)
        note.after = _state(endpoint_id)
    flash(_("Endpoint enabled.") if enable else _("Endpoint disabled."), "success")
    return redirect(url_for("panel.webhook_detail", endpoint_id=endpoint_id), 303)


@panel_bp.post("/webhooks/<int:endpoint_id>/rotate")
@area("settings")
def webhook_rotate(endpoint_id: int):  # type: ignore[no-untyped-def]
    _state(endpoint_id)
    hours = _overlap_hours()
    with audited("webhook.rotate", "webhook_endpoint", endpoint_id) as note:
        secret = service.rotate(endpoint_id, hours)
        note.after = {"overlap_hours": hours}
    return _secret_page(endpoint_id, secret, rotated=True)


def _overlap_hours() -> int:
    """The old secrets' remaining hours from the form: 0 to 168, else 24."""
    raw = request.form.get("overlap_hours", "").strip()
    return int(raw) if raw.isdigit() and int(raw) <= 168 else 24


@panel_bp.post("/webhooks/deliveries/<int:delivery_id>/replay")
@area("settings")
def webhook_replay(delivery_id: int):  # type: ignore[no-untyped-def]
    try:
        with audited("webhook.replay", "webhook_delivery", delivery_id):
            endpoint_id = service.replay(delivery_id)
    except Conflict as refused:
        flash(refused.message, "error")
        return redirect(panel_referrer("panel.webhooks"), 303)
    except ApiError:
        abort(404)
    flash(_("The delivery will be sent again."), "success")
    return redirect(url_for("panel.webhook_detail", endpoint_id=endpoint_id), 303)

"""The open API's keys in the panel: made (the secret shown once) and revoked. Owner only
(`settings` area); audited (`api_key.create|revoke`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from wxdist.core.errors import ApiError
from wxdist.integrations import api_keys as service
from wxdist.integrations.api_keys import API_PREFIX as PREFIX
from wxdist.integrations.request_signing import WINDOW
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.marketing_views import attach
from wxdist.panel.queries import api_keys as queries
from wxdist.panel.ui import audited


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=list(service.SCOPES.items()),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=False,  # the service names a wrong one
    )
    rate_per_minute = IntegerField(
        _l("Requests per minute"),
        default=600,
        validators=[Optional(), NumberRange(min=1, max=service.MAX_RATE_PER_MINUTE)],
    )


def _state(key_pk: int) -> dict[str, object]:
    found = queries.key(key_pk)
    if found is None:
        abort(404)
    return {"name": found.name, "key_id": found.key_id, "scopes": found.scopes,
            "rate_per_minute": found.rate_per_minute, "enabled": found.enabled}  # fmt: skip


@panel_bp.route("/api-keys", methods=["GET", "POST"])
@area("settings")
def api_keys():  # type: ignore[no-untyped-def]
    form = ApiKeyForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with audited("api_key.create", "api_key", "new") as note:
                    made = service.create(form.name.data or "", form.scopes.data or [],
                                          form.rate_per_minute.data or 600,
                                          current_user.id)  # fmt: skip
                    note.target_id = made.key.id
                    note.after = _state(made.key.id)
                return render_template("panel/api_key_secret.html", key=made.key,
                                       secret=made.secret, prefix=PREFIX)  # fmt: skip
            except ApiError as exc:
                attach(form, exc.fields, exc.message)
        status = 400
    return render_template(
        "panel/api_keys.html", form=form, keys=queries.keys(), scopes=service.SCOPES,
        prefix=PREFIX, window=WINDOW,
    ), status  # fmt: skip


@panel_bp.post("/api-keys/<int:key_pk>/revoke")
@area("settings")
def api_key_revoke(key_pk: int):  # type: ignore[no-untyped-def]
    with audited("api_key.revoke", "api_key", key_pk, before=_state(key_pk)) as note:
        service.revoke(key_pk)
        note.after = _state(key_pk)
    flash(_("The API key was revoked: its requests are refused from now on."), "success")
    return redirect(url_for("panel.api_keys"), 303)

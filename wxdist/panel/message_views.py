"""Subscribe messages: the log of every notice (how each ended), filtered by status and
notice, and the merchant's switch per notice (audited as `notices.switch`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField

from config.messages import NOTICE_KINDS
from wxdist.models import MessageStatus
from wxdist.notifications import switches
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.labels import NOTICE_KIND_LABELS
from wxdist.panel.queries.messages import message_page, recent_pushes
from wxdist.panel.ui import audited, choice_arg, page_arg


class SwitchesForm(FlaskForm):
    """One checkbox per notice kind (fields named by kind)."""


for _kind in NOTICE_KINDS:
    setattr(SwitchesForm, _kind, BooleanField(NOTICE_KIND_LABELS[_kind]))


@panel_bp.get("/messages")
@area("messages")
def messages():  # type: ignore[no-untyped-def]
    status = choice_arg("status", MessageStatus.ALL)
    kind = choice_arg("kind", NOTICE_KINDS)
    form = SwitchesForm(data=switches.all_switches())
    return render_template(
        "panel/messages.html",
        page=message_page(page_arg(), status, kind),
        statuses=MessageStatus.ALL,
        kinds=NOTICE_KINDS,
        filters={"status": status, "kind": kind},
        form=form,
        pushes=recent_pushes(),
    )


@panel_bp.post("/messages/switches")
@area("messages")
def message_switches():  # type: ignore[no-untyped-def]
    form = SwitchesForm()
    if not form.validate_on_submit():
        flash(_("The form expired; reload and retry."), "error")
        return redirect(url_for("panel.messages"))
    wanted = {kind: bool(form[kind].data) for kind in NOTICE_KINDS}
    with audited("notices.switch", "settings", "notices", before=switches.all_switches()) as note:
        changed = switches.set_switches(wanted)
        note.after = changed
    flash(_("Notice switches saved."), "success")
    return redirect(url_for("panel.messages"))

"""Marketing, incentive campaigns (激励活动): the list, creating and editing a campaign
(a boost with its rate, scope, priority and budget, or a bonus with its tiers), stopping
one, and a campaign's page with its leaderboard (full names) and the bonuses it paid.

The form is `incentive_forms.CampaignForm`; the service (`incentives.campaigns`)
validates, and its field errors show beside the form's fields. Each create, change and
stop is audited (`campaign.create|update|stop`).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from wxdist.core.errors import ApiError
from wxdist.distribution.settings import get_settings
from wxdist.incentives import bonuses, campaigns
from wxdist.models import CampaignKind, CampaignStatus, IncentiveCampaign
from wxdist.models.types import utcnow
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.charts import bar_chart
from wxdist.panel.incentive_forms import CampaignForm, StopForm
from wxdist.panel.marketing_views import attach
from wxdist.panel.queries import incentives as queries
from wxdist.panel.ui import audited, page_arg

CHART_TOP = 10  # the leaderboard's bars


def _found(campaign_id: int) -> IncentiveCampaign:
    found = queries.campaign(campaign_id)
    if found is None:
        abort(404)
    return found


def _summary(campaign: IncentiveCampaign) -> dict[str, object]:
    return {"name": campaign.name, **{k: str(v) for k, v in campaigns.as_data(campaign).items()}}


@panel_bp.get("/incentives")
@area("marketing")
def incentives():  # type: ignore[no-untyped-def]
    return render_template(
        "panel/incentives.html", page=queries.campaign_page(page_arg()), now=utcnow()
    )


def _edit_page(form: CampaignForm, campaign: IncentiveCampaign | None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("panel/incentive_edit.html", form=form, c=campaign), status


@panel_bp.get("/incentives/new")
@area("marketing")
def incentive_new():  # type: ignore[no-untyped-def]
    form = CampaignForm(formdata=None).setup()
    form.priority.data = 0
    return _edit_page(form, None)


@panel_bp.post("/incentives/new")
@area("marketing")
def incentive_create():  # type: ignore[no-untyped-def]
    form = CampaignForm().setup()
    if not form.validate_on_submit():
        return _edit_page(form, None, 400)
    try:
        with audited("campaign.create", "campaign", "new") as note:
            created = campaigns.create(form.data_in())
            note.target_id = created.id
            note.after = _summary(created)
    except ApiError as exc:
        attach(form, exc.fields, exc.message)
        return _edit_page(form, None, exc.status)
    flash(_("Campaign “%(name)s” saved.", name=created.name), "success")
    return redirect(url_for("panel.incentive", campaign_id=created.id), 303)


@panel_bp.get("/incentives/<int:campaign_id>/edit")
@area("marketing")
def incentive_edit(campaign_id: int):  # type: ignore[no-untyped-def]
    found = _found(campaign_id)
    return _edit_page(CampaignForm(formdata=None).setup().fill(found), found)


@panel_bp.post("/incentives/<int:campaign_id>/edit")
@area("marketing")
def incentive_update(campaign_id: int):  # type: ignore[no-untyped-def]
    found = _found(campaign_id)
    form = CampaignForm().setup()
    if not form.validate_on_submit():
        return _edit_page(form, found, 400)
    try:
        with audited("campaign.update", "campaign", campaign_id, _summary(found)) as note:
            changed = campaigns.update(campaign_id, form.data_in())
            note.after = _summary(changed)
    except ApiError as exc:
        attach(form, exc.fields, exc.message)
        return _edit_page(form, found, exc.status)
    flash(_("Campaign “%(name)s” saved.", name=changed.name), "success")
    return redirect(url_for("panel.incentive", campaign_id=campaign_id), 303)


@panel_bp.post("/incentives/<int:campaign_id>/stop")
@area("marketing")
def incentive_stop(campaign_id: int):  # type: ignore[no-untyped-def]
    _found(campaign_id)
    if not StopForm().validate_on_submit():
        abort(400)
    back = redirect(url_for("panel.incentive", campaign_id=campaign_id), 303)
    try:
        with audited("campaign.stop", "campaign", campaign_id) as note:
            stopped = campaigns.stop(campaign_id)
            note.after = {"status": stopped.status, "stopped_at": str(stopped.stopped_at)}
    except ApiError as exc:
        flash(exc.message, "error")
        return back
    flash(_("The campaign is stopped."), "success")
    return back


@panel_bp.get("/incentives/<int:campaign_id>")
@area("marketing")
def incentive(campaign_id: int):  # type: ignore[no-untyped-def]
    found = _found(campaign_id)
    now = utcnow()
    is_bonus = found.kind == CampaignKind.BONUS
    board = queries.board(found)
    top = board.rows[:CHART_TOP]
    return render_template(
        "panel/incentive_detail.html",
        c=found,
        status=found.shown_status(now),
        stoppable=found.shown_status(now) != CampaignStatus.ENDED,
        stop_form=StopForm(formdata=None),
        board=board,
        chart=bar_chart([(f"#{row.rank}", row.measure_fen) for row in top]) if top else None,
        chart_names=[row.name for row in top],
        paid=queries.paid(campaign_id) if is_bonus else [],
        due_at=bonuses.due_at(found, get_settings().freeze_days) if is_bonus else None,
        boosted=None if is_bonus else queries.boosted_records(campaign_id),
    )

"""Incentive campaigns in the distributor centre: the campaigns in force with my progress,
and each campaign's leaderboard (other distributors' names masked)."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _

from miniprogram_api.openapi import api_doc
from miniprogram_api.request import current_user, login_required
from miniprogram_api.schemas import incentives as schemas
from wxdist.core.errors import NotFound
from wxdist.distribution import centre as distributor_centre
from wxdist.incentives import campaigns, leaderboard
from wxdist.models import CampaignStatus

bp = Blueprint("api_incentives", __name__)


@bp.get("/distributor/campaigns")
@api_doc(response=schemas.CampaignList, errors=(403,), tag="distribution")
@login_required
def campaigns_in_force():  # type: ignore[no-untyped-def]
    """The incentive campaigns in force now, best first, with my progress in each (for a
    bonus: my net sales, the tier reached and what the next tier still needs)."""
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    items = []
    for campaign in campaigns.in_force():
        progress = leaderboard.progress(campaign, user_id)
        items.append({**campaigns.as_data(campaign), "progress": progress.__dict__})
    return schemas.CampaignList(items=items).model_dump(mode="json")


@bp.get("/distributor/campaigns/<int:campaign_id>/leaderboard")
@api_doc(response=schemas.LeaderboardOut, errors=(403, 404), tag="distribution")
@login_required
def campaign_leaderboard(campaign_id: int):  # type: ignore[no-untyped-def]
    """A campaign's ranking by its measure (boost: commission earned at its rate; bonus: net
    sales in its period): the top 50 with names masked, and my own row."""
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    campaign = campaigns.get(campaign_id)
    if campaign.status == CampaignStatus.DRAFT:
        raise NotFound(_("no such campaign"), fields={"campaign_id": _("not found")})
    board = leaderboard.board(campaign, me=user_id)

    def row(entry: leaderboard.Row) -> dict[str, object]:
        mine = entry.user_id == user_id
        name = entry.name if mine else distributor_centre.mask_name(entry.name)
        return {"rank": entry.rank, "name": name, "measure_fen": entry.measure_fen, "is_me": mine}

    return schemas.LeaderboardOut(
        campaign_id=campaign.id,
        kind=campaign.kind,
        total=board.total,
        items=[row(entry) for entry in board.rows],
        me=row(board.me) if board.me else None,
    ).model_dump(mode="json")

"""Group buys (拼团): the activities, one activity's items and open groups, opening a group
(the leader's order), joining one (a member's order), a group's share page. The orders
are paid through POST /orders/<id>/pay like any order."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _

from miniprogram_api import schemas, serialize
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import (
    body,
    current_claims,
    current_user,
    login_required,
    token_required,
)
from miniprogram_api.ship_to import order_address
from wxdist.core.errors import NotFound
from wxdist.marketing.group_buys import reads, service
from wxdist.models.types import utcnow
from wxdist.sharing import group_shares

bp = Blueprint("api_group_buys", __name__)


@bp.get("/group-buys")
@api_doc(response=schemas.GroupActivityList, tag="group buys")
def list_activities():  # type: ignore[no-untyped-def]
    """Group buys on now (`live`, first) or coming (`upcoming`), with a countdown."""
    found = reads.activities(utcnow())
    return schemas.GroupActivityList.model_validate(
        {"items": [asdict(view) for view in found]}
    ).model_dump(mode="json")


@bp.get("/group-buys/<int:activity_id>")
@api_doc(response=schemas.GroupActivityDetailOut, errors=(404,), tag="group buys")
def detail(activity_id: int):  # type: ignore[no-untyped-def]
    """One group buy: its items (group price, list price, stock left) and the open groups
    to join (seats left, countdown, the leader masked)."""
    now = utcnow()
    out = {
        "activity": asdict(reads.activity(activity_id, now)),
        "items": reads.items(activity_id),
        "open_groups": reads.open_groups(activity_id, now),
    }
    return schemas.GroupActivityDetailOut.model_validate(out).model_dump(mode="json")


@bp.get("/group-buys/groups/<int:group_id>")
@api_doc(response=schemas.GroupOut, errors=(404,), tag="group buys")
def group(group_id: int):  # type: ignore[no-untyped-def]
    """A group for its share page: the activity, the item, seats left, the members
    (masked), the countdown and the state."""
    found = reads.group(group_id, utcnow())
    found["activity"] = asdict(found["activity"])
    return schemas.GroupOut.model_validate(found).model_dump(mode="json")


@bp.get("/group-buys/scenes/<scene>")
@api_doc(response=schemas.GroupOut, errors=(404,), tag="group buys")
def group_by_scene(scene: str):  # type: ignore[no-untyped-def]
    """The group a share scene names (the share page opened from a code, link or
    poster). 404 for a scene that names no group."""
    group_id = group_shares.group_in_scene(scene)
    if group_id is None:
        raise NotFound(_("no such group"), fields={"scene": _("not found")})
    return group(group_id)


@bp.get("/group-buys/groups/<int:group_id>/share")
@api_doc(response=schemas.GroupShareOut, errors=(401, 404), tag="group buys")
@login_required
def share(group_id: int):  # type: ignore[no-untyped-def]
    """The group's share scene (≤ 32 characters; it names the sharer too when they are an
    active distributor, so a friend who logs in through it binds to them), the
    mini-program page to open with it, and the H5 link."""
    reads.group(group_id, utcnow())  # 404 for an unknown group
    scene = group_shares.group_scene(group_id, current_user().id)
    return schemas.GroupShareOut(
        scene=scene, path=f"pages/group/index?scene={scene}", url=group_shares.link_for(scene)
    ).model_dump()


def _placed(placed: dict[str, Any]) -> dict[str, Any]:
    return {**serialize.placed_order(placed), "group_id": placed["group_id"]}


@bp.post("/group-buys/groups")
@api_doc(
    body=schemas.GroupOpenIn,
    response=schemas.GroupOrderOut,
    status=201,
    errors=(400, 403, 404, 409),
    tag="group buys",
)
@token_required
def open_group():  # type: ignore[no-untyped-def]
    """Open a group: place the leader's order (one unit at the group price). The group
    opens for members when this order is paid. 409 `group_not_open` (outside the
    activity), `sold_out`, and what POST /orders answers."""
    data = body(schemas.GroupOpenIn)
    placed = service.open_group(
        current_claims(),
        data.group_sku_id,
        order_address(data),
        data.remark,
        coupon_id=data.coupon_id,
        expected_payable_fen=data.expected_payable_fen,
    )
    return _placed(placed), 201


@bp.post("/group-buys/groups/<int:group_id>/join")
@api_doc(
    body=schemas.GroupJoinIn,
    response=schemas.GroupOrderOut,
    status=201,
    errors=(400, 403, 404, 409),
    tag="group buys",
)
@token_required
def join_group(group_id: int):  # type: ignore[no-untyped-def]
    """Join an open group: place the member's order (one unit at the group price), a
    seat held until it is paid or closes. 409 `group_not_open`, `group_full`,
    `group_joined`, `sold_out`, and what POST /orders answers."""
    data = body(schemas.GroupJoinIn)
    placed = service.join_group(
        current_claims(),
        group_id,
        order_address(data),
        data.remark,
        coupon_id=data.coupon_id,
        expected_payable_fen=data.expected_payable_fen,
    )
    return _placed(placed), 201

"""A group's share scene (issue 17): ≤ 32 characters, naming the group and, when the
sharer is an active distributor, the sharer, so a friend who logs in through it lands on
the group's share page and binds to the distributor as with their own code."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.group_helpers import make_group_activity, open_group, pay
from tests.shop import become_distributor, login, make_product
from wxdist.core.extensions import db
from wxdist.models import Referral


def test_a_share_scene_names_the_group_and_binds_to_the_distributor(
    client: FlaskClient, app: Flask, emulator: Any
) -> None:
    seller = become_distributor(client, "share-seller")
    product = make_product(app, price_fen=10_000)
    sale = make_group_activity(app, product["sku_id"], group_size=3)
    order = open_group(client, seller["headers"], sale["group_sku_id"]).get_json()
    pay(client, emulator.url, seller["headers"], order["id"])
    group_id = order["group_id"]
    shared = client.get(f"/api/v1/group-buys/groups/{group_id}/share", headers=seller["headers"])
    assert shared.status_code == 200, shared.get_json()
    scene = shared.get_json()["scene"]
    assert scene.startswith("g") and "_r" in scene and len(scene) <= 32
    assert scene in shared.get_json()["url"]
    page = client.get(f"/api/v1/group-buys/scenes/{scene}").get_json()
    assert (page["id"], page["seats_left"], page["status"]) == (group_id, 2, "open")
    assert page["members"][0]["is_leader"] is True
    login(client, "share-friend", scene=scene)
    with app.app_context():
        bound = db.session.query(Referral).filter(Referral.parent_id == seller["user_id"]).count()
    assert bound == 1
    # A shopper who is no distributor shares the group alone.
    plain = login(client, "share-plain")
    alone = client.get(f"/api/v1/group-buys/groups/{group_id}/share", headers=plain).get_json()
    assert alone["scene"] == scene.partition("_")[0]
    assert client.get("/api/v1/group-buys/scenes/nothing").status_code == 404

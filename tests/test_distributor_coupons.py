"""Distributor coupons: a shareable coupon carried by a distributor's share code. A friend
claims it through the code, is bound to the distributor, buys with it, and the
distributor earns commission on what the friend paid; the code's funnel counts each step;
the poster shows the coupon."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from payments.emulator import EmulatorServer
from tests.shop import (
    become_distributor,
    centre,
    emulator_pay,
    login,
    make_product,
    set_settings,
    start_pay,
    wait_for_status,
)
from tests.test_coupons import claim, make_template, order_body
from wxdist.models import CouponAudience


@pytest.fixture(autouse=True)
def _media(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))


def share_scene(client: FlaskClient, headers: dict[str, str], **params: Any) -> Any:
    return client.get("/api/v1/distributor/share-link", query_string=params, headers=headers)


def test_a_friend_claims_through_the_share_is_bound_buys_and_the_distributor_earns_on_the_paid_amount(  # noqa: E501
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    set_settings(app, level1_rate_bp=1000, level2_rate_bp=0)
    seller = become_distributor(client, "coupon-sharer")
    product = make_product(app, price_fen=15_000)
    template_id = make_template(
        app, shareable=True, audience=CouponAudience.DISTRIBUTOR_CUSTOMERS, off_fen=3_000
    )
    link = share_scene(
        client, seller["headers"], product_id=product["product_id"], coupon_template_id=template_id
    )
    assert link.status_code == 200, link.get_json()
    scene = link.get_json()["scene"]
    plain = share_scene(client, seller["headers"], product_id=product["product_id"]).get_json()
    assert plain["scene"] != scene  # the coupon's code is a code of its own

    friend = login(client, "coupon-friend")
    assert claim(client, friend, template_id).get_json()["error"]["code"] == "share_only"
    wrong = claim(client, friend, template_id, scene=plain["scene"])
    assert wrong.status_code == 409 and wrong.get_json()["error"]["code"] == "not_shareable"
    assert "scene" in wrong.get_json()["error"]["fields"]
    client.post("/api/v1/share/scan", json={"scene": scene})
    claimed = claim(client, friend, template_id, scene=scene, claim_key="friend-claim-1")
    assert claimed.status_code == 201, claimed.get_json()
    coupon = claimed.get_json()

    order = client.post(
        "/api/v1/orders",
        json=order_body(product["sku_id"], coupon_id=coupon["id"]),
        headers=friend,
    ).get_json()
    assert order["payable_fen"] == 12_000
    pay = start_pay(client, friend, order["id"])
    emulator_pay(emulator.url, "wechat", pay["out_trade_no"])
    wait_for_status(client, friend, order["id"], "paid")
    run_jobs()
    # Bound through the coupon's code: 10% of the ¥120.00 paid, not of ¥150.00.
    assert centre(client, seller["headers"])["balances"]["frozen_fen"] == 1_200

    stats = client.get("/api/v1/distributor/share-codes", headers=seller["headers"]).get_json()
    funnel = {
        row["scene"]: (row["scans"], row["claims"], row["binds"], row["coupon_orders"])
        for row in stats["items"]
    }
    assert funnel[scene] == (1, 1, 1, 1)


def test_only_a_shareable_active_coupon_goes_on_a_share_and_the_poster_shows_it(
    client: FlaskClient, app: Flask
) -> None:
    seller = become_distributor(client, "poster-sharer")
    product = make_product(app, price_fen=15_000)
    private = make_template(app)
    refused = share_scene(client, seller["headers"], coupon_template_id=private)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_shareable"
    shared = make_template(app, shareable=True, off_fen=2_000, threshold_fen=10_000)

    def poster(**params: Any) -> Image.Image:
        response = client.get(
            "/api/v1/distributor/poster",
            query_string={"product_id": product["product_id"], **params},
            headers=seller["headers"],
        )
        assert response.status_code == 200, response.get_json()
        return Image.open(io.BytesIO(response.data)).convert("RGB")

    def redness(image: Image.Image) -> float:
        """How much of the coupon line's box is the poster's red (#e4393c)."""
        box = image.crop((40, 972, 470, 1040))
        red = [p for p in box.getdata() if p[0] > 180 and p[1] < 110 and p[2] < 110]
        return len(red) / (box.width * box.height)

    without, with_coupon = poster(), poster(coupon_template_id=shared)
    assert redness(without) == 0
    assert redness(with_coupon) > 0.01  # "领券立减¥20.00（满¥100.00可用）" is drawn

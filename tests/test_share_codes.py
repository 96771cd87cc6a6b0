"""Share codes: one short scene per (distributor, product, channel), resolved in login and
bind, with scans, opens and binds counted per code; H5 links with a plain QR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.share_helpers import decode_qr
from tests.shop import become_distributor, login, make_product
from wxdist.core.extensions import db
from wxdist.models import ReferralBinding, ShareCode
from wxdist.models.share import SCENE_MAX


@pytest.fixture(autouse=True)
def _media(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))


def _link(client: FlaskClient, headers: dict[str, str], **params: object) -> dict:
    response = client.get("/api/v1/distributor/share-link", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_same_inputs_give_the_same_short_code(client: FlaskClient, app: Flask) -> None:
    product = make_product(app)
    dist = become_distributor(client, "dist-1")
    h = dist["headers"]
    invite = _link(client, h)["scene"]
    group = _link(client, h, channel="group")["scene"]
    product_group = _link(client, h, product_id=product["product_id"], channel="group")["scene"]
    scenes = {invite, group, product_group}
    assert len(scenes) == 3
    assert _link(client, h, channel="group")["scene"] == group
    assert _link(client, h, product_id=product["product_id"], channel="group")["scene"] == (
        product_group
    )
    for scene in scenes:
        assert scene.startswith("s") and len(scene) == 12 <= SCENE_MAX
    with app.app_context():
        rows = db.session.query(ShareCode).all()
        assert len(rows) == 3
        assert {(r.product_id, r.channel) for r in rows} == {
            (None, ""),
            (None, "group"),
            (product["product_id"], "group"),
        }


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    distributor_id=st.integers(min_value=1, max_value=2**63 - 1),
    product_id=st.none() | st.integers(min_value=1, max_value=2**63 - 1),
    channel=st.from_regex(r"\A[a-z][a-z0-9_]{0,15}\Z"),
    attempt=st.integers(min_value=0, max_value=7),
)
def test_a_scene_longer_than_32_characters_cannot_be_produced(
    app: Flask, distributor_id: int, product_id: int | None, channel: str, attempt: int
) -> None:
    from wxdist.sharing.share_codes import is_share_scene, make_scene

    with app.app_context():
        scene = make_scene(distributor_id, product_id, channel, attempt)
    assert len(scene) == 12 <= SCENE_MAX and is_share_scene(scene)


def test_codes_refuse_what_wechat_would_refuse(app: Flask) -> None:
    from wxdist.sharing.wxacode import spec_for

    with app.app_context():
        assert spec_for("s" * 32).scene == "s" * 32
        for bad in ("s" * 33, "", "场景", "a b"):
            with pytest.raises(ValueError):
                spec_for(bad)


def test_bad_input_names_the_field_and_only_distributors_share(
    client: FlaskClient, app: Flask
) -> None:
    shopper = login(client, "not-a-distributor")
    for path in ("code", "poster", "share-link", "share-link/qr", "share-codes"):
        response = client.get(f"/api/v1/distributor/{path}", headers=shopper)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "not_distributor"
    assert client.get("/api/v1/distributor/code").status_code == 401

    dist = become_distributor(client, "dist-2")["headers"]
    off = make_product(app, on_shelf=False)
    cases = [
        ({"product_id": "abc"}, 400, "product_id"),
        ({"product_id": "0"}, 400, "product_id"),
        ({"product_id": str(off["product_id"])}, 404, "product_id"),
        ({"product_id": "999999"}, 404, "product_id"),
        ({"channel": "Bad Tag!"}, 400, "channel"),
        ({"channel": "x" * 17}, 400, "channel"),
        ({"colour": "red"}, 400, "colour"),
    ]
    for path in ("code", "poster", "share-link"):
        for params, status, field in cases:
            response = client.get(f"/api/v1/distributor/{path}", query_string=params, headers=dist)
            assert response.status_code == status, (path, params, response.get_json())
            assert field in response.get_json()["error"]["fields"], (path, params)
    assert client.post("/api/v1/share/scan", json={"scene": "s" * 33}).status_code == 400


def test_scans_opens_and_binds_are_counted_per_code_and_channel(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app)
    dist = become_distributor(client, "dist-3")
    h = dist["headers"]
    group = _link(client, h, product_id=product["product_id"], channel="group")["scene"]
    moments = _link(client, h, channel="moments")["scene"]

    # A shopper scans the group poster: the page reports it and learns where to go.
    scan = client.post("/api/v1/share/scan", json={"scene": group}).get_json()
    assert scan == {
        "known": True,
        "distributor_id": dist["user_id"],
        "product_id": product["product_id"],
        "channel": "group",
    }
    # ... then logs in with the scene: an open, and a bind.
    first = client.post("/api/v1/auth/login", json={"code": "buyer-1", "scene": group})
    assert first.get_json()["referral"] == {
        "bound": True,
        "reason": "bound",
        "referrer_id": dist["user_id"],
    }
    # A second shopper comes from moments, already logged in: bind with the scene.
    second = login(client, "buyer-2")
    client.post("/api/v1/share/scan", json={"scene": moments})
    bound = client.post("/api/v1/referral/bind", json={"scene": moments}, headers=second)
    assert bound.get_json()["bound"] is True
    # The first shopper opens the moments code too: an open, but no second bind.
    again = client.post("/api/v1/auth/login", json={"code": "buyer-1", "scene": moments})
    assert again.get_json()["referral"]["reason"] == "already_bound"
    assert client.post("/api/v1/share/scan", json={"scene": "sUnknownCode"}).get_json() == {
        "known": False,
        "distributor_id": None,
        "product_id": None,
        "channel": "",
    }

    stats = client.get("/api/v1/distributor/share-codes", headers=h).get_json()
    by_scene = {c["scene"]: c for c in stats["items"]}
    assert {k: by_scene[group][k] for k in ("scans", "opens", "binds", "channel")} == {
        "scans": 1,
        "opens": 1,
        "binds": 1,
        "channel": "group",
    }
    assert {k: by_scene[moments][k] for k in ("scans", "opens", "binds")} == {
        "scans": 1,
        "opens": 2,
        "binds": 1,
    }
    assert {t["channel"]: (t["scans"], t["opens"], t["binds"]) for t in stats["by_channel"]} == {
        "group": (1, 1, 1),
        "moments": (1, 2, 1),
    }
    with app.app_context():
        bindings = db.session.query(ReferralBinding).order_by(ReferralBinding.id).all()
        codes = {c.scene: c.id for c in db.session.query(ShareCode)}
        assert [(b.share_code_id, b.channel, b.source) for b in bindings] == [
            (codes[group], "group", "login"),
            (codes[moments], "moments", "bind"),
        ]
    # The merchant sees the same, and whom each code brought.
    result = app.test_cli_runner().invoke(args=["share", "stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    brought = {c["scene"]: c["brought"] for c in data["codes"]}
    assert len(brought[group]) == 1 and len(brought[moments]) == 1
    text = app.test_cli_runner().invoke(args=["share", "stats"]).output
    assert "channel group: 1 codes, 1 scans, 1 opens, 1 binds" in text


def test_plain_r_scenes_still_bind(client: FlaskClient) -> None:
    dist = become_distributor(client, "dist-4")
    scene = client.get("/api/v1/distributor", headers=dist["headers"]).get_json()["scene"]
    assert scene.startswith("r")
    response = client.post("/api/v1/auth/login", json={"code": "buyer-r", "scene": scene})
    assert response.get_json()["referral"]["bound"] is True


def test_h5_link_and_its_plain_qr(client: FlaskClient, app: Flask) -> None:
    product = make_product(app)
    h = become_distributor(client, "dist-5")["headers"]
    link = _link(client, h, product_id=product["product_id"], channel="offline")
    assert link["url"] == (
        f"{app.config['H5_BASE_URL']}/?scene={link['scene']}&product_id={product['product_id']}"
    )
    qr = client.get(link["qr_url"], headers=h)
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    assert decode_qr(qr.data) == [link["url"]]
    assert qr.headers["X-Share-Scene"] == link["scene"]
    again = client.get(link["qr_url"], headers={**h, "If-None-Match": qr.headers["ETag"]})
    assert again.status_code == 304

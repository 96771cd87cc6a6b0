"""Promotion materials (素材): staff create, edit, publish, withdraw and delete them in the
panel with pictures through the catalogue's upload path; distributors list the published
ones and report copies and downloads, counted exactly under concurrency."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from tests.panel_helpers import csrf_from, staff_client
from tests.shop import become_distributor, login, make_product, storm
from wxdist.core.extensions import db
from wxdist.distribution.distributors import set_disabled
from wxdist.models import AuditEntry, Material
from wxdist.models.staff import StaffRole

API = "/api/v1/distributor/materials"


@pytest.fixture(autouse=True)
def _media(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))


def _picture(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(out, "PNG")
    return out.getvalue()


def _post(panel: FlaskClient, page: str, action: str, **data: Any) -> Any:
    token = csrf_from(panel.get(page).get_data(as_text=True))
    return panel.post(action, data={**data, "csrf_token": token})


def _create(panel: FlaskClient, **fields: Any) -> int:
    response = _post(panel, "/panel/materials", "/panel/materials", **fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _upload(panel: FlaskClient, material_id: int, data: bytes) -> Any:
    page = f"/panel/materials/{material_id}"
    token = csrf_from(panel.get(page).get_data(as_text=True))
    return panel.post(
        f"{page}/pictures",
        data={"csrf_token": token, "picture": (io.BytesIO(data), "a.png", "image/png")},
        content_type="multipart/form-data",
    )


def _listed(client: FlaskClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(API, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_staff_manage_materials_and_distributors_see_only_the_published(
    client: FlaskClient, app: Flask
) -> None:
    product = make_product(app, title="长绒棉 T 恤")
    panel = staff_client(app, StaffRole.OPERATOR)
    first = _create(
        panel, title="双十二文案", text="亲肤透气，限时八五折", product_id=product["product_id"],
        campaign="双十二", sort="5",
    )  # fmt: skip
    hidden = _create(panel, title="草稿", text="还没写完")
    general = _create(panel, title="店铺介绍", text="欢迎光临", published="y", sort="1")
    for colour in ((200, 0, 0), (0, 200, 0)):
        assert _upload(panel, first, _picture(colour)).status_code == 303
    page = panel.get(f"/panel/materials/{first}").get_data(as_text=True)
    assert "双十二文案" in page and page.count("/media/pictures/") == 2
    # a refused upload names the problem and stores nothing
    refused = _upload(panel, first, b"not a picture")
    assert refused.status_code == 400 and "JPEG" in refused.get_data(as_text=True)
    # an unknown product is refused under its field
    bad = _post(
        panel, f"/panel/materials/{first}", f"/panel/materials/{first}",
        title="双十二文案", product_id="999999",
    )  # fmt: skip
    assert bad.status_code == 400
    seller = become_distributor(client, "mat-seller")
    assert [m["id"] for m in _listed(client, seller["headers"])["items"]] == [general]
    published = _post(panel, "/panel/materials", f"/panel/materials/{first}/publish", published="1")
    assert published.status_code == 303
    listing = _listed(client, seller["headers"])
    assert [m["id"] for m in listing["items"]] == [first, general]  # higher sort first
    mine = listing["items"][0]
    assert mine["text"] == "亲肤透气，限时八五折" and mine["campaign"] == "双十二"
    assert len(mine["picture_urls"]) == 2
    assert client.get(mine["picture_urls"][0]).status_code == 200  # downloadable
    only = _listed(client, seller["headers"], product_id=product["product_id"])
    assert [m["id"] for m in only["items"]] == [first] and only["total"] == 1
    # edit, drop a picture, withdraw, delete
    saved = _post(
        panel, f"/panel/materials/{first}", f"/panel/materials/{first}",
        title="双十二新文案", text="新的话", product_id=str(product["product_id"]),
        campaign="双十二", sort="5", published="y",
    )  # fmt: skip
    assert saved.status_code == 303
    dropped = _post(
        panel, f"/panel/materials/{first}", f"/panel/materials/{first}/pictures/0/delete"
    )
    assert dropped.status_code == 303
    mine = _listed(client, seller["headers"])["items"][0]
    assert (mine["title"], mine["text"], len(mine["picture_urls"])) == ("双十二新文案", "新的话", 1)
    _post(panel, "/panel/materials", f"/panel/materials/{general}/publish", published="0")
    _post(panel, "/panel/materials", f"/panel/materials/{hidden}/delete")
    assert [m["id"] for m in _listed(client, seller["headers"])["items"]] == [first]
    with app.app_context():
        assert db.session.get(Material, hidden) is None
        actions = {row.action for row in db.session.query(AuditEntry)}
    assert {"material.create", "material.update", "material.publish", "material.delete"} <= actions
    assert {"material.picture_add", "material.picture_delete"} <= actions


def test_nine_pictures_at_most(client: FlaskClient, app: Flask) -> None:
    panel = staff_client(app, StaffRole.OWNER)
    material_id = _create(panel, title="九宫格")
    for i in range(9):
        assert _upload(panel, material_id, _picture((i * 20, 0, 0))).status_code == 303
    tenth = _upload(panel, material_id, _picture((0, 0, 250)))
    assert tenth.status_code == 400 and "9" in tenth.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.get(Material, material_id).pictures) == 9


def test_only_distributors_list_materials_and_only_marketing_staff_edit_them(
    client: FlaskClient, app: Flask
) -> None:
    shopper = login(client, "mat-shopper")
    assert client.get(API, headers=shopper).status_code == 403
    assert client.post(f"{API}/1/used", headers=shopper).status_code == 403
    disabled = become_distributor(client, "mat-disabled")
    with app.app_context():
        set_disabled(disabled["user_id"], True)
    assert client.get(API, headers=disabled["headers"]).status_code == 403
    finance = staff_client(app, StaffRole.FINANCE)
    assert finance.get("/panel/materials").status_code == 403


def test_concurrent_copies_are_each_counted_and_unpublished_ones_refused(
    client: FlaskClient, app: Flask
) -> None:
    panel = staff_client(app, StaffRole.OPERATOR)
    material_id = _create(panel, title="转发文案", text="快来买", published="y")
    draft = _create(panel, title="草稿")
    seller = become_distributor(client, "mat-counter")
    url = f"{app.config['LIVE_URL']}{API}/{material_id}/used"

    def report(_i: int) -> int:
        with requests.Session() as http:
            return http.post(url, headers=seller["headers"], timeout=120).status_code

    assert set(storm(40, report)) == {200}
    with app.app_context():
        assert db.session.get(Material, material_id).used == 40
    answer = client.post(f"{API}/{material_id}/used", headers=seller["headers"])
    assert answer.get_json() == {"id": material_id, "used": 41}
    assert _listed(client, seller["headers"])["items"][0]["used"] == 41
    refused = client.post(f"{API}/{draft}/used", headers=seller["headers"])
    assert refused.status_code == 404

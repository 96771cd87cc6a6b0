"""Whatever a signed-in owner posts to any panel form, or whatever query string a list gets,
the panel answers below 500 (a clear 4xx naming the field, 404, 409), and the books still
reconcile afterwards: nothing is half-written."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from payments.emulator import EmulatorServer
from tests.aftersale_helpers import apply, bought
from tests.flash_helpers import make_activity
from tests.group_helpers import make_group_activity
from tests.panel_helpers import csrf_from, staff_client
from tests.shop import make_product
from tests.test_coupons import make_template
from tests.test_withdrawals import clean, fund, withdraw
from wxdist.accounts.staff import create_staff
from wxdist.core.extensions import db
from wxdist.marketing import promotions
from wxdist.models import Order, ProductImage
from wxdist.models.types import utcnow
from wxdist.shop import shipping_templates

FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
SKIP = {"panel.login", "panel.logout", "panel.static"}
MISSING_IDS = (987_654, 2**63 - 1, 10**30)
_NAME = re.compile(r'name="([^"]+)"')
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_ACTION = re.compile(r'action="([^"]+)"')

ODD = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1e309",
    "NaN",
    "inf",
    "0.001",
    "12.345678901234",
    "-12.50",
    "99999999999999.99",
    str(2**63),
    str(-(2**63) - 1),
    str(10**30),
    "１２３",  # full-width digits
    "²",  # a digit to str.isdigit, not to int()
    "١٢",  # Arabic-Indic digits
    '=HYPERLINK("http://x")',
    "<script>alert(1)</script>",
    "approve",
    "reject",
    "disable",
    "enable",
    "part",
    "whole",
    "on",
    "1",
    "x" * 70_000,
    "昵称\u0000\ud7ff",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "2024-1-1",
    "pending_review",
]
odd_text = st.sampled_from(ODD)
values = (
    odd_text
    | st.text(max_size=40)
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    | st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str)
)
field_values = values | st.lists(values, min_size=0, max_size=3)


def _seed(client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any) -> dict:
    """Real objects for every id a panel URL takes."""
    d = fund(client, app, emulator, run_jobs, "fuzz", 50_000)
    wechat = withdraw(client, d, 1000).get_json()["id"]
    bank = withdraw(
        client,
        d,
        1000,
        method="bank",
        bank_name="招商银行",
        card_number="6225880212345678",
        holder="王五",
    )
    product = make_product(app, skus=2)
    sold = bought(client, app, emulator, "fuzz-aftersale")
    aftersale_id = apply(client, sold, amount_fen=1200).get_json()["id"]
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).order_by(Order.id))
        image_id = db.session.scalar(
            select(ProductImage.id).where(ProductImage.product_id == product["product_id"])
        )
        # A colleague whose account the fuzzing may change (never the signed-in owner).
        colleague = create_staff("fuzz-colleague", "a long enough password", "operator").id
        now = utcnow()
        discount = promotions.create_timed_discount(
            "限时", product["sku_ids"][0], now, now + timedelta(days=1), price_fen=100
        ).id
        reduction = promotions.create_full_reduction(
            promotions.ReductionSpec(
                "满减", now, now + timedelta(days=1), [{"threshold": 5000, "off_fen": 500}]
            )
        ).id
        shipping = shipping_templates.save_template(
            shipping_templates.TemplateSpec(
                "快递", False, shipping_templates.RateSpec(1, 800, 1, 200), undelivered=["540000"]
            )
        ).id
        db.session.commit()
        from wxdist.sharing import materials

        material = materials.create_material(
            materials.MaterialInput("文案", "好物推荐", product["product_id"], "双十二")
        ).id
        from wxdist.incentives import campaigns

        campaign = campaigns.create(
            campaigns.CampaignIn(
                "加佣", "boost", now, now + timedelta(days=1), rate_bp=500, budget_fen=10_000
            )
        ).id
        from wxdist.customers import tags

        tag = tags.create_tag("高价值").id
    flash = make_activity(app, product["sku_ids"][1], price_fen=990, stock=5)["activity_id"]
    group = make_group_activity(app, product["sku_ids"][1], price_fen=990, stock=2)
    with app.app_context():  # a webhook endpoint and a delivery to replay
        from wxdist.integrations import endpoints, outbox
        from wxdist.models import WebhookDelivery

        endpoint = endpoints.create("http://127.0.0.1:9/hooks", ["*"]).endpoint_id
        outbox.record("order.paid", {"order_no": "WXFUZZ"})
        db.session.commit()
        delivery = db.session.scalars(select(WebhookDelivery.id)).first()
        from wxdist.integrations import api_keys

        key = api_keys.create("ERP", ["orders:read"], 60, None).key.id
    return {
        "key_pk": [key],
        "endpoint_id": [endpoint],
        "delivery_id": [delivery],
        "activity_id": [flash],
        "group_activity_id": [group["activity_id"]],
        "campaign_id": [campaign],
        "tag_id": [tag],
        "material_id": [material],
        "index": [0],
        "shipping_template_id": [shipping],
        "staff_id": [colleague],
        "user_id": [d["user_id"]],
        "withdrawal_id": [wechat, bank.get_json().get("id", wechat)],
        "product_id": [product["product_id"]],
        "sku_id": product["sku_ids"],
        "order_id": [order_id],
        "image_id": [image_id],
        "template_id": [make_template(app)],
        "record_id": [discount, reduction],
        "aftersale_id": [aftersale_id],
    }


def _routes(app: Flask, method: str) -> list[Any]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("panel.")
            and rule.endpoint not in SKIP
            and method in (rule.methods or ())
        ),
        key=lambda rule: rule.rule,
    )


def _urls(rule: Any, seeded: dict, app: Flask) -> list[str]:
    """The rule built with real ids, and with ids that match nothing."""
    with app.test_request_context():
        from flask import url_for

        if not rule.arguments:
            return [url_for(rule.endpoint)]
        real = {name: seeded[name][0] for name in rule.arguments}
        urls = [url_for(rule.endpoint, **real)]
        if "sku_id" in rule.arguments:  # the other product's SKU is a real id too
            urls.append(url_for(rule.endpoint, **{**real, "sku_id": seeded["sku_id"][-1]}))
        for missing in MISSING_IDS:
            for name in rule.arguments:
                urls.append(url_for(rule.endpoint, **{**real, name: missing}))
        return urls


def _assert_no_500(response: Any, what: str) -> None:
    body = response.get_data(as_text=True)  # streams a CSV to its end
    assert response.status_code < 500, (what, response.status_code, body[:800])
    assert "Traceback" not in body, what


def _fuzz_post(owner: FlaskClient, url: str, token: str, form_data: Any, examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(data=form_data)
    def check(data: dict[str, Any]) -> None:
        response = owner.post(url, data={**data, "csrf_token": token})
        _assert_no_500(response, f"POST {url} {data!r}"[:2000])

    check()


def _sweep(send: Any, names: list[str], what: str) -> None:
    """Each odd value in every field at once: the inputs most likely to break a parser,
    tried for certain (the random examples may miss them)."""
    for value in ODD:
        response = send({name: value for name in names})
        _assert_no_500(response, f"{what} {names} = {value[:40]!r}")


def _fuzz_get(owner: FlaskClient, url: str, queries: Any) -> None:
    @FUZZ
    @given(params=queries)
    def check(params: dict[str, str]) -> None:
        response = owner.get(url, query_string=params)
        _assert_no_500(response, f"GET {url} {params!r}"[:2000])

    check()


def test_no_panel_form_input_gives_a_500(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    seeded = _seed(client, app, emulator, run_jobs)
    owner = staff_client(app, "owner")
    pages = ["/panel/settings", "/panel/settings/stock", "/panel/account"]
    pages += ["/panel/products/new", "/panel/withdrawals"]
    pages += [f"/panel/withdrawals/{i}" for i in seeded["withdrawal_id"]]
    pages += [
        f"/panel/distributors/{seeded['user_id'][0]}",
        f"/panel/orders/{seeded['order_id'][0]}",
        f"/panel/products/{seeded['product_id'][0]}/edit",
        "/panel/marketing/coupons",
        f"/panel/marketing/coupons/{seeded['template_id'][0]}",
        "/panel/marketing/promotions",
        "/panel/materials",
        f"/panel/materials/{seeded['material_id'][0]}",
        "/panel/incentives/new",
        f"/panel/incentives/{seeded['campaign_id'][0]}",
        f"/panel/incentives/{seeded['campaign_id'][0]}/edit",
        "/panel/customers",
        "/panel/customers/tags",
        f"/panel/customers/{seeded['user_id'][0]}",
        "/panel/marketing/flash-sales",
        f"/panel/marketing/flash-sales/{seeded['activity_id'][0]}",
        "/panel/marketing/group-buys",
        f"/panel/marketing/group-buys/{seeded['group_activity_id'][0]}",
    ]
    junk = {"ids", "action", "reason", "note", "x", "skus-0-name", "skus-99-price_fen", "new-"}
    by_action: dict[str, set[str]] = {}  # each form's field names, by the URL it posts to
    token = ""
    for page in pages:
        html = owner.get(page).get_data(as_text=True)
        token = csrf_from(html)
        for attributes, inner in _FORM.findall(html):
            if 'method="post"' in attributes:
                action = _ACTION.search(attributes)
                target = action.group(1) if action else page
                by_action.setdefault(target, set()).update(_NAME.findall(inner))
    pool = sorted(junk.union(*by_action.values()) - {"csrf_token"})

    for rule in _routes(app, "POST"):
        urls = _urls(rule, seeded, app)
        own = sorted(by_action.get(urls[0], set()) - {"csrf_token"}) or pool
        names = st.sampled_from(own) | st.sampled_from(pool)
        form_data = st.dictionaries(names, field_values, max_size=8)
        for index, url in enumerate(urls):
            _fuzz_post(owner, url, token, form_data, 25 if index == 0 else 4)
        _sweep(
            lambda data, url=urls[0]: owner.post(url, data={**data, "csrf_token": token}),
            own,
            f"POST {urls[0]}",
        )
    run_jobs()
    clean(app)


def test_no_panel_query_string_gives_a_500(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    seeded = _seed(client, app, emulator, run_jobs)
    owner = staff_client(app, "owner")
    keys = [
        "page",
        "status",
        "method",
        "q",
        "from",
        "to",
        "since",
        "until",
        "beneficiary",
        "order",
        "shelf",
        "category",
        "action",
        "staff",
        "target_type",
        "target_id",
        "tag",
        "source",
        "spend_min",
        "spend_max",
        "last_from",
        "last_to",
        "sort",
        "after",
    ]
    queries = st.dictionaries(st.sampled_from(keys), values, max_size=5)
    for rule in _routes(app, "GET"):
        urls = _urls(rule, seeded, app)
        for url in urls:
            _fuzz_get(owner, url, queries)
        _sweep(lambda params, url=urls[0]: owner.get(url, query_string=params), keys, urls[0])

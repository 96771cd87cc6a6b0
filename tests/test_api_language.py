"""The API's errors in the shopper's language: the same error read with `Accept-Language:
zh-CN`, with `en` and with no header at all carries the same `code` and the same field
names, a Chinese message for zh-CN and for no header (the default), an English one for en.
Real requests against the app (and the gateway emulator where an order needs one)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.shop import ADDRESS, become_distributor, login, make_product
from wxdist.core import errors

NO_HEADER = None


def reader(app: Flask, language: str | None) -> FlaskClient:
    """A client sending `Accept-Language: language`, or no such header for None (the test
    client class says `en` unless told otherwise)."""
    client = app.test_client()
    if language is None:
        client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    else:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def error_in(app: Flask, language: str | None, method: str, url: str, **kw: Any) -> dict:
    response = reader(app, language).open(url, method=method, **kw)
    assert 400 <= response.status_code < 600, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    return {"status": response.status_code, **response.get_json()["error"]}


def three_ways(app: Flask, method: str, url: str, **kw: Any) -> tuple[dict, dict, dict]:
    """The error as a zh-CN reader, an en reader and a reader sending no language see it;
    the code, the status and the field names are the same in all three."""
    zh, en, default = (error_in(app, lang, method, url, **kw) for lang in ("zh-CN", "en", None))
    assert zh["code"] == en["code"] == default["code"]
    assert zh["status"] == en["status"] == default["status"]
    assert zh["fields"].keys() == en["fields"].keys() == default["fields"].keys()
    assert default == zh, "no Accept-Language reads Chinese"
    assert zh["message"] != en["message"]
    return zh, en, default


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_out_of_stock_reads_库存不足_in_chinese_and_english_in_en(app: Flask) -> None:
    product = make_product(app, stock=1)
    headers = login(reader(app, "en"), "lang-stock")
    body = {"items": [{"sku_id": product["sku_id"], "quantity": 2}], "address": ADDRESS}
    zh, en, _default = three_ways(app, "POST", "/api/v1/orders", json=body, headers=headers)
    assert zh["status"] == 409 and zh["code"] == "out_of_stock"
    assert zh["message"] == "库存不足"
    assert zh["fields"] == {"items.0.quantity": "库存不足"}
    assert en["message"] == "not enough stock"
    assert en["fields"] == {"items.0.quantity": "not enough stock"}


def test_invalid_fields_from_the_schema_are_worded_in_the_language(app: Flask) -> None:
    headers = login(reader(app, "en"), "lang-invalid")
    body = {
        "items": [{"sku_id": 1, "quantity": 0}],
        "address": {**ADDRESS, "name": "   ", "phone": "call me"},
        "coupon": "FREE",
    }
    zh, en, _default = three_ways(app, "POST", "/api/v1/orders", json=body, headers=headers)
    assert zh["status"] == 400 and zh["code"] == "invalid"
    assert zh["message"] == "请求中有无效的字段"
    assert zh["fields"] == {
        "items.0.quantity": "不能小于 1",
        "address.name": "至少 1 个字符",
        "address.phone": "格式不正确",
        "coupon": "未知字段",
    }
    assert en["message"] == "the request has invalid fields"
    assert en["fields"] == {
        "items.0.quantity": "must be at least 1",
        "address.name": "at least 1 characters",
        "address.phone": "not in the expected form",
        "coupon": "unknown field",
    }


def test_a_bad_query_choice_lists_the_codes_without_english_words(app: Flask) -> None:
    headers = login(reader(app, "en"), "lang-query")
    zh, en, _default = three_ways(app, "GET", "/api/v1/orders?status=lost", headers=headers)
    assert zh["code"] == "invalid"
    assert zh["fields"]["status"].startswith("须为以下之一：'pending_payment', 'paid'")
    assert " or " not in zh["fields"]["status"]
    assert en["fields"]["status"].startswith("must be one of 'pending_payment', 'paid'")


def test_a_body_that_is_not_json_is_refused_in_the_language(app: Flask) -> None:
    headers = {**login(reader(app, "en"), "lang-json"), "Content-Type": "application/json"}
    zh, en, _default = three_ways(app, "POST", "/api/v1/orders", data="{nope", headers=headers)
    assert zh["code"] == "invalid_json"
    assert zh["message"] == zh["fields"]["body"] == "请求内容不是有效的 JSON"
    assert en["message"] == "the body is not valid JSON"


def test_not_found_reads_订单不存在(app: Flask) -> None:
    headers = login(reader(app, "en"), "lang-404")
    zh, en, _default = three_ways(app, "GET", "/api/v1/orders/987654321", headers=headers)
    assert zh["status"] == 404 and zh["code"] == "not_found"
    assert zh["message"] == "订单不存在"
    assert zh["fields"] == {"order_id": "未找到"}
    assert en["message"] == "no such order"


def test_unauthorized_reads_请先登录(app: Flask) -> None:
    zh, en, _default = three_ways(app, "GET", "/api/v1/orders")
    assert zh["status"] == 401 and zh["code"] == "unauthorized"
    assert zh["message"] == "请先登录"
    assert zh["fields"] == {"Authorization": "需要 Bearer 令牌"}
    assert en["message"] == "log in first"
    assert en["fields"] == {"Authorization": "Bearer token needed"}


def test_a_forged_token_reads_令牌无效(app: Flask) -> None:
    headers = {"Authorization": "Bearer not-a-token"}
    zh, en, _default = three_ways(app, "GET", "/api/v1/orders", headers=headers)
    assert zh["code"] == "invalid_token"
    assert zh["message"] == "令牌无效"
    assert en["message"] == "the token is not valid"


def test_a_withdrawal_beyond_the_balance_reads_可提现余额不足(app: Flask) -> None:
    distributor = become_distributor(reader(app, "en"), "lang-withdraw")
    body = {"amount_fen": 1000, "method": "wechat", "account": {}}
    zh, en, _default = three_ways(
        app, "POST", "/api/v1/distributor/withdrawals", json=body, headers=distributor["headers"]
    )
    assert zh["status"] == 409 and zh["code"] == "insufficient_balance"
    assert zh["message"] == "可提现余额不足"
    assert zh["fields"] == {"amount_fen": "超过你的可提现余额"}
    assert en["message"] == "not enough available balance"
    assert en["fields"] == {"amount_fen": "more than your available balance"}


def test_a_shopper_who_is_no_distributor_cannot_withdraw_in_either_language(app: Flask) -> None:
    headers = login(reader(app, "en"), "lang-not-distributor")
    body = {"amount_fen": 1000, "method": "wechat", "account": {}}
    zh, en, _default = three_ways(
        app, "POST", "/api/v1/distributor/withdrawals", json=body, headers=headers
    )
    assert zh["status"] == 403 and zh["code"] == "not_distributor"
    assert has_chinese(zh["message"]) and not has_chinese(en["message"])


@pytest.mark.parametrize(
    ("method", "url", "status", "code", "chinese", "english"),
    [
        (
            "GET",
            "/api/v1/nowhere",
            404,
            "not_found",
            "该地址不存在",
            "there is nothing at this address",
        ),
        (
            "DELETE",
            "/api/v1/products",
            405,
            "method_not_allowed",
            "该地址不支持此请求方法",
            "this address does not take that method",
        ),
    ],
)
def test_http_errors_have_our_words_per_status(
    app: Flask, method: str, url: str, status: int, code: str, chinese: str, english: str
) -> None:
    zh, en, _default = three_ways(app, method, url)
    assert (zh["status"], zh["code"]) == (status, code)
    assert (zh["message"], en["message"]) == (chinese, english)


@pytest.mark.parametrize(
    ("accept_language", "message"),
    [
        ("en;q=0.1, zh-CN;q=0.9", "请先登录"),
        ("zh-CN;q=0.2, en;q=0.8", "log in first"),
        ("en-US,en;q=0.9", "log in first"),
        ("zh-TW", "请先登录"),
        ("fr", "请先登录"),
        ("fr, en;q=0.5", "log in first"),
        ("*", "请先登录"),
    ],
)
def test_accept_language_is_weighed_and_anything_else_reads_chinese(
    app: Flask, accept_language: str, message: str
) -> None:
    error = error_in(app, accept_language, "GET", "/api/v1/orders")
    assert error["code"] == "unauthorized"
    assert error["message"] == message


def test_the_html_fallback_escapes_the_message(app: Flask) -> None:
    """Outside /api, for a browser, the error page is HTML with the message escaped."""
    with app.test_request_context("/somewhere", headers={"Accept": "text/html"}):
        response = errors.error_response(400, code="x", message='<img src=x onerror="alert(1)">')
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "<img" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_a_page_outside_the_api_reads_its_404_in_the_language(app: Flask) -> None:
    page = reader(app, NO_HEADER).get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "该地址不存在" in page.get_data(as_text=True)
    english = reader(app, "en").get("/no-such-page", headers={"Accept": "text/html"})
    assert "there is nothing at this address" in english.get_data(as_text=True)


def test_the_error_body_holds_plain_strings_from_lazy_ones(app: Flask) -> None:
    from flask_babel import lazy_gettext

    with app.test_request_context("/api/v1/x", headers={"Accept-Language": "zh-CN"}):
        body = errors.error_body(
            "not_found", lazy_gettext("no such order"), {"order_id": lazy_gettext("not found")}
        )
    assert body == {
        "error": {"code": "not_found", "message": "订单不存在", "fields": {"order_id": "未找到"}}
    }
    assert all(type(value) is str for value in body["error"]["fields"].values())

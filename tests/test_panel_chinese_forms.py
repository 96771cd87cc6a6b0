"""What a merchant reads in the panel's frame, dashboard, products and settings: Chinese
by default (the browser asks for zh-CN), English for a browser that asks for it.

Form errors stand next to the field they are about, WTForms' own messages included (in
nested SKU rows too); flashes, the sign-in refusal, the panel's error pages, the pager and
the dashboard chart follow the reader's language; payment channels and payout methods are
named by their registries.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.panel_helpers import csrf_from, make_staff, post_form, sign_in
from tests.shop import make_product
from tests.test_panel_settings import _form as settings_form
from wxdist.distribution.settings import get_settings
from wxdist.panel.decimal_fields import hundredths_text
from wxdist.panel.queries.paging import PER_PAGE

NEW = "/panel/products/new"
SETTINGS = "/panel/settings"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def _client(app: Flask, language: str, role: str = "owner") -> FlaskClient:
    """A browser asking for `language`, signed in as a new staff member with `role`."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    username = make_staff(app, role, f"{role}-{language.lower()}")
    assert sign_in(client, username).status_code == 302
    return client


def _field_errors(html: str, name: str) -> list[str]:
    """The error messages shown inside the label of the input called `name`."""
    for label in re.findall(r'<label class="field[^"]*">(.*?)</label>', html, re.S):
        if f'name="{name}"' in label:
            return re.findall(r'<em class="error">([^<]*)</em>', label)
    raise AssertionError(f"no field {name!r} on the page")


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash [a-z]+" role="status">([^<]*)</div>', html)


def _save_settings(client: FlaskClient, app: Flask, **overrides: Any) -> Any:
    """Send the settings form as it stands, with `overrides`."""
    token = csrf_from(client.get(SETTINGS).get_data(as_text=True))
    return client.post(SETTINGS, data={**settings_form(app, **overrides), "csrf_token": token})


def test_a_product_form_sent_empty_says_what_is_required_in_chinese_by_the_field(
    app: Flask,
) -> None:
    owner = _client(app, "zh-CN")
    sent = post_form(owner, NEW, NEW, **{"skus-0-name": "250g", "skus-0-stock": "很多"})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400
    assert _field_errors(html, "title") == ["该字段是必填字段。"]
    # A nested SKU row: WTForms' own message and the panel's, both Chinese.
    assert _field_errors(html, "skus-0-stock")[0] == "不是有效的整数。"
    assert _field_errors(html, "skus-0-price_fen") == ["必填"]
    assert "请修改下方标出的字段。" in html
    assert "<span>标题</span>" in html and "<span>库存</span>" in html


def test_a_price_or_a_rate_that_is_not_a_number_is_refused_in_chinese(app: Flask) -> None:
    owner = _client(app, "zh-CN")
    sent = post_form(
        owner,
        NEW,
        NEW,
        title="咖啡",
        commission_l1_bp="一成",
        **{"skus-0-name": "250g", "skus-0-price_fen": "十二块", "skus-0-stock": "3"},
    )
    html = sent.get_data(as_text=True)
    assert sent.status_code == 400
    assert _field_errors(html, "skus-0-price_fen") == ["以元为单位、最多两位小数的金额，例如 12.50"]
    assert _field_errors(html, "commission_l1_bp") == ["最多两位小数的百分比，例如 12.5"]


def test_the_settings_saved_flash_names_the_changed_fields_in_the_readers_language(
    app: Flask,
) -> None:
    owner = _client(app, "zh-CN")
    with app.app_context():
        before = get_settings().withdraw_min_fen
    saved = _save_settings(owner, app, withdraw_min_fen=hundredths_text(before + 100))
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    page = owner.get(SETTINGS).get_data(as_text=True)
    assert _flashes(page) == ["设置已保存：最低提现金额（¥）。"]
    # The payout methods and WeChat's payout APIs by their Chinese names.
    assert "微信零钱" in page and "企业付款到零钱（旧版接口）" in page

    english = app.test_client()  # reads English (tests/conftest.py)
    assert sign_in(english, "owner-zh-cn").status_code == 302
    restored = _save_settings(english, app, withdraw_min_fen=hundredths_text(before))
    assert restored.status_code == 303, restored.get_data(as_text=True)[:3000]
    page = english.get(SETTINGS).get_data(as_text=True)
    assert _flashes(page) == ["Settings saved: Minimum withdrawal (¥)."]
    form = page[page.index('<form method="post" novalidate>') :]
    assert not CJK.findall(form), CJK.findall(form)
    assert "WeChat change" in form and "v2 (enterprise payment to WeChat change)" in form


def test_a_wrong_password_is_refused_in_the_browsers_language(app: Flask) -> None:
    make_staff(app, "owner", "boss")
    for language, expected in (
        ("zh-CN,zh;q=0.9", "用户名或密码错误。"),
        ("en-US,en;q=0.9", "Wrong username or password."),
    ):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        refused = sign_in(client, "boss", "not the password")
        assert refused.status_code == 401
        html = refused.get_data(as_text=True)
        assert expected in _flashes(html)
        assert ("<span>用户名</span>" in html) == language.startswith("zh")


def test_the_panels_error_pages_read_in_chinese(app: Flask) -> None:
    owner = _client(app, "zh-CN")
    missing = owner.get("/panel/products/999999999/edit")
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert "找不到该页面或记录。" in html and "返回</a>" in html
    assert "<title>错误 404 · wxdist</title>" in html
    operator = _client(app, "zh-CN", role="operator")
    refused = operator.get(SETTINGS)
    assert refused.status_code == 403
    assert "您的角色无权打开此页面。" in refused.get_data(as_text=True)
    expired = owner.post(SETTINGS, data={"withdraw_min_fen": "1"})  # no CSRF token
    assert expired.status_code == 400
    assert "表单已过期或并非从管理后台提交；请刷新页面后重试。" in expired.get_data(as_text=True)


def test_the_second_page_of_a_list_renders_with_its_pager(app: Flask) -> None:
    for number in range(PER_PAGE + 1):
        make_product(app, title=f"商品{number}")
    owner = _client(app, "zh-CN")
    second = owner.get("/panel/products?page=2")
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert "上一页</a>" in html and "第 2 页" in html
    assert "下一页" in owner.get("/panel/products").get_data(as_text=True)


def test_the_dashboard_chart_is_labelled_in_the_readers_language(app: Flask) -> None:
    chinese = _client(app, "zh-CN").get("/panel/").get_data(as_text=True)
    assert "<h2>近 30 天净销售额（¥）</h2>" in chinese
    assert 'aria-label="近 30 天每日净销售额"' in chinese
    days = re.findall(r'text-anchor="middle">([^<]+)</text>', chinese)
    assert days and all(re.fullmatch(r"\d{1,2}月\d{1,2}日", day) for day in days), days
    assert re.search(r"<title>\d{1,2}月\d{1,2}日：¥0\.00</title>", chinese)
    assert "今日 · 7 天" in chinese

    english = _client(app, "en").get("/panel/").get_data(as_text=True)
    assert "<h2>Net sales, last 30 days (¥)</h2>" in english
    days = re.findall(r'text-anchor="middle">([^<]+)</text>', english)
    assert days and all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", day) for day in days), days


def test_channels_and_payout_methods_are_named_by_their_registries(app: Flask) -> None:
    from wxdist.panel.labels import label, labelled

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert [label(code) for code in ("wechat", "alipay", "bank")] == [
            "微信支付",
            "支付宝",
            "银行卡",
        ]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert [label(code) for code in ("wechat", "alipay", "bank")] == [
            "WeChat Pay",
            "Alipay",
            "bank card",
        ]
        assert label("carrier pigeon") == "carrier pigeon"
    assert labelled("bank") and labelled("paid") and not labelled("carrier pigeon")


def test_every_panel_form_gives_wtforms_messages_in_the_request_language(app: Flask) -> None:
    """Each form class of the panel (nested rows too) reads WTForms' built-in messages in
    the language of the request, so no form can fall back to English on a Chinese page."""
    import importlib
    import inspect

    from wtforms import Form

    from wxdist.panel import PAGE_MODULES

    forms = {
        cls
        for module in PAGE_MODULES
        for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, Form) and cls.__module__.startswith("wxdist.panel")
    }
    assert len(forms) > 10
    for language, expected in (("zh-CN", "该字段是必填字段。"), ("en", "This field is required.")):
        with app.test_request_context(headers={"Accept-Language": language}):
            for cls in forms:
                form = cls(formdata=None, meta={"csrf": False})
                said = form.meta.get_translations(form).gettext("This field is required.")
                assert said == expected, (cls.__name__, language, said)

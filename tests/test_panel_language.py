"""The panel speaks Chinese by default and English to whoever chooses it.

In a real browser (Debian's Chromium through Playwright) every panel page, the sign-in
page, an error page, a form sent back with its errors and a flash message are read as a
person reads them (tests/ui_text.py): in zh_CN no English word is left that the
database did not supply, in en no Chinese character. The language comes from the staff
member's choice, then the browser's Accept-Language, then zh_CN.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.browser import shoot, sign_in
from tests.panel_helpers import PASSWORD, make_staff
from tests.panel_helpers import sign_in as client_sign_in
from tests.ui_text import chinese_left, english_left, page_texts, stored_strings, without_data

OWNER = "boss2026"


def _walk(page: Any, app: Flask, urls: list[tuple[str, str]], read: Any, name: str) -> dict:
    """Open each (name, url); returns {name: what `read` found left} for pages with any."""
    found: dict[str, list[str]] = {}
    data = stored_strings(app)
    for page_name, url in urls:
        page.goto(f"{app.config['LIVE_URL']}{url}")
        left = [bit for text in page_texts(page) for bit in read(without_data(text, data))]
        if left:
            found[page_name] = sorted(set(left))
        shoot(page, f"{name}-{page_name}")
    return found


def _pages(client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any) -> list:
    from tests.test_panel_pages import panel_pages, seed_objects

    ids = seed_objects(client, app, emulator, run_jobs)
    pages = [
        (endpoint.removeprefix("panel."), url)
        for endpoint, url, _ in panel_pages(app, ids)
        if not endpoint.endswith("_csv")
    ]
    pages.append(("not-found", "/panel/orders/999999999"))
    return pages


def _after_forms(page: Any, app: Flask, read: Any) -> dict[str, list[str]]:
    """A form sent back with its errors, a flash after saving, and a refused form."""
    base, data, found = app.config["LIVE_URL"], stored_strings(app), {}

    def check(name: str) -> None:
        left = [bit for text in page_texts(page) for bit in read(without_data(text, data))]
        if left:
            found[name] = sorted(set(left))
        shoot(page, name)

    page.goto(f"{base}/panel/products/new")
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    check("product-new-errors")
    page.goto(f"{base}/panel/settings")
    with page.expect_navigation():
        page.locator("form button[type=submit]").last.click()
    check("settings-saved")
    page.evaluate("document.querySelector('form.who input[name=csrf_token]').remove()")
    with page.expect_navigation():
        page.click("form.who button[type=submit]")
    check("csrf-refused")
    return found


def test_every_panel_page_reads_in_chinese_by_default(
    client: FlaskClient, app: Flask, browser: Any, emulator: EmulatorServer, run_jobs: Any
) -> None:
    pages = _pages(client, app, emulator, run_jobs)
    make_staff(app, "owner", OWNER)
    page = browser.new_page(locale="zh-CN")
    sign_in(page, app.config["LIVE_URL"], OWNER, "wrong password!")
    found = {"login": [bit for text in page_texts(page) for bit in english_left(text)]}
    shoot(page, "zh-login")
    sign_in(page, app.config["LIVE_URL"], OWNER, PASSWORD)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    found |= _walk(page, app, pages, english_left, "zh")
    found |= _after_forms(page, app, english_left)
    assert not {name: left for name, left in found.items() if left}, (
        f"English left on Chinese pages: {found}"
    )
    page.close()


def test_every_panel_page_reads_in_english_once_the_staff_member_chooses_it(
    client: FlaskClient, app: Flask, browser: Any, emulator: EmulatorServer, run_jobs: Any
) -> None:
    pages = _pages(client, app, emulator, run_jobs)
    make_staff(app, "owner", OWNER)
    page = browser.new_page(locale="zh-CN")  # the browser asks for Chinese
    sign_in(page, app.config["LIVE_URL"], OWNER, PASSWORD)
    page.select_option("form.language select", "en")
    with page.expect_navigation():
        page.click("form.language button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "en"
    found = _walk(page, app, pages, chinese_left, "en")
    found |= _after_forms(page, app, chinese_left)
    assert not found, f"Chinese left on English pages: {found}"
    page.close()


def test_the_sign_in_page_follows_the_browser_language(app: Flask, browser: Any) -> None:
    for locale, read in (("en-US", chinese_left), ("fr-FR", english_left)):
        page = browser.new_page(locale=locale)
        page.goto(f"{app.config['LIVE_URL']}/panel/login")
        left = [bit for text in page_texts(page) for bit in read(text)]
        assert not left, (locale, left)
        page.close()


def test_the_language_is_the_staff_choice_then_accept_language_then_chinese(
    app: Flask,
) -> None:
    make_staff(app, "owner", OWNER)
    client = app.test_client()
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    assert client_sign_in(client, OWNER).status_code == 302
    assert '<html lang="zh-CN">' in client.get("/panel/").get_data(as_text=True)
    english = client.get("/panel/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert ">Dashboard<" in english.get_data(as_text=True)
    page = client.get("/panel/").get_data(as_text=True)
    assert ">概览<" in page
    from tests.panel_helpers import csrf_from

    token = csrf_from(page)
    client.post("/panel/language", data={"language": "en", "csrf_token": token})
    chosen = client.get("/panel/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in chosen  # the staff member's choice wins over the browser
    refused = client.post("/panel/language", data={"language": "fr", "csrf_token": token})
    assert refused.status_code == 400
    assert "language" in refused.get_data(as_text=True)

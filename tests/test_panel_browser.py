"""The panel in a real browser (Debian's Chromium through Playwright): sign in, act on
withdrawals, CSRF and roles, with screenshots of each page at desktop and phone width."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.browser import PHONE, shoot, sign_in
from tests.panel_helpers import PASSWORD, make_staff


def test_sign_in_and_see_the_dashboard(app: Flask, browser: Any) -> None:
    make_staff(app, "owner", "boss")
    page = browser.new_page()
    sign_in(page, app.config["LIVE_URL"], "boss", "wrong password!")
    assert "Wrong username or password" in page.content()
    shoot(page, "login")
    sign_in(page, app.config["LIVE_URL"], "boss", PASSWORD)
    assert page.url.endswith("/panel/")
    assert page.locator("h1").inner_text() == "Dashboard"
    shoot(page, "dashboard")
    page.close()


def test_a_form_posted_without_its_csrf_token_is_refused(app: Flask, browser: Any) -> None:
    make_staff(app, "owner", "boss")
    page = browser.new_page()
    sign_in(page, app.config["LIVE_URL"], "boss", PASSWORD)
    # The sign-out form, stripped of its token as a forged cross-site form would be.
    page.evaluate("document.querySelector('form.who input[name=csrf_token]').remove()")
    with page.expect_navigation():
        page.click("form.who button[type=submit]")
    assert "The form expired or was not sent from the panel" in page.content()
    shoot(page, "csrf-refused")
    page.goto(f"{app.config['LIVE_URL']}/panel/")
    assert page.locator("h1").inner_text() == "Dashboard"  # still signed in: nothing happened
    page.close()


def test_an_operator_is_refused_the_withdrawals_page(
    app: Flask,
    browser: Any,
    emulator: EmulatorServer,
) -> None:
    make_staff(app, "operator", "ops")
    page = browser.new_page()
    sign_in(page, app.config["LIVE_URL"], "ops", PASSWORD)
    response = page.goto(f"{app.config['LIVE_URL']}/panel/withdrawals")
    assert response is not None and response.status == 403
    assert "Your role cannot open this page" in page.content()
    assert page.locator("nav.nav a", has_text="Withdrawals").count() == 0
    shoot(page, "operator-refused")
    page.close()


def test_every_page_renders_in_the_browser_at_desktop_and_phone_width(
    client: FlaskClient, app: Flask, browser: Any, emulator: EmulatorServer, run_jobs: Any
) -> None:
    from tests.test_panel_pages import panel_pages, seed_objects

    ids = seed_objects(client, app, emulator, run_jobs)
    make_staff(app, "owner", "boss")
    page = browser.new_page()
    sign_in(page, app.config["LIVE_URL"], "boss", PASSWORD)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for endpoint, url, _ in panel_pages(app, ids):
        if endpoint.endswith("_csv"):
            continue  # a download, not a page
        response = page.goto(f"{app.config['LIVE_URL']}{url}")
        assert response is not None and response.status == 200, (endpoint, url)
        assert page.locator("h1").count() >= 1, endpoint
        # Nothing overflows the phone's width but what scrolls inside its table box.
        page.set_viewport_size(PHONE)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= PHONE["width"] + 1, f"{endpoint} is {overflow} px wide on a phone"
        shoot(page, endpoint.removeprefix("panel."))
    assert not errors, errors
    page.close()

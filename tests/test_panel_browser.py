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
    page = browser.new_page(locale="en-US")
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
    page = browser.new_page(locale="en-US")
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
    page = browser.new_page(locale="en-US")
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
    page = browser.new_page(locale="en-US")
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


def test_finance_approves_a_withdrawal_and_the_worker_pays_it(
    client: FlaskClient, app: Flask, browser: Any, emulator: EmulatorServer, run_jobs: Any
) -> None:
    from tests.shop import set_settings
    from tests.test_withdrawals import balances, fund, status_of, withdraw

    distributor = fund(client, app, emulator, run_jobs, "br-approve", 5000)
    set_settings(app, wechat_payout_api="v2")  # paid at once (v3 waits for the payee)
    pending = withdraw(client, distributor, 3000).get_json()
    make_staff(app, "finance", "cashier")
    page = browser.new_page(locale="en-US")
    sign_in(page, app.config["LIVE_URL"], "cashier", PASSWORD)
    page.goto(f"{app.config['LIVE_URL']}/panel/withdrawals?status=pending_review")
    shoot(page, "withdrawals-pending")
    page.click(f"a[href$='/panel/withdrawals/{pending['id']}']")
    page.fill("form[action$='/approve'] textarea, form[action$='/approve'] input[name=note]", "ok")
    with page.expect_navigation():
        page.click("form[action$='/approve'] button[type=submit]")
    assert page.locator("h1").inner_text().split()[-1] in ("approved", "paying", "paid")
    run_jobs()  # the payout worker (inline mode paid it already)
    page.reload()
    assert "paid" in page.locator("h1").inner_text()
    shoot(page, "withdrawal-paid")
    assert status_of(client, distributor, pending["id"])["status"] == "paid"
    assert balances(client, distributor)["withdrawing_fen"] == 0
    page.close()


def test_finance_rejects_a_withdrawal_with_a_reason_and_the_balance_comes_back(
    client: FlaskClient, app: Flask, browser: Any, emulator: EmulatorServer, run_jobs: Any
) -> None:
    from tests.test_withdrawals import balances, fund, status_of, withdraw

    distributor = fund(client, app, emulator, run_jobs, "br-reject", 5000)
    pending = withdraw(client, distributor, 2000).get_json()
    assert balances(client, distributor)["available_fen"] == 3000
    make_staff(app, "finance", "cashier")
    page = browser.new_page(locale="en-US")
    sign_in(page, app.config["LIVE_URL"], "cashier", PASSWORD)
    page.goto(f"{app.config['LIVE_URL']}/panel/withdrawals/{pending['id']}")
    page.fill("form[action$='/reject'] [name=reason]", "账户信息不全")
    with page.expect_navigation():
        page.click("form[action$='/reject'] button[type=submit]")
    assert "rejected" in page.locator("h1").inner_text()
    assert "账户信息不全" in page.content()
    shoot(page, "withdrawal-rejected")
    assert balances(client, distributor) == {
        "frozen_fen": 0,
        "available_fen": 5000,
        "withdrawing_fen": 0,
    }
    assert status_of(client, distributor, pending["id"])["failure_reason"] == "账户信息不全"
    page.close()

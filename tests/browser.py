"""Playwright driving Debian's Chromium (never a downloaded browser) for the panel tests.

Without /usr/bin/chromium the browser tests skip, unless PANEL_BROWSER_REQUIRED=1 (CI sets
it after installing chromium), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def launch(playwright: Any) -> Any:
    """Chromium from Debian, headless; skips (or fails under PANEL_BROWSER_REQUIRED=1)
    when it is not installed."""
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("PANEL_BROWSER_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return playwright.chromium.launch(
        executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )


def shoot(page: Any, name: str) -> None:
    """Save the page at desktop width and at a phone's 390 px as screenshots/<name>-*.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    original = page.viewport_size
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(original)


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/panel/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()

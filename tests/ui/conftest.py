"""The browser fixture the browser tests share: a Streamlit server of the app and headless Chromium."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.serve import CHROMIUM, CHROMIUM_ARGS, streamlit_server


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def chromium():
    """Chromium with the app served on a loopback port (`.base_url`); skipped without Chromium or
    playwright, unless REQUIRE_BROWSER=1 (as in CI), which turns the skip into a failure."""
    reason = _missing()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required (REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with streamlit_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser.base_url = url
        yield browser
        browser.close()

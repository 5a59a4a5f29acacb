"""The workbench in a real browser: a CSV uploaded in one session, a model typed and fitted on it; a second
browser session (another context: other cookies, another Streamlit session) never sees that file, and
no file holding its contents is written on the server's disk."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from tests.ui.test_browser import TIMEOUT_MS, chromium  # noqa: F401 (the fixture)
from tools.serve import REPO, wait_until_rendered

MARKER = "zz_private_7f3a9c"  # a column name only the uploaded file has
DATA = pd.DataFrame({"y": [3.1, 4.2, 5.0, 2.2, 6.3, 4.4, 5.5, 3.3, 4.8, 5.1, 2.9, 4.0],
                     "g": list("aaabbbcccddd"), MARKER: range(12)})


def session(browser):
    """A new browser context: its own cookies and storage, so its own Streamlit session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(browser.base_url)  # the home page first: a fresh server's first deep link shows a notice
    wait_until_rendered(tab, TIMEOUT_MS)
    tab.goto(f"{browser.base_url}/workbench")
    wait_until_rendered(tab, TIMEOUT_MS)
    tab.get_by_text("Model workbench", exact=True).first.wait_for()
    return context, tab


def open_data_select(tab) -> None:
    """Open the Data selectbox's list (again if a rerun closed it under the click)."""
    from playwright.sync_api import TimeoutError as NotOpen

    box = tab.locator('[data-testid="stSelectbox"]').filter(has_text="Data").first.get_by_role("combobox")
    for _ in range(10):
        wait_until_rendered(tab, TIMEOUT_MS)
        box.click()
        try:
            tab.get_by_role("option").first.wait_for(timeout=3000)
            return
        except NotOpen:
            tab.keyboard.press("Escape")
    raise AssertionError("the Data selectbox does not open")


def data_options(tab) -> list[str]:
    """The Data selectbox's options, read again if a late rerun (the fit's result arriving) closed the list
    between its opening and the reading (seen on CI: an empty list)."""
    for _ in range(10):
        open_data_select(tab)
        options = tab.get_by_role("option").all_inner_texts()
        tab.keyboard.press("Escape")
        if options:
            return options
    return []


def files_holding(marker: bytes, since: float) -> list[Path]:
    """Files under the repository or the temp folder, changed since `since`, whose bytes hold `marker`."""
    found = []
    for root in (REPO, Path(tempfile.gettempdir())):
        for folder, dirs, files in os.walk(root):  # os.walk skips folders that vanish meanwhile
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in files:
                path = Path(folder, name)
                try:
                    info = path.stat()
                    if info.st_mtime >= since and info.st_size < 50 * 2**20 and marker in path.read_bytes():
                        found.append(path)
                except OSError:  # gone, or not a regular file
                    continue
    return found


def test_an_upload_is_fitted_in_its_session_and_seen_by_no_other(chromium):
    browser = chromium
    start = time.time()
    first_context, first = session(browser)
    open_data_select(first)
    first.get_by_role("option", name="Upload a CSV file").click()
    first.locator('input[type="file"]').set_input_files(
        {"name": "private.csv", "mimeType": "text/csv", "buffer": DATA.to_csv(index=False).encode()})
    first.get_by_text("12 rows, 3 columns", exact=False).first.wait_for()

    first.get_by_text("Type the formula yourself (advanced)").click()
    box = first.get_by_label("Formula in lme4's syntax", exact=False)
    box.fill(f"y ~ {MARKER} + (1 | g)")
    box.press("Enter")
    wait_until_rendered(first, TIMEOUT_MS)
    first.get_by_role("button", name="Use this formula").click()
    wait_until_rendered(first, TIMEOUT_MS)
    first.get_by_role("button", name="Fit and add to the list").click()
    first.get_by_text("fitted in", exact=False).first.wait_for()
    summary = first.locator('[data-testid="stCode"]').filter(has_text="Linear mixed model fit by REML")
    summary.filter(has_text=f"{MARKER} ").first.wait_for()  # its fixed-effects row
    assert first.locator('[data-testid="stException"]').count() == 0
    options = data_options(first)
    assert any("private.csv" in o for o in options), options

    second_context, second = session(browser)
    options = data_options(second)
    assert options and not any("private" in o for o in options)
    assert MARKER not in second.locator('[data-testid="stMain"]').inner_text()
    assert files_holding(MARKER.encode(), start) == []
    first_context.close()
    second_context.close()

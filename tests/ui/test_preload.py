"""ui.preload: the element scripts a tab loads while idle on its first page."""
from __future__ import annotations

from tests.ui.test_browser import TIMEOUT_MS, chromium  # noqa: F401 (the fixture)
from tools.serve import open_sidebar_link, wait_for_charts, wait_until_rendered
from ui.preload import ELEMENT_CHUNKS, STATIC_JS, chunk_files

RESOURCES = "performance.getEntriesByType('resource').map(e => e.name.split('/').pop())"


def test_every_element_chunk_is_shipped_by_this_streamlit():
    """One file per name (NAME.HASH.js) in the installed Streamlit: an upgrade that renames a chunk
    fails here, not silently in the browser."""
    files = chunk_files()
    assert [f.split(".")[0] for f in files] == list(ELEMENT_CHUNKS)
    assert all((STATIC_JS / f).is_file() for f in files)


def test_home_loads_the_element_scripts_and_the_next_page_fetches_none_again(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(chromium.base_url)
    wait_until_rendered(tab, TIMEOUT_MS)
    tab.wait_for_function("typeof window.__elementScriptsPreloaded === 'number'", timeout=TIMEOUT_MS)
    on_home = tab.evaluate(RESOURCES)
    assert set(chunk_files()) <= set(on_home)

    open_sidebar_link(tab, "qaqc").click()
    tab.get_by_role("heading", name="QA/QC", exact=False).first.wait_for()
    wait_until_rendered(tab, TIMEOUT_MS)
    wait_for_charts(tab, TIMEOUT_MS, 1)
    fetched = tab.evaluate(RESOURCES)
    assert [f for f in chunk_files() if fetched.count(f) != 1] == []  # each fetched once, by Home
    assert tab.locator('[data-testid="stException"]').count() == 0
    context.close()

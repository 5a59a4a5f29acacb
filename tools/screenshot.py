"""Make docs/screenshot.png: the Fixed effects page in headless Chromium."""
from __future__ import annotations

from playwright.sync_api import sync_playwright

from tools.serve import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    streamlit_server,
    wait_until_rendered,
)

OUT = REPO / "docs" / "screenshot.png"


def main() -> None:
    OUT.parent.mkdir(exist_ok=True)
    with streamlit_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/fixed_effects")
        wait_until_rendered(page)
        page.get_by_text("2.0334").first.wait_for()
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

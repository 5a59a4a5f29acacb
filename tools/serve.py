"""Run the app in a local Streamlit server, for the browser test and the README screenshot."""
from __future__ import annotations

import contextlib
from typing import Iterator

from deploy.cluster import REPO, Cluster  # noqa: F401  (REPO: for tools.screenshot)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def streamlit_server(timeout: float = 60) -> Iterator[str]:
    """Start `streamlit run app.py` on a free loopback port; yield its URL; stop it after."""
    with Cluster(replicas=1, nginx=False, timeout=timeout) as server:
        yield server.url


def wait_until_rendered(page, timeout_ms: int = 60_000) -> None:
    """Wait for the app to mount and for Streamlit's 'running' indicator to go away."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms)

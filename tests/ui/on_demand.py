"""Open a page's on-demand expanders (ui.widgets.on_demand) under AppTest, nested ones too: a closed
one sends nothing, so a test that checks what the page offers opens them all first."""
from __future__ import annotations

from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest


def on_demand_keys(at: AppTest) -> set[str]:
    """The keys of the keyed expanders on the page (on_demand's always have one)."""
    keys = {user_key_from_element_id(e.proto.id) for e in at.expander if e.proto.id}
    return {k for k in keys if k}


def open_on_demand(at: AppTest) -> AppTest:
    """Every on-demand expander opened, until opening shows no new one; the page run again."""
    opened: set[str] = set()
    while new := on_demand_keys(at) - opened:
        for key in new:
            at.session_state[key] = True
        opened |= new
        at.run()
    return at

"""Widgets and displays several pages share."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import streamlit as st


def people_picker(label: str, people: Sequence[str], default: Sequence[str], key: str,
                  max_selections: int | None = None) -> list[str]:
    """Pick people by their IndID-Sex label.

    Typed text matches labels from their start ("3-F" is 3-F, not 13-F or 30-F), Enter adds the one
    highlighted person (never "Select all matches"), and the choice survives the widget being hidden
    (persist_state="page").
    """
    return st.multiselect(label, list(people), default=list(default), key=key, max_selections=max_selections,
                          filter_mode="prefix", select_all=False, persist_state="page",
                          placeholder="Type an IndID-Sex label, e.g. 3-F, and press Enter")


def show_chart(spec: dict, where=st, width: str = "stretch") -> None:
    """A chart made by ui.cache (a Vega-Lite spec, see ui.charts.theme.to_spec), as wide as its column
    (width="content": the chart's own width)."""
    where.vega_lite_chart({**spec}, width=width)


@contextmanager
def on_demand(label: str, key: str) -> Iterator[bool]:
    """An expander whose content the page makes and sends only while it is open (Streamlit's lazy
    expander): a closed one costs the server and the student's browser nothing on a page's first
    visit. `with on_demand(...) as shown: if shown: ...`; tests open it by its key in session state."""
    box = st.expander(label, key=key, on_change="rerun")
    with box:
        yield bool(box.open)

"""Download buttons for the files an R snippet reads, placed beside the snippet."""
from __future__ import annotations

import streamlit as st

from lib.teach.downloads import FILES, files_read
from ui import cache


def offer_files(r_code: str, key: str, data: str | None = None) -> None:
    """A button per file the R code reads (read.csv), so that the code runs as it stands.

    `key` must be unique on the page (the code's own key); `data` names the toy example's slice.
    """
    names = files_read(r_code)
    if not names:
        return
    with st.container(horizontal=True, gap="small"):
        st.caption("Files this code reads:")
        for name in names:
            st.download_button(name, cache.download_text(name, data if name == "toy.csv" else None),
                               file_name=name, mime="text/csv", key=f"{key}_file_{name}",
                               help=FILES[name].what, on_click="ignore", icon=":material/download:",
                               type="tertiary")


def r_code(code: str, key: str, data: str | None = None, **kwargs) -> None:
    """An R snippet and, under it, the files it reads."""
    st.code(code, language="r", **kwargs)
    offer_files(code, key, data)

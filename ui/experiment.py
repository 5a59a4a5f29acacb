"""The fixed-or-random experiment's session side: who owns a run in the replicate runner
(lib.teach.replicate_runner), and its end when the student leaves the page.

Kept light (streamlit only): app.py calls `leave` on every page run, and the heavy ui.cache is
imported only for a session that has run the experiment, where it is imported already."""
from __future__ import annotations

import uuid

import streamlit as st

OWNER = "fr_owner"
PAGE = "fixed_or_random"  # the page's url path


def owner() -> str:
    """This session's name in the replicate runner."""
    return st.session_state.setdefault(OWNER, uuid.uuid4().hex)


def leave(page) -> None:
    """On any other page, this session's experiment run stops (as a page's own run stops when it is
    left); its replicates so far are kept, and the page continues from them when it is back."""
    name = st.session_state.get(OWNER)
    if name is not None and page.url_path != PAGE:
        from ui.cache import replicate_runner

        replicate_runner().withdraw(name)

"""Tables of text as R prints them: every cell shown as written.

st.table renders every cell, row name and header as Markdown, so R's significance stars ("***")
vanish into bold and italics, `FamID*Time + IndID*Time` turns italic, and "$" starts LaTeX.
`text_table` escapes them.
"""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

MARKDOWN = re.compile(r"([\\`*_~$\[\]])")  # what turns plain text into emphasis, code, links or LaTeX


def escaped(value: object) -> object:
    """A cell as literal text (Markdown's special characters escaped); numbers as they are."""
    return MARKDOWN.sub(r"\\\1", value) if isinstance(value, str) else value


def text_table(frame: pd.DataFrame, **kwargs) -> None:
    """st.table with every text cell, header and row name shown literally."""
    shown = frame.map(escaped)
    shown.index = [escaped(str(i)) for i in shown.index]
    shown.index.name = escaped(frame.index.name) if frame.index.name else None
    shown.columns = [escaped(str(c)) for c in shown.columns]
    st.table(shown, **kwargs)

"""The browser's counterpart of ui.warmup: the element scripts the other pages draw with, loaded while
the student reads the first page.

Streamlit's frontend loads the script behind an element type (Vega for charts, the code highlighter,
the data grid) the first time a page in the tab draws one; Home draws none, so the first page after
it paid for loading and compiling them (bench/README: 0.3-0.45 s of the renderer's main thread on a
first in-app visit). Here the tab imports them itself when it is idle, one at a time, once per tab;
Streamlit's own import later finds them in the module map (the same URL: each is resolved against
Streamlit's main script, as Vite's own loader resolves it). A name that this Streamlit does not ship
is left out, so an upgrade that renames one costs the gain, never the page (tests/ui/test_preload.py
checks that every name is shipped).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

# The chunks of Streamlit 1.67's frontend behind the elements the pages use: charts (its Vega-Lite
# element, Vega's loader, embed and expression interpreter), st.code, st.dataframe and st.table, the
# heaviest first; then the widgets (their shared helpers come with them)
ELEMENT_CHUNKS = ("ArrowVegaLiteChart", "loadVegaEmbed", "embed", "vega-interpreter",
                  "StreamlitSyntaxHighlighter", "DataFrame", "Table",
                  "Selectbox", "Multiselect", "Radio", "Button", "Checkbox", "Slider", "Metric",
                  "DownloadButton", "NumberInput", "TextInput")
STATIC_JS = Path(st.__file__).parent / "static" / "static" / "js"

_SCRIPT = """<script>
(() => {
  if ("__elementScriptsPreloaded" in window) return;
  window.__elementScriptsPreloaded = true;  // under way; then the time it ended (bench/page_times.py)
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) { window.__elementScriptsPreloaded = performance.now(); return; }
  const files = %s;
  const idle = window.requestIdleCallback ? f => requestIdleCallback(f, {timeout: 4000}) : f => setTimeout(f, 300);
  const next = () => {
    const file = files.shift();
    if (file) idle(() => import(new URL(file, main.src).href).catch(() => {}).finally(next));
    else window.__elementScriptsPreloaded = performance.now();  // when the last one was loaded
  };
  idle(next);
})();
</script>"""


@functools.cache
def chunk_files() -> tuple[str, ...]:
    """The shipped file of each name in ELEMENT_CHUNKS (NAME.HASH.js), in that order."""
    return tuple(p.name for name in ELEMENT_CHUNKS for p in sorted(STATIC_JS.glob(f"{name}.*.js"))
                 if p.name.count(".") == 2)


def preload_element_scripts() -> None:
    """An invisible element whose script has the tab import the element scripts when idle."""
    files = chunk_files()
    if files:
        st.html(_SCRIPT % json.dumps(list(files)), unsafe_allow_javascript=True)

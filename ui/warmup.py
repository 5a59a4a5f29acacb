"""Import what the pages import, then compute what they show, once per process, in the background
after the first page.

The first page of a cold server needs none of the engine (lib's public names load lazily), so
it renders at once; meanwhile this thread imports the modules the other pages import (pandas,
scipy, statsmodels, altair, the engine), so the student's second page does not pay for them.
The list is read from the pages' own import statements, so a new page needs no entry here.
Then it fills ui.cache with every page's default fits, stories and charts (ui.cache.compute_defaults),
so that a first visit to any page on a warm server finds them made.
"""
from __future__ import annotations

import ast
import gc
import importlib
import threading
from pathlib import Path

from lib.teach.contents import REPO, available_sections

_started = threading.Lock()


def imports_of(path: Path) -> list[str]:
    """The modules a script imports at its top level (`from ui import mixed`: ui and ui.mixed)."""
    seen: dict[str, None] = {}
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            seen.update(dict.fromkeys(a.name for a in node.names))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            seen.update(dict.fromkeys([node.module, *(f"{node.module}.{a.name}" for a in node.names)]))
    return list(seen)


def page_modules() -> list[str]:
    """The modules the available pages import, in page order, once each."""
    return list(dict.fromkeys(m for s in available_sections() for m in imports_of(REPO / s.page)))


def _import_all() -> None:
    for name in page_modules():
        try:
            importlib.import_module(name)
        except ImportError:  # a name that is not a submodule (`from lib import lmer`)
            pass


def _warm() -> None:
    _import_all()
    from ui import cache  # heavy: imported here, in this thread, after the rest

    cache.compute_defaults()
    # what the warm-up made lives as long as the process: out of the cyclic collector's sight, a
    # full collection no longer walks its ~200,000 objects (0.1 s of the interpreter's lock each)
    gc.collect()
    gc.freeze()


def warm_in_background() -> None:
    """Start the warm-up thread the first time it is called in this process; later calls return."""
    if _started.acquire(blocking=False):
        threading.Thread(target=_warm, name="warm-up", daemon=True).start()

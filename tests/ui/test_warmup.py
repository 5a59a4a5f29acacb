"""Start-up: app.py loads none of the engine before the first page; the warm-up thread imports the rest.

Each check runs in a fresh interpreter, so that modules other tests imported do not count.
"""
from __future__ import annotations

import json
import subprocess
import sys

from lib.teach.contents import REPO
from ui.warmup import imports_of

HEAVY = ("pandas", "scipy.stats", "statsmodels", "altair", "lib.api")


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_app_itself_imports_nothing_heavy():
    # what the first page needs is the page's own business; app.py must not add to it
    modules = [m for m in imports_of(REPO / "app.py") if m != "streamlit"]
    code = "import importlib\nfor m in %r:\n    try: importlib.import_module(m)\n    except ImportError: pass" % modules
    assert loaded_after(code) == []


def test_the_home_page_with_its_checks_imports_no_engine():
    """The first page a student opens: its own imports and its checks' questions need pandas (the data),
    not scipy, statsmodels, altair or the engine (lib.teach.exercise_bank's builders import those)."""
    modules = [m for m in imports_of(REPO / "pages" / "tutorial" / "home.py") if m != "streamlit"]
    code = ("import importlib\nfor m in %r:\n    try: importlib.import_module(m)\n    except ImportError: pass\n"
            "from lib.data.immune import load_raw\nfrom lib.teach.exercise_bank import questions\n"
            "questions('home', data=load_raw())" % modules)
    assert loaded_after(code) == ["pandas"]


def test_the_warm_up_imports_what_the_other_pages_need():
    assert loaded_after("from ui.warmup import _import_all; _import_all()") == list(HEAVY)


def test_the_warm_up_puts_what_it_made_out_of_the_collectors_sight():
    """After the warm-up, a full garbage collection skips the process's shared values (gc.freeze):
    .streamlit/config.toml turns off Streamlit's collection after every run, and Python's own full
    collections would otherwise walk ~190,000 objects (measured after ui.cache.compute_defaults)."""
    probe = "from ui.warmup import _warm\n_warm()\nimport gc\nprint(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=300)
    assert int(out.stdout.split()[-1]) > 100_000

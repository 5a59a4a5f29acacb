"""The app's table of contents: the tutorial's sections, in order, grouped for the sidebar.

Each section names the page module that teaches it; app.py registers only the pages
whose module exists, so sections still to be written wait here in order. The folder is
app_pages/, not pages/: Streamlit runs a pages/ folder beside the entry point as its old
automatic multipage app (bypassing app.py) until some session has called st.navigation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Section:
    group: str
    title: str
    page: str  # path of the page module, relative to the repository
    tutorial: str  # the tutorial's heading(s) it covers
    icon: str = ":material/article:"

    @property
    def available(self) -> bool:
        return (REPO / self.page).is_file()


SECTIONS: tuple[Section, ...] = (
    Section("Start", "Home", "app_pages/home.py", "Overview; Fixed or Random?", ":material/home:"),
    Section("Linear models", "Data and repeated measures", "app_pages/data.py",
            "Setup, Data, Repeated Measures", ":material/table:"),
    Section("Linear models", "Fixed effects", "app_pages/fixed_effects.py",
            "Fixed Effects; CODING ERROR!; Correct LM", ":material/functions:"),
    Section("Mixed models", "Random effects & the LMM", "app_pages/random_effects.py",
            "Random Effects; Linear Mixed Model"),
    Section("Mixed models", "Variance components & ID coding", "app_pages/variance_components.py",
            "Variance Components; CODING CAUTION!"),
    Section("Mixed models", "Multiple factors", "app_pages/multiple_factors.py", "Multiple Factors"),
    Section("Over time", "Random regression over time", "app_pages/random_regression.py",
            "Random Regression"),
    Section("Over time", "ML vs REML", "app_pages/ml_vs_reml.py", "ML vs ReML"),
    Section("Over time", "Convergence", "app_pages/convergence.py", "Convergence Error"),
    Section("Checking and beyond", "QA/QC", "app_pages/qaqc.py", "QA/QC"),
    Section("Checking and beyond", "Generalized mixed models", "app_pages/glmm.py", "Generalized LME"),
)


def available_sections() -> list[Section]:
    return [s for s in SECTIONS if s.available]


def groups(sections: list[Section]) -> dict[str, list[Section]]:
    """Sections by sidebar group, groups in the tutorial's order."""
    out: dict[str, list[Section]] = {}
    for s in sections:
        out.setdefault(s.group, []).append(s)
    return out

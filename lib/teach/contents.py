"""The app's table of contents: the tutorial's sections, in order, grouped for the sidebar.

Each section names the page module that teaches it; app.py registers only the pages
whose module exists. The modules sit in pages/tutorial/ (the workbench in pages/workbench/), one level below pages/: Streamlit's
legacy multipage mode runs any .py file directly in pages/ without app.py (until some session
has called st.navigation), and it does not look into subfolders.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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
    Section("Start", "Home", "pages/tutorial/home.py", "Overview; Fixed or Random?", ":material/home:"),
    Section("Linear models", "Data and repeated measures", "pages/tutorial/data.py",
            "Setup, Data, Repeated Measures", ":material/table:"),
    Section("Linear models", "Fixed effects", "pages/tutorial/fixed_effects.py",
            "Fixed Effects; CODING ERROR!; Correct LM", ":material/functions:"),
    Section("Mixed models", "Random effects & the LMM", "pages/tutorial/random_effects.py",
            "Random Effects; Linear Mixed Model"),
    Section("Mixed models", "Partial pooling", "pages/tutorial/pooling.py",
            "Random Effects (borrowing strength, shown)", ":material/compress:"),
    Section("Mixed models", "Fixed or random? An experiment", "pages/tutorial/fixed_or_random.py",
            "Fixed or Random? (by simulation)", ":material/casino:"),
    Section("Mixed models", "Variance components & ID coding", "pages/tutorial/variance_components.py",
            "Variance Components; CODING CAUTION!"),
    Section("Mixed models", "Multiple factors", "pages/tutorial/multiple_factors.py", "Multiple Factors"),
    Section("Over time", "Random regression over time", "pages/tutorial/random_regression.py",
            "Random Regression"),
    Section("Over time", "ML vs REML", "pages/tutorial/ml_vs_reml.py", "ML vs ReML"),
    Section("Over time", "Convergence", "pages/tutorial/convergence.py", "Convergence Error"),
    Section("Checking and beyond", "QA/QC", "pages/tutorial/qaqc.py", "QA/QC"),
    Section("Checking and beyond", "Generalized mixed models", "pages/tutorial/glmm.py", "Generalized LME"),
    Section("Checking and beyond", "GLMM residuals", "pages/tutorial/glmm_residuals.py",
            "QA/QC for Generalized LME (simulated residuals)", ":material/troubleshoot:"),
    Section("Your own models", "Model workbench", "pages/workbench/workbench.py",
            "(beyond the tutorial: any model on any data)", ":material/construction:"),
)


def available_sections() -> list[Section]:
    return [s for s in SECTIONS if s.available]


def groups(sections: list[Section]) -> dict[str, list[Section]]:
    """Sections by sidebar group, groups in the tutorial's order."""
    out: dict[str, list[Section]] = {}
    for s in sections:
        out.setdefault(s.group, []).append(s)
    return out

"""Shared fixtures: R's reference results and the repository's paths."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
GOLDEN = TESTS / "golden" / "lme4"  # R's printed output (golden/lme4/make_golden.R)
EXTRA_REFERENCE = TESTS / "reference" / "extra_optimum.json"  # reference/extra_optimum.R


def shared_dir() -> Path:
    """The read-only shared material: $SHARED_DIR, else <repo>/../shared."""
    return Path(os.environ.get("SHARED_DIR") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def seed_ref() -> dict:
    """R's results for every model of the tutorial (shared/reference/seed_lme4.json)."""
    path = shared_dir() / "reference" / "seed_lme4.json"
    if not path.is_file():
        pytest.fail(f"reference results not found at {path}; set SHARED_DIR to the shared folder")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def lm_refs(seed_ref: dict) -> dict[str, dict]:
    """R's lm fits by name: LMod, LMod2_numericFamID, LMod2, LMod3."""
    return {m["name"]: m for m in seed_ref["lm"]}


# -- the tutorial's lmer fits, fitted once per session ----------------------------
# name in seed_lme4.json -> rows of ImmuneData the tutorial fits it to
TUTORIAL_LMER_DATA = {"MMod": "time0", "MMod2": "time0", "MMod3": "time0", "MModTime": "all",
                      "MModTime2": "all", "MModTime3": "all", "MModTime4": "all"}


class LmerFits:
    """Lazy cache of the tutorial's lmer fits: `fits.get("MMod2", REML=True)`."""

    def __init__(self, seed: dict):
        from lib.data.immune import load_prepared

        self.seed = seed
        full = load_prepared()
        self.data = {"all": full, "time0": full[full["Time"] == 0].reset_index(drop=True)}
        self._fits: dict = {}

    def formula(self, name: str) -> str:
        return self.seed["lmer_reml"][name]["formula"]

    def frame(self, name: str):
        return self.data[TUTORIAL_LMER_DATA[name]]

    def get(self, name: str, REML: bool = True):
        from lib.api import lmer

        key = (name, bool(REML))
        if key not in self._fits:
            self._fits[key] = lmer(self.formula(name), self.frame(name), REML=REML)
        return self._fits[key]


@pytest.fixture(scope="session")
def lmer_fits(seed_ref: dict) -> LmerFits:
    """The seven tutorial lmer models, REML and ML, each fitted at most once per session."""
    return LmerFits(seed_ref)

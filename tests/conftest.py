"""Shared fixtures: R's reference results and the repository's paths."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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

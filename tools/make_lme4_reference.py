"""Copy into data/ what the app shows of lme4's own results: data/lme4_reference.json.

From shared/reference (optimum_lme4.json, seed_lme4.json), for each tutorial fit: lme4 1.1-31's
printed summary at its default stop, its criterion and theta there, and the criterion at the optimum;
and MModTime3 as R reads ImmuneData.csv (the tutorial's warning). The app reads only this file; tests
re-run this script and compare (tests/test_lme4_reference.py).

    python -m tools.make_lme4_reference [--check]
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "data" / "lme4_reference.json"


def shared_reference() -> Path:
    return Path(os.environ.get("SHARED_DIR") or REPO.parent / "shared") / "reference"


def build() -> dict:
    ref = shared_reference()
    cases = json.loads((ref / "optimum_lme4.json").read_text())["cases"]
    seed = json.loads((ref / "seed_lme4.json").read_text())
    out = {"source": "R 4.2.2, lme4 1.1-31 (shared/reference: optimum_lme4.json, seed_lme4.json)", "fits": {}}
    for name, case in cases.items():
        stop = case["lme4_default"]
        out["fits"][name] = {
            "printed": stop["printed"], "crit": stop["crit"], "logLik": stop["logLik"],
            "theta": stop["theta"], "optimum_crit": case["optimum"]["crit"],
            "optimum_logLik": case["optimum"]["logLik"],
            "messages": [stop["conv_messages"]] if isinstance(stop["conv_messages"], str) else []}
    r_read = seed["tutorial_as_printed"]["MModTime3"]
    out["fits"]["MModTime3_R_reading"] = {
        "crit": r_read["REMLcrit"], "logLik": r_read["logLik"], "theta": r_read["theta"],
        "messages": [r_read["conv_messages"]]}
    return out


def text() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text() else 1)
    OUT.write_text(text())
    print(f"wrote {OUT}")

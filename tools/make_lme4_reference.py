"""Copy into data/ what the app shows of lme4's own results: data/lme4_reference.json.

From shared/reference (optimum_lme4.json, seed_lme4.json), for each tutorial fit: lme4 1.1-31's
printed summary at its default stop, its criterion and theta there, and the criterion at the optimum;
MModTime3 as R reads ImmuneData.csv (the tutorial's warning); and from tests/golden/lme4 (R's prints,
made by make_golden.R) `IgG ~ Sex*Time + (1 + Time || FamID)`, where lme4's default stop lies 4.4 above
the optimum: both prints, their criteria as printed, lme4's messages at its stop. The app reads only
this file; tests re-run this script and compare (tests/data/test_lme4_reference.py).

    python -m tools.make_lme4_reference [--check]
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "data" / "lme4_reference.json"
GOLDEN = REPO / "tests" / "golden" / "lme4"
OPTIMIZER_LINE = "optimizer (nloptwrap) convergence code: 0 (OK)"


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
    out["fits"]["double_bar"] = printed_pair("double_bar")
    return out


def printed_pair(name: str) -> dict:
    """lme4's print at its default stop and at the optimum (R's golden texts), with the criteria as printed."""
    stop = (GOLDEN / f"{name}.txt").read_text().rstrip("\n").splitlines()
    optimum = (GOLDEN / f"{name}_optimum.txt").read_text().rstrip("\n").splitlines()
    end = stop.index(OPTIMIZER_LINE)
    return {"formula": stop[1].removeprefix("Formula: "), "printed": stop[:end + 1],
            "optimum_printed": optimum, "crit": _criterion(stop), "optimum_crit": _criterion(optimum),
            "messages": [m for m in stop[end + 1:] if m]}


def _criterion(lines: list[str]) -> float:
    line = next(x for x in lines if x.startswith(("REML criterion at convergence:", "deviance")))
    return float(line.split(":")[1])


def text() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text() else 1)
    OUT.write_text(text())
    print(f"wrote {OUT}")

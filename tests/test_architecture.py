"""The floors of the house, as import-linter checks them (.importlinter at the repository's root):
ui above lib.teach above lib.api above lib.rprint above lib.engine and lib.data (which are
independent of each other), no import cycle inside any package, lib never imports streamlit or
altair. And the public API of lib is what its README promises."""
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    out = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in out.stdout


def test_public_api():
    from lib import (
        FormulaError,
        anova,
        glmer,
        lm,
        lmer,
        load_prepared,
        load_raw,
        lrtest,
        parse_formula,
    )
    data = load_prepared()
    t0 = data[data["Time"] == 0]
    small, big = lmer("IgG ~ Sex + (1 | FamID)", t0), lmer("IgG ~ Sex + (Sex | FamID)", t0)
    assert small.summary().startswith("Linear mixed model fit by REML ['lmerMod']")
    assert lrtest(big, small).text.startswith("Likelihood ratio test")
    assert str(anova(big, small)).startswith("refitting model(s) with ML (instead of REML)")
    assert lm("IgG ~ Sex", t0).summary().startswith("Call:")
    assert load_raw()["FamID"].dtype.kind == "i" and callable(glmer)
    assert parse_formula("y ~ x + (1 | g)", ["y", "x", "g"]).random and issubclass(FormulaError, Exception)


def test_fits_keep_the_declared_contract():
    """Every reader reads fits through lib.engine.contract; both kinds of mixed fit satisfy it."""
    from lib.api import glmer, lmer
    from lib.data.glmm_data import load_counts
    from lib.data.slices import slice_frame
    from lib.engine.contract import Comparable, MixedFit
    for fit in (lmer("IgG ~ Sex + (1 | FamID)", slice_frame("time0")),
                glmer("Count ~ Dose + (1 | Site)", load_counts(), family="poisson")):
        assert isinstance(fit, MixedFit) and isinstance(fit, Comparable)
        assert fit.object_class in ("lmerMod", "glmerMod") and isinstance(fit.all_messages, list)

"""ICC and Nakagawa's R2 (performance 0.10.2 / insight 0.19.0) for the tutorial's seven models.

Expected values: tests/reference/inference_lme4.json (inference.R: performance::icc(m),
icc(m, by_group = TRUE), r2_nakagawa(m)); NA where performance gives NA (a singular fit).
Tolerances: at lme4's own theta 1e-9 relative (the same ratios of the same sums, in another order);
at our optimum 1e-3 (the ratios are of variance components, which at our optimum and at lme4's stop
differ by their reference band: up to 2e-4 relative for MModTime4's, tests/ui's VC_SLACK).
insight's warnings are matched by their words.
An independent check: for a random-intercept model the adjusted ICC is the textbook
sigma_g^2 / (sigma_g^2 + sigma^2) from VarCorr, and R2's fixed part is the sample variance of X beta.
"""
from __future__ import annotations

import numpy as np
import pytest
from inference_reference import at_lme4_theta, inference_models

from lib.engine.r2 import BY_GROUP_WARNING, explained

OPTIMUM, TIGHT = 1e-3, 1e-9
INFERENCE = inference_models()


def warnings(entry: dict) -> list[str]:
    """R's warnings of a reference entry, one string each, line wrapping undone."""
    w = entry["warnings"]
    return [" ".join(x.split()) for x in ([w] if isinstance(w, str) else w)]


@pytest.mark.parametrize("at_theta", [True, False], ids=["at lme4's theta", "at the optimum"])
@pytest.mark.parametrize("name", list(INFERENCE))
def test_icc_and_r2_match_performance(name, at_theta, lmer_fits):
    ref = INFERENCE[name]
    fit = lmer_fits.get(name)
    ex = explained(at_lme4_theta(fit, ref["theta"]) if at_theta else fit)
    rel = TIGHT if at_theta else OPTIMUM
    icc = ref["icc"]["value"]
    if not isinstance(icc, dict):  # performance: NA for a singular fit
        assert ex.icc_adjusted is None and ex.icc_unadjusted is None and ex.r2_conditional is None
        assert any("singularity" in w for w in warnings(ref["icc"]))
    else:
        assert ex.icc_adjusted == pytest.approx(icc["ICC_adjusted"], rel=rel)
        assert ex.icc_unadjusted == pytest.approx(icc["ICC_unadjusted"], rel=rel)
        for row in ref["icc_by_group"]["value"]:
            assert ex.icc_by_group[row["Group"]] == pytest.approx(row["ICC"], rel=rel), row
        assert (BY_GROUP_WARNING in ex.warnings) == (BY_GROUP_WARNING in warnings(ref["icc_by_group"]))
    r2 = ref["r2_nakagawa"]["value"]
    assert ex.r2_marginal == pytest.approx(r2["R2_marginal"], rel=rel)
    if r2.get("R2_conditional") is not None:
        assert ex.r2_conditional == pytest.approx(r2["R2_conditional"], rel=rel)


def test_random_intercept_icc_is_the_textbook_ratio(lmer_fits):
    fit = lmer_fits.get("MMod")
    vf, vr = fit.varcorr["vcov"]
    ex = explained(fit)
    assert ex.icc_adjusted == pytest.approx(vf / (vf + vr), rel=1e-12)
    fixed = np.var(fit.fitted - fit.b[fit.blocks[0].factor.codes], ddof=1)
    assert ex.r2_marginal == pytest.approx(fixed / (fixed + vf + vr), rel=1e-12)

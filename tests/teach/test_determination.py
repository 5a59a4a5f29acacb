"""lib.teach.determination flags every printed digit that lme4's stopping point decides.

For each tutorial fit, the numbers summary() prints at lme4's stop and at the optimum (both theta from
shared/reference/optimum_lme4.json, printed by our printer, which tests/test_lmer_parity.py holds to
R's at R's theta) differ in some last digits: each of those must be flagged as not determined.
"""
from __future__ import annotations

import numpy as np
import pytest
from band import optimum_cases

from lib.engine.lmer_fit import LmerFit
from lib.teach.determination import LME4_STOP_GAP, _printed_quantities, last_digit_costs

MODELS = ["MMod", "MMod2", "MMod3", "MModTime", "MModTime2", "MModTime3", "MModTime4"]


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("name", MODELS)
def test_digits_that_differ_between_stop_and_optimum_are_flagged(lmer_fits, name, reml):
    fit = lmer_fits.get(name, reml)
    case = optimum_cases()[name if reml else f"{name}_ML"]

    def cells(point: dict) -> list[str]:
        theta = np.array(list(point["theta"].values()), float)
        return [c.strip() for _, c, _ in _printed_quantities(LmerFit.from_optimum(fit.problem, theta, reml, [], []))]

    costs = last_digit_costs(fit)
    differ = [a != b for a, b in zip(cells(case["lme4_default"]), cells(case["optimum"]))]
    assert len(differ) == len(costs)
    flagged = ~costs["determined by the model"].to_numpy()
    assert not np.any(np.array(differ) & ~flagged), list(costs.loc[np.array(differ) & ~flagged, "quantity"])


def test_the_residual_variance_of_mmodtime4_is_determined(lmer_fits):
    costs = last_digit_costs(lmer_fits.get("MModTime4")).set_index("quantity")
    assert costs.loc["Residual: variance", "criterion rise for one unit"] > LME4_STOP_GAP
    assert not costs.loc["FamID (Intercept): variance", "determined by the model"]  # 29.7861 / 29.7865

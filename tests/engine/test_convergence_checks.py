"""lme4's convergence check (deriv12, checkConv) at lme4's own stopping points on MModTime3.

Where lme4 stops is path; what its check says at a given theta is arithmetic. At lme4's reported
theta our criterion and lme4's check give lme4's verdicts: singular on the exact values (REML), the
tutorial's gradient warning on R's reading of the CSV (REML), and the ML gradient warning.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lib.engine.convergence import check_convergence, deriv12
from lib.engine.lmer import setup

CHAOTIC = "MModTime3"
M3_FORMULA = "IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | IndID)"
R_ROW, R_IGG = 780, 136.50846181521501  # the one value R's read.csv reads one ulp off
GRAD_MESSAGE = re.compile(r"^Model failed to converge with max\|grad\| = (\S+) \(tol = 0\.002, component 1\)$")
# max|grad| is min(|scaled gradient|, |gradient|) of central differences (step 1e-4) of a
# criterion ~3.4e4: one ulp of it (7.3e-12) moves the gradient by 3.6e-8 and the Hessian by
# ~7e-4, so its 6th significant digit is round-off. Measured: lme4 itself, at the theta
# stored in the JSON (15 significant digits), gives 0.0211756 (0.0211755 at its own
# unrounded optimum); ours, at that theta and 1-3 ulp perturbations of it, 0.0211756-7
# (and 0.00707318-21 for ML). 2e-5 relative is a few times that noise.
GRAD_REL = 2e-5


def _check_at(data: pd.DataFrame, theta: dict, reml: bool) -> list[str]:
    prob = setup(M3_FORMULA, data)
    th = np.array(list(theta.values()), dtype=float)
    fn = lambda t: prob.criterion(t, reml)  # noqa: E731
    g, H = deriv12(fn, th, fn(th))
    return check_convergence(th, prob.lower, g, H)


@pytest.fixture(scope="module")
def r_read_data(lmer_fits) -> pd.DataFrame:
    data = lmer_fits.data["all"].copy()
    row = data.iloc[R_ROW]
    assert (row["FamID"], row["IndID"], row["Time"], row["Sex"]) == ("2", "45", 3, "M")
    assert data.loc[R_ROW, "IgG"] != R_IGG and abs(data.loc[R_ROW, "IgG"] - R_IGG) < 1e-13
    data.loc[R_ROW, "IgG"] = R_IGG
    return data


def _grad_value(messages: list[str]) -> float:
    assert len(messages) == 1, messages
    m = GRAD_MESSAGE.match(messages[0])
    assert m, messages[0]
    return float(m.group(1))


def test_mmodtime3_check_is_singular_at_lme4s_theta(lmer_fits, seed_ref):
    """(a) exact data, lme4's REML theta: the boundary verdict."""
    theta = seed_ref["lmer_reml"][CHAOTIC]["theta"]
    assert _check_at(lmer_fits.data["all"], theta, True) == \
        ["boundary (singular) fit: see help('isSingular')"]


def test_mmodtime3_criterion_at_lme4s_theta(lmer_fits, seed_ref, r_read_data):
    """Our criterion at lme4's reported thetas is lme4's value (so the check sees the same surface)."""
    for data, ref, reml in [(lmer_fits.data["all"], seed_ref["lmer_reml"][CHAOTIC], True),
                            (r_read_data, seed_ref["tutorial_as_printed"][CHAOTIC], True),
                            (lmer_fits.data["all"], seed_ref["lmer_ml"][CHAOTIC], False)]:
        prob = setup(M3_FORMULA, data)
        value = prob.criterion(np.array(list(ref["theta"].values())), reml)
        assert value == pytest.approx(ref["REMLcrit"] if reml else ref["deviance"], abs=1e-8)


def test_mmodtime3_check_fails_to_converge_on_rs_reading(r_read_data, seed_ref):
    """(b) R's reading of the CSV, lme4's theta there: the tutorial's gradient warning."""
    messages = _check_at(r_read_data, seed_ref["tutorial_as_printed"][CHAOTIC]["theta"], True)
    assert _grad_value(messages) == pytest.approx(0.0211755, rel=GRAD_REL)


def test_mmodtime3_ml_check_fails_to_converge(lmer_fits, seed_ref):
    """(c) exact data, lme4's ML theta: lme4's ML gradient warning."""
    messages = _check_at(lmer_fits.data["all"], seed_ref["lmer_ml"][CHAOTIC]["theta"], False)
    assert _grad_value(messages) == pytest.approx(0.00707318, rel=GRAD_REL)



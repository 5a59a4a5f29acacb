"""lib.engine.moment_start: the Newton stage's start from one-way analyses of variance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.engine.lmer import lmer
from lib.engine.lmer_problem import setup
from lib.engine.moment_start import FLOOR, intercepts_only, moment_start


def _balanced(levels: int = 12, per: int = 8, sd: float = 1.5, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(levels), per)
    y = 10 + sd * rng.standard_normal(levels)[g] + rng.standard_normal(levels * per)
    return pd.DataFrame({"y": y, "g": pd.Categorical(g), "x": rng.standard_normal(levels * per)})


def test_a_balanced_one_way_layout_starts_at_the_reml_optimum():
    """On a balanced one-way layout the ANOVA estimator is REML's where positive (Searle, Casella &
    McCulloch 1992, 3.7), so the start is lmer's REML theta; lmer's theta is the optimum to
    ~sqrt(2e-10 / H) (its finish's tolerance, tests/engine/test_optimize.py): 1e-5 leaves a margin."""
    data = _balanced()
    prob = setup("y ~ 1 + (1 | g)", data)
    fit = lmer("y ~ 1 + (1 | g)", data)
    assert intercepts_only(prob.blocks)
    np.testing.assert_allclose(moment_start(prob.blocks, prob.X, prob.y), fit.theta.to_numpy(), atol=1e-5)


def test_a_term_with_no_variance_between_starts_off_its_bound():
    """Levels with identical means: the between-level component is 0, the start FLOOR (where Newton
    can still move it), not the bound."""
    data = _balanced()
    data["y"] -= data.groupby("g", observed=True)["y"].transform("mean")
    prob = setup("y ~ 1 + (1 | g)", data)
    assert moment_start(prob.blocks, prob.X, prob.y) == pytest.approx([FLOOR])


def test_only_random_intercepts_get_a_moment_start():
    """A random slope (here x within g) is not what a one-way analysis of the residuals estimates."""
    data = _balanced()
    assert not intercepts_only(setup("y ~ x + (0 + x | g)", data).blocks)
    assert not intercepts_only(setup("y ~ x + (1 + x | g)", data).blocks)

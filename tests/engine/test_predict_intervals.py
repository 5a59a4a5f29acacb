"""Population confidence intervals and unit prediction intervals, against the textbook formulas.

lme4 1.1-31 has no standard errors for predictions, so the expected values are derived here another
way: from the marginal covariance V = Z G Z' + sigma^2 I formed densely (MMod2 at Time 0: 270 rows,
correlated intercept and Sex effect per family), with Henderson's (1975) results

    Var(beta_hat) = (X' V^-1 X)^-1,   Cov(beta_hat, b_hat - b) = -(X' V^-1 X)^-1 X' V^-1 Z G,
    Var(b_hat - b) = G - G Z' P Z G,  P = V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1,

instead of the engine's spherical mixed-model equations. Tolerance 1e-8 relative: the two are the
same numbers by different algebra, through dense solves of condition number below 1e6.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import norm

from lib.engine.predict_intervals import population_ci, unit_pi
from lib.engine.retrms import theta_slices

REL = 1e-8


def marginal_pieces(fit):
    """X, Z, G and V of a fit, densely."""
    X = fit.problem.X
    Z = sp.hstack([b.Z() for b in fit.blocks]).toarray()
    theta = fit.theta.to_numpy()
    G = sp.block_diag([np.kron(np.eye(b.nlevels), fit.sigma ** 2 * b.T(theta[s]) @ b.T(theta[s]).T)
                       for b, s in zip(fit.blocks, theta_slices(fit.blocks))]).toarray()
    V = Z @ G @ Z.T + fit.sigma ** 2 * np.eye(len(X))
    return X, Z, G, V


@pytest.fixture(scope="module")
def newdata() -> pd.DataFrame:
    """Two people of family 3 (one new ID code), a man of a family not in the data."""
    return pd.DataFrame({"Sex": ["F", "M", "M"], "FamID": ["3", "3", "99"], "IndID": ["1", "2", "1"],
                         "Time": [0, 0, 0]})


def test_population_interval_is_x_vcov_x(lmer_fits, newdata):
    fit = lmer_fits.get("MModTime2")
    grid = pd.DataFrame({"Sex": ["F", "M"], "Time": [4.0, 10.0], "FamID": ["1", "1"]})
    X0 = np.array([[1, 0, 4.0, 0], [1, 1, 10.0, 10.0]])
    se = np.sqrt(np.einsum("ij,jk,ik->i", X0, fit.vcov.to_numpy(), X0))
    out = population_ci(fit, grid)
    np.testing.assert_allclose(out["fit"], X0 @ fit.fixef.to_numpy(), rtol=REL)
    np.testing.assert_allclose(out["se"], se, rtol=REL)
    np.testing.assert_allclose(out["upper"] - out["fit"], norm.ppf(0.975) * se, rtol=REL)


def test_unit_interval_matches_hendersons_formulas(lmer_fits, newdata):
    fit = lmer_fits.get("MMod2")
    X, Z, G, V = marginal_pieces(fit)
    Vi = np.linalg.inv(V)
    vb = np.linalg.inv(X.T @ Vi @ X)
    P = Vi - Vi @ X @ vb @ X.T @ Vi
    cov_bu = -vb @ X.T @ Vi @ Z @ G
    var_u = G - G @ Z.T @ P @ Z @ G
    X0 = np.array([[1.0, 0.0], [1.0, 1.0]])
    fam3 = fit.blocks[0].factor.levels.index("3")
    Z0 = np.zeros((2, Z.shape[1]))
    Z0[0, 2 * fam3] = 1.0  # (Intercept) of family 3
    Z0[1, 2 * fam3:2 * fam3 + 2] = 1.0  # (Intercept) and SexM of family 3
    pev = (np.einsum("ij,jk,ik->i", X0, vb, X0) + 2 * np.einsum("ij,jk,ik->i", X0, cov_bu, Z0)
           + np.einsum("ij,jk,ik->i", Z0, var_u, Z0) + fit.sigma ** 2)
    out = unit_pi(fit, newdata.iloc[:2])
    np.testing.assert_allclose(out["se"], np.sqrt(pev), rtol=REL)
    np.testing.assert_allclose(out["fit"], fit.predict(newdata.iloc[:2]), rtol=1e-12)


def test_a_new_family_gets_its_full_variance(lmer_fits, newdata):
    """Family 99 is not in the data: the prediction is the population's and its error variance adds
    the family effect's whole variance z0' Sigma z0 to the population's, then sigma^2."""
    fit = lmer_fits.get("MMod2")
    row = newdata.iloc[[2]]
    vc = fit.varcorr
    v_int, v_sex = vc["vcov"].iloc[0], vc["vcov"].iloc[1]
    cov = vc["vcov"].iloc[2]
    pop = population_ci(fit, row)
    expected = pop["se"].iloc[0] ** 2 + v_int + v_sex + 2 * cov + fit.sigma ** 2
    out = unit_pi(fit, row)
    assert out["fit"].iloc[0] == pytest.approx(pop["fit"].iloc[0], rel=1e-12)
    assert out["se"].iloc[0] == pytest.approx(np.sqrt(expected), rel=REL)

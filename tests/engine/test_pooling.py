"""No, complete and partial pooling (lib.engine.pooling) against R.

References: tests/reference/pooling.json, made by tests/reference/pooling.R (R 4.2.2, lme4 1.1-31) on
ImmuneData_exact.csv. The partial-pooling values are lme4's predictions at lme4's own theta, so the
engine is evaluated at that theta (LmerFit.from_optimum), as tests/engine/test_lmer_parity.py does;
tolerances are that file's (REL = 1e-8 relative, ABS = 1e-8): arithmetic from a theta stored with 15
digits. Least-squares values (lmList, lm) are arithmetic alone and get the same tolerance.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TESTS

from lib.engine.lmer import setup
from lib.engine.lmer_fit import LmerFit
from lib.engine.pooling import caterpillar, covariance_ellipses, ellipse_points, fixed_rows, pooling

REF = json.loads((TESTS / "reference" / "pooling.json").read_text())
REL, ABS = 1e-8, 1e-8
MODELS = {"MModTime2": ("IgG ~ Sex * Time + (1 + Time | FamID)", "all"),
          "MModTime4": ("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", "all"),
          "MMod": ("IgG ~ Sex + (1 | FamID)", "time0")}


def theta(name: str) -> np.ndarray:
    return np.atleast_1d(np.array(REF[name]["theta"], float))


def close(ours, ref) -> bool:
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    return bool(np.all(np.abs(ours - ref) <= REL * np.abs(ref) + ABS))


@pytest.fixture(scope="module")
def at_lme4(lmer_fits):
    """Each model evaluated at the theta lme4 reached (REML), on a problem of its own."""
    out = {}
    for name, (formula, data) in MODELS.items():
        prob = setup(formula, lmer_fits.data[data])
        out[name] = LmerFit.from_optimum(prob, theta(name), True, [], [])
    return out


def by_unit(pool, columns) -> pd.DataFrame:
    return pool.units.set_index("unit")[columns]


def test_families_own_complete_and_partial(at_lme4):
    """lmList(IgG ~ Sex*Time | FamID)'s female lines; lm(IgG ~ Sex*Time); coef(MModTime2)$FamID."""
    pool = pooling(at_lme4["MModTime2"], "FamID")
    assert pool.coords == ("intercept", "slope") and pool.constant == ("FamID",)
    units = pool.units.set_index("unit")
    for fam, ref in REF["family_own"].items():
        assert close(units.loc[fam, ["own_intercept", "own_slope"]], [ref["(Intercept)"], ref["Time"]])
    for fam, ref in REF["MModTime2"]["coef_FamID"].items():
        assert close(units.loc[fam, ["partial_intercept", "partial_slope"]], [ref["(Intercept)"], ref["Time"]])
    lm = REF["complete"]
    assert close(units[["complete_intercept", "complete_slope"]].drop_duplicates().to_numpy(),
                 [[lm["(Intercept)"], lm["Time"]]])


def test_persons_keep_their_sex_and_family(at_lme4):
    """lmList(IgG ~ Time | Person) and predict(MModTime4, newdata) at Time 0 and 1 for all 270 people."""
    pool = pooling(at_lme4["MModTime4"], "Sex:IndID")
    assert set(pool.constant) == {"Sex", "IndID", "FamID"}
    units = pool.units.set_index("unit")
    assert len(units) == 270 and (units["n"] == 18).all()
    own = pd.DataFrame(REF["person_own"]).T.loc[units.index]
    assert close(units[["own_intercept", "own_slope"]], own[["(Intercept)", "Time"]])
    partial = pd.DataFrame(REF["MModTime4"]["person_partial"]).T.loc[units.index]
    assert close(units[["partial_intercept", "partial_slope"]], partial[["intercept", "slope"]])
    lm = REF["complete"]
    male = units["Sex"] == "M"
    assert close(units.loc[male, "complete_slope"], lm["Time"] + lm["SexM:Time"])
    assert close(units.loc[~male, "complete_intercept"], lm["(Intercept)"])


def test_one_dimension_at_time_zero(at_lme4):
    """MMod on InitIgG: intercepts only; lmList(IgG ~ Sex | FamID) and coef(MMod)$FamID."""
    pool = pooling(at_lme4["MMod"], "FamID")
    assert pool.coords == ("intercept",) and pool.slope is None
    units = pool.units.set_index("unit")
    own = pd.DataFrame(REF["init_own"]).T.loc[units.index, "(Intercept)"]
    part = pd.DataFrame(REF["MMod"]["coef_FamID"]).T.loc[units.index, "(Intercept)"]
    assert close(units["own_intercept"], own) and close(units["partial_intercept"], part)
    assert close(units["complete_intercept"].iloc[0], REF["complete_init"]["(Intercept)"])


def test_random_intercept_shrinkage_factor(lmer_fits):
    """Known answer: in IgG ~ 1 + (1 | FamID), a family's mode is its own mean's deviation from the
    fixed intercept times n_j tau^2 / (n_j tau^2 + sigma^2) (the BLUP of the one-way model) at any
    theta (here MMod's); arithmetic, so REL."""
    fit = LmerFit.from_optimum(setup("IgG ~ 1 + (1 | FamID)", lmer_fits.data["time0"]),
                               theta("MMod"), True, [], [])
    units = pooling(fit, "FamID").units
    tau2, sigma2, mu = (fit.theta.iloc[0] * fit.sigma) ** 2, fit.sigma ** 2, fit.fixef.iloc[0]
    factor = units["n"] * tau2 / (units["n"] * tau2 + sigma2)
    assert close(units["partial_intercept"] - mu, factor * (units["own_intercept"] - mu))
    assert (factor < 1).all()


def test_units_without_enough_rows_have_no_own_estimate(lmer_fits):
    """One month per person: no own line (two coefficients, one row), yet a model line for everyone."""
    data = lmer_fits.data["all"]
    one = data[(data["Time"] == 3) | ((data["Time"] == 4) & (data["IndID"].astype(int) <= 10))]
    fit = LmerFit.from_optimum(setup("IgG ~ Sex * Time + (1 | FamID) + (1 | Sex:IndID)", one.reset_index(drop=True)),
                               np.array([0.5, 0.5]), True, [], [])
    units = pooling(fit, "Sex:IndID").units
    two = units["n"] == 2
    assert two.sum() == 20 and units.loc[two, "own_slope"].notna().all()
    assert units.loc[~two, ["own_intercept", "own_slope"]].isna().all().all()
    assert units["partial_intercept"].notna().all()


def test_fixed_rows_is_the_design_of_new_data(at_lme4):
    fit = at_lme4["MModTime2"]
    new = pd.DataFrame({"Sex": ["M", "F"], "Time": [3.0, 0.0]})
    np.testing.assert_array_equal(fixed_rows(fit, new), [[1, 1, 3, 3], [1, 0, 0, 0]])


def test_ellipse_is_the_family_covariance_and_persons_add_their_family(at_lme4):
    """VarCorr(MModTime4): the FamID ellipse holds FamID's covariance; a person's adds Sex:IndID's."""
    fit = at_lme4["MModTime4"]
    vc = fit.varcorr

    def cov(group):
        rows = vc[vc["grp"] == group]
        v = rows[rows["var2"].isna()]["vcov"].to_numpy()
        c = rows[rows["var2"].notna()]["vcov"].iloc[0]
        return np.array([[v[0], c], [c, v[1]]])

    (fam,), _ = covariance_ellipses(fit, pooling(fit, "FamID"))
    assert close(fam.cov, cov("FamID")) and close(fam.centre, fit.fixef[["(Intercept)", "Time"]])
    people, why = covariance_ellipses(fit, pooling(fit, "Sex:IndID"))
    assert why is None and [e.pattern for e in people] == ["Sex = F", "Sex = M"]
    assert close(people[0].cov, cov("FamID") + cov("Sex:IndID"))
    b = fit.fixef
    assert close(people[1].centre, [b["(Intercept)"] + b["SexM"], b["Time"] + b["SexM:Time"]])
    # the 95% contour: every point at Mahalanobis distance^2 = qchisq(0.95, 2) = 5.991465 (R)
    pts = ellipse_points(fam, 0.95) - fam.centre
    d2 = np.einsum("ij,jk,ik->i", pts, np.linalg.inv(fam.cov), pts)
    np.testing.assert_allclose(d2, 5.991464547107979, rtol=1e-10)


def test_no_ellipse_for_a_factor_slope(lmer_fits):
    fit = LmerFit.from_optimum(setup("IgG ~ Sex + (Sex | FamID)", lmer_fits.data["time0"]),
                               np.array([1.0, 0.1, 0.5]), True, [], [])
    ellipses, why = covariance_ellipses(fit, pooling(fit, "FamID"))
    assert ellipses == [] and "SexM" in why


def test_caterpillar_is_ranef_with_condvar(at_lme4):
    """ranef(MModTime4, condVar = TRUE)$FamID and sqrt of its postVar's diagonal; intervals +-1.96 SD
    (qnorm(0.975) = 1.959964, R)."""
    frame = caterpillar(at_lme4["MModTime4"])
    fam = frame[frame["group"] == "FamID"]
    for col in ("(Intercept)", "Time"):
        part = fam[fam["term"] == col].set_index("level")
        modes = pd.DataFrame(REF["MModTime4"]["FamID_mode"]).T.loc[part.index, col]
        sds = pd.DataFrame(REF["MModTime4"]["FamID_condsd"]).T.loc[part.index, col]
        assert close(part["mode"], modes) and close(part["sd"], sds)
        assert close(part["upper"] - part["mode"], 1.959963984540054 * sds)
        assert sorted(part["rank"]) == list(range(1, 9))
        assert part["rank"].idxmax() == modes.astype(float).idxmax()
    assert set(frame["group"]) == {"FamID", "Sex:IndID"} and len(frame) == 2 * (270 + 8)


def test_row_order_does_not_change_the_estimates(lmer_fits):
    """The same data shuffled: every unit's three lines unchanged (to REL)."""
    data = lmer_fits.data["time0"]
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a, b = (pooling(LmerFit.from_optimum(setup(MODELS["MMod"][0], d), theta("MMod"), True, [], []), "FamID").units
            .set_index("unit").sort_index() for d in (data, shuffled))
    cols = ["n", "own_intercept", "complete_intercept", "partial_intercept"]
    assert close(a[cols], b[cols])

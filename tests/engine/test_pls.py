"""lib.engine.pls's blocked factor against dense linear algebra, unweighted (lmer) and weighted (glmer's PIRLS)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as la
import scipy.sparse as sp

import lib.engine.pls as pls
from lib.engine.design import linear_design
from lib.engine.formula import parse_formula
from lib.engine.retrms import make_blocks

FORMULAS = {"vector first": "y ~ x + d + (1 + x | g1) + (1 | g2)",  # lme4's order: g1, then g2
            "three terms": "y ~ x + d + (1 + x | g1) + (1 | g2) + (0 + x | g1)"}  # (0 + x | g1) first


@pytest.fixture(scope="module", params=list(FORMULAS))
def model(request) -> tuple[list, np.ndarray, np.ndarray]:
    """Crossed terms, a vector-valued one, two on the same factor; X with a dummy zero in most g1 levels."""
    rng = np.random.default_rng(7)
    n = 240
    g1 = rng.integers(0, 15, n)
    df = pd.DataFrame({"y": rng.standard_normal(n), "x": rng.standard_normal(n),
                       "d": (g1 < 5).astype(float),  # zero on every row of ten g1 levels
                       "g1": pd.Categorical(g1), "g2": pd.Categorical(rng.integers(0, 7, n))})
    f = parse_formula(FORMULAS[request.param], list(df.columns))
    X, _, _ = linear_design(f.fixed, df)
    return make_blocks(f.random, df), X, df["y"].to_numpy()


@pytest.fixture(params=["dense", "sparse"], ids=["dense coupling", "sparse coupling"])
def coupling(request, monkeypatch) -> str:
    """The blocked factor's coupling C forced dense (never the pair lists) or sparse (never dense)."""
    if request.param == "dense":
        monkeypatch.setattr(pls, "_SPARSE_GAIN", np.inf)
    else:
        monkeypatch.setattr(pls, "_DENSE_LIMIT", 0)
    return request.param


def _dense(blocks, X, y, w, theta) -> dict:
    """The weighted PLS problem solved densely."""
    Z = np.hstack([b.Z().toarray() for b in blocks])
    Lam = la.block_diag(*[np.kron(np.eye(b.nlevels), b.T(theta[s]))
                          for b, s in zip(blocks, pls.theta_slices(blocks))])
    ZL = Z @ Lam
    M = ZL.T @ (w[:, None] * ZL) + np.eye(Z.shape[1])
    K = ZL.T @ (w[:, None] * X)
    schur = X.T @ (w[:, None] * X) - K.T @ np.linalg.solve(M, K)
    beta = np.linalg.solve(schur, X.T @ (w * y) - K.T @ np.linalg.solve(M, ZL.T @ (w * y)))
    u = np.linalg.solve(M, ZL.T @ (w * (y - X @ beta)))
    r = y - X @ beta - ZL @ u
    return {"beta": beta, "u": u, "ldL2": np.linalg.slogdet(M)[1], "ldRX2": np.linalg.slogdet(schur)[1],
            "pwrss": w @ (r * r) + u @ u, "u_only": np.linalg.solve(M, ZL.T @ (w * y)),
            "unsc": np.linalg.inv(schur), "condvar": Lam @ np.linalg.inv(M) @ Lam.T}


def _theta(blocks, rng) -> np.ndarray:
    return np.concatenate([np.where(b.lower() == 0, rng.uniform(0.2, 1.5, b.ntheta),
                                    rng.uniform(-0.5, 0.5, b.ntheta)) for b in blocks])


def _check(system, blocks, X, y, w, theta) -> None:
    ref = _dense(blocks, X, y, np.ones(len(y)) if w is None else w, theta)
    f = system.factor(theta)
    np.testing.assert_allclose(f.pwrss, ref["pwrss"], rtol=1e-10, atol=1e-12)
    _check_factor(system, f, system.decompose(theta, fixed=False), blocks, ref)


def _check_factor(system, f, g, blocks, ref: dict) -> None:
    """A factor with beta (f) and one with beta in the offset (g) against the dense solution."""
    for key in ("beta", "u", "ldL2", "ldRX2"):
        np.testing.assert_allclose(getattr(f, key), ref[key], rtol=1e-10, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(system.unsc(f), ref["unsc"], rtol=1e-10, atol=1e-12)
    at = 0
    for b, cov in zip(blocks, system.condvar(f)):
        for j in range(b.nlevels):
            sl = slice(at + j * b.k, at + (j + 1) * b.k)
            np.testing.assert_allclose(cov[j], ref["condvar"][sl, sl], rtol=1e-10, atol=1e-12)
        at += b.q
    assert g.ldL2 == pytest.approx(ref["ldL2"], rel=1e-12) and np.isnan(g.ldRX2)
    np.testing.assert_allclose(g.u, ref["u_only"], rtol=1e-10, atol=1e-12)
    assert g.beta.shape == (0,)


def test_weighted_pls_is_the_dense_solution(model, coupling):
    blocks, X, y = model
    system = pls.PlsSystem(blocks, X, y)
    assert system.dense is (coupling == "dense")
    rng = np.random.default_rng(11)
    theta = _theta(blocks, rng)
    _check(system, blocks, X, y, None, theta)
    for _ in range(2):  # new weights and responses reuse the symbolic structure
        w, z = rng.uniform(0.05, 2.0, len(y)), rng.standard_normal(len(y))
        system.reweight(w, z)
        _check(system, blocks, X, z, w, _theta(blocks, rng))


def test_unit_weights_reproduce_the_unweighted_products(model):
    blocks, X, y = model
    system = pls.PlsSystem(blocks, X, y)
    A11, C, D = system.A11, system.coupling.C, system.D
    system.reweight(np.ones(len(y)), y)
    np.testing.assert_allclose(system.A11, A11, rtol=1e-15)
    np.testing.assert_allclose(system.D, D, rtol=1e-13, atol=1e-12)  # X'X by BLAS when weighted
    np.testing.assert_allclose(system.coupling.C, C, rtol=1e-15)


def test_a_factor_keeps_the_products_it_was_made_from(model):
    """condvar of a factor is unchanged by later weights (glmer's fit keeps its last factor)."""
    blocks, X, y = model
    system = pls.PlsSystem(blocks, X, y)
    theta = _theta(blocks, np.random.default_rng(3))
    f = system.factor(theta)
    before = system.condvar(f)
    system.reweight(np.full(len(y), 0.3), y)
    for a, b in zip(before, system.condvar(f)):
        np.testing.assert_allclose(a, b, rtol=1e-15)


def test_single_term_u_only(model):
    """One term: the u-only problem has no trailing random effects at all."""
    blocks, X, y = model
    one = blocks[:1]
    system = pls.PlsSystem(one, X, y)
    theta = _theta(one, np.random.default_rng(5))
    w = np.random.default_rng(6).uniform(0.1, 1.0, len(y))
    system.reweight(w, y)
    ref = _dense(one, X, y, w, theta)
    g = system.decompose(theta, fixed=False)
    np.testing.assert_allclose(g.u, ref["u_only"], rtol=1e-10, atol=1e-12)
    assert g.ldL2 == pytest.approx(ref["ldL2"], rel=1e-12)


def test_stacked_helpers_give_numpys_numbers():
    """The gufuncs and single-gemm stack products in lib.engine.pls equal np.linalg's and matmul's (to round-off:
    another CPU's kernels may block the products differently)."""
    rng = np.random.default_rng(11)
    for k in (1, 2, 3):
        A = rng.standard_normal((57, k, k))
        A = A @ A.transpose(0, 2, 1) + np.eye(k)
        T = np.tril(rng.standard_normal((k, k)))
        L = np.linalg.cholesky(A)
        b = rng.standard_normal((57, k, 1))
        np.testing.assert_allclose(pls._gufuncs.cholesky_lo(A, signature="d->d"), L, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(pls._gufuncs.inv(L, signature="d->d"), np.linalg.inv(L), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(pls._gufuncs.solve(L, b, signature="dd->d"), np.linalg.solve(L, b), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(pls._each_times(T, A), T @ A, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(pls._times_each(A, T), A @ T, rtol=1e-13, atol=1e-13)


def test_matrices_built_from_patterns_are_scipys(model):
    """Z and the csc of [X y], assembled from their patterns, are what scipy's constructors give."""
    blocks, X, y = model
    for b in blocks:
        n = len(b.factor.codes)
        rows = np.repeat(np.arange(n), b.k)
        cols = (b.factor.codes[:, None] * b.k + np.arange(b.k)).ravel()
        ref = sp.csc_matrix((b.X.ravel(), (rows, cols)), shape=(n, b.q))
        got = b.Z()
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(got, part), getattr(ref, part))
    F = np.column_stack([X, y])
    got, ref = pls._csc_of_dense(F), sp.csc_matrix(F)
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(got, part), getattr(ref, part))


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_gradient_is_the_dense_criterions(model, coupling, reml):
    """PlsSystem.gradient against central differences of the criterion solved densely (_dense).

    The differences' own error at h = 1e-5 is ~h^2 |f'''| + eps |f| / h, ~1e-8 on these models'
    criteria (~10^2 to 10^3; they agree to 4e-9 here); 1e-7 leaves a margin for other kernels."""
    blocks, X, y = model
    n, p = X.shape
    system = pls.PlsSystem(blocks, X, y)
    theta = _theta(blocks, np.random.default_rng(13))
    theta[0] = -theta[0]  # a negative diagonal: the same model, and the gradient there too

    def criterion(t: np.ndarray) -> float:
        ref = _dense(blocks, X, y, np.ones(n), t)
        nu = n - p if reml else n
        return ref["ldL2"] + (ref["ldRX2"] if reml else 0.0) + nu * (1 + np.log(2 * np.pi * ref["pwrss"] / nu))

    h = 1e-5
    numeric = [(criterion(theta + h * e) - criterion(theta - h * e)) / (2 * h) for e in np.eye(len(theta))]
    np.testing.assert_allclose(system.gradient(system.factor(theta), reml), numeric, rtol=1e-7, atol=1e-7)


def test_sparse_ldl_is_the_dense_solution(model):
    """lib.engine.sparse_pls (glmer's sparse path) against dense linear algebra: weighted PLS with beta
    and with beta in the offset, log-determinants, (R_X' R_X)^-1 and the conditional covariances."""
    from lib.engine.sparse_pls import SparsePls

    blocks, X, y = model
    system = SparsePls(blocks, X, y)
    rng = np.random.default_rng(17)
    for _ in range(2):
        w, z = rng.uniform(0.05, 2.0, len(y)), rng.standard_normal(len(y))
        theta = _theta(blocks, rng)
        ref = _dense(blocks, X, z, w, theta)
        system.reweight(w, z)
        f = system.decompose(theta)
        system.reweight(w, z, fixed=False)
        _check_factor(system, f, system.decompose(theta, fixed=False), blocks, ref)


def test_glmer_picks_the_sparse_factor_for_an_observation_level_effect():
    """A level per row (overdispersion) makes the blocked factor's trailing block all the other levels:
    glmer_system takes the sparse one; two rows per level (MonthsLow's IndID) keep the blocked one."""
    from lib.engine.sparse_pls import SparsePls, glmer_system

    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({"y": rng.poisson(2.0, n), "obs": pd.Categorical(np.arange(n)),
                       "g": pd.Categorical(rng.integers(0, 9, n))})
    f = parse_formula("y ~ 1 + (1 | obs) + (1 | g)", list(df.columns))
    X, _, _ = linear_design(f.fixed, df)
    assert isinstance(glmer_system(make_blocks(f.random, df), X, df["y"].to_numpy(float)), SparsePls)
    twice = pd.concat([df, df]).reset_index(drop=True)
    assert isinstance(glmer_system(make_blocks(f.random, twice), np.ones((2 * n, 1)), twice["y"].to_numpy(float)),
                      pls.PlsSystem)


@pytest.mark.parametrize("path", ["sparse coupling", "sparse LDL'"])
def test_glmer_through_another_factor_is_the_default_fit(monkeypatch, path):
    """Two crossed terms with the blocked factor's sparse coupling, or glmer's sparse LDL' factor,
    forced: the default fit (blocked, dense coupling; test_fidelity_glmer.py holds its optimum to
    lme4's band), to the level of the criterion's round-off."""
    import lib.engine.sparse_pls as sparse_pls
    from lib.api import glmer
    from lib.data.glmm_data import load_months_low

    formula = "cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID) + (1 | IndID)"
    default = glmer(formula, load_months_low())
    if path == "sparse coupling":
        monkeypatch.setattr(pls, "_DENSE_LIMIT", 0)
    else:
        monkeypatch.setattr(sparse_pls, "DENSE_TRAILING_MAX", 0)
    other = glmer(formula, load_months_low())
    assert default.problem.pls.dense
    assert (isinstance(other.problem.pls, sparse_pls.SparsePls) if path == "sparse LDL'" else
            not other.problem.pls.dense)
    assert other.loglik == pytest.approx(default.loglik, abs=1e-9)
    # theta: both finishes end where Newton predicts less than 1e-10 more, sqrt(2e-10 / H) ~ 1e-6 away;
    # the SEs come from deriv12's Hessian of a criterion exact to its last ulps: test_fidelity_glmer's
    # SE_LAPLACE_REL
    np.testing.assert_allclose(other.theta, default.theta, rtol=1e-6)
    np.testing.assert_allclose(other.se, default.se, rtol=5e-5)
    for group in ("IndID", "FamID"):  # condVar through the other factor
        np.testing.assert_allclose(other.ranef_sd[group], default.ranef_sd[group], rtol=1e-4)


def test_residual_for_another_response_is_the_dense_solutions(model, coupling):
    """residual_for(f, w): the PLS residual of response w on f's factor, against _dense's solution
    for w (round-off: the two agree to ~1e-14 of |w| here; 1e-10 leaves a margin)."""
    blocks, X, y = model
    system = pls.PlsSystem(blocks, X, y)
    rng = np.random.default_rng(17)
    theta = _theta(blocks, rng)
    f = system.factor(theta)
    w = rng.standard_normal(len(y))
    ref = _dense(blocks, X, w, np.ones(len(y)), theta)
    Z = np.hstack([b.Z().toarray() for b in blocks])
    expected = w - X @ ref["beta"] - Z @ system.lambda_times(theta, ref["u"])
    np.testing.assert_allclose(system.residual_for(f, w), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(system.residual_for(f, y), f.resid, rtol=0, atol=1e-10)


def test_a_nested_trailing_term_takes_the_pair_lists():
    """(1 + Time | IndID) after (1 + Time | Sex:IndID): each Sex:IndID level meets one IndID level, so
    C W C' by pair lists takes ~1,350 times fewer products than the dense m x m x q1 one (m = 275,
    q1 = 540); MModTime4's FamID (8 levels) after Sex:IndID keeps the dense product (ratio ~8)."""
    from lib.data.immune import load_prepared
    from lib.engine.lmer_problem import setup

    data = load_prepared()
    nested = setup("IgG ~ Sex*Time + (1 + Time | IndID) + (1 + Time | Sex:IndID)", data)
    assert not nested.system.dense and nested.system.m * 540 <= pls._DENSE_LIMIT
    assert setup("IgG ~ Sex*Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", data).system.dense


def test_a_fit_through_the_pair_lists_reaches_the_dense_fits_optimum(monkeypatch):
    """The nested model's REML fit by each coupling: the same optimum, within CRIT_TOL (tests/band.py:
    a fit's criterion at most 1e-6 above the optimum)."""
    from lib.api import lmer
    from lib.data.immune import load_prepared
    from tests.band import CRIT_TOL

    formula = "IgG ~ Sex*Time + (1 + Time | IndID) + (1 + Time | Sex:IndID)"
    pairs = lmer(formula, load_prepared())
    monkeypatch.setattr(pls, "_SPARSE_GAIN", np.inf)
    dense = lmer(formula, load_prepared())
    assert not pairs.problem.system.dense and dense.problem.system.dense
    assert abs(pairs.reml_criterion - dense.reml_criterion) <= CRIT_TOL


def test_rows_most_levels_meet_leave_the_pair_lists(monkeypatch):
    """Reweighted (glmer's PIRLS), a sparse coupling joins only the rows few levels meet by pair lists
    and takes the rows most levels meet (X, y, a 3-level factor) as a dense block: the factor is still
    the dense solution (tolerances: _check's, round-off of these sizes)."""
    monkeypatch.setattr(pls, "_DENSE_LIMIT", 0)
    rng = np.random.default_rng(5)
    n = 600
    df = pd.DataFrame({"y": rng.standard_normal(n), "x": rng.standard_normal(n),
                       "g1": pd.Categorical(rng.integers(0, 200, n)),  # the first term: 3 rows a level ...
                       "g2": pd.Categorical(rng.integers(0, 100, n)),  # ... meet ~3% of g2's levels
                       "g3": pd.Categorical(rng.integers(0, 3, n))})  # ... and ~70% of g3's
    f = parse_formula("y ~ x + (1 + x | g1) + (1 | g2) + (1 | g3)", list(df.columns))
    X, _, _ = linear_design(f.fixed, df)
    blocks, y = make_blocks(f.random, df), df["y"].to_numpy()
    system = pls.PlsSystem(blocks, X, y)
    w, z = rng.uniform(0.05, 2.0, n), rng.standard_normal(n)
    system.reweight(w, z)
    split, q2 = system.coupling.lists.split, 100
    assert system.coupling.by_rows and list(split.rows) == list(range(q2, system.m))  # g3's, X's, y's
    assert 0 < len(split.sparse.entries) and np.all(split.sparse.entries // system.m < q2)
    _check(system, blocks, X, z, w, _theta(blocks, rng))

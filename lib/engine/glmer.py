"""glmer: generalized linear mixed models (binomial, Poisson) fitted as lme4 1.1-31 fits them.

    fit = glmer("Low ~ Sex * Time + (1 | FamID)", data=df, family="binomial")

lme4's steps (R/lmer.R: glmer, R/modular.R: mkGlmerDevfun, optimizeGlmer):

1. Start: mu from the family's `initialize` (binomial (w y + 0.5) / (w + 1), Poisson
   y + 0.1), eta = link(mu); one PIRLS run over u and beta at the starting theta
   gives the linear predictor lp0 every later evaluation starts from.
2. Stage 1 (lme4's nAGQ = 0 criterion): for each theta, PIRLS over u *and* beta
   (beta profiled out); the criterion is log|L|^2 + ||u||^2 + aic. Minimized by
   minqa's bobyqa (rhobeg = 0.2 max|theta|, rhoend = 1e-6 rhobeg, npt = n + 2);
   here NLopt's BOBYQA with that rhobeg and rhoend, which is Powell's same code (the
   same iterations when there is one theta; NLopt fixes npt = 2n + 1).
3. Stage 2 (nAGQ = 1, the Laplace approximation): theta and beta together, beta
   in the offset and PIRLS over u only; lme4's own Nelder-Mead (lib.engine.nelder_mead)
   from the stage-1 optimum with steps 0.2 (0.1 per theta, min(SD(beta), 10)).
4. Finite-difference gradient and Hessian (lme4's deriv12), lme4's boundary
   check and convergence checks; the standard errors come from that Hessian,
   as vcov.merMod does when it is available. (glmer passes checkConv the bounds of
   theta *and* beta, so lme4 1.1-31 never runs its separate fixed-effect Hessian
   check; neither does this.)

Every evaluation starts PIRLS from lp0, as lme4's devfun does, so the criterion is a
function of its parameters alone and the optimizers see lme4's numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import nlopt
import numpy as np
import pandas as pd

from lib.engine.convergence import check_convergence, deriv12, is_singular
from lib.engine.design import drop_rank_deficient, is_factor, linear_design
from lib.engine.formula import Formula, FormulaError, parse_formula
from lib.engine.family import Family, FamilyError, make_family
from lib.engine.nelder_mead import nelder_mead
from lib.engine.optimize import finish, run_bobyqa
from lib.engine.pirls import GlmResponse, Pirls, PirlsError
from lib.engine.pls import PlsSystem, one_blas_thread
from lib.engine.retrms import ReBlock, ThetaLayout, make_blocks

TOL_PWRSS = 1e-7
BOUNDARY_TOL = 1e-5
MAXFUN_BOBYQA = 10000
GHQ_MAX = 25

__all__ = ["glmer", "GlmerProblem", "FamilyError", "FormulaError", "PirlsError"]


@dataclass
class GlmerProblem(ThetaLayout):
    """Everything fixed during a fit: data, response, design matrices and the solver."""

    formula: Formula
    frame: pd.DataFrame
    family: Family
    y: np.ndarray  # proportions for binomial, counts for Poisson
    weights: np.ndarray  # lme4's resp$weights (prior weights x binomial totals)
    prior_weights: np.ndarray
    n: np.ndarray  # binomial totals (1 for a 0/1 or proportion response)
    offset: np.ndarray
    mustart: np.ndarray
    X: np.ndarray
    xnames: list[str]
    blocks: list[ReBlock]
    pls: PlsSystem  # lmer's PLS system; PIRLS sets its weights and working response
    messages: list[str]
    weights_label: str | None = None

    @property
    def ntheta(self) -> int:
        return len(self.lower)

    @property
    def nobs(self) -> int:
        return len(self.y)


# -- setup -------------------------------------------------------------------------------

def _numeric(frame: pd.DataFrame, col: str, what: str) -> np.ndarray:
    s = frame[col]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(float)
    if not pd.api.types.is_numeric_dtype(s):
        raise FormulaError(f"{what} {col!r} must be numeric")
    return s.to_numpy(float)


def _response(f: Formula, frame: pd.DataFrame, family: Family, prior: np.ndarray,
              messages: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """y, lme4's weights, n and mustart, as the family's initialize sets them up."""
    r = f.response
    if r.is_cbind:
        if family.family != "binomial":
            raise FamilyError("a cbind(successes, failures) response needs the binomial family")
        s = _numeric(frame, r.name, "the successes column")
        fails = _numeric(frame, r.failures, "the failures column") if r.failures else \
            _numeric(frame, r.total, "the totals column") - s
        if np.any(s < 0) or np.any(fails < 0):
            what = "failures" if r.failures else f"{r.total} - {r.name}"
            raise FamilyError(f"counts must not be negative: check {r.name} and {what}")
        if np.any(np.abs(s - np.round(s)) > 1e-3) or np.any(np.abs(fails - np.round(fails)) > 1e-3):
            messages.append("non-integer counts in a binomial glm!")
        n = s + fails
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(n == 0, 0.0, s / np.where(n == 0, 1.0, n))
        weights = prior * n
        return y, weights, n, (n * y + 0.5) / (n + 1.0)
    col = frame[r.name]
    if family.family == "binomial" and (is_factor(col) and not pd.api.types.is_bool_dtype(col)):
        cats = col.astype("category")
        cats = cats.cat.remove_unused_categories() if isinstance(col.dtype, pd.CategoricalDtype) \
            else pd.Categorical(col.astype(str), categories=sorted(col.astype(str).unique()))
        cats = pd.Series(cats)
        y = (cats != cats.cat.categories[0]).to_numpy(float)  # R: failure is the first level
    else:
        y = _numeric(frame, r.name, "the response")
    if family.family == "binomial":
        y = np.where(prior == 0, 0.0, y)
        n, mustart = family.initialize(y, prior)
        m = prior * y
        if np.any(np.abs(m - np.round(m)) > 1e-3):
            messages.append("non-integer #successes in a binomial glm!")
        return y, prior, n, mustart
    n, mustart = family.initialize(y, prior)
    if np.any(np.abs(y - np.round(y)) > 1e-8):
        raise FamilyError(f"the Poisson family needs whole counts: {r.name} has non-integer values")
    return y, prior, n, mustart


def _check_groups(blocks: list[ReBlock], nobs: int) -> None:
    """lme4's grouping-factor checks with glmer's allow.n = TRUE."""
    for b in blocks:
        if b.nlevels < 2:
            raise FormulaError("grouping factors must have > 1 sampled level")
    bad = [b.group for b in blocks if b.nlevels > nobs]
    if bad:
        raise FormulaError("number of levels of each grouping factor must be <= number of "
                           f"observations (problems: {', '.join(bad)})")
    for b in blocks:
        if nobs < b.q:
            term = f"{' + '.join(b.cnames)} | {b.group}"
            raise FormulaError(f"number of observations (={nobs}) < number of random effects "
                               f"(={b.q}) for term ({term}); the random-effects parameters are "
                               "probably unidentifiable")


def _scale_message(X: np.ndarray) -> list[str]:
    """lme4's checkScaleX warning for continuous columns on very different scales."""
    cont = [j for j in range(X.shape[1]) if not np.all(np.isin(X[:, j], (0.0, 1.0)))]
    if not cont or X.shape[0] < 2:
        return []
    sd = X[:, cont].std(axis=0, ddof=1)
    with np.errstate(divide="ignore"):
        logsd = np.abs(np.log(sd))
        ratios = [abs(np.log(sd[i] / sd[j])) for i in range(len(sd)) for j in range(i)]
    if np.any(np.concatenate([logsd, ratios]) > np.log(1e3)):
        return ["Some predictor variables are on very different scales: consider rescaling"]
    return []


def setup(formula: str | Formula, data: pd.DataFrame, family: str = "binomial",
          link: str | None = None, weights: str | np.ndarray | None = None) -> GlmerProblem:
    """Parse and check the model and build its matrices (lme4's glFormula and mkRespMod)."""
    fam = make_family(family, link)
    f = formula if isinstance(formula, Formula) else parse_formula(formula, list(data.columns))
    if not f.random:
        raise FormulaError("No random effects terms specified in formula")
    if f.response is None:
        raise FormulaError("glmer needs a response on the left of '~'")
    cols = list(f.variables)
    wlabel = None
    frame_src = data
    if isinstance(weights, str):
        if weights not in data.columns:
            raise FormulaError(f"the weights column {weights!r} is not in the data")
        wlabel = weights
        cols = cols + ([weights] if weights not in cols else [])
    elif weights is not None:
        w_arr = np.asarray(weights, float)
        if w_arr.shape != (len(data),):
            raise FormulaError(f"weights must have one value per row ({len(data)})")
        frame_src = data.assign(**{"(weights)": w_arr})
        wlabel = "(weights)"
        cols = cols + ["(weights)"]
    keep = frame_src[cols].notna().all(axis=1)
    frame = frame_src.loc[keep, cols].reset_index(drop=True)
    if len(frame) == 0:
        raise FormulaError("no complete rows: every row has a missing value in the model's columns")
    prior = _numeric(frame, wlabel, "the weights column") if wlabel else np.ones(len(frame))
    if np.any(prior < 0):
        raise FamilyError("negative weights are not allowed")
    messages: list[str] = []
    y, wts, n, mustart = _response(f, frame, fam, prior, messages)
    if not np.all(np.isfinite(y)):
        raise FamilyError("NA/NaN/Inf in 'y'")
    if len(np.unique(y)) < 2:
        raise FamilyError("Response is constant")
    X, names, _ = linear_design(f.fixed, frame)
    X, names, rank_msg = drop_rank_deficient(X, names)
    messages += rank_msg + _scale_message(X)
    blocks = make_blocks(f.random, frame)
    _check_groups(blocks, len(frame))
    pls = PlsSystem(blocks, X, np.zeros(len(y)))  # PIRLS reweights it before every use
    return GlmerProblem(f, frame, fam, y, wts, prior, n, np.zeros(len(y)), mustart, X, names,
                        blocks, pls, messages, wlabel)


# -- lme4's check.boundary ------------------------------------------------------------------

def _check_boundary(devfun, par: np.ndarray, fval: float, theta_now: np.ndarray,
                    lower: np.ndarray, tol: float) -> tuple[np.ndarray, float, bool]:
    """lme4's check.boundary: a theta within tol of its bound goes onto it if no worse."""
    nth = len(theta_now)
    bdiff = theta_now - lower[:nth]
    edge = np.flatnonzero((bdiff > 0) & (bdiff < tol))
    if not edge.size:
        return par, fval, False
    pp = par.copy()
    for i in edge:
        tmp = pp.copy()
        tmp[i] = lower[i]
        if devfun(tmp) < fval:
            pp[i] = tmp[i]
    return pp, devfun(pp), True


# -- the optimizers ----------------------------------------------------------------------

_BOBYQA_MSG = {1: "bobyqa -- maximum number of function evaluations exceeded",  # minqa's ierr
               5: "bobyqa -- a trust region step failed to reduce q"}


def minqa_bobyqa(fn, par: np.ndarray, lower: np.ndarray, maxfun: int = MAXFUN_BOBYQA,
                 rhobeg: float | None = None, rhoend: float | None = None):
    """minqa::bobyqa with its defaults (one look at f(par) first, as minqa takes)."""
    par = np.asarray(par, float).copy()
    if np.all(par == 0):
        par[:] = 0.001  # optwrap's "minor kludge"
    fn(par)  # minqa's checkObj
    rhobeg = min(0.95, 0.2 * float(np.max(np.abs(par)))) if rhobeg is None else rhobeg
    rhoend = 1e-6 * rhobeg if rhoend is None else rhoend

    def minqa(opt: nlopt.opt) -> None:
        opt.set_initial_step(rhobeg)
        opt.set_xtol_rel(rhoend / rhobeg)  # NLopt: rhoend = xtol_rel * rhobeg
        opt.set_maxeval(maxfun)

    x, fval, status, evaluations = run_bobyqa(fn, par, lower, minqa)
    ierr = {nlopt.MAXEVAL_REACHED: 1, -4: 5}.get(status, 0)  # minqa's codes
    warnings = [f"convergence code {ierr} from bobyqa: {_BOBYQA_MSG[ierr]}"] if ierr else []
    return x, fval, evaluations + 1, warnings


# -- the fit -----------------------------------------------------------------------------

@dataclass
class _Trace:
    rows: list = field(default_factory=list)

    def add(self, stage: int, f: float, pars: np.ndarray) -> None:
        self.rows.append((stage, f, np.asarray(pars, float).copy()))


def _ghrule(k: int) -> np.ndarray:
    """lme4's GHrule(k): nodes z, weights w (summing to 1) and log dnorm(z)."""
    z, w = np.polynomial.hermite_e.hermegauss(k)
    w = w / w.sum()
    return np.column_stack([z, w, -0.5 * z * z - 0.5 * np.log(2 * np.pi)])


class _Devfuns:
    """lme4's devfun closures: the PIRLS state, lp0 and the offset live here."""

    def __init__(self, prob: GlmerProblem, trace: _Trace):
        self.prob, self.trace = prob, trace
        resp = GlmResponse(prob.family, prob.y, prob.weights, prob.n, prob.offset.copy(),
                           prob.offset + prob.family.linkfun(prob.mustart))
        self.pirls = Pirls(prob.pls, resp, TOL_PWRSS)
        self.nth = prob.ntheta
        self.nAGQ = 0
        self.gq = None
        self.exact = False  # PIRLS to round-off (the finish) instead of lme4's tolerance
        # mkGlmerDevfun: one PIRLS run (u and beta) at the starting theta
        self.pirls.update(prob.start, with_beta=True)
        self.lp0 = self.pirls.lin_pred()

    def stage1(self, theta: np.ndarray) -> float:
        self._start(theta, self.prob.offset, with_beta=True)
        self._pirls(theta, True)
        v = self.pirls.laplace()
        self.trace.add(1, v, theta)
        return v

    def stage2(self, pars: np.ndarray) -> float:
        theta, beta = pars[:self.nth], pars[self.nth:]
        self._start(theta, self.prob.offset + (self.prob.X @ beta if len(beta) else 0.0), with_beta=False)
        self._pirls(theta, False)
        v = self.pirls.laplace() if self.nAGQ <= 1 else self._agq()
        self.trace.add(2, v, pars)
        return v

    def _start(self, theta: np.ndarray, offset: np.ndarray, with_beta: bool) -> None:
        """Where PIRLS starts: lme4's lp0 (every evaluation alike), or, run to round-off, the modes
        of the previous evaluation (its answer does not depend on the start; that saves iterations)."""
        resp, p = self.pirls.resp, self.pirls
        if self.exact and p.with_beta == with_beta and p.decomp is not None:
            p.theta = np.asarray(theta, float)
            resp.offset = offset
            resp.update_mu(p.lin_pred())
            return
        resp.offset = self.prob.offset
        resp.update_mu(self.lp0)
        resp.offset = offset

    def _pirls(self, theta: np.ndarray, with_beta: bool) -> None:
        if self.exact:
            self.pirls.solve_exactly(theta, with_beta)
        else:
            self.pirls.update(theta, with_beta)

    def _agq(self) -> float:
        """lme4's glmerAGQ: adaptive Gauss-Hermite quadrature for one scalar term."""
        p, prob = self.pirls, self.prob
        fam, resp = prob.family, p.resp
        codes = prob.blocks[0].factor.codes
        q = prob.pls.q
        u = p.delu.copy()

        def devc(uu: np.ndarray) -> np.ndarray:
            dr = fam.dev_resid(resp.y, resp.mu, resp.weights)
            return uu * uu + np.bincount(codes, dr, minlength=q)

        devc0 = devc(u)
        sd = 1.0 / p.decomp.L1[:, 0, 0]
        mult = np.zeros(q)
        for z, w, ldn in self.gq:
            if z == 0:
                mult += w
            else:
                uu = u + z * sd
                resp.update_mu(prob.pls.z_lambda_times(p.theta, uu))
                mult += np.exp(-0.5 * (devc(uu) - devc0) - ldn) * w / np.sqrt(2 * np.pi)
        resp.update_mu(p.lin_pred())
        return float(devc0.sum() + p.decomp.ldL2 - 2 * np.log(np.prod(mult)))


def glmer(formula: str | Formula, data: pd.DataFrame, family: str = "binomial",
          link: str | None = None, nAGQ: int = 1, weights: str | np.ndarray | None = None):
    """Fit a GLMM by maximum likelihood: Laplace (nAGQ = 1), AGQ (nAGQ > 1) or nAGQ = 0."""
    if not isinstance(nAGQ, (int, np.integer)) or not 0 <= nAGQ <= GHQ_MAX:
        raise FormulaError(f"nAGQ must be a whole number from 0 to {GHQ_MAX}")
    prob = setup(formula, data, family, link, weights)
    if nAGQ > 1 and (len(prob.blocks) != 1 or prob.blocks[0].k != 1):
        raise FormulaError("nAGQ > 1 is only available for models with a single, scalar "
                           "random-effects term")
    with one_blas_thread():
        return _fit(prob, nAGQ)


def _fit(prob: GlmerProblem, nAGQ: int):
    """lme4's two optimizer stages (or stage 1 alone for nAGQ = 0) and its checks."""
    from lib.engine.glmer_fit import GlmerFit

    trace = _Trace()
    dev = _Devfuns(prob, trace)
    lower_th = prob.lower
    # stage 1 (nAGQ = 0): bobyqa over theta, beta profiled by PIRLS
    par1, fval1, feval1, warn1 = minqa_bobyqa(dev.stage1, prob.start, lower_th)
    fval_end = dev.stage1(par1)  # optwrap: one more evaluation at the optimum
    messages = list(prob.messages) + warn1
    optimizer = "bobyqa"
    derivs = None
    if nAGQ == 0:
        dev.exact = True
        end = finish(dev.stage1, par1, dev.stage1(par1), lower_th)
        dev.stage1(end.par)  # the PIRLS state at the optimum
        par, fval, derivs = end.par, end.fval, end.derivs
        par, fval, _ = _check_boundary(dev.stage1, par, fval, dev.pirls.theta, lower_th, BOUNDARY_TOL)
        feval = feval1
        lower_all = lower_th
        conv_messages = ["boundary (singular) fit: see help('isSingular')"] \
            if is_singular(par, lower_th) else []
    else:
        dev.nAGQ = nAGQ
        dev.gq = _ghrule(nAGQ) if nAGQ > 1 else None
        dev.lp0 = dev.pirls.lin_pred()
        start = np.concatenate([dev.pirls.theta, dev.pirls.delb])
        beta_sd = np.sqrt(np.diag(dev.pirls.unsc()))
        xst = 0.2 * np.concatenate([np.full(prob.ntheta, 0.1), np.minimum(beta_sd, 10.0)])
        lower_all = np.concatenate([lower_th, np.full(prob.X.shape[1], -np.inf)])
        dev.exact = True
        end = finish(dev.stage2, start, dev.stage2(start), lower_all)
        optimizer, feval = "Nelder_Mead", 0
        if end.derivs is None and not is_singular(end.par[:prob.ntheta], lower_th):
            # Newton could not finish from stage 1's end: lme4's own Nelder-Mead first
            dev.exact = False
            nm = nelder_mead(dev.stage2, start, lower_all, xst, xst * 5e-4)
            if nm.convergence != 0:
                messages.append(f"convergence code {nm.convergence} from Nelder_Mead: {nm.message}")
            messages += nm.warnings
            dev.exact = True
            end = finish(dev.stage2, nm.par, dev.stage2(nm.par), lower_all)
            feval = nm.evaluations
        par, fval = end.par, end.fval
        # at a singular optimum lme4 still takes the derivatives: the standard errors need them
        derivs = end.derivs or deriv12(dev.stage2, par, dev.stage2(par))
        dev.stage2(par)  # optwrap: reset the state to the optimum
        par, fval, _ = _check_boundary(dev.stage2, par, fval, dev.pirls.theta, lower_all,
                                       BOUNDARY_TOL)
        dev.pirls.resp.offset = prob.offset + prob.X @ par[prob.ntheta:]
        conv_messages = check_convergence(par, lower_all, derivs[0], derivs[1])
    return GlmerFit.from_optimum(prob, dev, par, fval, nAGQ, messages, conv_messages, derivs,
                                 trace.rows, optimizer, feval)

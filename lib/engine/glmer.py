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

import nlopt
import numpy as np
import pandas as pd

from lib.engine.convergence import check_convergence, is_singular
from lib.engine.family import FamilyError
from lib.engine.formula import Formula, FormulaError
from lib.engine.glmer_devfun import EXACT_ETA_TOL, STAGE1_ETA_TOL, Devfuns, Trace, ghrule
from lib.engine.glmer_fit import GlmerFit
from lib.engine.glmer_problem import GlmerProblem, setup
from lib.engine.nelder_mead import nelder_mead
from lib.engine.optimize import finish, run_bobyqa
from lib.engine.pirls import PirlsError
from lib.engine.pls import one_blas_thread

MAXFUN_BOBYQA = 10000
# Stage 1 only finds the Laplace stage's start. On crossed70k's binomial (bench/) Newton takes the
# Laplace optimum in as many evaluations from a stop at 3e-2 of lme4's first step as from 1e-3
# (106 each), while stage 1 takes 52 evaluations, not 80; from 1e-1 Newton needs 43 more
STAGE1_RHOEND = 3e-2
GHQ_MAX = 25

__all__ = ["glmer", "GlmerProblem", "FamilyError", "FormulaError", "PirlsError"]


# -- the optimizers ----------------------------------------------------------------------

_BOBYQA_MSG = {1: "bobyqa -- maximum number of function evaluations exceeded",  # minqa's ierr
               5: "bobyqa -- a trust region step failed to reduce q"}


def minqa_bobyqa(fn, par: np.ndarray, lower: np.ndarray, maxfun: int = MAXFUN_BOBYQA,
                 rhoend_rel: float | None = None):
    """minqa::bobyqa with its defaults (one look at f(par) first, as minqa takes); rhoend_rel:
    the final trust-region radius relative to the first (minqa's 1e-6)."""
    par = np.asarray(par, float).copy()
    if np.all(par == 0):
        par[:] = 0.001  # optwrap's "minor kludge"
    fn(par)  # minqa's checkObj
    rhobeg = min(0.95, 0.2 * float(np.max(np.abs(par))))
    rhoend = (1e-6 if rhoend_rel is None else rhoend_rel) * rhobeg

    def minqa(opt: nlopt.opt) -> None:
        opt.set_initial_step(rhobeg)
        opt.set_xtol_rel(rhoend / rhobeg)  # NLopt: rhoend = xtol_rel * rhobeg
        opt.set_maxeval(maxfun)

    x, fval, status, evaluations = run_bobyqa(fn, par, lower, minqa)
    ierr = {nlopt.MAXEVAL_REACHED: 1, -4: 5}.get(status, 0)  # minqa's codes
    warnings = [f"convergence code {ierr} from bobyqa: {_BOBYQA_MSG[ierr]}"] if ierr else []
    return x, fval, evaluations + 1, warnings


# -- the fit -----------------------------------------------------------------------------

def glmer(formula: str | Formula, data: pd.DataFrame, family: str = "binomial",
          link: str | None = None, nAGQ: int = 1, weights: str | np.ndarray | None = None,
          result: type[GlmerFit] = GlmerFit) -> GlmerFit:
    """Fit a GLMM by maximum likelihood: Laplace (nAGQ = 1), AGQ (nAGQ > 1) or nAGQ = 0."""
    if not isinstance(nAGQ, (int, np.integer)) or not 0 <= nAGQ <= GHQ_MAX:
        raise FormulaError(f"nAGQ must be a whole number from 0 to {GHQ_MAX}")
    prob = setup(formula, data, family, link, weights)
    if nAGQ > 1 and (len(prob.blocks) != 1 or prob.blocks[0].k != 1):
        raise FormulaError("nAGQ > 1 is only available for models with a single, scalar "
                           "random-effects term")
    with one_blas_thread():
        return _fit(prob, nAGQ, result)


def _fit(prob: GlmerProblem, nAGQ: int, result: type[GlmerFit]) -> GlmerFit:
    """lme4's two optimizer stages (or stage 1 alone for nAGQ = 0) and its checks."""
    trace = Trace()
    dev = Devfuns(prob, trace)
    lower_th = prob.lower
    # stage 1 (nAGQ = 0): bobyqa over theta, beta profiled by PIRLS; where the Laplace stage follows,
    # only its start (Newton's steps take it from there), so to STAGE1_RHOEND of lme4's step, not 1e-6
    rhoend = None if nAGQ == 0 else STAGE1_RHOEND
    dev.eta_tol = EXACT_ETA_TOL if nAGQ == 0 else STAGE1_ETA_TOL
    par1, fval1, feval1, warn1 = minqa_bobyqa(dev.stage1, prob.start, lower_th, rhoend_rel=rhoend)
    dev.eta_tol = EXACT_ETA_TOL
    messages = list(prob.messages) + warn1
    optimizer = "bobyqa"
    derivs = None
    if nAGQ == 0:
        dev.exact = True
        end = finish(dev.stage1, par1, dev.stage1(par1), lower_th)
        dev.stage1(end.par)  # the PIRLS state at the optimum
        par, fval, derivs = end.par, end.fval, end.derivs
        feval = feval1
        lower_all = lower_th
        conv_messages = ["boundary (singular) fit: see help('isSingular')"] \
            if is_singular(par, lower_th) else []
    else:
        dev.nAGQ = nAGQ
        dev.gq = ghrule(nAGQ) if nAGQ > 1 else None
        dev.lp0 = dev.pirls.lin_pred()
        start = np.concatenate([dev.pirls.theta, dev.pirls.delb])
        beta_sd = np.sqrt(np.diag(dev.pirls.unsc()))
        xst = 0.2 * np.concatenate([np.full(prob.ntheta, 0.1), np.minimum(beta_sd, 10.0)])
        lower_all = np.concatenate([lower_th, np.full(prob.X.shape[1], -np.inf)])
        dev.exact = True
        # at a singular optimum lme4 still takes the derivatives: the standard errors need them
        end = finish(dev.stage2, start, dev.stage2(start), lower_all, on_bound=True)
        optimizer, feval = "Nelder_Mead", 0
        if not end.newton and not is_singular(end.par[:prob.ntheta], lower_th):
            # Newton could not finish from stage 1's end: lme4's own Nelder-Mead first
            dev.exact = False
            nm = nelder_mead(dev.stage2, start, lower_all, xst, xst * 5e-4)
            if nm.convergence != 0:
                messages.append(f"convergence code {nm.convergence} from Nelder_Mead: {nm.message}")
            messages += nm.warnings
            dev.exact = True
            end = finish(dev.stage2, nm.par, dev.stage2(nm.par), lower_all, on_bound=True)
            feval = nm.evaluations
        par, fval, derivs = end.par, end.fval, end.derivs
        dev.stage2(par)  # optwrap: reset the state to the optimum
        dev.pirls.resp.offset = prob.offset + prob.X @ par[prob.ntheta:]
        conv_messages = check_convergence(par, lower_all, derivs[0], derivs[1])
    return result.from_optimum(prob, dev, par, fval, nAGQ, messages, conv_messages, derivs,
                                 trace.rows, optimizer, feval)

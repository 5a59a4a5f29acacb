"""How well the model determines each number summary() prints: the criterion's price of its last digit.

lme4's default optimizer stops up to 5e-5 above the criterion's optimum (the tutorial's 17 fits in
shared/reference/optimum_lme4.json). A printed number whose last digit can move by one unit for
less than that rise in the criterion is decided by where the optimizer stopped, not by the model.

Every printed number is a function q(theta) of the variance parameters (the fixed effects and sigma
are profiled out). For a gradient g, the least rise in the criterion that moves q by d is
d^2 / (2 g' H^-1 g), H the criterion's Hessian over theta (lme4's deriv12, over the parameters not
on their bound).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.engine.convergence import deriv12
from lib.rprint.lme4_print import fixef_table, varcorr_table

LME4_STOP_GAP = 5e-5  # the most lme4's default stop lies above the optimum in the reference


def _unit(cell: str) -> float:
    """One unit in the last printed digit of a number as printed."""
    mantissa, _, exponent = cell.strip().lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def _hessian(fit) -> tuple[np.ndarray, np.ndarray]:
    """The criterion's Hessian over the free theta, and which theta are free."""
    prob, theta = fit.problem, fit.theta.to_numpy()
    free = np.flatnonzero(~((prob.lower == 0) & (theta == 0)))
    if fit.derivs is not None and len(free) == len(theta):
        return fit.derivs[1], free

    def crit(t: np.ndarray) -> float:
        z = theta.copy()
        z[free] = t
        return prob.criterion(z, fit.REML)

    return deriv12(crit, theta[free], crit(theta[free]))[1], free


def _printed_quantities(fit) -> list[tuple[str, str, float]]:
    """(what, printed cell, value) for each variance, SD, estimate and SE summary() prints."""
    raw, cells = varcorr_table(fit), varcorr_table(fit, formatted=True)
    group, out = "", []
    for i in range(len(raw)):
        group = cells.loc[i, "Groups"] or group
        label = f"{group} {raw.loc[i, 'Name']}".strip()
        out += [(f"{label}: variance", cells.loc[i, "Variance"], raw.loc[i, "Variance"]),
                (f"{label}: Std.Dev.", cells.loc[i, "Std.Dev."], raw.loc[i, "Std.Dev."])]
    fx, fx_cells = fixef_table(fit), fixef_table(fit, formatted=True)
    for name in fx.index:
        out += [(f"{name}: estimate", fx_cells.loc[name, "Estimate"], fx.loc[name, "Estimate"]),
                (f"{name}: Std. Error", fx_cells.loc[name, "Std. Error"], fx.loc[name, "Std. Error"])]
    return out


def _values(fit) -> np.ndarray:
    """The printed quantities' values, in _printed_quantities' order."""
    t, fx = varcorr_table(fit), fixef_table(fit)
    return np.concatenate([np.column_stack([t["Variance"], t["Std.Dev."]]).ravel(),
                           np.column_stack([fx["Estimate"], fx["Std. Error"]]).ravel()])


def last_digit_costs(fit, rel_step: float = 1e-5) -> pd.DataFrame:
    """Per printed number: the unit of its last digit, the criterion's rise to move it one unit,
    and whether that rise exceeds LME4_STOP_GAP (the digit is then the model's)."""
    from lib.engine.lmer_fit import LmerFit

    H, free = _hessian(fit)
    Hinv = np.linalg.pinv(H)
    theta = fit.theta.to_numpy()
    grads = []
    for i in free:
        h = rel_step * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        at = [_values(LmerFit.from_optimum(fit.problem, t, fit.REML, [], [])) for t in (up, down)]
        grads.append((at[0] - at[1]) / (2 * h))
    G = np.column_stack(grads) if grads else np.zeros((len(_values(fit)), 0))
    spread = np.einsum("ij,jk,ik->i", G, Hinv, G)  # g' H^-1 g per quantity
    rows = []
    for (what, cell, value), s in zip(_printed_quantities(fit), spread):
        unit = _unit(cell)
        cost = unit ** 2 / (2 * s) if s > 0 else np.inf
        rows.append({"quantity": what, "printed": cell.strip(), "value": value, "last-digit unit": unit,
                     "criterion rise for one unit": cost, "determined by the model": cost > LME4_STOP_GAP})
    return pd.DataFrame(rows)


def digit_story(gap: float = LME4_STOP_GAP) -> str:
    """What the determination table says (markdown)."""
    return (f"Each number summary() prints moves as the variance parameters move. The table gives, for each, "
            f"the least rise in the criterion that moves its **last printed digit by one unit**. lme4's default "
            f"optimizer stops up to {gap:.0e} above the optimum (the tutorial's fits in the reference), so where "
            f"that rise is smaller, the last digit is the optimizer's, not the model's: lme4 and this app can "
            f"print it differently, and both are right about the model.")


def digit_table(costs: pd.DataFrame) -> pd.DataFrame:
    """last_digit_costs as text for a page."""
    return pd.DataFrame({
        "quantity": costs["quantity"], "printed": costs["printed"],
        "last-digit unit": costs["last-digit unit"].map("{:g}".format),
        "criterion rise for one unit": costs["criterion rise for one unit"].map("{:.1e}".format),
        "determined by the model": costs["determined by the model"].map({True: "yes", False: "no"}),
    })

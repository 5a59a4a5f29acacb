"""summary(glmer fit) laid out as lme4 1.1-31's print.summary.merMod prints it.

    Generalized linear mixed model fit by maximum likelihood (Laplace
      Approximation) [glmerMod]
     Family: binomial  ( logit )
    Formula: Low ~ Sex * Time + (1 | FamID)
       Data: d

         AIC      BIC   logLik deviance df.resid
    ...

The pieces are lib.lme4_print's ports of lme4's .prt.* helpers; what differs from an
lmer summary is here: the Family line, the AIC table (whose "deviance" is lme4's
devCrit(), -2 logLik, not deviance()), z values with Pr(>|z|), no residual row.
"""
from __future__ import annotations

import textwrap

import pandas as pd

from .lme4_print import (DIGITS, COR_MAX, WIDTH, _classify_messages, _format, _resid_block,
                         cat_fill, convergence_text, fixef_correlation_text, formula_lines,
                         groups_line, method_title, print_named_strings, random_effects_text)
from .rformat import print_coefmat, r_round


def method_line(title: str, cls: str = "glmerMod") -> str:
    """lme4's .prt.methTit(): a title too long for the console is wrapped by strwrap()
    (at blanks only: "Gauss-Hermite" stays whole), then cat(" [", class, "]", fill = TRUE)."""
    if len(title) + 5 + len(cls) <= WIDTH:
        return f"{title} ['{cls}']"
    wrapped = textwrap.wrap(title, width=WIDTH - 3, subsequent_indent="  ",
                            break_on_hyphens=False, break_long_words=False)
    return cat_fill(wrapped + [" [", cls, "]"], sep="").rstrip("\n")


def family_line(fit) -> str:
    """lme4's .prt.family(): cat(" Family:", f, paste(" (", link, ")"), fill = TRUE)."""
    return cat_fill([" Family:", fit.family.family, f" ( {fit.family.link} )"]).rstrip("\n")


def aic_table(fit) -> pd.Series:
    """llikAIC()'s AICtab: AIC, BIC, logLik, deviance (-2 logLik) and df.resid."""
    return pd.Series({"AIC": fit.aic, "BIC": fit.bic, "logLik": fit.loglik,
                      "deviance": fit.minus_two_loglik, "df.resid": float(fit.df_resid)})


def _aic_block(fit) -> str:
    tab = aic_table(fit)
    vals = r_round(tab.to_numpy(), 1)
    cells = _format(vals, 7)
    cells[4] = _format([vals[4]], 7)[0]
    return print_named_strings(cells, list(tab.index))


def fixef_text(fit, digits: int = DIGITS) -> str:
    return print_coefmat(fit.coef_table, digits=digits)


def glmer_summary(fit, data_name: str | None = None, digits: int = DIGITS,
                  correlation: bool | None = None, name: str = "x") -> str:
    """print(summary(fit)) for a glmer fit."""
    data_name = data_name if data_name is not None else getattr(fit, "data_name", None)
    out = [method_line(method_title(fit), "glmerMod") + "\n"]
    out.append(family_line(fit) + "\n")
    out.append(cat_fill(["Formula:"] + formula_lines(fit)))
    if data_name:
        out.append(cat_fill(["   Data:", data_name]))
    wl = getattr(fit.problem, "weights_label", None)
    if wl:
        out.append(cat_fill(["Weights:", wl]))
    out.append("\n")
    out.append(_aic_block(fit) + "\n\n")
    out.append(_resid_block(fit, digits) + "\n\n")
    out.append(random_effects_text(fit, digits) + "\n")
    out.append(groups_line(fit) + "\n")
    p = len(fit.fixef)
    if p > 0:
        out.append("\nFixed effects:\n" + fixef_text(fit, digits) + "\n")
        if correlation is None and p > COR_MAX:
            out.append(fixef_correlation_text(fit, name))
        elif correlation or (correlation is None and p > 1):
            text = fixef_correlation_text(fit, name, limit=p)
            out.append(text + ("\n" if text else ""))
    fitmsgs = _classify_messages(_Msgs(fit))[0]
    if fitmsgs:
        out.append("fit warnings:\n" + "\n".join(fitmsgs) + "\n")
    out.append(convergence_text(_Msgs(fit)))
    return "".join(out)


class _Msgs:
    """The fit as lme4_print's message helpers read it: every message, and the optimizer."""

    def __init__(self, fit):
        self.messages = fit.all_messages
        self.optimizer = fit.optimizer

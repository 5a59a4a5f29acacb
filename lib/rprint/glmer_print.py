"""summary(glmer fit) laid out as lme4 1.1-31's print.summary.merMod prints it.

    Generalized linear mixed model fit by maximum likelihood (Laplace
      Approximation) [glmerMod]
     Family: binomial  ( logit )
    Formula: Low ~ Sex * Time + (1 | FamID)
       Data: d

         AIC      BIC   logLik deviance df.resid
    ...

The pieces are lib.rprint.lme4_print's ports of lme4's .prt.* helpers; what differs from an
lmer summary is here: the Family line, the AIC table (whose "deviance" is lme4's
devCrit(), -2 logLik, not deviance()), z values with Pr(>|z|), no residual row.
"""
from __future__ import annotations

import textwrap

from lib.rprint.lme4_print import DIGITS, WIDTH, cat_fill, method_title, summary_text


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


def glmer_summary(fit, data_name: str | None = None, digits: int = DIGITS,
                  correlation: bool | None = None, name: str = "x") -> str:
    """print(summary(fit)) for a glmer fit."""
    head = [method_line(method_title(fit), "glmerMod") + "\n", family_line(fit) + "\n"]
    wl = fit.problem.weights_label
    extra = [("Weights:", wl)] if wl else []
    return summary_text(fit, head, extra, fit.coef_table, data_name, digits, correlation, name)

"""The checks at the end of each tutorial page, built from what the page shows.

`questions(page, **live)` gives the page's questions for the objects on screen (fits, tables);
`SLOTS` says which questions each page has, so progress can be counted before a page is visited.
A builder given no fit (the student's model could not be fitted) asks only what needs none.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from lib.data.idcoding import shared_codes
from lib.teach.exercises import CHOICE, NUMBER, Question, relative

if TYPE_CHECKING:
    from lib.teach.fixed_or_random import Summary
    from lib.teach.glmm_residuals import Checks

# The engine and the pages' teaching modules are imported by the builders that need them: Home asks
# its checks on the first page a student opens, which must not wait for scipy and the engine.

READ_OFF = 0.005  # a number read off a printout: within half a percent (4 printed digits, rounded to 3)
YES, NO = "Yes", "No"


# -- questions any page can ask -----------------------------------------------------------------

def count_parameters(fit, name: str) -> Question:
    """How many parameters the fit estimates: logLik's df (lm, lmer or glmer)."""
    if not hasattr(fit, "theta"):  # lm
        coefs = [c for c in fit.coef_names if c not in fit.aliased]
        why = (f"{len(coefs)} coefficients ({', '.join(coefs)}) and the residual variance: "
               f"{fit.rank + 1}, the df of `logLik({name})`.")
        return Question("params", f"How many parameters does `{name}` estimate?", NUMBER, fit.rank + 1, why,
                        "Count the coefficients that have an estimate, then add the residual variance.")
    p, k = len(fit.fixef), len(fit.theta)
    residual = fit.family is None
    parts = [f"{p} fixed effects ({', '.join(fit.fixef.index)})",
             f"{k} variance-covariance parameter{'s' if k > 1 else ''} of the random effects "
             f"({', '.join(fit.theta.index)})"]
    parts += ["1 residual variance"] if residual else []
    why = " + ".join(parts) + f" = {fit.df}, the df of `logLik({name})`" + (
        "." if residual else "; a binomial or Poisson model has no residual variance.")
    hint = ("Count the fixed effects, then each variance and correlation in the random-effects table"
            + (", then the residual variance." if residual else " (no residual variance here)."))
    return Question("params", f"How many parameters does `{name}` estimate (fixed effects and variance "
                    "parameters, as `logLik()` counts them)?", NUMBER, fit.df, why, hint)


def variance_of(fit, name: str, group: str | None = None) -> Question:
    """The variance of one grouping factor's first random effect, as summary() prints it."""
    vc = fit.varcorr
    rows = vc[vc["var2"].isna() & (vc["grp"] != "Residual")]
    row = rows[rows["grp"] == group].iloc[0] if group in set(rows["grp"]) else rows.iloc[0]
    value = float(row["vcov"])
    return Question("variance", f"What variance does `{name}` estimate for `{row['var1']}` among the levels "
                    f"of **{row['grp']}**?", NUMBER, value,
                    f"The *Variance* column of the random-effects table: {value:.4g}.",
                    f"Read the Variance column of {row['grp']}'s row in the random-effects table "
                    "(not the Std.Dev.).", tolerance=max(relative(value, READ_OFF), 1e-4))


def singular_check(fit, name: str) -> Question:
    answer = YES if fit.singular else NO
    theta = ", ".join(f"{k} = {v:.4g}" for k, v in fit.theta.items())
    why = (f"theta is {theta}; a fit is singular when a variance is estimated as 0 or a correlation as "
           f"±1 (a diagonal theta below 1e-4, lme4's isSingular). {name} is "
           f"{'singular' if fit.singular else 'not singular'}.")
    return Question("singular", f"Is the fit of `{name}` singular (a variance estimated as exactly 0, or a "
                    "correlation as ±1)?", CHOICE, answer, why,
                    "Look for a variance of 0 or a correlation of ±1 in the random effects, or lme4's "
                    "'boundary (singular) fit' message.", (YES, NO))


def groups_count(fit, group: str, name: str) -> Question:
    group = group if group in fit.ngrps else next(iter(fit.ngrps))
    k = fit.ngrps[group]
    return Question("groups", f"How many levels (groups) does **{group}** have in `{name}`?", NUMBER, k,
                    f"summary() prints it under *Number of obs*: {group}, {k}.",
                    "The last line of the random-effects part of summary() counts the groups.")


def lrt_verdict(a, name_a: str, b, name_b: str) -> Question:
    """Which model the likelihood-ratio test favours, and whether its p-value is conservative."""
    big, small = (name_a, name_b) if a.df >= b.df else (name_b, name_a)
    options = (f"{big}, and its p-value is conservative (too large)",
               f"{big}, and its p-value can be taken as it is",
               f"{small}, and its p-value is conservative (too large)",
               f"{small}, and its p-value can be taken as it is",
               "Neither: this likelihood-ratio test is not valid for these two fits")
    prompt = (f"`lrtest({name_a}, {name_b})`: which model does the test favour at the 5% level, and is "
              "its p-value conservative?")
    hint = ("First ask whether the two likelihoods can be compared (REML fits need the same fixed "
            "effects); then compare p with 0.05; then ask whether the test puts a variance at zero, the "
            "edge of its range.")
    from lib.engine.compare import lrtest
    comparison = lrtest(a, b) if a.nobs == b.nobs else None
    if comparison is None or a.df == b.df or comparison.note is not None:
        why = ("The fits are of different data, or have the same number of parameters, or are REML "
               "fits with different fixed effects (or REML beside ML): their likelihoods are not "
               "comparable, whatever p says.")
        return Question("lrt", prompt, CHOICE, options[4], why, hint, options)
    p = float(comparison.table["Pr(>Chisq)"].iloc[1])
    boundary = variance_count(a) != variance_count(b)
    favoured = big if p < 0.05 else small
    answer = options[(0 if favoured == big else 2) + (0 if boundary else 1)]
    why = (f"p = {p:.3g} is {'below' if p < 0.05 else 'not below'} 0.05, so the test favours {favoured}"
           + (" (the simpler model is kept without evidence against it)" if favoured == small else "")
           + (". The test asks whether a variance is 0, the boundary of its range, so the chi-square "
              "p-value is conservative: a 50:50 mixture of chi-squares would give a smaller one."
              if boundary else ". No variance is tested at its boundary, so the chi-square p-value "
              "stands."))
    return Question("lrt", prompt, CHOICE, answer, why, hint, options)


def variance_count(fit) -> int:
    """The variances among a fit's random-effects parameters (theta's diagonal): a test that drops one
    tests it at 0, the edge of its range; a test of a correlation alone (| against ||) does not."""
    return sum(blk.k for blk in fit.blocks)


def find_the_error(prompt: str, options: tuple[str, ...], answer: str, why: str, hint: str) -> Question:
    return Question("error", f"**Find the error before proceeding.** {prompt}", CHOICE, answer, why, hint,
                    options)


# -- the pages ------------------------------------------------------------------------------------

def home(data: pd.DataFrame) -> list[Question]:
    k = int(data["FamID"].nunique())
    return [
        Question("contrasts", "`lm(IgG ~ Sex + FamID)` with FamID a factor: how many coefficients does "
                 "FamID take?", NUMBER, k - 1,
                 f"{k} families, the first being the reference (in the intercept): FamID2 … FamID{k}, {k - 1}.",
                 "Count the families; the first has no coefficient of its own."),
        Question("variance", "And how many parameters does the random effect `(1 | FamID)` estimate for "
                 "the families?", NUMBER, 1,
                 "One, the variance among families, however many families there are.",
                 "A random effect estimates how much families vary, not each family's mean."),
    ]


def data_page(raw: pd.DataFrame) -> list[Question]:
    per_person = raw.groupby(["IndID", "Sex"]).size()
    n = int(per_person.mode().iloc[0])
    from lib.engine.design import is_factor
    numeric = not is_factor(raw["FamID"])
    options = ("Nothing: integers are fine as they are", "as.factor(FamID): make it a label, not a number",
               "log(FamID): family codes are skewed", "Drop FamID: families do not matter")
    return [
        Question("per_person", "How many rows does one person have in the long table?", NUMBER, n,
                 f"One per month: {n} (each person is measured every month).",
                 "A row is one person at one month: count the months."),
        find_the_error(f"`str()` of the data as `read.csv` reads it shows FamID as "
                       f"`{'int' if numeric else 'Factor'}`. What must happen before FamID goes into a model?",
                       options, options[1] if numeric else options[0],
                       "A family code is a label: as a number, a model would fit one slope from family 1 "
                       "to family 8, as if family 8 had 'more family'." if numeric else
                       "FamID is already a factor: nothing to do.",
                       "What would a model do with the number 8 for family 8?"),
    ]


def fixed_effects(model, famid_factor: bool) -> list[Question]:
    uses_famid = any(c.startswith("FamID") for c in model.coef_names)
    options = ("The model is coded correctly",
               "FamID is a number: lm fits one slope over the family codes 1 to 8, not a contrast per family",
               "Sex must be recoded as 0/1 before lm can use it")
    wrong = uses_famid and not famid_factor
    return [count_parameters(model, "fit"),
            find_the_error(f"Is `{model.call}` coded correctly?", options, options[1] if wrong else options[0],
                           "FamID enters as one number, so the families share one slope." if wrong else
                           "Sex is a factor and FamID either absent or a factor: every family gets its own "
                           "contrast.", "Look at the coefficient names: one FamID, or FamID2 … FamID8?")]


def random_effects(fit=None, name: str = "MMod") -> list[Question]:
    return [] if fit is None else [count_parameters(fit, name), variance_of(fit, name, "FamID")]


def variance_components(naive=None, recoded=None) -> list[Question]:
    if naive is None or recoded is None:
        return []
    k, people = naive.ngrps["Individual"], recoded.ngrps["UniqueID"]
    options = ("(1 | Individual) on the non-unique codes", "(1 | UniqueID) after recoding",
               "Both: they estimate the same variance")
    return [
        Question("groups", "How many groups does `(1 | Individual)` see in the small example?", NUMBER, k,
                 f"The codes restart in each family, so the {people} people share {k} codes: {k} groups.",
                 "Count the distinct codes in the non-unique ID table, not the people."),
        find_the_error("Both fits run without a warning. Whose individual variance should be reported?",
                       options, options[1],
                       f"With non-unique codes each 'individual' mixes people of two families ({k} groups for "
                       f"{people} people), so their differences leak into the residual.",
                       "Does each code name one person?"),
    ]


def multiple_factors(fit=None, name: str = "MMod2", other=None, other_name: str = "MMod") -> list[Question]:
    if fit is None:
        return []
    return [count_parameters(fit, name)] + ([] if other is None else [lrt_verdict(fit, name, other, other_name)])


def random_regression(a=None, name_a: str = "MModTime", b=None, name_b: str = "MModTime2") -> list[Question]:
    if a is None or b is None:
        return []
    added = abs(b.df - a.df)
    only = sorted(set(b.theta.index) ^ set(a.theta.index))
    return [Question("added", f"How many parameters does `{name_b}` have more than `{name_a}` (or fewer)?",
                     NUMBER, added, f"{a.df} against {b.df}: {added}"
                     + (f" (theta: {', '.join(only)})." if only else "."),
                     "Compare the df of the two fits (the #Df column of lrtest)."),
            lrt_verdict(a, name_a, b, name_b)]


def ml_vs_reml(reml=None, ml=None, name: str = "MMod") -> list[Question]:
    if reml is None or ml is None:
        return []
    vr, vm = (float(f.varcorr["vcov"].iloc[0]) for f in (reml, ml))
    group = reml.varcorr["grp"].iloc[0]
    options = ("REML", "ML", "They are equal")
    answer = options[2] if math.isclose(vr, vm, rel_tol=1e-6, abs_tol=1e-10) else options[0 if vr > vm else 1]
    return [Question("larger", f"Which fit of `{name}` estimates the larger **{group}** variance?", CHOICE,
                     answer, f"REML {vr:.4g}, ML {vm:.4g}. ML treats the estimated fixed effects as known "
                     "and so under-estimates variances; REML charges them their degrees of freedom.",
                     "Compare the first variance of the two summaries.", options),
            count_parameters(reml, name)]


def convergence(fit=None, name: str = "MModTime4", data: pd.DataFrame | None = None) -> list[Question]:
    shared = len(shared_codes(data, "Sex", "IndID")) if data is not None else "Most"
    options = ("The optimizer needs more iterations",
               "Each IndID code holds two people (a brother and a sister): the person term mixes them; "
               "use Sex:IndID",
               "Time must be centred first", "IgG must be log-transformed")
    out = [find_the_error("`(1 + Time | IndID)` gives lme4's convergence warning. What is wrong with the model?",
                          options, options[1],
                          f"{shared} IndID codes each hold a male and a female, so a 'person' line "
                          "is fitted to two people; Sex:IndID gives each person a level of their own.",
                          "How many people does one IndID code hold?")]
    return out + ([] if fit is None else [groups_count(fit, "Sex:IndID", name)])


def qaqc(fit=None, name: str = "MModTime4", spread: pd.DataFrame | None = None) -> list[Question]:
    out = []
    if spread is not None and len(spread) > 1:
        ratios = spread.set_index("model")["last / first"]
        top = str(ratios.idxmax())
        out.append(Question("spread", "Which model's residual spread grows most from the first month to the "
                            "last?", CHOICE, top,
                            f"{top}: its residual SD grows {ratios[top]:.2f}-fold. A model that leaves out "
                            "how people drift apart pushes that into the residuals.",
                            "Compare the last / first column (or the lines' rise).",
                            tuple(str(m) for m in ratios.index)))
    return out + ([] if fit is None else [singular_check(fit, name)])


def glmm(fit=None) -> list[Question]:
    if fit is None:
        return []
    out = [count_parameters(fit, "fit")]
    coefs = [c for c in fit.fixef.index if c != "(Intercept)"]
    if coefs and fit.family.link in ("logit", "log"):
        c = coefs[0]
        ratio = float(np.exp(fit.fixef[c]))
        out.insert(0, Question("ratio", f"What is the {fit.ratio_name} for **{c}** (two decimals)?", NUMBER, ratio,
                               f"exp({fit.fixef[c]:.4f}) = {ratio:.4f}.",
                               f"exp() of the estimate of {c}: the estimates are on the "
                               f"{'log-odds' if fit.family.link == 'logit' else 'log'} scale.",
                               tolerance=0.006))
    return out


def pooling(units: pd.DataFrame | None = None, group: str = "FamID", fit=None, name: str = "model") -> list[Question]:
    out = []
    if units is not None:
        shift = (units["partial_intercept"] - units["own_intercept"]).abs()
        ranked = units.assign(shift=shift)[shift.notna()].sort_values("shift", ascending=False, kind="stable")
        if len(ranked) >= 2:
            top = ranked.iloc[0]
            picks = ranked.iloc[sorted({0, len(ranked) // 3, len(ranked) // 2, len(ranked) - 1})]
            options = tuple(str(u) for u in picks["unit"])
            out.append(Question("longest", f"Which level of **{group}** does the mixed model move furthest from "
                                "its own estimate (the longest arrow, in the intercept)?", CHOICE, str(top["unit"]),
                                f"{top['unit']}: own {top['own_intercept']:.2f}, mixed model "
                                f"{top['partial_intercept']:.2f}, from {int(top['n'])} rows. Few rows, or an own "
                                "estimate far from the rest, make the model trust it less.",
                                "Hover over the arrows: each runs from a hollow circle (own) to an arrowhead (model).", options))
    return out + ([] if fit is None else [count_parameters(fit, name)])


def fixed_or_random(summary: Summary | None = None) -> list[Question]:
    if summary is None:
        return []
    who = ("lm's (group as a fixed factor)", "lmer's (group as a random effect)", "Both equally often")
    cov = summary.lm_coverage, summary.lmer_coverage
    first = who[2] if cov[0] == cov[1] else who[0 if cov[0] > cov[1] else 1]
    lower = ("REML", "ML", "Neither: they agree on average")
    var = summary.reml_mean_var, summary.ml_mean_var
    second = lower[2] if math.isclose(*var, rel_tol=1e-9) else lower[0 if var[0] < var[1] else 1]
    return [
        Question("coverage", "In your experiment, whose 95% interval covered the true population mean more "
                 "often?", CHOICE, first,
                 f"lm's {cov[0]:.0%}, lmer's {cov[1]:.0%} of {summary.replicates} replicates. lm's interval is "
                 "about these groups only; lmer's intercept is about the population they come from.",
                 "Read the coverage of the two intervals above.", who),
        Question("ml", "Which method estimated the group variance lower on average?", CHOICE, second,
                 f"REML {var[0]:.3g}, ML {var[1]:.3g} (truth {summary.true_var:.3g}): ML ignores the degree "
                 "of freedom the mean uses, so its variances are biased low, most with few groups.",
                 "Compare the mean variances of REML and ML.", lower),
    ]


def glmm_residuals(checks: Checks | None = None, name: str = "fit") -> list[Question]:
    if checks is None:
        return []
    d, u = checks.dispersion, checks.uniformity
    return [
        Question("dispersion", f"Does the dispersion test flag `{name}` at the 5% level?", CHOICE,
                 YES if d.flagged() else NO,
                 f"dispersion = {d.statistic:.3f}, p = {d.p_value:.3g}: the observed residual spread is "
                 f"{'outside' if d.flagged() else 'within'} what the model's simulations give.",
                 "Look at the dispersion histogram: is the red line among the simulated values?", (YES, NO)),
        Question("uniform", "Are the scaled residuals consistent with a uniform distribution (KS test at 5%)?",
                 CHOICE, NO if u.flagged() else YES,
                 f"D = {u.statistic:.3f}, p = {u.p_value:.3g}.",
                 "Under the model the QQ plot follows the diagonal; the KS test measures the largest gap.",
                 (YES, NO)),
    ]


def inference(**live) -> list[Question]:
    from lib.teach.inference import exercises
    return exercises(**live)


def bootstrap(**live) -> list[Question]:
    from lib.teach.bootstrap_page import exercises
    return exercises(**live)


BUILDERS: dict[str, Callable[..., list[Question]]] = {
    "home": home, "data": data_page, "fixed_effects": fixed_effects, "random_effects": random_effects,
    "variance_components": variance_components, "multiple_factors": multiple_factors,
    "random_regression": random_regression, "ml_vs_reml": ml_vs_reml, "convergence": convergence,
    "qaqc": qaqc, "glmm": glmm, "pooling": pooling, "fixed_or_random": fixed_or_random,
    "glmm_residuals": glmm_residuals, "inference": inference, "bootstrap": bootstrap,
}
SLOTS: dict[str, tuple[str, ...]] = {
    "home": ("contrasts", "variance"), "data": ("per_person", "error"), "fixed_effects": ("params", "error"),
    "random_effects": ("params", "variance"), "variance_components": ("groups", "error"),
    "multiple_factors": ("params", "lrt"), "random_regression": ("added", "lrt"),
    "ml_vs_reml": ("larger", "params"), "convergence": ("error", "groups"), "qaqc": ("spread", "singular"),
    "glmm": ("ratio", "params"), "pooling": ("longest", "params"), "fixed_or_random": ("coverage", "ml"),
    "glmm_residuals": ("dispersion", "uniform"), "inference": ("fewest_df", "lopsided"),
    "bootstrap": ("smallest_p", "smallest_of_three"),
}


def questions(page: str, **live) -> list[Question]:
    """The page's questions about the objects on screen."""
    if page not in BUILDERS:
        raise KeyError(f"no exercises for the page {page!r}")
    return BUILDERS[page](**live)

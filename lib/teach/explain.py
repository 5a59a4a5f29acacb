"""lme4's messages in plain words: what each means and what to try.

`explain(message)` takes a warning or error text exactly as lme4 (or this project's
engine, which uses lme4's wording) gives it and returns an `Explanation` with a kind,
a severity, what it means for the model on screen, and what a student can try.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    message: str  # lme4's text, word for word
    kind: str  # singular | gradient | hessian | rank | levels | nobs | no_random | optimizer | formula | other
    severity: str  # "warning" (a fit was made) or "error" (no fit)
    title: str
    meaning: str
    tries: tuple[str, ...]

    def markdown(self) -> str:
        tries = "\n".join(f"- {t}" for t in self.tries)
        return f"**{self.title}.** {self.meaning}\n\n**What to try:**\n{tries}"


_GRAD = re.compile(r"Model failed to converge with max\|grad\| = ([0-9.eE+-]+) \(tol = ([0-9.eE+-]+), "
                   r"component (\d+)\)")
_RANK = re.compile(r"rank deficient so dropping (\d+) columns?")
_NOBS_RE = re.compile(r"number of observations \(=(\d+)\) <= number of random effects \(=(\d+)\)")


def explain(message: str) -> Explanation:
    """A plain-words explanation of one lme4 message."""
    m = message.strip()
    if m.startswith("boundary (singular) fit"):
        return Explanation(
            m, "singular", "warning", "Singular fit: a variance at zero, or a correlation at ±1",
            "The best fit puts at least one random-effect variance at exactly zero (or makes a "
            "correlation between random effects +1 or -1). The data cannot tell that variance "
            "apart from none at all: the model is on the edge of its parameter space, so the "
            "term adds nothing and its p-values and comparisons are on the boundary.",
            ("Look at the Random effects table: the term with variance 0 (or Corr ±1) is the one.",
             "Drop that term, or drop its correlation with `||` instead of `|`.",
             "Check how the grouping factor is coded: a code shared by different units "
             "(e.g. an IndID code holding one female and one male) cannot carry a separate slope for each.",
             "Keep it if theory needs it: a zero variance is an estimate, not an error."))
    g = _GRAD.search(m)
    if g:
        return Explanation(
            m, "gradient", "warning", "The optimizer stopped where the surface is not flat",
            f"After the optimizer stopped, lme4 checks the slope of the criterion there by finite "
            f"differences. Scaled by the curvature, the largest slope is {g.group(1)}, above the "
            f"tolerance {g.group(2)}. So the stopping point may not be the optimum: the estimates "
            "may be slightly off, usually because the likelihood is very flat in some direction "
            "(parameters that trade off against each other, or a variance close to zero).",
            ("Check the coding of the grouping factors: does each level really stand for one unit?",
             "Simplify the random part: drop a slope or its correlation (`||`).",
             "Restart from the estimates (R: `update(m, start=getME(m, 'theta'))`) or try another "
             "optimizer (R: `allFit(m)`); if they all agree, the warning is a false alarm.",
             "Rescale predictors whose scale differs a lot from the others."))
    if m.startswith("unable to evaluate scaled gradient"):
        return Explanation(
            m, "hessian", "warning", "The curvature could not be used",
            "To check convergence lme4 divides the gradient by the Cholesky factor of the curvature "
            "(Hessian); that factor does not exist here, because the criterion is flat or curves the "
            "wrong way in some direction. Some variance parameters are not determined by the data.",
            ("Simplify the random part: some terms are probably redundant with each other "
             "(e.g. an intercept and a full set of factor columns for the same group).",
             "With `||` and a factor slope, lme4 still fits one column per level: use `|` or a numeric slope."))
    if "Hessian is numerically singular" in m or "degenerate" in m and "Hessian" in m:
        return Explanation(
            m, "hessian", "warning", "The curvature at the optimum is degenerate",
            "At the stopping point the criterion is flat (or curves the wrong way) in some "
            "direction, so some combination of the variance parameters is not determined by the data.",
            ("Simplify the random part: some terms are probably redundant with each other.",
             "Check that no two grouping factors code the same units."))
    if "nearly unidentifiable" in m:
        return Explanation(
            m, "hessian", "warning", "Parameters on very different scales",
            "The curvature of the criterion is huge in some directions compared with others, "
            "which usually means predictors on very different scales.",
            ("Centre and rescale numeric predictors (e.g. Time in years instead of months).",))
    r = _RANK.search(m)
    if r:
        n = int(r.group(1))
        return Explanation(
            m, "rank", "warning", "A fixed effect cannot be estimated",
            f"{n} column{'s' if n > 1 else ''} of the fixed-effects design duplicate{'' if n > 1 else 's'} "
            "others (or is constant), so lme4 drops "
            f"{'them' if n > 1 else 'it'} and fits the rest. For example, at Time 0 the column "
            "Time is all zeros, so a Time slope has nothing to be estimated from.",
            ("Remove the fixed terms that the data slice cannot vary (e.g. Time on Time 0 only).",
             "Use all times if the question is about change over time."))
    if "grouping factors must have > 1 sampled level" in m:
        return Explanation(
            m, "levels", "error", "Only one group",
            "A variance among groups needs at least two groups; this grouping factor has one level in the data.",
            ("Choose a grouping factor with several levels, or use the data with more groups.",))
    if "number of levels of each grouping factor must be < number of observations" in m:
        return Explanation(
            m, "levels", "error", "One group per observation",
            "The grouping factor has as many levels as there are rows, so every observation is its "
            "own group: the variance among groups and the residual variance are the same thing and "
            "cannot be separated. At Time 0, for example, Sex:IndID has one row per person.",
            ("Use a coarser grouping factor (FamID), or the data with repeated measures (all times).",))
    n = _NOBS_RE.search(m)
    if n:
        return Explanation(
            m, "nobs", "error", "More random effects than observations",
            f"The term asks for {n.group(2)} random effects from {n.group(1)} observations, so the "
            "random-effect variances and the residual variance cannot all be estimated.",
            ("Drop the slope from this term, or use a grouping factor with fewer levels.",
             "Use the data with more observations per group (all times)."))
    if "No random effects terms" in m:
        return Explanation(
            m, "no_random", "error", "No random effects",
            "lmer needs at least one `( ... | group)` term; without one the model is an ordinary "
            "linear model.",
            ("Add a random term, e.g. a random intercept for FamID.", "Use `lm()` for a model without random effects."))
    if m.startswith("convergence code"):
        return Explanation(
            m, "optimizer", "warning", "The optimizer stopped abnormally",
            "BOBYQA did not finish normally (it ran out of evaluations or hit a rounding limit), "
            "so the estimates are where it happened to stop.",
            ("Simplify the random part.", "Refit from the estimates as a start."))
    if "has no random effects" in m or "no random effects" in m:
        return Explanation(
            m, "formula", "error", "An empty random term",
            "A random term needs an intercept or at least one slope on the left of the bar.",
            ("Tick the intercept or choose a slope, or remove the term.",))
    if "cannot also be an effect in its own term" in m:
        return Explanation(
            m, "formula", "error", "A factor grouping itself",
            "A variable cannot be both the grouping factor and a slope in the same term.",
            ("Choose a different slope, or a different grouping factor.",))
    if any(w in m for w in ("unknown column", "unexpected", "formula", "expected")):
        return Explanation(
            m, "formula", "error", "The formula cannot be read",
            "The formula does not follow R's formula grammar or names a column the data does not have.",
            ("Check the spelling of the column names (they are case-sensitive).",
             "Random terms look like (1 | FamID) or (1 + Time | FamID)."))
    return Explanation(
        m, "other", "warning", "A message from the fit",
        "The engine reported this while fitting; the estimates shown are where it stopped.",
        ("Simplify the model and compare.",))


def explain_all(messages: list[str]) -> list[Explanation]:
    return [explain(m) for m in messages]

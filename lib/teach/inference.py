"""What the "p-values and intervals" page shows, computed here (the page only draws).

Four answers to "is this coefficient zero?" side by side (Wald z, Satterthwaite t, Kenward-Roger t,
the likelihood-ratio test), where they disagree and why; profile and Wald intervals with the story
of their shapes; the ICC and R2 in the tutorial's words; predictions over time with their bands.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from lib.data.immune import individual_labels
from lib.engine.predict_intervals import population_ci, unit_pi
from lib.engine.profile import Profile
from lib.engine.r2 import Explained
from lib.rprint.rformat import format_pvalue
from lib.teach.exercises import CHOICE, Question

WHY_NO_P = """
`summary()` of an lmer fit prints a **t value** for each fixed effect but **no p-value**. A
p-value needs the distribution of t when the effect is zero, and in a mixed model that is not
known exactly: t would follow a t distribution only if the variances were known, and how many
degrees of freedom it has depends on *where the information comes from*. The intercept here is
learned from only 8 family means; the Sex difference is seen inside every family, across 270
people. lme4's authors chose to print no p-value rather than a wrong one; the usual answers are
below, and where they agree the question is settled.
"""

METHODS = """
- **Wald z**: treat t as standard normal (infinite df). Fine with many groups; too small a p with few.
- **Satterthwaite** (lmerTest's default): a t distribution whose df are approximated from how
  uncertain the variance estimates make the standard error.
- **Kenward-Roger** (pbkrtest): also inflates the standard error for that uncertainty, then
  approximates the df. Only for REML fits; often the most trustworthy with few groups.
- **Likelihood ratio** (`anova()` of ML fits with and without the coefficient): no standard
  error at all, chi-square on 1 df; also large-sample, so also too small a p with few groups.
"""


def p_value_table(fit, satterthwaite: pd.DataFrame, kenward_roger: pd.DataFrame | None,
                  lrt: pd.DataFrame | None) -> pd.DataFrame:
    """One row per fixed effect: estimate, SE and t (lme4's), then each method's df and p."""
    est, se = fit.fixef, fit.se
    t = est / se
    out = pd.DataFrame({"Estimate": est, "Std. Error": se, "t value": t,
                        "p (Wald z)": 2 * norm.sf(np.abs(t)),
                        "df (Satterthwaite)": satterthwaite["df"],
                        "p (Satterthwaite)": satterthwaite["Pr(>|t|)"]})
    if kenward_roger is not None:
        out["SE (Kenward-Roger)"] = kenward_roger["Std. Error"]
        out["df (Kenward-Roger)"] = kenward_roger["df"]
        out["p (Kenward-Roger)"] = kenward_roger["Pr(>|t|)"]
    if lrt is not None:
        out["Chisq (LRT, ML)"] = lrt["Chisq"]
        out["p (LRT)"] = lrt["Pr(>Chisq)"]
    return out


def as_text(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A table's numbers to `digits` significant digits, NA where R gives NA, text left alone."""
    return table.map(lambda v: v if isinstance(v, str) else "NA" if pd.isna(v) else f"{v:.{digits}g}")


def p_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("p (")]


def disagreements(table: pd.DataFrame, alpha: float = 0.05, ratio: float = 10.0,
                  negligible: float = 1e-6) -> list[str]:
    """Plain-words notes on coefficients whose p-values disagree: across alpha, or by a factor `ratio`
    where the largest is not negligible (below 1e-6 every method says the same thing)."""
    notes = []
    for name, row in table.iterrows():
        ps = row[p_columns(table)].astype(float)
        lo, hi = max(ps.min(), 1e-300), ps.max()  # a Wald z of 70 has p = 0 in doubles
        df = row["df (Satterthwaite)"]
        where = ("between groups: with so few groups the t distribution has heavy tails"
                 if df < 30 else "within groups, from many observations")
        if lo < alpha <= hi:
            notes.append(f"**{name}**: the verdict at {alpha:g} depends on the method (p from "
                         f"{format_pvalue(lo, 3)} to {format_pvalue(hi, 3)}). Satterthwaite's {df:.1f} df say "
                         f"it is estimated {where}.")
        elif hi / lo > ratio and hi >= negligible:
            notes.append(f"**{name}**: all methods agree it is {'not ' if lo >= alpha else ''}significant "
                         f"at {alpha:g}, but their p range from {format_pvalue(lo, 3)} to {format_pvalue(hi, 3)}: "
                         f"Satterthwaite's {df:.1f} df say it is estimated {where}.")
    return notes


def profile_table(prof: Profile, wald: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per parameter: the ML estimate, the profile interval, the Wald line's interval, lme4's Wald
    interval (fixed effects, from the fit itself), and how lopsided the profile interval is."""
    rows = []
    for name, p in prof.params.items():
        lo, hi = p.limits[level]
        wlo, whi = p.wald(level)
        lme4_wald = wald.loc[name].to_numpy() if name in wald.index else (np.nan, np.nan)
        below, above = p.estimate - lo, hi - p.estimate
        rows.append((name, p.label, p.estimate, lo, hi, wlo, whi, *lme4_wald,
                     above / below if below > 0 else np.inf))
    return pd.DataFrame(rows, columns=["parameter", "meaning", "ML estimate", "profile lower", "profile upper",
                                       "quadratic lower", "quadratic upper", "Wald lower (fit)",
                                       "Wald upper (fit)", "upper / lower reach"]).set_index("parameter")


def shape_notes(table: pd.DataFrame) -> list[str]:
    """Where the profile is far from straight: the interval is lopsided or reaches a bound."""
    notes = []
    for name, row in table.iterrows():
        reach = row["upper / lower reach"]
        if row["profile lower"] == 0 and "sd_" in row["meaning"]:
            notes.append(f"**{name}** ({row['meaning']}): the profile never drops below the 95% line "
                         "before 0, so the interval runs down to zero: zero cannot be ruled out.")
        elif reach > 1.3 or reach < 1 / 1.3:
            side = "above" if reach > 1 else "below"
            notes.append(f"**{name}** ({row['meaning']}): the profile interval reaches {reach:.2f} times as far "
                         f"{side} the estimate as on the other side; the symmetric Wald interval "
                         f"[{row['quadratic lower']:.4g}, {row['quadratic upper']:.4g}] misses that.")
    return notes


def variance_story(ex: Explained, groups: list[str]) -> list[str]:
    """The ICC and R2 in the tutorial's terms."""
    v = ex.parts
    lines = [(f"Of the total variance in IgG the model describes, the **fixed effects** account for "
              f"{v.fixed / v.total:.1%} (Nakagawa's *marginal* R² = {ex.r2_marginal:.3f}).")]
    if ex.r2_conditional is None:
        lines.append("A variance component is estimated at zero (a singular fit), so performance reports "
                     "no ICC and no conditional R²: the model should be simplified first.")
        return lines
    lines.append(f"Adding the **random effects** ({', '.join(groups)}) brings it to {ex.r2_conditional:.1%} "
                 f"(*conditional* R² = {ex.r2_conditional:.3f}); the rest, {v.residual / v.total:.1%}, is "
                 "residual: measurement to measurement.")
    lines.append(f"The **ICC** (adjusted) = {ex.icc_adjusted:.3f}: of the variance *not* explained by the fixed "
                 f"effects, {ex.icc_adjusted:.1%} is between groups, i.e. how alike two measurements of the "
                 "same group are. That is why rows are not independent and lm's standard errors are wrong.")
    if ex.icc_by_group:
        per = "; ".join(f"{g}: {x:.3f}" for g, x in ex.icc_by_group.items())
        lines.append(f"By grouping factor (intercept variances only): {per}.")
    return lines


def time_grid(times: np.ndarray | None = None) -> pd.DataFrame:
    """Both sexes at every month, for population lines."""
    times = np.arange(18) if times is None else np.asarray(times)
    return pd.DataFrame({"Sex": np.repeat(["F", "M"], len(times)), "Time": np.tile(times, 2).astype(float)})


def population_band(fit, level: float = 0.95) -> pd.DataFrame:
    """The population line per sex over time with its confidence band."""
    grid = time_grid()
    return pd.concat([grid, population_ci(fit, grid, level)], axis=1)


def unit_bands(fit, data: pd.DataFrame, individuals: list[str], level: float = 0.95) -> pd.DataFrame:
    """Each chosen individual's line over time with its prediction band and the observed IgG."""
    labels = individual_labels(data)
    rows = data[labels.isin(individuals)].reset_index(drop=True)
    band = unit_pi(fit, rows, level)
    return pd.DataFrame({"Individual": individual_labels(rows).to_numpy(), "FamID": rows["FamID"].astype(str),
                         "Sex": rows["Sex"].astype(str), "Time": rows["Time"].to_numpy(float),
                         "IgG": rows["IgG"].to_numpy(float)}).join(band)


def band_widths(population: pd.DataFrame, units: pd.DataFrame) -> dict[str, float]:
    """Half-widths of the bands: the population's at the first and last month, the individuals' mean."""
    first, last = population["Time"].min(), population["Time"].max()
    half = (population["upper"] - population["lower"]) / 2
    out = {"population_first": float(half[population["Time"] == first].mean()),
           "population_last": float(half[population["Time"] == last].mean())}
    out["unit"] = float(((units["upper"] - units["lower"]) / 2).mean()) if len(units) else float("nan")
    return out


PREDICTION_STORY = """
The **dashed lines** are `predict({name}, re.form = NA)`: the average person of each sex. Their 95%
**confidence band** carries the fixed effects' uncertainty only, and it is wide: the mean and the slope
are learned from 8 families, so the band is ±{pop_first:.1f} at month 0 and ±{pop_last:.1f} at month 17
(the slope's uncertainty adds up over time). Each chosen person's **solid line** adds their family's
and their own random effects; its 95% **prediction band** is for a new measurement of *that person*:
the uncertainty of their line, learned from their own 18 measurements, plus the residual variance,
±{unit:.1f} on average. A new person from a new family would get neither: their band would add the
whole family and individual variance to the population band.
"""


def coverage(units: pd.DataFrame) -> float:
    """The share of the chosen individuals' measurements inside their prediction bands."""
    inside = (units["IgG"] >= units["lower"]) & (units["IgG"] <= units["upper"])
    return float(inside.mean()) if len(units) else float("nan")


# -- the page's checks (lib.teach.exercise_bank) ------------------------------------------------------

def exercises(table: pd.DataFrame | None = None, profile: pd.DataFrame | None = None) -> list[Question]:
    """Which coefficient has the fewest df; whether the first variance's profile interval is symmetric."""
    out = []
    if table is not None:
        df = table["df (Satterthwaite)"].astype(float)
        options = tuple(str(n) for n in table.index)
        out.append(Question("fewest_df", "Which coefficient does Satterthwaite's method give the **fewest** "
                            "degrees of freedom?", CHOICE, str(df.idxmin()),
                            "; ".join(f"{n}: {v:.1f}" for n, v in df.items()) + ". Few df: the coefficient is "
                            "learned from few independent pieces (the group means), not from every row.",
                            "Read the df (Satterthwaite) column.", options))
    if profile is not None:
        name = profile.index[0]
        reach = float(profile.loc[name, "upper / lower reach"])
        answer = "Yes" if 1 / 1.3 <= reach <= 1.3 else "No"
        out.append(Question("lopsided", f"Is the 95% profile interval of **{name}** ({profile.loc[name, 'meaning']}) "
                            "about as far from the estimate on both sides, as a Wald interval always is?", CHOICE,
                            answer, f"It reaches {reach:.2f} times as far above the estimate as below it.",
                            "Compare 'profile upper' minus the estimate with the estimate minus 'profile lower'.",
                            ("Yes", "No")))
    return out

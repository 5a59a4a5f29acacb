"""What the "Generalized mixed models" page shows, computed here (the page only draws).

Three models, as in shared/reference/extras.R:

- the 0/1 outcome Low = IgG < 100:  glmer(Low ~ Sex * Time + (1 | FamID), family = binomial)
- months below 100 out of 18:       glmer(cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID), ...)
- simulated counts:                 glmer(Count ~ Dose + (1 | Site), family = poisson)

`fit_glmm` fits a chosen variant (family, link, fixed terms, nAGQ) and returns a
an `Outcome` (lib.teach.fitting) with either the fit or lme4's error in words, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.data.glmm_data import load_binary, load_counts, load_months_low
from lib.engine.family import LINKS
from lib.rprint.rformat import format_pvalue, format_signif, signif_stars
from lib.teach.fitting import Outcome, attempt, refused
from lib.teach.model_builder import fixed_text


@dataclass(frozen=True)
class GlmmModel:
    key: str
    title: str
    response: str  # left-hand side as R writes it
    terms: tuple[str, ...]  # fixed terms the page offers, in formula order
    default_terms: tuple[str, ...]
    random: str
    family: str
    data_name: str  # the data frame's name in the R code
    x: str  # the continuous predictor for the prediction chart (or "Sex")
    group: str  # grouping factor
    r_setup: str  # R lines that make the data frame
    py_setup: str  # Python lines that make it


R_BINARY = """d <- read.csv("ImmuneData.csv")
d$IndID <- factor(d$IndID); d$FamID <- factor(d$FamID); d$Sex <- factor(d$Sex)
d$Low <- as.integer(d$IgG < 100)"""
R_MONTHS = R_BINARY + """
agg <- aggregate(Low ~ FamID + IndID + Sex, data = d, FUN = sum)
names(agg)[4] <- "MonthsLow"; agg$Months <- 18L"""
R_COUNTS = """sim <- read.csv("SimulatedCounts.csv"); sim$Site <- factor(sim$Site)"""

MODELS: dict[str, GlmmModel] = {
    "binary": GlmmModel("binary", "Low IgG (0/1) over time", "Low", ("Sex", "Time", "Sex:Time"),
                        ("Sex", "Time", "Sex:Time"), "(1 | FamID)", "binomial", "d", "Time", "FamID",
                        R_BINARY, "from lib.data.glmm_data import load_binary\nd = load_binary()"),
    "months": GlmmModel("months", "Months with low IgG (of 18)", "cbind(MonthsLow, Months - MonthsLow)",
                        ("Sex",), ("Sex",), "(1 | FamID)", "binomial", "agg", "Sex", "FamID", R_MONTHS,
                        "from lib.data.glmm_data import load_months_low\nagg = load_months_low()"),
    "counts": GlmmModel("counts", "Simulated counts by dose", "Count", ("Dose",), ("Dose",),
                        "(1 | Site)", "poisson", "sim", "Dose", "Site", R_COUNTS,
                        "from lib.data.glmm_data import load_counts\nsim = load_counts()"),
}
FAMILIES = tuple(LINKS)


def load_model_data(key: str) -> pd.DataFrame:
    return {"binary": load_binary, "months": load_months_low, "counts": load_counts}[key]()


def formula_for(model: GlmmModel, terms) -> str:
    return f"{model.response} ~ {fixed_text(terms)} + {model.random}"


def family_call(family: str, link: str | None) -> str:
    """R's family argument: binomial, or binomial(link = "probit") for a non-default link."""
    if link is None or link == LINKS[family][0]:
        return family
    return f'{family}(link = "{link}")'


def r_code(model: GlmmModel, formula: str, family: str, link: str | None, nAGQ: int) -> str:
    agq = f", nAGQ = {nAGQ}" if nAGQ != 1 else ""
    return (f"library(lme4)\n{model.r_setup}\n"
            f"fit <- glmer({formula}, data = {model.data_name}, family = {family_call(family, link)}{agq})\n"
            "summary(fit)\nexp(fixef(fit))  # odds ratios (logit) or rate ratios (log)")


def py_code(model: GlmmModel, formula: str, family: str, link: str | None, nAGQ: int) -> str:
    extra = (f", link={link!r}" if link and link != LINKS[family][0] else "") + \
        (f", nAGQ={nAGQ}" if nAGQ != 1 else "")
    return (f"{model.py_setup}\nfrom lib import glmer\n"
            f"fit = glmer({formula!r}, data={model.data_name}, family={family!r}{extra})\n"
            f"print(fit.summary({model.data_name!r}))\nprint(fit.ratio_table())")


def fit_glmm(key: str, family: str, link: str, terms: tuple[str, ...], nAGQ: int = 1) -> Outcome:
    """glmer for the chosen model; lme4's (or our) error in words when it cannot be fitted."""
    from lib.api import glmer

    model = MODELS[key]
    formula = formula_for(model, terms)
    if link not in LINKS.get(family, ()):
        error = (f"the {family} family has no {link!r} link here: choose "
                 f"{' or '.join(LINKS.get(family, ()))}")
        return refused(formula, key, error)
    return attempt(lambda: glmer(formula, load_model_data(key), family=family, link=link, nAGQ=nAGQ),
                   formula, key, refuse=lambda e: _explain_error(model, family, str(e)))


def _explain_error(model: GlmmModel, family: str, message: str) -> str:
    if "0 <= y <= 1" in message:
        return (f"{message}: the binomial family needs a 0/1 response, proportions, or "
                f"cbind(successes, failures); {model.response} is a count — use the Poisson family")
    if "cbind" in message and family == "poisson":
        return (f"{message}. A Poisson model needs one count per row; months out of 18 are "
                "binomial (successes out of trials)")
    return message


# -- tables -----------------------------------------------------------------------------

def estimates_table(fit) -> pd.DataFrame:
    """Estimate, Std. Error, z, p (formatted as R does) and stars."""
    ct = fit.coef_table
    return pd.DataFrame({"Estimate": ct["Estimate"], "Std. Error": ct["Std. Error"],
                         "z value": ct["z value"],
                         "Pr(>|z|)": [format_pvalue(p, 3) for p in ct["Pr(>|z|)"]],
                         "": [signif_stars(p) for p in ct["Pr(>|z|)"]]})


def ratio_table(fit, level: float = 0.95) -> pd.DataFrame:
    """exp(estimate) with Wald limits: odds ratios (logit), rate ratios (log)."""
    t = fit.ratio_table(level)
    name = fit.ratio_name
    cols = [c for c in t.columns if c.startswith("ratio ")]
    return pd.DataFrame({name: t[name], f"lower {cols[0][6:]}": t[cols[0]],
                         f"upper {cols[1][6:]}": t[cols[1]]})


def scale_words(fit) -> tuple[str, str]:
    """(what the estimates are, what exp() of them is) for this family and link."""
    link = fit.family.link
    if link == "logit":
        return "log-odds", "odds ratios"
    if link == "log":
        return "log rates", "rate ratios"
    return "probit units (standard normal quantiles)", "no simple ratio (exp() has no meaning for probit)"


def variance_table(fit) -> pd.DataFrame:
    vc = fit.varcorr
    return pd.DataFrame({"Groups": vc["grp"], "Name": vc["var1"], "Variance": vc["vcov"],
                         "Std.Dev.": vc["sdcor"]})


def headline(fit) -> dict[str, str]:
    """AIC, BIC, logLik, deviance (-2 logLik, as summary() prints it) and lme4's deviance()."""
    return {"AIC": format_signif(fit.aic, 6), "BIC": format_signif(fit.bic, 6),
            "logLik": format_signif(fit.loglik, 6), "-2 logLik": format_signif(fit.minus_two_loglik, 6),
            "deviance()": format_signif(fit.deviance, 6)}


# -- predictions ---------------------------------------------------------------------------

def prediction_frame(fit, key: str) -> pd.DataFrame:
    """Predicted means on the response scale over the model's x, per group and for the population.

    Columns: x (the model's continuous predictor, or Sex), Sex (where the data have it),
    group, what ("group" or "population"), value. Probabilities for binomial models,
    expected counts for Poisson.
    """
    model = MODELS[key]
    data = load_model_data(key)
    groups = list(data[model.group].cat.categories)
    if model.x == "Time":
        grid = pd.DataFrame([(t, s) for t in range(0, 18) for s in ("F", "M")], columns=["Time", "Sex"])
    elif model.x == "Dose":
        grid = pd.DataFrame({"Dose": np.linspace(0.0, 2.0, 25)})
    else:
        grid = pd.DataFrame({"Sex": ["F", "M"]})
    rows = []
    for g in groups:
        nd = grid.assign(**{model.group: g})
        rows.append(nd.assign(group=g, what="group", value=fit.predict(nd, type="response")))
    pop = grid.assign(**{model.group: groups[0]})
    rows.append(pop.assign(group="population", what="population",
                           value=fit.predict(pop, re_form="NA", type="response")))
    out = pd.concat(rows, ignore_index=True)
    out["x"] = out[model.x]
    return out


def for_sex(frame: pd.DataFrame, sex: str | None) -> pd.DataFrame:
    """Only one sex's rows (None or "both": all), where the frame has a Sex column."""
    if sex in (None, "both") or "Sex" not in frame.columns:
        return frame
    return frame[frame["Sex"].astype(str) == sex]


def observed_frame(key: str) -> pd.DataFrame:
    """Observed proportions (or mean counts) per group and x, to set beside the predictions."""
    model = MODELS[key]
    data = load_model_data(key)
    if key == "binary":
        g = data.groupby([model.group, "Sex", "Time"], observed=True)["Low"].mean().reset_index()
        return g.rename(columns={"Low": "value", model.group: "group"}).assign(x=g["Time"])
    if key == "months":
        g = data.groupby([model.group, "Sex"], observed=True)[["MonthsLow", "Months"]].sum().reset_index()
        g["value"] = g["MonthsLow"] / g["Months"]
        return g.rename(columns={model.group: "group"}).assign(x=g["Sex"])
    g = data.groupby([model.group, "Dose"], observed=True)["Count"].mean().reset_index()
    return g.rename(columns={"Count": "value", model.group: "group"}).assign(x=g["Dose"])


# -- why not a normal model ------------------------------------------------------------------

@dataclass
class NormalMisfit:
    frame: pd.DataFrame  # fitted, residual, Low (0/1)
    below0: int
    above1: int
    n: int
    formula: str


def normal_misfit(formula: str = "Low ~ Sex * Time + (1 | FamID)") -> NormalMisfit:
    """lmer on the 0/1 outcome: fitted values leave [0, 1] and residuals fall in two bands."""
    from lib.api import lmer

    d = load_binary()
    fit = lmer(formula, d, REML=True)
    fitted = fit.fitted
    frame = pd.DataFrame({"fitted": fitted, "residual": d["Low"].to_numpy() - fitted,
                          "Low": d["Low"].astype(str).to_numpy(), "Time": d["Time"].to_numpy()})
    return NormalMisfit(frame, int(np.sum(fitted < 0)), int(np.sum(fitted > 1)), len(frame), formula)



# -- nAGQ ------------------------------------------------------------------------------------

def saturated_loglik(fit) -> float:
    """The saturated model's log-likelihood (every mean at its observation): the family's aic() at mu = y."""
    p = fit.problem
    return -fit.family.aic(p.y, p.n, p.y, p.weights) / 2


def agq_note(fit) -> str | None:
    """Why logLik jumps between nAGQ = 1 and nAGQ > 1 for these data (None where it does not)."""
    sat = saturated_loglik(fit)
    if abs(sat) < 1e-9:
        return None
    scale = "relative to the saturated model" if fit.nAGQ > 1 else "in full"
    return (f"**Why logLik depends on nAGQ here.** With nAGQ > 1, lme4 (and this app, as lme4 does) reports "
            f"the log-likelihood relative to the saturated model: it sums deviance residuals, which leave out "
            f"the saturated model's own log-likelihood, {sat:.3f} for these data (the "
            f"{'binomial coefficients and ' if fit.family.family == 'binomial' else 'log(y!) terms and '}"
            f"each observation's best possible fit). With nAGQ = 0 or 1 it is included. So logLik, AIC and BIC "
            f"move by {abs(sat):.1f} between nAGQ = 1 and nAGQ > 1 while the estimates barely move: compare "
            f"likelihoods only between fits with the same kind of nAGQ. This fit's logLik is {scale}. "
            f"(For a 0/1 response the saturated log-likelihood is 0, and nothing jumps.)")

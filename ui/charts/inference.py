"""Altair charts for the inference and bootstrap pages: zeta plots, bootstrap distributions, the
bootstrap LRT's reference distribution, and prediction bands over time."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from lib.engine.boot_lrt import BootLRT
from lib.engine.bootstrap import Bootstrap
from lib.engine.profile import ParameterProfile, Profile
from ui.charts import theme
from ui.charts.immune import IGG_AXIS, TIME_AXIS

PROFILE_COLOUR, WALD_COLOUR = theme.MODEL_COLOURS[0], theme.MODEL_COLOURS[1]


def _zeta_panel(p: ParameterProfile, level: float) -> alt.LayerChart:
    z = norm.ppf(0.5 + level / 2)
    pts = p.points.assign(curve="profile")
    lo, hi = p.limits[level]
    title = p.name if p.label == p.name else f"{p.name}  ({p.label})"
    x = alt.X("value:Q", title=title, scale=alt.Scale(zero=False))
    y = alt.Y("zeta:Q", title="ζ", scale=alt.Scale(domain=[-3.2, 3.2], clamp=True))
    tip = [alt.Tooltip("value:Q", format=".5g"), alt.Tooltip("zeta:Q", format=".3f"), "curve:N"]
    layers = [alt.Chart(pts).mark_line(color=PROFILE_COLOUR, strokeWidth=2.5, clip=True).encode(x=x, y=y),
              alt.Chart(pts).mark_circle(color=PROFILE_COLOUR, size=28, clip=True).encode(x=x, y=y, tooltip=tip)]
    if p.se:
        ends = pts["value"].iloc[[0, -1]].to_numpy()
        line = pd.DataFrame({"value": ends, "zeta": (ends - p.estimate) / p.se, "curve": "Wald (straight)"})
        layers.append(alt.Chart(line).mark_line(color=WALD_COLOUR, strokeDash=[6, 4], clip=True)
                      .encode(x="value:Q", y="zeta:Q", tooltip=tip))
    rules = pd.DataFrame({"zeta": [-z, z]})
    layers.append(alt.Chart(rules).mark_rule(color=theme.REFERENCE, strokeDash=[2, 2]).encode(y="zeta:Q"))
    limits = pd.DataFrame({"value": [v for v in (lo, hi) if np.isfinite(v)]})
    layers.append(alt.Chart(limits).mark_rule(color=PROFILE_COLOUR).encode(
        x="value:Q", tooltip=[alt.Tooltip("value:Q", format=".5g", title="profile limit")]))
    return alt.layer(*layers).properties(width=260, height=200, title=p.name)


def zeta_plots(prof: Profile, level: float = 0.95, columns: int = 3) -> alt.ConcatChart:
    """lme4's xyplot(profile(fit)): zeta against each parameter, with the straight Wald line and the
    +-qnorm lines whose crossings are the profile limits."""
    panels = [_zeta_panel(p, level) for p in prof.params.values()]
    return theme.finish(alt.concat(*panels, columns=columns).resolve_scale(x="independent"), None,
                        fit_width=False)


def bootstrap_histograms(boot: Bootstrap, level: float = 0.95, columns: int = 3) -> alt.ConcatChart:
    """Each statistic's bootstrap distribution, the estimate and the percentile interval."""
    ci = boot.confint(level)
    panels = []
    for k, name in enumerate(boot.names):
        t = pd.DataFrame({"value": boot.reps.rows[:, k]}).dropna()
        hist = alt.Chart(t).mark_bar(color="#90a4ae").encode(
            x=alt.X("value:Q", bin=alt.Bin(maxbins=30), title=name),
            y=alt.Y("count():Q", title="replicates"))
        marks = pd.DataFrame({"value": [boot.t0[k], *ci.loc[name]],
                              "what": ["estimate", "percentile limit", "percentile limit"]})
        rules = alt.Chart(marks).mark_rule(strokeWidth=2).encode(
            x="value:Q", color=alt.Color("what:N", scale=alt.Scale(domain=["estimate", "percentile limit"],
                                                                  range=[theme.REFERENCE, PROFILE_COLOUR]), title=None),
            tooltip=["what:N", alt.Tooltip("value:Q", format=".5g")])
        panels.append(alt.layer(hist, rules).properties(width=240, height=160))
    return theme.finish(alt.concat(*panels, columns=columns), None, fit_width=False)


def lrt_reference(res: BootLRT) -> alt.LayerChart:
    """The bootstrap distribution of the LRT statistic against chi-square(df) and the 50:50 mixture."""
    ref = pd.DataFrame({"LRT": res.reference})
    top = max(float(np.quantile(ref["LRT"], 0.995)) if len(ref) else 1.0, res.statistic * 1.1, 1.0)
    hist = alt.Chart(ref).transform_filter(alt.datum.LRT <= top).mark_bar(color="#b0bec5", opacity=0.8).encode(
        x=alt.X("LRT:Q", bin=alt.Bin(maxbins=40, extent=[0, top]), title="likelihood-ratio statistic"),
        y=alt.Y("count():Q", stack=None, title="replicates"))
    grid = np.linspace(0.05, top, 200)
    width = top / 40
    n = len(ref)
    low = chi2.pdf(grid, res.df - 1) if res.df > 1 else np.zeros_like(grid)
    dens = pd.DataFrame({"LRT": np.tile(grid, 2),
                         "replicates": np.concatenate([chi2.pdf(grid, res.df),
                                                       0.5 * low + 0.5 * chi2.pdf(grid, res.df)]) * n * width,
                         "curve": np.repeat([f"χ²({res.df})", "50:50 mixture"], len(grid))})
    curves = alt.Chart(dens).mark_line(strokeWidth=2).encode(
        x="LRT:Q", y="replicates:Q", color=alt.Color("curve:N", title="reference",
                                                    scale=theme.model_scale(dens["curve"])))
    obs = alt.Chart(pd.DataFrame({"LRT": [res.statistic]})).mark_rule(color=theme.REFERENCE, strokeWidth=2).encode(
        x="LRT:Q", tooltip=[alt.Tooltip("LRT:Q", title="observed", format=".4g")])
    return theme.finish(alt.layer(hist, curves, obs), 300,
                        "Bootstrap reference distribution of the LRT (dark rule: the observed statistic)")


def prediction_bands(background: pd.DataFrame, population: pd.DataFrame, units: pd.DataFrame) -> alt.LayerChart:
    """The tutorial's IgG-over-time plot with the population line per sex and its confidence band,
    and the chosen individuals' own lines with their prediction bands and measurements."""
    x = alt.X("Time:Q", axis=TIME_AXIS)
    y_scale = alt.Scale(zero=False)
    lines = alt.Chart(background[["Individual", "Time", "IgG"]]).mark_line(  # the columns it draws, no more
        color=theme.BACKGROUND, opacity=0.3, strokeWidth=1).encode(
        x=x, y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=y_scale), detail="Individual:N")
    sex = alt.Color("Sex:N", scale=theme.sex_scale(), title="Population (sex)")
    ptip = ["Sex:N", "Time:Q", alt.Tooltip("fit:Q", format=".2f", title="population"),
            alt.Tooltip("lower:Q", format=".2f"), alt.Tooltip("upper:Q", format=".2f")]
    pop_band = alt.Chart(population).mark_area(opacity=0.25).encode(
        x=x, y=alt.Y("lower:Q", scale=y_scale), y2="upper:Q", color=alt.Color("Sex:N", scale=theme.sex_scale(), legend=None),
        tooltip=ptip)
    pop_line = alt.Chart(population).mark_line(strokeWidth=3, strokeDash=[6, 3]).encode(
        x=x, y=alt.Y("fit:Q", scale=y_scale), color=sex, tooltip=ptip)
    people = theme.people_scale(list(dict.fromkeys(units["Individual"])))
    utip = ["Individual:N", "FamID:N", "Time:Q", alt.Tooltip("IgG:Q", format=".2f"),
            alt.Tooltip("fit:Q", format=".2f", title="own line"), alt.Tooltip("lower:Q", format=".2f"),
            alt.Tooltip("upper:Q", format=".2f")]
    unit_band = alt.Chart(units).mark_area(opacity=0.3).encode(
        x=x, y=alt.Y("lower:Q", scale=y_scale), y2="upper:Q",
        color=alt.Color("Individual:N", scale=people, legend=None))
    person = alt.Color("Individual:N", scale=people, title="Individual (IndID-Sex)")
    unit_line = alt.Chart(units).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("fit:Q", scale=y_scale), color=person, tooltip=utip)
    obs = alt.Chart(units).mark_point(filled=True, size=35).encode(
        x=x, y=alt.Y("IgG:Q", scale=y_scale), color=alt.Color("Individual:N", scale=people, legend=None),
        tooltip=utip)
    chart = alt.layer(lines, pop_band, pop_line, unit_band, unit_line, obs).resolve_scale(color="independent")
    return theme.finish(chart, 420, "Population line ± 95% confidence band (dashed), individuals' lines "
                                    "± 95% prediction band")

"""Altair charts for the mixed-model pages (no streamlit here: pages draw what these return).

Every chart has axis titles and tooltips. Charts over all 4,860 rows keep the data
to the few columns they encode, so the embedded spec stays small and the browser
draws them quickly.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from lib.data.immune import individual_labels
from lib.teach.plot_points import qq_rows
from ui.charts import theme
from ui.charts.immune import IGG_AXIS, TIME_AXIS

RESID_AXIS = alt.Axis(title="Residual (observed − fitted IgG)")
FITTED_AXIS = alt.Axis(title="Fitted IgG")


def _zero_rule() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=theme.REFERENCE, strokeDash=[4, 3]).encode(y="y:Q")


def rows_frame(data: pd.DataFrame, **columns) -> pd.DataFrame:
    """Identifiers of each row plus the given columns (arrays of the same length)."""
    out = pd.DataFrame({"Individual": individual_labels(data).to_numpy(),
                        "FamID": data["FamID"].astype(str).to_numpy(),
                        "Sex": data["Sex"].astype(str).to_numpy(),
                        "Time": data["Time"].astype(int).to_numpy()})
    for k, v in columns.items():
        out[k] = np.asarray(v, float)
    return out


# -- over time -------------------------------------------------------------------

def lowess_curve(x: np.ndarray, y: np.ndarray, frac: float = 0.3) -> pd.DataFrame:
    """A lowess smooth (ggplot's geom_smooth stand-in), evaluated at the distinct x."""
    from statsmodels.nonparametric.smoothers_lowess import lowess
    sm = lowess(np.asarray(y, float), np.asarray(x, float), frac=frac, return_sorted=True)
    df = pd.DataFrame(sm, columns=["Time", "IgG"]).groupby("Time", as_index=False).mean()
    return df


def igg_scatter_smooth(data: pd.DataFrame) -> alt.LayerChart:
    """All rows of IgG against Time with a lowess smooth (the tutorial's first qplot)."""
    frame = rows_frame(data, IgG=data["IgG"])
    smooth = lowess_curve(frame["Time"], frame["IgG"])
    pts = alt.Chart(frame).mark_circle(size=14, opacity=0.25).encode(
        x=alt.X("Time:Q", axis=TIME_AXIS), y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False)),
        color=alt.Color("Sex:N", scale=theme.sex_scale()),
        tooltip=["Individual:N", "FamID:N", "Sex:N", "Time:Q", alt.Tooltip("IgG:Q", format=".2f")])
    line = alt.Chart(smooth).mark_line(color=theme.POPULATION, strokeWidth=3).encode(
        x="Time:Q", y="IgG:Q", tooltip=[alt.Tooltip("Time:Q"), alt.Tooltip("IgG:Q", title="smooth", format=".2f")])
    return theme.finish(alt.layer(pts, line), 360, "IgG of all 4,860 measurements over time, with a lowess smooth")


def igg_lines(data: pd.DataFrame) -> alt.LayerChart:
    """One line per individual (IndID-Sex), coloured by sex, with the overall smooth."""
    frame = rows_frame(data, IgG=data["IgG"])
    smooth = lowess_curve(frame["Time"], frame["IgG"])
    sel = alt.selection_point(fields=["Individual"], on="pointerover", nearest=False, empty=False)
    lines = alt.Chart(frame).mark_line(strokeWidth=1).encode(
        x=alt.X("Time:Q", axis=TIME_AXIS), y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False)),
        detail="Individual:N", color=alt.Color("Sex:N", scale=theme.sex_scale()),
        opacity=alt.condition(sel, alt.value(1.0), alt.value(0.25)),
        strokeWidth=alt.condition(sel, alt.value(3), alt.value(1)),
        tooltip=["Individual:N", "FamID:N", "Sex:N"]).add_params(sel)
    line = alt.Chart(smooth).mark_line(color=theme.POPULATION, strokeWidth=3).encode(
        x="Time:Q", y="IgG:Q", tooltip=[alt.Tooltip("IgG:Q", title="smooth", format=".2f")])
    return theme.finish(alt.layer(lines, line), 360,
                        "One line per individual (270 people; point at a line to pick it out)")


# -- residual diagnostics ---------------------------------------------------------

def residuals_vs_fitted(data: pd.DataFrame, fitted: np.ndarray, resid: np.ndarray,
                        title: str) -> alt.LayerChart:
    frame = rows_frame(data, fitted=fitted, residual=resid)
    pts = alt.Chart(frame).mark_circle(size=14, opacity=0.35).encode(
        x=alt.X("fitted:Q", axis=FITTED_AXIS, scale=alt.Scale(zero=False)),
        y=alt.Y("residual:Q", axis=RESID_AXIS),
        color=alt.Color("Sex:N", scale=theme.sex_scale()),
        tooltip=["Individual:N", "FamID:N", "Sex:N", "Time:Q", alt.Tooltip("fitted:Q", format=".2f"),
                 alt.Tooltip("residual:Q", format=".3f")])
    return theme.finish(alt.layer(pts, _zero_rule()), 320, title)


def qq_frame(resid: np.ndarray) -> pd.DataFrame:
    """Theoretical normal quantiles (R's ppoints) against the sorted residuals."""
    r = np.sort(np.asarray(resid, float))
    n = len(r)
    a = 3 / 8 if n <= 10 else 0.5
    p = (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)
    return pd.DataFrame({"theoretical": stats.norm.ppf(p), "sample": r})


def qq_plot(resid: np.ndarray, title: str) -> alt.LayerChart:
    """Normal QQ plot with R's qqline (through the quartiles), from every residual; of thousands it
    draws the tails whole and evenly spaced ranks in between (lib.teach.plot_points)."""
    frame = qq_frame(resid)
    q = np.quantile(frame["sample"], [0.25, 0.75])
    z = stats.norm.ppf([0.25, 0.75])
    slope = (q[1] - q[0]) / (z[1] - z[0])
    icept = q[0] - slope * z[0]
    ends = pd.DataFrame({"theoretical": [frame["theoretical"].min(), frame["theoretical"].max()]})
    ends["sample"] = icept + slope * ends["theoretical"]
    pts = alt.Chart(frame.iloc[qq_rows(len(frame))]).mark_circle(size=12, opacity=0.5).encode(
        x=alt.X("theoretical:Q", title="Theoretical normal quantile"),
        y=alt.Y("sample:Q", title="Sample quantile (residual)"),
        tooltip=[alt.Tooltip("theoretical:Q", format=".3f"), alt.Tooltip("sample:Q", format=".3f")])
    line = alt.Chart(ends).mark_line(color=theme.POPULATION).encode(x="theoretical:Q", y="sample:Q")
    return theme.finish(alt.layer(pts, line), 320, title)


def residual_spread(spread: pd.DataFrame) -> alt.Chart:
    """SD of residuals at each Time, one line per model (columns Time, model, sd)."""
    models = list(dict.fromkeys(spread["model"]))
    sel = alt.selection_point(fields=["model"], bind="legend")
    chart = alt.Chart(spread).mark_line(point=True).encode(
        x=alt.X("Time:Q", axis=TIME_AXIS),
        y=alt.Y("sd:Q", title="SD of residuals at that month", scale=alt.Scale(zero=True)),
        color=alt.Color("model:N", title="Model (click to highlight)", sort=models, scale=theme.model_scale(models)),
        opacity=alt.condition(sel, alt.value(1), alt.value(0.2)),
        tooltip=["model:N", "Time:Q", alt.Tooltip("sd:Q", format=".3f", title="residual SD")],
    ).add_params(sel)
    return theme.finish(chart, 300, "Residual spread over time, by model")


def individual_fits(frame: pd.DataFrame) -> alt.VConcatChart:
    """Observed IgG, population line and own fitted line per individual, and their residuals below.

    frame: Individual, FamID, Sex, Time, IgG, population, fitted, residual. One chart, two panels
    sharing the time axis and one legend.
    """
    people = sorted(frame["Individual"].unique(), key=lambda s: (int(s.split("-")[0]), s))
    colour = alt.Color("Individual:N", title="Individual (IndID-Sex)", scale=theme.people_scale(people))
    tip = ["Individual:N", "FamID:N", "Time:Q", alt.Tooltip("IgG:Q", format=".2f"),
           alt.Tooltip("fitted:Q", format=".2f", title="own line"),
           alt.Tooltip("population:Q", format=".2f", title="population line"),
           alt.Tooltip("residual:Q", format=".3f")]
    base = alt.Chart(frame).encode(x=alt.X("Time:Q", axis=TIME_AXIS))
    obs = base.mark_point(filled=True, size=40).encode(
        y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False)), color=colour, tooltip=tip)
    own = base.mark_line(strokeWidth=2).encode(y="fitted:Q", color=colour, detail="Individual:N", tooltip=tip)
    pop = base.mark_line(strokeDash=[6, 4], strokeWidth=1.5, color=theme.POPULATION).encode(
        y="population:Q", detail="Sex:N",
        tooltip=["Sex:N", "Time:Q", alt.Tooltip("population:Q", format=".2f", title="population line")])
    top = alt.layer(obs, own, pop).properties(
        height=300, title="Observed (points), own fitted line (solid), population line re.form=NA (dashed)")
    bottom = alt.layer(
        base.mark_point(filled=True, size=30).encode(
            y=alt.Y("residual:Q", axis=alt.Axis(title="Residual")), color=colour, tooltip=tip),
        base.mark_line(strokeWidth=1, opacity=0.6).encode(y="residual:Q", color=colour, detail="Individual:N"),
        _zero_rule()).properties(height=200, title="Residuals of the own fitted line (observed − own line)")
    return theme.stacked([top, bottom])


# -- criteria ------------------------------------------------------------------------

def criterion_curves(curves: pd.DataFrame, optima: pd.DataFrame, y_max: float | None = None) -> alt.LayerChart:
    """Profiled REML and ML criteria over the family SD, each optimum marked.

    curves: method, sd, criterion, relative, theta, sigma; optima: method, sd, criterion, relative, label.
    y_max clips the vertical axis (criterion above its minimum) to zoom on the optima.
    """
    colour = alt.Color("method:N", title="Criterion", scale=theme.model_scale(["REML", "ML"]))
    tip = ["method:N", alt.Tooltip("sd:Q", format=".4f", title="SD of the group effect"),
           alt.Tooltip("criterion:Q", format=".4f", title="criterion (−2 log L)"),
           alt.Tooltip("relative:Q", format=".4f", title="above its minimum"),
           alt.Tooltip("theta:Q", format=".4f"), alt.Tooltip("sigma:Q", format=".4f", title="residual SD")]
    data = curves if y_max is None else curves[curves["relative"] <= y_max]
    yscale = alt.Scale(domain=[0, y_max]) if y_max is not None else alt.Scale()
    lines = alt.Chart(data).mark_line(strokeWidth=2.5, clip=True).encode(
        x=alt.X("sd:Q", title="Standard deviation among groups (σ_group = θ·σ)"),
        y=alt.Y("relative:Q", title="Criterion minus its minimum", scale=yscale), color=colour, tooltip=tip)
    marks = alt.Chart(optima).mark_point(size=160, filled=True, shape="diamond").encode(
        x="sd:Q", y="relative:Q", color=colour, tooltip=tip)
    rules = alt.Chart(optima).mark_rule(strokeDash=[4, 3]).encode(x="sd:Q", color=colour)
    ml = optima[optima["method"] == "ML"]
    reml = optima[optima["method"] == "REML"]
    labels = [alt.Chart(reml).mark_text(dx=8, dy=-12, align="left", fontWeight="bold").encode(
                  x="sd:Q", y="relative:Q", color=colour, text="label:N"),
              alt.Chart(ml).mark_text(dx=-8, dy=-12, align="right", fontWeight="bold").encode(
                  x="sd:Q", y="relative:Q", color=colour, text="label:N")]
    return theme.finish(alt.layer(lines, rules, marks, *labels), 360,
                        "Profiled criteria over the group SD (lower is better)")


def optimizer_paths(paths: pd.DataFrame, stops: pd.DataFrame, title: str, colour_title: str) -> alt.LayerChart:
    """How far above the optimum each evaluation of an optimizer's path lies (log scale).

    paths: evaluation, path (which path or stage), criterion, above (criterion minus the optimum,
    floored at a tiny positive number for the log scale); stops: path, evaluation, label (where an
    optimizer stopped, drawn as a rule and labelled).
    """
    names = list(dict.fromkeys(paths["path"]))
    colour = alt.Color("path:N", title=colour_title, sort=names, scale=theme.model_scale(names))
    tip = ["path:N", "evaluation:Q", alt.Tooltip("criterion:Q", format=".7f"),
           alt.Tooltip("above:Q", format=".3g", title="above the optimum")]
    x = alt.X("evaluation:Q", title="Evaluation of the criterion")
    line = alt.Chart(paths).mark_line(strokeWidth=1.5, point=alt.OverlayMarkDef(size=12)).encode(
        x=x, y=alt.Y("above:Q", title="Criterion above the optimum (log scale)", scale=alt.Scale(type="log"),
                     axis=alt.Axis(format="~e")),
        color=colour, tooltip=tip)
    rules = alt.Chart(stops).mark_rule(strokeDash=[4, 3]).encode(x="evaluation:Q", color=colour,
                                                                   tooltip=["path:N", "label:N"])
    text = alt.Chart(stops).mark_text(align="left", dx=4, dy=8, baseline="top").encode(
        x="evaluation:Q", y=alt.value(0), text="label:N", color=colour)
    return theme.finish(alt.layer(line, rules, text), 300, title)


def family_effects(table: pd.DataFrame) -> alt.LayerChart:
    """Per-family intercepts: lm's fixed estimates against lmer's shrunken predictions.

    table: FamID, model, intercept, n (two models; the first is drawn as circles, the second as diamonds).
    """
    grand = table.attrs.get("grand_mean")
    models = list(dict.fromkeys(table["model"]))
    colour = alt.Color("model:N", title="Estimate from", scale=theme.model_scale(models))
    shape = alt.Shape("model:N", scale=alt.Scale(domain=models, range=["circle", "diamond"]), legend=None)
    x = alt.X("FamID:N", title="Family (FamID)", sort=list(theme.FAMILIES), axis=alt.Axis(labelAngle=0))
    y = alt.Y("intercept:Q", title="Family's female mean IgG at Time 0", scale=alt.Scale(zero=False))
    tip = ["FamID:N", "model:N", alt.Tooltip("intercept:Q", format=".3f"), alt.Tooltip("n:Q", title="people")]
    pts = alt.Chart(table).mark_point(filled=True, size=120, opacity=0.9).encode(
        x=x, y=y, color=colour, shape=shape, xOffset=alt.XOffset("model:N", sort=models), tooltip=tip)
    layers = [pts]
    if grand is not None:
        layers.append(alt.Chart(pd.DataFrame({"y": [grand]})).mark_rule(strokeDash=[4, 3], color=theme.REFERENCE)
                      .encode(y="y:Q", tooltip=[alt.Tooltip("y:Q", title="lmer intercept", format=".4f")]))
    return theme.finish(alt.layer(*layers), 320,
                        "Family means: 7 fixed contrasts (lm) vs. predictions from one variance (lmer); "
                        "dashed: lmer's intercept")


def toy_data(data: pd.DataFrame, coding: str) -> alt.Chart:
    """The small ID example: each measurement by the individual code the model sees."""
    frame = pd.DataFrame({"Family": data["Family"].astype(str), "code": data[coding].astype(str),
                          "UniqueID": data["UniqueID"].astype(str), "Individual": data["Individual"].astype(str),
                          "Rep": data["Rep"], "y": data["y"].astype(float)})
    chart = alt.Chart(frame).mark_point(filled=True, size=70).encode(
        x=alt.X("code:N", title=f"Group the model sees ({coding})",
                sort=sorted(frame["code"].unique(), key=int), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("y:Q", title="Response y", scale=alt.Scale(zero=False)),
        color=alt.Color("Family:N", title="Family", scale=theme.family_scale(sorted(frame["Family"].unique()))),
        shape=alt.Shape("Family:N"),
        xOffset="Family:N",
        tooltip=["Family:N", "Individual:N", "UniqueID:N", "Rep:Q", alt.Tooltip("y:Q", format=".3f")],
    )
    return theme.finish(chart, 260, f"Measurements grouped by {coding}")

"""Altair charts of ImmuneData and the GLMM page's data (no streamlit here: pages draw what these return)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from lib.data.immune import individual_labels
from ui.charts import theme

TIME_AXIS = alt.Axis(title="Month since vaccination (Time)", values=list(range(0, 18, 2)))
IGG_AXIS = alt.Axis(title="IgG concentration")


def plot_frame(long: pd.DataFrame) -> pd.DataFrame:
    """The columns the IgG charts encode, as plain strings and numbers."""
    return pd.DataFrame({"Individual": individual_labels(long).to_numpy(),
                         "FamID": long["FamID"].astype(str).to_numpy(),
                         "IndID": long["IndID"].astype(str).to_numpy(),
                         "Sex": long["Sex"].astype(str).to_numpy(), "Time": long["Time"].astype(int).to_numpy(),
                         "IgG": long["IgG"].astype(float).to_numpy()})


def igg_over_time(long: pd.DataFrame, chosen: list[str]) -> alt.LayerChart:
    """Every person's IgG curve in grey, the chosen people in colour with tooltips."""
    frame = plot_frame(long)[["Individual", "FamID", "Sex", "Time", "IgG"]]
    x = alt.X("Time:Q", axis=TIME_AXIS)
    y = alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False))
    everyone = alt.Chart(frame[["Individual", "Time", "IgG"]]).mark_line(
        color=theme.BACKGROUND, opacity=0.35, strokeWidth=1).encode(x=x, y=y, detail="Individual:N")
    picked = alt.Chart(frame[frame["Individual"].isin(chosen)]).encode(
        x=x, y=y, color=alt.Color("Individual:N", title="Individual (IndID-Sex)", scale=theme.people_scale(chosen)),
        tooltip=["Individual:N", "FamID:N", "Sex:N", "Time:Q", alt.Tooltip("IgG:Q", format=".2f")])
    layers = [everyone]
    if chosen:
        layers += [picked.mark_line(strokeWidth=2.5), picked.mark_point(filled=True, size=45)]
    return theme.finish(alt.layer(*layers), 380, "IgG of each person over 18 months (grey: everyone)")


def igg_by_family(long: pd.DataFrame, time: int = 0) -> alt.Chart:
    """IgG at one month per family and sex: people of one family are alike."""
    frame = plot_frame(long[long["Time"] == time])
    chart = alt.Chart(frame).mark_tick(thickness=2, size=18).encode(
        x=alt.X("FamID:N", title="Family (FamID)", sort=list(theme.FAMILIES), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False)),
        color=alt.Color("Sex:N", scale=theme.sex_scale()), xOffset="Sex:N",
        tooltip=["Individual:N", "FamID:N", "Sex:N", alt.Tooltip("IgG:Q", format=".2f")])
    return theme.finish(chart, 300, f"IgG at month {time}, by family and sex")


def one_code_two_people(rows: pd.DataFrame, code: str) -> alt.Chart:
    """The measurements of one IndID code, coloured by sex: two people under one code."""
    frame = plot_frame(rows)
    chart = alt.Chart(frame).mark_point(filled=True, size=60).encode(
        x=alt.X("Time:Q", axis=TIME_AXIS), y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False)),
        color=alt.Color("Sex:N", scale=theme.sex_scale()),
        tooltip=["FamID:N", "IndID:N", "Sex:N", "Time:Q", alt.Tooltip("IgG:Q", format=".3f")])
    return theme.finish(chart, 300, f"IndID {code}: two people (colour = Sex)")


# -- generalized mixed models (the glmm page) ------------------------------------------

def glmm_predictions(pred: pd.DataFrame, observed: pd.DataFrame, x_title: str, y_title: str,
                     group_title: str, title: str) -> alt.LayerChart:
    """Predicted means per group (thin lines, or points for a factor x) and for the
    population (black), over the observed means as faint dots.

    `pred` has x, group, what ("group" or "population"), value and optionally Sex;
    `observed` has x, group, value and optionally Sex. A numeric x gives lines, Sex as x
    gives points; with Sex beside a numeric x, line dashes tell the sexes apart.
    """
    numeric = pd.api.types.is_numeric_dtype(pred["x"])
    xtype = "Q" if numeric else "N"
    x = alt.X(f"x:{xtype}", title=x_title, axis=alt.Axis(labelAngle=0),
              scale=alt.Scale(nice=False) if numeric else alt.Undefined)
    y = alt.Y("value:Q", title=y_title)
    keep = [c for c in ("x", "group", "what", "value", "Sex") if c in pred.columns]
    pred = pred[keep].assign(group=pred["group"].astype(str))
    observed = observed[[c for c in ("x", "group", "value", "Sex") if c in observed.columns]].assign(
        group=observed["group"].astype(str))
    groups = pred[pred["what"] == "group"]
    pop = pred[pred["what"] == "population"]
    levels = sorted(groups["group"].unique(), key=lambda s: (len(s), s))
    colour = alt.Color("group:N", title=group_title, sort=levels, scale=theme.family_scale(levels))
    has_sex = "Sex" in pred.columns and numeric
    tip = [alt.Tooltip("group:N", title=group_title), alt.Tooltip(f"x:{xtype}", title=x_title),
           alt.Tooltip("value:Q", title=y_title, format=".3f")] + (["Sex:N"] if has_sex else [])
    dots = alt.Chart(observed).mark_circle(size=22, opacity=0.35).encode(x=x, y=y, color=colour)
    if numeric:
        detail = {"strokeDash": alt.StrokeDash("Sex:N")} if has_sex else {}
        lines = alt.Chart(groups).mark_line(strokeWidth=1.6).encode(x=x, y=y, color=colour, tooltip=tip, **detail)
        popl = alt.Chart(pop).mark_line(color=theme.POPULATION, strokeWidth=3).encode(
            x=x, y=y, tooltip=tip, **detail)
    else:
        lines = alt.Chart(groups).mark_point(filled=True, size=70).encode(
            x=x, y=y, color=colour, xOffset="group:N", tooltip=tip)
        popl = alt.Chart(pop).mark_tick(color=theme.POPULATION, thickness=3, size=40).encode(x=x, y=y, tooltip=tip)
    return theme.finish(alt.layer(dots, lines, popl), 380, title)


def normal_model_residuals(frame: pd.DataFrame, title: str) -> alt.LayerChart:
    """Residuals against fitted values of a linear (normal) model on a 0/1 outcome:
    two bands, y = 0 - fitted and y = 1 - fitted, and fitted values outside [0, 1]."""
    shown = frame[["fitted", "residual", "Low"]].sample(min(len(frame), 2500), random_state=1)
    base = alt.Chart(shown).mark_circle(size=14, opacity=0.35).encode(
        x=alt.X("fitted:Q", title="Fitted value (a probability?)"),
        y=alt.Y("residual:Q", title="Residual (observed 0/1 − fitted)"),
        color=alt.Color("Low:N", title="Low (IgG < 100)", scale=theme.model_scale(["0", "1"])))
    edges = alt.Chart(pd.DataFrame({"fitted": [0.0, 1.0]})).mark_rule(
        color=theme.REFERENCE, strokeDash=[4, 3]).encode(x="fitted:Q")
    return theme.finish(alt.layer(base, edges), 320, title)

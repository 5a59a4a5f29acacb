"""Altair charts of ImmuneData (no streamlit here: pages draw what these return)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from lib.data.immune import individual_labels

TIME_AXIS = alt.Axis(title="Month since vaccination (Time)", values=list(range(0, 18, 2)))
IGG_AXIS = alt.Axis(title="IgG concentration")
SEX_COLOURS = alt.Scale(domain=["F", "M"], range=["#d95f02", "#1b9e77"])


def _plot_frame(long: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Individual": individual_labels(long), "FamID": long["FamID"].astype(str),
                         "Sex": long["Sex"].astype(str), "Time": long["Time"].astype(int),
                         "IgG": long["IgG"].astype(float)})


def igg_over_time(long: pd.DataFrame, chosen: list[str]) -> alt.LayerChart:
    """Every person's IgG curve in grey, the chosen people in colour with tooltips."""
    frame = _plot_frame(long)
    x = alt.X("Time:Q", axis=TIME_AXIS)
    y = alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False))
    everyone = alt.Chart(frame).mark_line(color="lightgray", opacity=0.35, strokeWidth=1).encode(
        x=x, y=y, detail="Individual:N")
    picked = alt.Chart(frame[frame["Individual"].isin(chosen)]).encode(
        x=x, y=y, color=alt.Color("Individual:N", title="Individual (IndID-Sex)"),
        tooltip=["Individual:N", "FamID:N", "Sex:N", "Time:Q", alt.Tooltip("IgG:Q", format=".2f")])
    lines = picked.mark_line(strokeWidth=2.5)
    points = picked.mark_point(filled=True, size=45)
    return alt.layer(everyone, lines, points).properties(
        title="IgG of each person over 18 months (grey: everyone)", height=380)


def igg_by_family(long: pd.DataFrame, time: int = 0) -> alt.Chart:
    """IgG at one month per family and sex: people of one family are alike."""
    frame = _plot_frame(long[long["Time"] == time])
    return alt.Chart(frame).mark_tick(thickness=2, size=18).encode(
        x=alt.X("FamID:N", title="Family (FamID)", sort=[str(k) for k in range(1, 9)],
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("IgG:Q", axis=IGG_AXIS, scale=alt.Scale(zero=False)),
        color=alt.Color("Sex:N", scale=SEX_COLOURS), xOffset="Sex:N",
        tooltip=["Individual:N", "FamID:N", "Sex:N", alt.Tooltip("IgG:Q", format=".2f")],
    ).properties(title=f"IgG at month {time}, by family and sex", height=300)


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
    groups = pred[pred["what"] == "group"]
    pop = pred[pred["what"] == "population"]
    levels = sorted(groups["group"].unique(), key=lambda s: (len(str(s)), str(s)))
    colour = alt.Color("group:N", title=group_title, sort=levels,
                       scale=alt.Scale(scheme="tableau10" if len(levels) <= 10 else "tableau20"))
    has_sex = "Sex" in pred.columns and numeric
    tip = [alt.Tooltip("group:N", title=group_title), alt.Tooltip("x", title=x_title),
           alt.Tooltip("value:Q", title=y_title, format=".3f")] + (["Sex:N"] if has_sex else [])
    dots = alt.Chart(observed).mark_circle(size=22, opacity=0.35).encode(x=x, y=y, color=colour)
    if numeric:
        detail = {"strokeDash": alt.StrokeDash("Sex:N")} if has_sex else {}
        lines = alt.Chart(groups).mark_line(strokeWidth=1.6).encode(
            x=x, y=y, color=colour, tooltip=tip, **detail)
        popl = alt.Chart(pop).mark_line(color="black", strokeWidth=3).encode(
            x=x, y=y, tooltip=tip, **detail)
    else:
        lines = alt.Chart(groups).mark_point(filled=True, size=70).encode(
            x=x, y=y, color=colour, xOffset="group:N", tooltip=tip)
        popl = alt.Chart(pop).mark_tick(color="black", thickness=3, size=40).encode(x=x, y=y, tooltip=tip)
    return alt.layer(dots, lines, popl).properties(title=title, height=380)


def normal_model_residuals(frame: pd.DataFrame, title: str) -> alt.LayerChart:
    """Residuals against fitted values of a linear (normal) model on a 0/1 outcome:
    two bands, y = 0 - fitted and y = 1 - fitted, and fitted values outside [0, 1]."""
    base = alt.Chart(frame.sample(min(len(frame), 2500), random_state=1)).mark_circle(
        size=14, opacity=0.35).encode(
        x=alt.X("fitted:Q", title="Fitted value (a probability?)"),
        y=alt.Y("residual:Q", title="Residual (observed 0/1 − fitted)"),
        color=alt.Color("Low:N", title="Low (IgG < 100)",
                        scale=alt.Scale(domain=["0", "1"], range=["#4c78a8", "#e45756"])))
    edges = alt.Chart(pd.DataFrame({"fitted": [0.0, 1.0]})).mark_rule(
        color="firebrick", strokeDash=[4, 3]).encode(x="fitted:Q")
    return alt.layer(base, edges).properties(title=title, height=320)

"""Altair charts of ImmuneData (no streamlit here: pages draw what these return)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from .data import individual_labels

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

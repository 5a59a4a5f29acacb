"""Altair charts of the workbench: residual checks of any model on any data (no streamlit here)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ui.charts import theme

RESID = alt.Axis(title="Residual")


def _zero() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=theme.REFERENCE, strokeDash=[4, 3]).encode(y="y:Q")


def residuals_vs_fitted(fitted: np.ndarray, resid: np.ndarray, title: str) -> alt.LayerChart:
    frame = pd.DataFrame({"fitted": np.asarray(fitted, float), "residual": np.asarray(resid, float)})
    pts = alt.Chart(frame).mark_circle(size=14, opacity=0.4).encode(
        x=alt.X("fitted:Q", title="Fitted value", scale=alt.Scale(zero=False)),
        y=alt.Y("residual:Q", axis=RESID),
        tooltip=[alt.Tooltip("fitted:Q", format=".3f"), alt.Tooltip("residual:Q", format=".3f")])
    return theme.finish(alt.layer(pts, _zero()), 300, title)


def residuals_over_time(frame: pd.DataFrame, time: str, units: list[str], highlight: list[str]) -> alt.LayerChart:
    """Residuals against time, one line per unit (columns time, unit, residual); `highlight` drawn bold."""
    frame = frame.assign(chosen=frame["unit"].isin(highlight))
    base = alt.Chart(frame).encode(x=alt.X("time:Q", title=time),
                                   y=alt.Y("residual:Q", axis=RESID), detail="unit:N")
    tip = ["unit:N", alt.Tooltip("time:Q", title=time), alt.Tooltip("residual:Q", format=".3f")]
    background = base.transform_filter("!datum.chosen").mark_line(strokeWidth=0.8, opacity=0.25,
                                                                  color="#78909c").encode(tooltip=tip)
    chosen = base.transform_filter("datum.chosen").mark_line(point=True, strokeWidth=2.5).encode(
        color=alt.Color("unit:N", title=" - ".join(units) or "unit", scale=theme.people_scale(highlight)),
        tooltip=tip)
    return theme.finish(alt.layer(background, chosen, _zero()), 320,
                        f"Residuals over {time}, one line per unit (chosen units in colour)")


def spread_over_time(spread: pd.DataFrame, time: str) -> alt.Chart:
    """The residuals' standard deviation at each time (columns Time, sd)."""
    chart = alt.Chart(spread).mark_line(point=True).encode(
        x=alt.X("Time:Q", title=time), y=alt.Y("sd:Q", title="SD of the residuals"),
        tooltip=[alt.Tooltip("Time:Q", title=time), alt.Tooltip("sd:Q", format=".3f")])
    return theme.finish(chart, 220, f"Residual spread at each {time}")

"""Charts of simulated (DHARMa-style) residuals: a uniform QQ plot, residuals against the predicted
rank with quantile lines, and the dispersion statistic among its simulations."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lib.teach.plot_points import histogram, qq_rows
from ui.charts import theme

QUANTILE_COLOURS = alt.Scale(domain=["0.25", "0.5", "0.75"], range=["#1e88e5", "#d81b60", "#1e88e5"])


def uniform_qq(qq: pd.DataFrame, title: str) -> alt.LayerChart:
    """Sorted residuals against uniform quantiles (columns expected, observed), with the diagonal; of
    thousands it draws the tails whole and evenly spaced ranks in between (lib.teach.plot_points)."""
    points = alt.Chart(qq.iloc[qq_rows(len(qq))]).mark_circle(size=12, opacity=0.5, color="#37474f").encode(
        x=alt.X("expected:Q", title="Expected (uniform quantile)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed:Q", title="Observed (scaled residual)", scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("expected:Q", format=".3f"), alt.Tooltip("observed:Q", format=".3f")])
    diagonal = alt.Chart(pd.DataFrame({"a": [0.0, 1.0]})).mark_line(color="#d81b60").encode(x="a:Q", y="a:Q")
    return theme.finish(alt.layer(points, diagonal), 320, title)


def residuals_vs_predicted(x: np.ndarray, residuals: np.ndarray, lines: pd.DataFrame, title: str) -> alt.LayerChart:
    """Scaled residuals against the rank of the predicted value, the fitted quantile lines (lines:
    x, quantile, value, se) with their 95% bands, and the expected ones, dashed."""
    frame = pd.DataFrame({"x": x, "residual": residuals})
    points = alt.Chart(frame).mark_circle(size=10, opacity=0.3, color="#37474f").encode(
        x=alt.X("x:Q", title="Predicted value (rank, scaled to 0–1)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("residual:Q", title="Scaled residual", scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("x:Q", format=".3f", title="predicted rank"),
                 alt.Tooltip("residual:Q", format=".3f")])
    expected = alt.Chart(pd.DataFrame({"q": [0.25, 0.5, 0.75]})).mark_rule(strokeDash=[5, 4], color="gray").encode(
        y="q:Q")
    lines = lines.assign(q=lines["quantile"].map("{:g}".format), low=lines["value"] - 1.96 * lines["se"],
                         high=lines["value"] + 1.96 * lines["se"])
    colour = alt.Color("q:N", scale=QUANTILE_COLOURS, legend=alt.Legend(title="quantile", orient="top"))
    bands = alt.Chart(lines).mark_area(opacity=0.15).encode(x="x:Q", y="low:Q", y2="high:Q", detail="q:N",
                                                              color=colour)
    fitted = alt.Chart(lines).mark_line(strokeWidth=3).encode(
        x="x:Q", y="value:Q", detail="q:N", color=colour,
        tooltip=[alt.Tooltip("q:N", title="quantile"), alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("se:Q", format=".3f", title="standard error")])
    return theme.finish(alt.layer(points, expected, bands, fitted), 320, title)


def dispersion_histogram(simulated: np.ndarray, observed: float) -> alt.LayerChart:
    """The dispersion statistic of each simulation, and the observed one in red."""
    bars = alt.Chart(pd.DataFrame({"spread": simulated})).mark_bar(color="#b0bec5").encode(
        x=alt.X("spread:Q", bin=alt.Bin(maxbins=30), title="spread of residuals / spread of simulations",
                scale=alt.Scale(domainMax=float(max(observed, simulated.max())) * 1.02)),
        y=alt.Y("count():Q", title="simulations"))
    line = alt.Chart(pd.DataFrame({"spread": [observed]})).mark_rule(color="#d32f2f", strokeWidth=3).encode(
        x="spread:Q", tooltip=[alt.Tooltip("spread:Q", format=".3f", title="observed")])
    return theme.finish(alt.layer(bars, line), 260, "Dispersion: simulated (grey) and observed (red)")


def residual_histogram(residuals: np.ndarray) -> alt.Chart:
    """Histogram of the scaled residuals: flat under the model (binned here: twenty bars, not every
    residual, go to the browser)."""
    bars = histogram(residuals, 0.0, 1.0, 0.05)
    chart = alt.Chart(bars).mark_bar(color="#90a4ae").encode(
        x=alt.X("start:Q", title="Scaled residual", scale=alt.Scale(domain=[0, 1])), x2="end:Q",
        y=alt.Y("count:Q", title="observations"),
        tooltip=[alt.Tooltip("start:Q", format=".2f", title="from"), alt.Tooltip("end:Q", format=".2f", title="to"),
                 alt.Tooltip("count:Q", title="observations")])
    return theme.finish(chart, 260, "Scaled residuals (flat under the model)")

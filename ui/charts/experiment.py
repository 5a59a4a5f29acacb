"""Charts of the fixed-or-random experiment (lib.teach.fixed_or_random's replicate frame)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from lib.teach.fixed_or_random import coverage_table, singular_table
from ui.charts import theme


def sd_histogram(frame: pd.DataFrame, true_sd: float) -> alt.LayerChart:
    """The estimated group SDs of every replicate, REML and ML overlaid; the truth as a rule."""
    long = frame.melt(id_vars="replicate", value_vars=["REML SD", "ML SD"], var_name="method", value_name="sd")
    long["method"] = long["method"].str.replace(" SD", "")
    bars = alt.Chart(long).mark_bar(opacity=0.55, binSpacing=0).encode(
        x=alt.X("sd:Q", bin=alt.Bin(maxbins=30), title="estimated SD among groups"),
        y=alt.Y("count():Q", stack=None, title="replicates"),
        color=alt.Color("method:N", title="Fit by", scale=theme.model_scale(["REML", "ML"])),
        tooltip=["method:N", alt.Tooltip("count():Q", title="replicates")])
    truth = alt.Chart(pd.DataFrame({"sd": [true_sd]})).mark_rule(color="black", strokeWidth=2).encode(
        x="sd:Q", tooltip=[alt.Tooltip("sd:Q", title="true SD")])
    return theme.finish(alt.layer(bars, truth), 300,
                        "Group SD estimates (the bar at 0: singular fits); black: the truth")


def reml_vs_ml(frame: pd.DataFrame) -> alt.LayerChart:
    """ML's group SD against REML's, replicate by replicate, with the line of equality."""
    top = float(max(frame["REML SD"].max(), frame["ML SD"].max(), 1e-9))
    points = alt.Chart(frame).mark_circle(size=30, opacity=0.6, color="#37474f").encode(
        x=alt.X("REML SD:Q", title="REML estimate of the group SD"),
        y=alt.Y("ML SD:Q", title="ML estimate of the group SD"),
        tooltip=["replicate:Q", alt.Tooltip("REML SD:Q", format=".3f"), alt.Tooltip("ML SD:Q", format=".3f")])
    line = alt.Chart(pd.DataFrame({"a": [0.0, top]})).mark_line(strokeDash=[5, 4], color="black").encode(
        x="a:Q", y="a:Q")
    return theme.finish(alt.layer(line, points), 300, "Each replicate: ML against REML (dashed: equal)")


def shares(table: pd.DataFrame, title: str) -> alt.FacetChart:
    """Bars of shares (columns what, source, share), one panel per `what`."""
    chart = alt.Chart(table).mark_bar().encode(
        x=alt.X("source:N", title=None, axis=alt.Axis(labelAngle=0, labelLimit=200)),
        y=alt.Y("share:Q", title="share of replicates", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("source:N", legend=None, scale=theme.model_scale(list(dict.fromkeys(table["source"])))),
        column=alt.Column("what:N", title=None),
        tooltip=["what:N", "source:N", alt.Tooltip("share:Q", format=".1%")]).properties(width=130)
    return theme.finish(chart, 240, title, fit_width=False)


def coverage(table: pd.DataFrame) -> alt.LayerChart:
    """Coverage of the population mean by lm's and lmer's 95% intervals (columns model, share), as
    horizontal bars: the models' long names sit on the y axis, where they cannot run into each other."""
    bars = alt.Chart(table).mark_bar(size=28).encode(
        y=alt.Y("model:N", title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("share:Q", title="intervals covering the true mean", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model:N", legend=None, scale=theme.model_scale(list(dict.fromkeys(table["model"])))),
        tooltip=["model:N", alt.Tooltip("share:Q", format=".1%")])
    target = alt.Chart(pd.DataFrame({"x": [0.95]})).mark_rule(strokeDash=[5, 4], color="black").encode(
        x="x:Q", tooltip=[alt.Tooltip("x:Q", title="nominal", format=".0%")])
    return theme.finish(alt.layer(bars, target), 160, "Coverage of the population mean (dashed: 95%)")


SINGULAR_TITLE = "Singular fits: group variance exactly 0"


def experiment_charts(frame: pd.DataFrame, summary, true_sd: float) -> tuple[alt.TopLevelMixin, ...]:
    """The page's four charts, in its order: coverage, singular shares, SD histogram, ML against REML."""
    return (coverage(coverage_table(summary)), shares(singular_table(summary), SINGULAR_TITLE),
            sd_histogram(frame, true_sd), reml_vs_ml(frame))

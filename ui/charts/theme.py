"""The app's one chart theme: colours for Sex, family and model, and how every chart is finished.

Every chart the app draws is built in ui/charts and passes through `finish`, which

- sizes it as `autosize: fit-x`: the width follows the page, the height is the plot's own, and the
  title, axes and legends are added around it (with Streamlit's default `fit`, a legend or a title
  inside a fixed height squeezes the plot, down to nothing);
- puts legends on the right, where they take width, not the plot's height;
- lets a test choose the renderer (CHART_RENDERER=svg in the server's environment draws SVG, whose
  tick labels and marks a browser test can read; Streamlit otherwise picks canvas for large data).
"""
from __future__ import annotations

import os
from typing import Sequence

import altair as alt
import pandas as pd
from streamlit.dataframe_util import convert_pandas_df_to_arrow_bytes

SEX_COLOURS = {"F": "#c2185b", "M": "#1565c0"}
FAMILIES = tuple(str(k) for k in range(1, 9))
FAMILY_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f")
MODEL_COLOURS = ("#6a1b9a", "#ef6c00", "#2e7d32", "#00838f", "#ad1457", "#546e7a")
GROUP_SCHEME = "tableau20"  # groups that are not ImmuneData's families (people, sites)
POPULATION = "black"  # population lines (re.form = NA) and smooths
BACKGROUND = "lightgray"  # everyone else, behind the highlighted
REFERENCE = "#555555"  # zero lines, bounds, optima

RENDERER_VARIABLE = "CHART_RENDERER"
AUTOSIZE = alt.AutoSizeParams(type="fit-x", contains="padding")


def sex_scale() -> alt.Scale:
    return alt.Scale(domain=list(SEX_COLOURS), range=list(SEX_COLOURS.values()))


def family_scale(levels: Sequence[str] = FAMILIES) -> alt.Scale:
    """FamID 1..8 always in the same colours; other groupings get the group scheme."""
    levels = [str(v) for v in levels]
    if set(levels) <= set(FAMILIES):
        return alt.Scale(domain=list(FAMILIES), range=list(FAMILY_COLOURS))
    return alt.Scale(domain=levels, scheme=GROUP_SCHEME)


def model_scale(models: Sequence[str]) -> alt.Scale:
    """Compared models (or criteria) in the order given, each its own colour."""
    models = list(dict.fromkeys(models))
    return alt.Scale(domain=models, range=[MODEL_COLOURS[i % len(MODEL_COLOURS)] for i in range(len(models))])


def people_scale(people: Sequence[str]) -> alt.Scale:
    """Individually picked people (IndID-Sex), in the order shown: ten clearly different colours, then twenty."""
    return alt.Scale(domain=list(people), scheme="tableau10" if len(people) <= 10 else GROUP_SCHEME)


def usermeta() -> dict:
    """Embed options for Streamlit's vega-embed: the renderer a test asked for, if any."""
    renderer = os.environ.get(RENDERER_VARIABLE, "")
    return {"embedOptions": {"renderer": renderer}} if renderer in ("svg", "canvas") else {}


def finish(chart: alt.TopLevelMixin, height: int | None, title: str | None = None,
           fit_width: bool = True) -> alt.TopLevelMixin:
    """The theme applied to a finished chart: plot height, fit-x sizing, legends at the right.

    fit_width=False keeps a chart's own width and height (a facet, or arrows whose angles are drawn
    for a fixed size: ui/charts/pooling.py)."""
    props = {"autosize": AUTOSIZE if fit_width else alt.AutoSizeParams(type="pad")}
    if height is not None:
        props["height"] = height
    if title is not None:
        props["title"] = alt.TitleParams(title, anchor="start")
    meta = usermeta()
    if meta:
        props["usermeta"] = meta
    return chart.properties(**props).configure_legend(orient="right", labelLimit=360, titleLimit=360)


def stacked(charts: Sequence[alt.TopLevelMixin], title: str | None = None) -> alt.VConcatChart:
    """Charts one above the other sharing the x scale and one legend (finished as one chart)."""
    chart = alt.vconcat(*charts, spacing=14).resolve_scale(x="shared", color="shared")
    if title is not None:
        chart = chart.properties(title=alt.TitleParams(title, anchor="start"))
    meta = usermeta()
    if meta:
        chart = chart.properties(usermeta=meta)
    return chart.properties(autosize=AUTOSIZE).configure_legend(orient="right", labelLimit=360,
                                                                 titleLimit=360)


def to_spec(chart: alt.TopLevelMixin) -> dict:
    """The chart as the Vega-Lite spec Streamlit sends, its data sets already Arrow bytes.

    Building an Altair chart and converting it (schema validation, deep copies) costs a page run
    0.1-0.5 s per chart; a spec made once per cache key (ui.cache) and drawn with st.vega_lite_chart
    costs next to nothing.
    """
    # no schema validation here (a third of the conversion): tests/ui/test_charts.py validates every
    # chart builder's output (chart.to_dict()), and a spec made here is made from those builders
    spec = chart.to_dict(validate=False)
    spec["datasets"] = {name: convert_pandas_df_to_arrow_bytes(pd.DataFrame.from_records(rows))
                        for name, rows in spec.get("datasets", {}).items()}
    return spec

"""The chart contract: a Vega-Lite spec whose encodings can show something.

`problems(spec, datasets)` reads a chart's Vega-Lite spec (Altair's `to_dict()`, or the spec and
named data sets Streamlit sends to the browser) and lists what would leave the chart empty or
misleading:

- an encoded field missing from the view's data, or null in every row;
- a quantitative x or y axis whose values (over the layers that share it) span no range;
- a field name Vega-Lite would read as a nested path (an unescaped dot or bracket).

It checks the data, not the drawing: a plot squeezed to nothing by its layout passes here and is
caught by the browser test (tests/ui/test_browser.py).
"""
from __future__ import annotations

import re
from typing import Iterator, Mapping

import numpy as np
import pandas as pd

COMPOSITIONS = ("layer", "vconcat", "hconcat", "concat")
POSITION = {"x": "x", "x2": "x", "y": "y", "y2": "y"}
NESTED_PATH = re.compile(r"(?<!\\)[.\[\]]")
TRANSFORM_OUTPUTS = ("as",)


def frames_of(spec: Mapping) -> dict[str, pd.DataFrame]:
    """The named data sets inside a spec (Altair's to_dict() puts them under "datasets")."""
    return {name: pd.DataFrame.from_records(rows) for name, rows in spec.get("datasets", {}).items()}


def _data_of(view: Mapping, inherited: pd.DataFrame | None,
             datasets: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    data = view.get("data")
    if not data:
        return inherited
    if "values" in data:
        return pd.DataFrame.from_records(data["values"])
    return datasets.get(data.get("name", ""))


def _derived(view: Mapping) -> set[str]:
    """Fields a view's transforms create (calculate, fold, window, aggregate ... `as`)."""
    out: set[str] = set()
    for t in view.get("transform", []):
        for key in TRANSFORM_OUTPUTS:
            v = t.get(key)
            out.update([v] if isinstance(v, str) else list(v or []))
        for part in t.get("aggregate", []) + t.get("window", []) + t.get("joinaggregate", []):
            if isinstance(part, dict) and part.get("as"):
                out.add(part["as"])
    return out


def _units(view: Mapping, data: pd.DataFrame | None, derived: set[str],
           datasets: Mapping[str, pd.DataFrame]) -> Iterator[tuple[Mapping, pd.DataFrame | None, set[str]]]:
    """Every single view (a mark with encodings) with its data and derived fields."""
    data = _data_of(view, data, datasets)
    derived = derived | _derived(view)
    if "mark" in view:
        yield view, data, derived
    for child in view.get("layer", []):
        yield from _units(child, data, derived, datasets)
    if "spec" in view:  # a facet's (or repeat's) inner view; the facet's own fields are checked with it
        inner = view["spec"]
        facet = view.get("facet", {})
        facet = facet if "field" not in facet else {"facet": facet}
        yield from _units({**inner, "encoding": {**inner.get("encoding", {}), **facet}} if "mark" in inner
                          else inner, data, derived, datasets)


def _groups(spec: Mapping) -> Iterator[Mapping]:
    """The parts of a chart that share their x and y scales: a unit or a layer, inside any concat."""
    if any(k in spec for k in ("vconcat", "hconcat", "concat")):
        for key in ("vconcat", "hconcat", "concat"):
            for child in spec.get(key, []):
                yield {**{k: v for k, v in spec.items() if k in ("data", "transform")}, **child} \
                    if "data" not in child else child
    else:
        yield spec


def _fields(encoding: Mapping) -> Iterator[tuple[str, Mapping]]:
    """(channel, definition) for every encoded field, tooltips and details included."""
    for channel, definition in encoding.items():
        for d in definition if isinstance(definition, list) else [definition]:
            if isinstance(d, dict) and "field" in d:
                yield channel, d
            if isinstance(d, dict) and isinstance(d.get("condition"), dict) and "field" in d["condition"]:
                yield channel, d["condition"]


def _field_name(d: Mapping) -> str:
    f = d["field"]
    return f if isinstance(f, str) else str(f.get("repeat", f))


def problems(spec: Mapping, datasets: Mapping[str, pd.DataFrame] | None = None) -> list[str]:
    """What keeps this chart from showing its data (empty: the chart keeps the contract)."""
    datasets = {**frames_of(spec), **(datasets or {})}
    out: list[str] = []
    for group in _groups(spec):
        spans: dict[str, list[float]] = {"x": [], "y": []}
        domains: dict[str, bool] = {"x": False, "y": False}
        units = list(_units(group, None, set(), datasets))
        if not units:
            out.append("a chart with no marks")
        for view, data, derived in units:
            for channel, d in _fields(view.get("encoding", {})):
                name = _field_name(d)
                if NESTED_PATH.search(name):
                    out.append(f"{channel}: field {name!r} would be read as a nested path")
                    continue
                plain = name.replace("\\", "")
                if plain in derived:
                    continue
                if data is None or plain not in data.columns:
                    out.append(f"{channel}: field {plain!r} is not in the chart's data")
                    continue
                column = data[plain]
                if column.isna().all():
                    out.append(f"{channel}: field {plain!r} is null in every row")
                    continue
                axis = POSITION.get(channel)
                if axis and d.get("type") == "quantitative" and "aggregate" not in d:
                    spans[axis] += list(pd.to_numeric(column, errors="coerce").dropna())
                    dom = (d.get("scale") or {}).get("domain")
                    domains[axis] |= isinstance(dom, list) and len(dom) == 2 and dom[0] != dom[1]
        for axis, values in spans.items():
            if values and not domains[axis] and not np.ptp(np.asarray(values, float)) > 0:
                out.append(f"{axis}: the quantitative axis spans no range (every value {values[0]:g})")
    return out


def drawn_charts(app) -> list[tuple[dict, dict[str, pd.DataFrame]]]:
    """The Vega-Lite spec and named data sets of every chart a page drew, as the browser gets them
    (from a streamlit.testing AppTest run)."""
    import json

    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return [(json.loads(el.proto.spec),
             {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in el.proto.datasets})
            for el in app.get("vega_lite_chart")]

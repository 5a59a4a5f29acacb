"""Charts of partial pooling: arrows from each unit's own estimate to the mixed model's, the model's
covariance ellipse, and lme4's caterpillar plot of the conditional modes (no streamlit here).

Arrowheads are Vega's "wedge" symbols turned by an angle measured on screen, so these charts have a
fixed size and explicit axis domains: the page must draw them at their own width.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ui.charts import theme

WIDTH, HEIGHT = 640, 460
OWN, MODEL = "own estimate (no pooling)", "mixed model (partial pooling)"
UNIT_COLOUR = "#3949ab"


def _domain(values: np.ndarray, pad: float = 0.06) -> list[float]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return [lo - pad * span, hi + pad * span]


def arrow_angles(dx: np.ndarray, dy: np.ndarray, x_domain: list[float], y_domain: list[float],
                 width: float = WIDTH, height: float = HEIGHT) -> np.ndarray:
    """Vega's symbol angle (degrees clockwise from pointing up) of arrows (dx, dy) in data units."""
    px = np.asarray(dx, float) * width / (x_domain[1] - x_domain[0])
    py = np.asarray(dy, float) * height / (y_domain[1] - y_domain[0])
    return np.degrees(np.arctan2(px, py))


def _colour(units: pd.DataFrame) -> alt.Color | alt.ColorValue:
    if "Sex" in units.columns:
        return alt.Color("Sex:N", scale=theme.sex_scale())
    return alt.value(UNIT_COLOUR)


def _tooltip(units: pd.DataFrame, group: str, coords: tuple[str, ...]) -> list:
    tips = [alt.Tooltip("unit:N", title=group), alt.Tooltip("n:Q", title="rows")]
    tips += [alt.Tooltip(f"{c}:N") for c in ("Sex", "FamID") if c in units.columns and c != group]
    for m in ("own", "partial", "complete"):
        tips += [alt.Tooltip(f"{m}_{c}:Q", format=".3f", title=f"{m} {c}") for c in coords]
    return tips


def pooling_plane(units: pd.DataFrame, ellipses: pd.DataFrame, group: str, x_title: str,
                  y_title: str) -> alt.LayerChart:
    """Each unit's own (hollow) and mixed-model (arrowhead) intercept and slope, arrows between them,
    complete pooling (black cross) and the model's ellipses (ellipses: pattern, level, curve, order,
    x, y). Every layer carries the same explicit scales, so the arrowheads' angles hold."""
    xs = np.r_[units["own_intercept"], units["partial_intercept"], units["complete_intercept"], ellipses["x"]]
    ys = np.r_[units["own_slope"], units["partial_slope"], units["complete_slope"], ellipses["y"]]
    xd, yd = _domain(xs), _domain(ys)
    frame = units.assign(angle=arrow_angles(units["partial_intercept"] - units["own_intercept"],
                                            units["partial_slope"] - units["own_slope"], xd, yd))

    def x(field: str) -> alt.X:
        return alt.X(f"{field}:Q", title=x_title, scale=alt.Scale(domain=xd, nice=False, zero=False))

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=y_title, scale=alt.Scale(domain=yd, nice=False, zero=False))

    tips = _tooltip(units, group, ("intercept", "slope"))
    colour = _colour(units)
    base = alt.Chart(frame)
    layers = [
        base.mark_rule(strokeWidth=1.5, opacity=0.7).encode(
            x=x("own_intercept"), y=y("own_slope"), x2="partial_intercept:Q", y2="partial_slope:Q", color=colour),
        base.mark_point(size=36, opacity=0.8).encode(x=x("own_intercept"), y=y("own_slope"), color=colour,
                                                     tooltip=tips),
        base.mark_point(shape="wedge", filled=True, size=110, opacity=0.95).encode(
            x=x("partial_intercept"), y=y("partial_slope"), angle=alt.Angle("angle:Q", scale=None),
            color=colour, tooltip=tips),
        base.mark_point(shape="cross", filled=True, size=220, color="black").encode(
            x=x("complete_intercept"), y=y("complete_slope"),
            tooltip=[alt.Tooltip("complete_intercept:Q", format=".3f", title="complete pooling intercept"),
                     alt.Tooltip("complete_slope:Q", format=".3f", title="complete pooling slope")])]
    if len(ellipses):
        layers.insert(0, alt.Chart(ellipses).mark_line(color="#616161", strokeDash=[5, 4]).encode(
            x=x("x"), y=y("y"), order="order:Q", detail="curve:N",
            tooltip=[alt.Tooltip("pattern:N", title="for"), alt.Tooltip("level:Q", format=".0%")]))
    return theme.finish(alt.layer(*layers).properties(width=WIDTH), HEIGHT, f"{group}: own → mixed model",
                        fit_width=False)


def pooling_slopes(units: pd.DataFrame, bands: pd.DataFrame, group: str, y_title: str) -> alt.LayerChart:
    """One coordinate (the intercept): each unit's own estimate (left) joined by an arrow to the mixed
    model's (right); complete pooling as a dashed line; the model's 95% range of the units (bands:
    pattern, lower, upper) as a bar on the right."""
    own = units["own_intercept"].to_numpy(float)
    part = units["partial_intercept"].to_numpy(float)
    values = np.r_[own, part, units["complete_intercept"], bands.get("lower", []), bands.get("upper", [])]
    xd, yd = [-0.25, 1.35], _domain(values)
    frame = units.assign(x0=0.0, x1=1.0, angle=arrow_angles(np.ones(len(units)), part - own, xd, yd))
    x_axis = alt.Axis(values=[0, 1], labelExpr=f"datum.value == 0 ? '{OWN}' : '{MODEL}'", title=None,
                      grid=False, labelLimit=260)

    def x(field: str) -> alt.X:
        return alt.X(f"{field}:Q", scale=alt.Scale(domain=xd, nice=False), axis=x_axis)

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=y_title, scale=alt.Scale(domain=yd, nice=False, zero=False))

    tips = _tooltip(units, group, ("intercept",))
    colour = _colour(units)
    base = alt.Chart(frame)
    has_own = base.transform_filter("isValid(datum.own_intercept)")
    layers = [has_own.mark_rule(strokeWidth=1.5, opacity=0.6).encode(
                  x=x("x0"), y=y("own_intercept"), x2="x1:Q", y2="partial_intercept:Q", color=colour),
              has_own.mark_point(size=36).encode(x=x("x0"), y=y("own_intercept"), color=colour, tooltip=tips),
              base.mark_point(shape="wedge", filled=True, size=90).encode(
                  x=x("x1"), y=y("partial_intercept"), angle=alt.Angle("angle:Q", scale=None), color=colour,
                  tooltip=tips),
              alt.Chart(units.drop_duplicates("complete_intercept")).mark_rule(color="black", strokeDash=[6, 4])
              .encode(y=y("complete_intercept"), tooltip=[alt.Tooltip("complete_intercept:Q", format=".3f",
                                                                     title="complete pooling")])]
    if len(bands):
        layers.append(alt.Chart(bands.assign(x=1.2)).mark_rule(strokeWidth=6, opacity=0.35, color="#616161")
                      .encode(x=x("x"), y=y("lower"), y2="upper:Q",
                              tooltip=[alt.Tooltip("pattern:N", title="for"),
                                       alt.Tooltip("lower:Q", format=".3f"), alt.Tooltip("upper:Q", format=".3f")]))
    return theme.finish(alt.layer(*layers).properties(width=WIDTH), HEIGHT, f"{group}: own → mixed model",
                        fit_width=False)


def caterpillar(frame: pd.DataFrame, group: str, labels_up_to: int = 40) -> alt.FacetChart:
    """lme4's dotplot(ranef(fit, condVar = TRUE)) for one grouping factor: each level's conditional mode
    with its interval, levels ordered by the mode, one panel per random-effect column."""
    part = frame[frame["group"] == group]
    many = part["level"].nunique() > labels_up_to
    y = (alt.Y("rank:Q", title=f"levels of {group}, by rank of their mode")
         if many else alt.Y("level:N", title=group, sort=alt.EncodingSortField("mode", order="ascending")))
    tips = [alt.Tooltip("level:N", title=group), alt.Tooltip("mode:Q", format=".4f", title="conditional mode"),
            alt.Tooltip("sd:Q", format=".4f", title="conditional SD"),
            alt.Tooltip("lower:Q", format=".4f"), alt.Tooltip("upper:Q", format=".4f")]
    base = alt.Chart().encode(y=y)
    bars = base.mark_rule(color="#90a4ae").encode(x=alt.X("lower:Q", title="conditional mode ± 1.96 SD"),
                                                  x2="upper:Q")
    points = base.mark_point(filled=True, size=25 if many else 45, color="#283593").encode(x="mode:Q", tooltip=tips)
    zero = alt.Chart().mark_rule(strokeDash=[4, 3], color="black").encode(x=alt.datum(0))
    height = 360 if many else max(160, 18 * part["level"].nunique())
    facets = alt.layer(bars, points, zero, data=part).properties(width=300, height=height).facet(
        column=alt.Column("term:N", title=None)).resolve_scale(x="independent")
    return theme.finish(facets, None, f"{group}: conditional modes ± 1.96 conditional SD", fit_width=False)

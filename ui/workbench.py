"""The workbench page's widgets and displays: data, model builder, the session's list of models.

Everything the user brings (an uploaded table, the models fitted) lives in st.session_state, the
user's session only: nothing is written to disk and nothing is cached across sessions. Widget
values are kept valid for the data on screen (`_keep`), so switching data never breaks a widget.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import streamlit as st

from lib.data.upload import UploadError, column_types, id_like, read_csv_bytes
from lib.engine.formula import FormulaError, parse_formula, quote_name
from lib.rprint.lme4_print import varcorr_table
from lib.teach import workbench as wb
from lib.teach.explain import explain
from lib.teach.model_builder import RandomSpec
from lib.teach.qaqc import residual_spread
from lib.teach.stoppable import Stopped, TimeLimit, run_stoppable
from lib.teach.workbench_data import BUNDLED, DEFAULT, Dataset, from_upload, typed
from lib.teach.workbench_scripts import python_script, r_script
from ui.charts.mixed import qq_plot
from ui.charts.workbench import (
    residuals_over_time,
    residuals_vs_fitted,
    spread_over_time,
)
from ui.mixed import show_explanations

UPLOAD = "Upload a CSV file"
BARS = {"|": "| correlated", "||": "|| uncorrelated"}
MAX_RANDOM_TERMS = 4


def _state() -> st.session_state:
    s = st.session_state
    s.setdefault("wb_models", [])  # list[wb.Fitted], in the order fitted
    s.setdefault("wb_uploads", {})  # key -> Dataset: every table uploaded in this session
    return s


def _keep(key: str, options: Sequence, default, many: bool = False) -> None:
    """Make the widget's stored value valid for its options before the widget is drawn."""
    s = st.session_state
    if many:
        s[key] = [v for v in s.get(key, default) if v in options]
    elif s.get(key, default) not in options:
        s[key] = default if default in options else (options[0] if options else None)
    elif key not in s:
        s[key] = default


def datasets() -> dict[str, Dataset]:
    """Every data set of this session: the bundled ones and the user's uploads."""
    return {**BUNDLED, **_state()["wb_uploads"]}


# -- data ---------------------------------------------------------------------------------

def upload_limit_mb() -> int:
    """server.maxUploadSize of .streamlit/config.toml, in MB."""
    return int(st.get_option("server.maxUploadSize"))


def _read_upload(file) -> Dataset | None:
    """The uploaded file as a Dataset (kept in the session), or an error box saying why not."""
    s = _state()
    key = f"upload:{file.name}"
    if s.get("wb_upload_id") == file.file_id and key in s["wb_uploads"]:
        return s["wb_uploads"][key]
    try:
        table = read_csv_bytes(file.getvalue(), file.name, max_bytes=upload_limit_mb() * 2**20)
    except UploadError as e:
        st.error(f"**{file.name} was not loaded.** {e}", icon=":material/block:")
        return None
    data = from_upload(table)
    s["wb_uploads"][data.key] = data
    s["wb_upload_id"] = file.file_id
    return data


def choose_data() -> tuple[Dataset, pd.DataFrame] | None:
    """The data chooser, the upload and the column types; the data set and its typed table."""
    s = _state()
    st.header("1. Data")
    sources = [*BUNDLED, *s["wb_uploads"], UPLOAD]
    _keep("wb_source", sources, DEFAULT)
    source = st.selectbox("Data", sources, key="wb_source",
                          format_func=lambda k: datasets()[k].label if k in datasets() else k)
    if source == UPLOAD:
        file = st.file_uploader(f"A CSV file (comma-, semicolon- or tab-separated; at most "
                                f"{upload_limit_mb()} MB)", key="wb_file")
        if file is None:
            st.info("Choose a file. It stays in your browser session: nothing is saved on the server.")
            return None
        data = _read_upload(file)
        if data is None:
            return None
    else:
        data = datasets()[source]
    for note in data.notes:
        st.warning(note, icon=":material/info:")
    return data, _column_types(data)


def _column_types(data: Dataset) -> pd.DataFrame:
    """The columns with their types; the user marks numeric columns as factors."""
    types = column_types(data.frame)
    numeric = [t.name for t in types if t.numeric]
    key = f"wb_factors_{data.key}"
    _keep(key, numeric, [c for c in data.factors if c in numeric], many=True)
    left, right = st.columns([1.4, 1])
    with right:
        factors = st.multiselect("Numeric columns to treat as factors (as.factor)", numeric, key=key,
                                 help="Text and TRUE/FALSE columns are factors anyway.")
        table = pd.DataFrame({"column": [t.name for t in types], "read as": [t.kind for t in types],
                              "distinct": [t.distinct for t in types], "missing": [t.missing for t in types],
                              "used as": ["factor" if (not t.numeric or t.name in factors) else "numeric"
                                          for t in types]})
        st.dataframe(table, hide_index=True, width="stretch")
    with left:
        st.dataframe(data.frame.head(500), height=280, width="stretch")
        st.caption(f"{len(data.frame):,} rows, {data.frame.shape[1]} columns (first 500 rows shown)")
    for t in types:
        if t.name not in factors and id_like(t):
            st.warning(f"**{t.name}** holds whole numbers with {t.distinct} distinct values. If they are codes "
                       f"(IDs, families, sites), mark it as a factor: left numeric, a fixed effect of "
                       f"{t.name} is one slope, not one effect per level (the tutorial's *coding error*).",
                       icon=":material/warning:")
    st.session_state[f"wb_typed_factors_{data.key}"] = tuple(factors)
    return typed(data, tuple(factors))


def time_and_units(data: Dataset, frame: pd.DataFrame) -> None:
    """The time column and the unit columns for the over-time views (read by `_time_and_units_of`)."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    none = "(no time column)"
    _keep(f"wb_time_{data.key}", [none, *numeric], data.time or none)
    _keep(f"wb_units_{data.key}", list(frame.columns), list(data.units), many=True)
    a, b = st.columns(2)
    a.selectbox("Time column (for residuals over time)", [none, *numeric], key=f"wb_time_{data.key}")
    b.multiselect("Unit columns (one unit = one line over time; several = their combination)",
                  list(frame.columns), key=f"wb_units_{data.key}")


# -- the model builder ------------------------------------------------------------------------------

def _options(columns: Sequence[str]) -> list[str]:
    return [quote_name(c) for c in columns]


def _apply_typed(columns: list[str]) -> None:
    """on_click of 'Use this formula': the widgets take the typed model, or the error is shown."""
    s = st.session_state
    text = s.get("wb_typed", "")
    try:
        c = wb.choice_from_formula(text, columns, s.get("wb_family", "gaussian"), s.get("wb_method", "REML") == "REML")
    except FormulaError as e:
        s["wb_typed_error"] = str(e)
        return
    s["wb_typed_error"] = None
    s["wb_response"] = c.response
    s["wb_response_extra"] = c.response  # a cbind(...) response is not a column: offer it too
    mains = [t for t in c.fixed if len(_parts(t, columns)) == 1]
    s["wb_mains"], s["wb_inter"], s["wb_intercept"] = mains, [t for t in c.fixed if t not in mains], c.intercept
    s["wb_nrand"] = max(1, min(MAX_RANDOM_TERMS, len(c.random)))
    for i, r in enumerate(c.random[:MAX_RANDOM_TERMS]):
        s[f"wb_g{i}"] = _parts(r.group, columns)
        s[f"wb_int{i}"], s[f"wb_sl{i}"], s[f"wb_bar{i}"] = r.intercept, list(r.slopes), "|" if r.correlated else "||"
        s[f"wb_sl_extra{i}"] = [t for t in r.slopes if len(_parts(t, columns)) > 1]


def _parts(term: str, columns: Sequence[str]) -> list[str]:
    """The quoted names of a written term (a:`b c` -> a, `b c`), by the strict grammar."""
    return [quote_name(v) for v in parse_formula(f"~ {term}", columns).fixed.terms[0]]


def build_model(data: Dataset, frame: pd.DataFrame) -> tuple[wb.Choice | None, str | None]:
    """The widgets of one model and the formula they build (None and the reason when they build none)."""
    s = st.session_state
    columns = [str(c) for c in frame.columns]
    names = _options(columns)
    st.header("2. Model")
    top = st.columns([1.2, 1, 1])
    responses = names + [r for r in [s.get("wb_response_extra")] if r and r not in names]
    _keep("wb_response", responses, names[-1] if "IgG" not in columns else "IgG")
    response = top[0].selectbox("Response", responses, key="wb_response")
    family = top[1].radio("Family", wb.FAMILIES, key="wb_family", horizontal=True,
                          help="gaussian: lmer; binomial (0/1, proportions or cbind) and Poisson (counts): glmer")
    method = top[2].radio("Fit by", ["REML", "ML"], key="wb_method", horizontal=True,
                          disabled=family != "gaussian", help="glmer always fits by maximum likelihood (Laplace)")
    others = [n for n in names if n != response]
    _keep("wb_mains", others, [], many=True)
    f1, f2, f3 = st.columns([1.4, 1.4, 0.6])
    mains = f1.multiselect("Fixed effects: main effects", others, key="wb_mains")
    inter_options = list(dict.fromkeys(wb.interactions(mains) + s.get("wb_inter", [])))
    _keep("wb_inter", inter_options, [], many=True)
    inter = f2.multiselect("Fixed effects: interactions", inter_options, key="wb_inter")
    s.setdefault("wb_intercept", True)
    intercept = f3.checkbox("intercept", key="wb_intercept")
    s.setdefault("wb_nrand", 1)
    n = st.number_input("Random terms", 1, MAX_RANDOM_TERMS, key="wb_nrand")
    random = [_random_term(i, names, response) for i in range(int(n))]
    choice = wb.Choice(response, tuple(mains) + tuple(inter), tuple(r for r in random if r), intercept,
                       family, method == "REML")
    try:
        formula = choice.formula(columns)
    except FormulaError as e:
        st.markdown(f":red[No model yet:] {e}")
        formula = None
    else:
        call = "lmer" if family == "gaussian" else "glmer"
        st.markdown(f"**The model**, as lme4 writes it ({call}, {choice.method}):")
        st.code(formula, language="r")
    _typed_box(columns)
    return (choice if formula else None), formula


def _random_term(i: int, names: list[str], response: str) -> RandomSpec | None:
    s = st.session_state
    cg, ci, cs, cb = st.columns([1.4, 0.6, 1.6, 1.2])
    groups = [n for n in names if n != response]
    _keep(f"wb_g{i}", groups, [], many=True)
    group = cg.multiselect(f"Random term {i + 1}: grouping factor (several: their interaction)", groups,
                           key=f"wb_g{i}", max_selections=3)
    s.setdefault(f"wb_int{i}", True)
    icpt = ci.checkbox("intercept", key=f"wb_int{i}")
    slope_options = [n for n in groups if n not in group] + s.get(f"wb_sl_extra{i}", [])
    _keep(f"wb_sl{i}", slope_options, [], many=True)
    slopes = cs.multiselect("slopes", slope_options, key=f"wb_sl{i}")
    _keep(f"wb_bar{i}", list(BARS), "|")
    bar = cb.radio("bar", list(BARS), key=f"wb_bar{i}", format_func=BARS.get, horizontal=True,
                   help="`|` estimates the correlations between the term's effects; `||` fixes them at zero")
    if not group:
        return None
    return RandomSpec(":".join(group), bool(icpt), tuple(slopes), bar == "|")


def _typed_box(columns: list[str]) -> None:
    with st.expander("Type the formula yourself (advanced)"):
        st.text_input("Formula in lme4's syntax; names that are not plain R names go in `backticks`",
                      key="wb_typed", placeholder="IgG ~ Sex * Time + (1 + Time | FamID)")
        st.button("Use this formula", key="wb_use_typed", on_click=_apply_typed, args=(columns,))
        st.caption("Read by the same strict grammar as the widgets: column names, 0, 1, ~ + - * : / ( ) | || "
                   "and cbind(successes, failures). Nothing typed here is ever run as code.")
        err = st.session_state.get("wb_typed_error")
        if err:
            st.error(f"**This formula cannot be used:** {err}", icon=":material/block:")


# -- fitting -------------------------------------------------------------------------------------

def _next_name(models: Sequence[wb.Fitted]) -> str:
    taken = {m.name for m in models}
    return next(f"m{k}" for k in range(1, len(taken) + 2) if f"m{k}" not in taken)


def fit_section(data: Dataset, frame: pd.DataFrame, choice: wb.Choice | None, formula: str | None) -> None:
    """Name the model, fit it (with a Stop button and a time limit), add it to the session's list."""
    s = _state()
    st.caption(f"Limits of the workbench: at most {wb.MAX_ROWS:,} rows and {wb.MAX_RANDOM_EFFECTS:,} random "
               f"effects per model, and {wb.TIME_LIMIT_S:g} s per fit (or press Stop). Larger models: "
               "use the R or Python script below.")
    a, b, c = st.columns([1, 1, 1])
    default = _next_name(s["wb_models"])
    name = a.text_input(f"Name of the model (empty: {default})", key="wb_name", placeholder=default).strip() \
        or default
    go = b.button("Fit and add to the list", key="wb_fit", type="primary", disabled=formula is None)
    stop = c.button("Stop the fit", key="wb_stop")
    if stop:
        st.info("The fit was stopped. The models fitted before are still in the list.", icon=":material/stop:")
    if not go or choice is None or formula is None:
        return
    problem = wb.valid_name(name, [m.name for m in s["wb_models"]])
    if problem:
        st.error(f"**Not fitted:** {problem}", icon=":material/block:")
        return
    factors = st.session_state.get(f"wb_typed_factors_{data.key}", ())
    clock = st.empty()

    def tick(elapsed: float) -> None:
        clock.caption(f":material/hourglass_top: fitting {formula} … {elapsed:.0f} s "
                      f"(stops at {wb.TIME_LIMIT_S:g} s; press Stop to stop now)")

    try:
        model = run_stoppable(lambda: wb.fit(name, choice, formula, frame, data.key, factors),
                              wb.TIME_LIMIT_S, tick)
    except TimeLimit as e:
        clock.empty()
        st.error(f"**{name} was not fitted:** {e}. Simplify the model (fewer random effects or slopes) or "
                 "fit it with the scripts below. The models fitted before are still in the list.",
                 icon=":material/timer_off:")
        return
    except Stopped:
        return
    clock.empty()
    if not model.ok:
        show_refusal(model)
        return
    s["wb_models"] = [*s["wb_models"], model]
    s["wb_detail"] = model.name  # the detail view shows the model just fitted
    st.success(f"**{model.name}** fitted in {model.outcome.seconds:.2f} s and added to the list.",
               icon=":material/check:")


def show_refusal(model: wb.Fitted) -> None:
    st.error(f"**{model.name} was not fitted.** {model.outcome.error}", icon=":material/block:")
    e = explain(model.outcome.error or "")
    if e.kind != "other":
        st.info(e.markdown(), icon=":material/lightbulb:")
    st.caption("The models fitted before are still in the list.")


def show_messages(model: wb.Fitted) -> None:
    if model.dropped:
        st.info(f"{model.dropped:,} row{'s' if model.dropped > 1 else ''} with a missing value in a column "
                f"of {model.name} {'were' if model.dropped > 1 else 'was'} left out (R's na.omit); "
                f"the model uses {len(model.rows):,}.", icon=":material/filter_alt:")
    show_explanations(model.outcome)


# -- the list of models ---------------------------------------------------------------------------

def models_section() -> list[wb.Fitted]:
    """The session's models as a table, with removal; returns them."""
    s = _state()
    models: list[wb.Fitted] = s["wb_models"]
    st.header("3. Your models")
    if not models:
        st.info("No model yet: build one above and press *Fit and add to the list*.")
        return models
    table = wb.models_table(models)
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="%.2f") for c in ("logLik", "AIC", "BIC")})
    a, b = st.columns([1, 2])
    gone = a.selectbox("Remove a model", ["(none)", *[m.name for m in models]], key="wb_remove")
    if gone != "(none)" and b.button(f"Remove {gone}", key="wb_remove_go"):
        s["wb_models"] = [m for m in models if m.name != gone]
        st.rerun()
    return models


def compare_section(models: list[wb.Fitted]) -> None:
    """Any two models compared by anova() (ML refits, lme4's table) or lrtest()."""
    if len(models) < 2:
        return
    st.subheader("Compare two models")
    names = [m.name for m in models]
    _keep("wb_cmp_a", names, names[-2])
    _keep("wb_cmp_b", names, names[-1])
    a, b, c = st.columns([1, 1, 1.4])
    first = a.selectbox("First model", names, key="wb_cmp_a")
    second = b.selectbox("Second model", names, key="wb_cmp_b")
    kind = c.radio("Test", ["anova", "lrtest"], key="wb_cmp_kind", horizontal=True,
                   format_func={"anova": "anova() (lme4: ML refits)", "lrtest": "lrtest() (lmtest)"}.get)
    if first == second:
        st.info("Choose two different models.")
        return
    by_name = {m.name: m for m in models}
    try:
        res = wb.compare(by_name[first], by_name[second], kind)
    except ValueError as e:
        st.error(f"**No {kind}():** {e}", icon=":material/block:")
        return
    st.code(f"> {kind}({first}, {second})\n{res}", language=None)
    st.table(res.formatted_table())
    if res.note:
        st.warning(res.note, icon=":material/balance:")
    st.download_button("Download this table (CSV)", res.table.to_csv(index_label="model"),
                       f"{kind}_{first}_{second}.csv", "text/csv", key="wb_dl_cmp")


def _time_and_units_of(data: Dataset) -> tuple[str | None, list[str]]:
    """The time and unit columns chosen for a data set (its defaults when not chosen in this session)."""
    s = st.session_state
    time = s.get(f"wb_time_{data.key}", data.time)
    return (time if time in data.columns else None), list(s.get(f"wb_units_{data.key}", data.units))


def details_section(models: list[wb.Fitted]) -> None:
    """One model at a time: summary, random effects, QA/QC, fitted values and residuals."""
    if not models:
        return
    st.header("4. One model in detail")
    names = [m.name for m in models]
    _keep("wb_detail", names, names[-1])
    model = {m.name: m for m in models}[st.selectbox("Model", names, key="wb_detail")]
    data = datasets()[model.dataset]
    frame = typed(data, model.factors)
    time, units = _time_and_units_of(data)
    show_messages(model)
    summary, random, qa = st.tabs(["Summary", "Random effects", "QA/QC"])
    with summary:
        st.code(f"> summary({model.name})\n{model.fit.summary('d')}", language=None)
    with random:
        st.markdown("**Variance components** (`VarCorr`)")
        st.table(varcorr_table(model.fit, formatted=True))
        for group, modes in model.fit.ranef.items():
            st.markdown(f"**Conditional modes for {group}** (`ranef({model.name})${group}`)")
            st.dataframe(modes, width="stretch", height=min(300, 40 + 35 * len(modes)))
    with qa:
        _qaqc(model, frame, time, units)
    rows = wb.fitted_frame(model, frame)
    st.download_button(f"Download {model.name}'s fitted values and residuals (CSV)", rows.to_csv(index=False),
                       f"{model.name}_fitted.csv", "text/csv", key="wb_dl_rows")


def _qaqc(model: wb.Fitted, frame: pd.DataFrame, time: str | None, units: list[str]) -> None:
    f = model.fit
    r = wb.residuals(f)
    kind = "response residuals" if f.family is None else "deviance residuals"
    a, b = st.columns(2)
    a.altair_chart(residuals_vs_fitted(f.fitted, r, f"{model.name}: {kind} against fitted values"), width="stretch")
    b.altair_chart(qq_plot(r, f"{model.name}: normal QQ plot of the {kind}"), width="stretch")
    if time is None:
        st.info("Choose a time column (under Data) to see the residuals over time for each unit.")
        return
    over = wb.over_time(model, frame, time, units)
    everyone = sorted(over["unit"].unique())
    key = f"wb_chosen_{model.dataset}"
    _keep(key, everyone, everyone[:3], many=True)
    chosen = st.multiselect("Units to pick out", everyone, key=key, max_selections=10)
    st.altair_chart(residuals_over_time(over, time, units, chosen), width="stretch")
    spread = residual_spread({model.name: over["residual"].to_numpy()}, over["time"].to_numpy())
    st.altair_chart(spread_over_time(spread, time), width="stretch")


def downloads(models: list[wb.Fitted]) -> None:
    """The table of models, and the R and Python scripts that refit every model."""
    if not models:
        return
    st.header("5. Downloads")
    a, b, c = st.columns(3)
    a.download_button("The table of models (CSV)", wb.models_table(models).to_csv(index=False),
                      "models.csv", "text/csv", key="wb_dl_table")
    b.download_button("R script (lme4) for every model", r_script(models, datasets()), "workbench_models.R",
                      "text/plain", key="wb_dl_r")
    c.download_button("Python script (lib) for every model", python_script(models, datasets()),
                      "workbench_models.py", "text/x-python", key="wb_dl_py")
    with st.expander("The R script"):
        st.code(r_script(models, datasets()), language="r")
    with st.expander("The Python script"):
        st.code(python_script(models, datasets()), language="python")

"""The mixed-model pages under AppTest: no exception, the tutorial's numbers on screen
(checked against lme4's results in seed_lme4.json to the precision shown), and a
random-term widget that changes the model shown.

Fits are cached by the pages (st.cache_resource, process-wide), so each model is fitted
once per test session however many page runs ask for it.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest
from band import lmer_crit, optimum_cases, reference_points
from scipy import stats
from streamlit.testing.v1 import AppTest

from lib.teach.contents import REPO

TIMEOUT = 90
# A number shown must round from a value in the reference band of its quantity (tests/band.py: lme4's
# stop and the runs that reach the optimum), widened by the largest level-set floor of that quantity
# among the tutorial's fits, relative to its value (measured: variances 2.0e-4, for MModTime4's
# near-zero covariances; standard errors 8.5e-6; fixed effects 5.4e-7).
VC_SLACK, FIXEF_SLACK, SE_SLACK = 2e-4, 1e-6, 1e-5
VARCORR_COLUMNS = ["Groups", "Name", "Variance", "Std.Dev."]
FIXEF_COLUMNS = ["Estimate", "Std. Error", "t value"]


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / f"{page}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- reading the page ----------------------------------------------------------------

def tables(at: AppTest, columns: list[str]) -> list[pd.DataFrame]:
    return [t.value for t in at.table if all(c in t.value.columns for c in columns)]


def summaries(at: AppTest) -> list[str]:
    return [c.value for c in at.code if c.value.startswith("Linear mixed model fit by")]


def codes(at: AppTest, start: str) -> list[str]:
    return [c.value for c in at.code if c.value.startswith(start)]


def close_to_shown(shown: str, ref: float | list[float], rel: float = 0.0) -> bool:
    """A number as displayed rounds from a value within [min(ref), max(ref)] (+ rel slack)."""
    lo, hi = (min(ref), max(ref)) if isinstance(ref, list) else (ref, ref)
    s = shown.strip()
    if s.startswith("<"):  # "< 2.2e-16"
        return lo < float(s[1:])
    value = float(s)
    mant = s.lower().split("e")[0]
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    exp = int(s.lower().split("e")[1]) if "e" in s.lower() else 0
    half = 0.5 * 10 ** (exp - decimals) * (1 + 1e-9)
    return lo - half - rel * abs(lo) <= value <= hi + half + rel * abs(hi)


def band_of(model: str) -> dict:
    """The tutorial fit's reference points (optimum_lme4.json), as a seed-like dict of value lists."""
    pts = reference_points(optimum_cases()[model], lmer_crit)
    names = list(pts[0]["fixef"])
    vc = [(r["grp"], r["var1"], r["var2"]) for r in pts[0]["varcorr"]]
    return {"fixef": {n: [p["fixef"][n] for p in pts] for n in names},
            "se": {n: [p["se"][n] for p in pts] for n in names},
            "varcorr": [{"grp": g, "var1": a, "var2": b, "vcov": [p["varcorr"][i]["vcov"] for p in pts],
                         "sdcor": [p["varcorr"][i]["sdcor"] for p in pts]} for i, (g, a, b) in enumerate(vc)],
            "crit": [p["crit"] for p in pts]}


def lrt_band(seed_lrt: dict, a: str, b: str) -> dict:
    """lrtest(a, b)'s Chisq and p at lme4's stops (seed) and at the optima (optimum_lme4.json)."""
    ca, cb = optimum_cases()[a]["optimum"]["crit"], optimum_cases()[b]["optimum"]["crit"]
    chisq = abs(ca - cb)
    p = float(stats.chi2.sf(chisq, abs(seed_lrt["df"][1] - seed_lrt["df"][0])))
    return {"df": seed_lrt["df"], "logLik": [[seed_lrt["logLik"][0], -ca / 2]],
            "chisq": [seed_lrt["chisq"], chisq], "p": [seed_lrt["p"], p]}


def varcorr_rows(table: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    """(group, name) -> (Variance, Std.Dev.) as shown; blank Groups cells carry the group above."""
    out, group = {}, ""
    for _, r in table.iterrows():
        group = r["Groups"] or group
        out[(group, r["Name"])] = (r["Variance"], r["Std.Dev."])
    return out


def check_varcorr(table: pd.DataFrame, ref: dict) -> None:
    rows = varcorr_rows(table)
    for r in ref["varcorr"]:
        if r["var2"] is not None:
            continue
        key = ("Residual", "") if r["grp"] == "Residual" else (r["grp"], r["var1"])
        var, sd = rows[key]
        assert close_to_shown(var, r["vcov"], VC_SLACK), (key, var, r["vcov"])
        assert close_to_shown(sd, r["sdcor"], VC_SLACK), (key, sd, r["sdcor"])


def check_fixef(table: pd.DataFrame, ref: dict) -> None:
    assert list(table.index) == list(ref["fixef"])
    for name, est in ref["fixef"].items():
        assert close_to_shown(table.loc[name, "Estimate"], est, FIXEF_SLACK), (name, table.loc[name, "Estimate"], est)
        assert close_to_shown(table.loc[name, "Std. Error"], ref["se"][name], SE_SLACK)


def check_summary(text: str, ref: dict) -> None:
    assert f"Formula: {ref['formula']}" in text
    if ref["REML"]:
        m = re.search(r"REML criterion at convergence: (\S+)", text)
        crit = band_of(ref["name"])["crit"]
        assert m and close_to_shown(m.group(1), crit), (m and m.group(1), crit)
    groups = "; ".join(f"{g}, {n}" for g, n in ref["ngrps"].items())
    assert f"Number of obs: {ref['nobs']}, groups:  {groups}" in text


def check_model(at: AppTest, i: int, ref: dict) -> None:
    """The i-th fitted model on the page: summary text, random-effects and fixed-effects tables,
    against the reference band of the seed fit `ref` (a REML fit of seed_lme4.json)."""
    check_summary(summaries(at)[i], ref)
    band = band_of(ref["name"])
    check_varcorr(tables(at, VARCORR_COLUMNS)[i], band)
    check_fixef(tables(at, FIXEF_COLUMNS)[i], band)


def check_lrt(table: pd.DataFrame, ref: dict) -> None:
    row = table.iloc[1]
    assert [int(v) for v in table["#Df"]] == ref["df"]
    assert close_to_shown(table["LogLik"].iloc[0], ref["logLik"][0])
    assert close_to_shown(row["Chisq"], ref["chisq"]), (row["Chisq"], ref["chisq"])
    assert close_to_shown(row["Pr(>Chisq)"], ref["p"]), (row["Pr(>Chisq)"], ref["p"])


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


# -- pages ---------------------------------------------------------------------------------

def test_random_effects_page(seed_ref, lm_refs):
    at = run("random_effects")
    assert at.title[0].value == "Random effects & the LMM" and not at.error and not at.warning
    check_model(at, 0, seed_ref["lmer_reml"]["MMod"])
    side = next(t for t in at.table if "lm LMod2 estimate" in t.value.columns).value
    for row in lm_refs["LMod2"]["coef"]:
        assert close_to_shown(side.loc[row["_row"], "lm LMod2 estimate"], row["Estimate"])
    assert metric(at, "lm: family contrasts") == "7"
    assert close_to_shown(metric(at, "MMod: FamID variance"), 30.2746438283581)
    assert close_to_shown(metric(at, "lm: residual variance (σ²)"), lm_refs["LMod2"]["sigma"] ** 2)

    at.selectbox(key="re_g0").set_value("IndID").run()
    assert not at.exception
    assert "Formula: IgG ~ Sex + (1 | IndID)" in summaries(at)[0]
    assert "IndID, 135" in summaries(at)[0]


def test_variance_components_page():
    at = run("variance_components")
    assert not at.error
    groups = [m.value for m in at.metric if m.label == "groups"]
    assert groups[:2] == [4, 7] or groups[:2] == ["4", "7"]
    assert "groups:  IndID, 135; FamID, 8" in summaries(at)[-1]
    codes_table = next(t.value for t in at.table if "grouping factor" in t.value.columns)
    assert codes_table.set_index("grouping factor")["groups"].to_dict()["Sex:IndID"] == 270

    at.selectbox(key="vcreal_g1").set_value("Sex:IndID").run()
    assert not at.exception
    assert "groups:  Sex:IndID, 270; FamID, 8" in summaries(at)[-1]
    at.selectbox(key="vc_g0").set_value("UniqueID").run()
    assert "Individual" not in summaries(at)[0].split("Random effects")[1].split("Fixed")[0]
    assert "UniqueID, 7" in summaries(at)[0]


def test_multiple_factors_page(seed_ref):
    at = run("multiple_factors")
    assert not at.error
    check_model(at, 0, seed_ref["lmer_reml"]["MMod2"])
    assert len(summaries(at)) == 1  # the other two are made only when their expanders are opened
    at.session_state["mf_summary"] = at.session_state["mf_summary3"] = True
    at.run()
    check_model(at, 1, seed_ref["lmer_reml"]["MMod"])
    check_model(at, 2, seed_ref["lmer_reml"]["MMod3"])
    lrts = tables(at, ["#Df", "LogLik", "Chisq"])
    check_lrt(lrts[0], lrt_band(seed_ref["lrtest_reml"]["MMod2_vs_MMod"], "MMod2", "MMod"))
    check_lrt(lrts[1], lrt_band(seed_ref["lrtest_reml"]["MMod2_vs_MMod3"], "MMod2", "MMod3"))
    anova = tables(at, ["npar", "AIC", "deviance"])[0]
    ref = seed_ref["anova_ml_refit"]["MMod2_vs_MMod3"]
    assert close_to_shown(anova["Chisq"].iloc[1], ref["chisq"]) and close_to_shown(anova["Pr(>Chisq)"].iloc[1], ref["p"])
    assert any("REML fits have different fixed effects" in w.value for w in at.warning)

    at.radio(key="mf_bar0").set_value("||").run()
    assert not at.exception
    # lme4 prints || expanded: ((1 | FamID) + (0 + Sex | FamID))
    assert "Formula: IgG ~ Sex + ((1 | FamID) + (0 + Sex | FamID))" in summaries(at)[0]
    assert "FamID.1" in varcorr_rows(tables(at, VARCORR_COLUMNS)[0]).__str__()


def test_random_regression_page(seed_ref):
    at = run("random_regression")
    assert not at.error
    check_model(at, 0, seed_ref["lmer_reml"]["MModTime"])
    check_model(at, 1, seed_ref["lmer_reml"]["MModTime2"])
    check_lrt(tables(at, ["#Df", "LogLik", "Chisq"])[0],
              lrt_band(seed_ref["lrtest_reml"]["MModTime_vs_MModTime2"], "MModTime", "MModTime2"))
    assert len(at.get("vega_lite_chart")) >= 2

    at.multiselect(key="rrb_sl0").set_value([]).run()
    assert not at.exception
    assert "Formula: IgG ~ Sex * Time + (1 | FamID)" in summaries(at)[1]


def test_ml_vs_reml_page(seed_ref):
    at = run("ml_vs_reml")
    assert not at.error
    reml, ml = seed_ref["lmer_reml"]["MMod"], seed_ref["lmer_ml"]["MMod"]
    texts = summaries(at)
    check_summary(texts[0], reml)
    assert "Linear mixed model fit by maximum likelihood" in texts[1]
    assert re.search(r"\s1478\.9\s", texts[1])  # the deviance ML prints
    sd = lambda ref: next(r["sdcor"] for r in ref["varcorr"] if r["grp"] == "FamID")  # noqa: E731
    assert close_to_shown(metric(at, "REML: SD of FamID at the optimum"), sd(reml))
    assert close_to_shown(metric(at, "ML: SD of FamID at the optimum"), sd(ml))
    assert metric(at, "REML criterion at the optimum") == "1475.7"
    assert metric(at, "deviance at the optimum") == "1478.9"
    side = next(t.value for t in at.table if "ML / REML" in t.value.columns)
    fam = side[(side["quantity"] == "variance") & (side["term"] == "FamID (Intercept)")].iloc[0]
    assert close_to_shown(fam["REML"], reml["varcorr"][0]["vcov"]) and close_to_shown(fam["ML"], ml["varcorr"][0]["vcov"])

    at.selectbox(key="mr_g0").set_value("IndID").run()
    assert not at.exception
    assert "Formula: IgG ~ Sex + (1 | IndID)" in summaries(at)[0]
    assert any(m.label == "REML: SD of IndID at the optimum" for m in at.metric)


def test_convergence_page(seed_ref):
    optimum_ref = optimum_cases()
    at = run("convergence")
    assert not at.error
    ref3, printed = seed_ref["lmer_reml"]["MModTime3"], seed_ref["tutorial_as_printed"]["MModTime3"]
    check_summary(summaries(at)[0], ref3)
    story = next(t.value for t in at.table if "lme4's message" in t.value.columns)
    assert story["lme4's message"].tolist() == [ref3["conv_messages"], printed["conv_messages"]]
    checks = story["lme4's check, run here at lme4's point"].tolist()
    assert checks[0] == ref3["conv_messages"]
    assert checks[1].startswith("Model failed to converge with max|grad| = 0.02117")
    # the optimum is singular on both readings (optimum_lme4.json: MModTime3 singular at the optimum)
    assert optimum_ref["MModTime3"]["optimum"]["singular"]
    assert story["at the optimum (this app)"].tolist() == ["singular", "singular"]
    # where lme4 stopped, in the criterion: optimum_lme4.json's lme4_default minus optimum, 3.9e-6
    gap = optimum_ref["MModTime3"]["lme4_default"]["crit"] - optimum_ref["MModTime3"]["optimum"]["crit"]
    assert story["lme4's stop above the optimum"].iloc[0] == f"{gap:.1e}"
    # singular through the correlation: IndID's Time variance 0.5363 with Corr 1.00 at lme4's stop on R's
    # reading (seed_lme4.json tutorial_as_printed: vcov 0.536267570353215, sdcor 0.999911224621276)
    slope = story["IndID Time at lme4's stop"].iloc[1]
    assert slope.startswith("variance 0.5363, Corr 1.00") and "0.00124" in slope
    assert any("through the correlation" in m.value for m in at.markdown)
    grads = [m.value for m in at.metric if m.label.startswith("max|grad| by lme4's check")]
    assert len(grads) == 1 and float(grads[0]) == pytest.approx(0.0211755, rel=2e-5)  # none for singular
    assert [m.value for m in at.metric if m.label == "lme4's verdict"] == ["singular", "failed to converge"]
    # the summary marks where lme4 1.1-31 printed other digits (lme4_reference: FamID variance 29.3666)
    marking = next(c.value for c in at.caption if "Beside lme4 1.1-31" in c.value)
    assert f"{gap:.1e} above the optimum" in marking and "29.3666 in lme4" in marking
    # the far stop: golden/lme4/double_bar.txt against double_bar_optimum.txt
    assert any("**37169.5**" in m.value and "**37165.1**" in m.value and "4.4 lower" in m.value for m in at.markdown)
    ind1 = next(c.value for c in at.code if c.value.lstrip().startswith("FamID IndID Time Sex"))
    rows = ind1.splitlines()[1:]
    assert len(rows) == 36 and {r.split()[4] for r in rows} == {"F", "M"} and {r.split()[2] for r in rows} == {"1"}
    assert rows[0].split() == ["1", "3", "1", "0", "F", "132.99351"]  # R prints 7 significant digits
    check_model(at, 1, seed_ref["lmer_reml"]["MModTime4"])
    check_lrt(tables(at, ["#Df", "LogLik", "Chisq"])[0],
              lrt_band(seed_ref["lrtest_reml"]["MModTime2_vs_MModTime4"], "MModTime2", "MModTime4"))
    check_on_demand(at, ref3)

    at.radio(key="cv_data").set_value("all_r_read").run()
    at.session_state["cv_calls"] = True
    at.run()
    assert not at.exception and not at.error
    assert any('read.csv("ImmuneData.csv")  # R reads row 781 one ulp high' in c for c in codes(at, "library(lme4)"))
    assert any("boundary (singular) fit" in w.value for w in at.warning)  # the optimum on R's reading too
    at.multiselect(key="cv_sl1").set_value([]).run()
    assert not at.exception
    assert "(1 + Time | FamID) + (1 | IndID)" in summaries(at)[0]


def check_on_demand(at: AppTest, ref3: dict) -> None:
    """Convergence's closed expanders send nothing (ui.widgets.on_demand); opened, their content:
    both far-stop summaries (golden/lme4/double_bar.txt: 37169.5 at lme4's stop, 37165.1 here), each
    reading's gradient over MModTime3's six parameters, and lme4's own print of MModTime3."""
    assert not codes(at, "> summary(m)") and not at.dataframe
    for key in ("cv_far", "cv_gradients", "cv_digits", "cv_lme4"):
        at.session_state[key] = True
    at.run()
    assert not at.exception and not at.error
    assert "REML criterion at convergence: 37169.5" in codes(at, "> summary(m)")[0]
    assert "REML criterion at convergence: 37165.1" in codes(at, "> print(m.summary())")[0]
    assert [len(d.value) for d in at.dataframe] == [len(ref3["theta"])] * 2
    digits = tables(at, ["quantity", "determined by the model"])[0]  # tests/teach/test_story.py checks its rows
    assert set(digits["determined by the model"]) <= {"yes", "no"} and len(digits) > len(ref3["theta"])
    lme4_print = codes(at, "> print(summary(MModTime3)")[0]
    assert "29.3666" in lme4_print  # lme4_reference: FamID variance as lme4 1.1-31 printed it


def test_qaqc_page(seed_ref):
    at = run("qaqc")
    assert not at.error
    ref = seed_ref["lmer_reml"]["MModTime4"]
    check_model(at, 0, ref)
    caption = next(c.value for c in at.caption if c.value.startswith("Scaled residuals"))
    shown = re.findall(r"-?\d+\.\d{4}", caption)
    assert all(close_to_shown(s, q) for s, q in zip(shown, ref["scaled_resid_quantiles"]))
    spread = next(t.value for t in at.table if "SD at first month" in t.value.columns)
    assert len(spread) == 3
    last = {k: float(v) for k, v in spread["last / first"].items()}
    assert last["MModTime4 (… + (1 + Time | Sex:IndID))"] < 1.2 < last["MModTime2 (1 + Time | FamID)"]

    at.radio(key="qa_how").set_value("A whole family").run()
    assert not at.exception and any(c.value.startswith("Family 1:") for c in at.caption)
    at.selectbox(key="qa_g1").set_value("IndID").run()
    assert not at.exception
    assert "(1 + Time | FamID) + (1 + Time | IndID)" in summaries(at)[0]
    assert len(next(t.value for t in at.table if "SD at first month" in t.value.columns)) == 4


# -- fits that cannot be done: lme4's message and plain words, never a traceback -------------

def test_impossible_fit_shows_lme4s_error_and_what_it_means():
    at = run("random_effects")
    at.selectbox(key="re_g0").set_value("Sex:IndID").run()  # one person per row at Time 0
    assert not at.exception
    assert any("number of levels of each grouping factor must be < number of observations" in e.value
               for e in at.error)
    assert any("One group per observation" in i.value for i in at.info)


def test_singular_fit_is_a_warning_with_an_explanation(seed_ref):
    at = run("multiple_factors")
    at.radio(key="mf_reml").set_value("ML").run()  # MMod2 by ML ends on the boundary, as in lme4
    assert not at.exception and not at.error
    assert seed_ref["lmer_ml"]["MMod2"]["conv_messages"] == "boundary (singular) fit: see help('isSingular')"
    assert any("boundary (singular) fit" in w.value for w in at.warning)
    assert any("Singular fit" in i.value for i in at.info)


def test_an_empty_random_term_is_explained_not_fitted():
    at = run("random_effects")
    at.checkbox(key="re_int0").uncheck().run()
    assert not at.exception and not at.error
    assert any("tick the intercept or a slope" in m.value for m in at.markdown)


def test_reset_brings_back_the_tutorials_model():
    at = run("random_effects")
    first = summaries(at)[0]
    at.selectbox(key="re_g0").set_value("IndID").run()
    at.radio(key="re_reml").set_value("ML").run()
    assert summaries(at)[0] != first and "maximum likelihood" in summaries(at)[0]
    at.button(key="re_reset").click().run()
    assert not at.exception and summaries(at)[0] == first

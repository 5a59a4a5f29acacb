"""The Generalized mixed models page under AppTest: it runs, its widgets change the numbers, bad
choices give an error box, never a traceback."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lib.teach.contents import REPO

PAGE = str(REPO / "pages" / "tutorial" / "glmm.py")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture()
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_default_is_the_binary_model_with_lme4s_numbers(at):
    assert at.title[0].value == "Generalized mixed models"
    assert not at.error
    m = metrics(at)
    assert m["AIC"] == "2645.27" and m["-2 logLik"] == "2635.27" and m["deviance()"] == "2588.13"
    summary = next(c.value for c in at.code if "summary(fit)" in c.value)
    assert "Generalized linear mixed model fit by maximum likelihood (Laplace" in summary
    assert " Family: binomial  ( logit )" in summary
    assert "anova(fit0, fit)" in "".join(c.value for c in at.code)
    r_call = next(c.value for c in at.code if c.language == "r")
    assert "glmer(Low ~ Sex * Time + (1 | FamID), data = d, family = binomial)" in r_call
    assert int(m["Fitted values below 0"].split()[0]) > 0  # the normal model leaves [0, 1]


def test_widgets_change_the_fit(at):
    before = metrics(at)["AIC"]
    at.multiselect(key="glmm_terms_binary").set_value(["Sex", "Time"]).run()
    assert not at.exception and not at.error
    assert metrics(at)["AIC"] == "2644.18" != before
    at.selectbox(key="glmm_link").set_value("probit").run()
    assert not at.exception and not at.error
    at.session_state["glmm_view"] = "Tables"  # where the odds ratios would be
    at.run()
    assert any("probit" in i.value for i in at.info)
    at.radio(key="glmm_model").set_value("counts").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="glmm_family").value == "poisson"
    m = metrics(at)
    assert m["AIC"] == "1375.04" and m["deviance()"] == "309.283"
    assert any("family = poisson" in c.value for c in at.code)
    at.radio(key="glmm_model").set_value("months").run()
    assert not at.exception and not at.error and metrics(at)["AIC"] == "1449.15"
    at.select_slider(key="glmm_nagq").set_value(5).run()
    assert not at.exception and not at.error and metrics(at)["logLik"] != "-721.573"


def test_bad_family_for_the_data_is_an_error_box(at):
    at.radio(key="glmm_model").set_value("counts").run()
    at.selectbox(key="glmm_family").set_value("binomial").run()
    assert not at.exception
    assert at.error and "0 <= y <= 1" in at.error[0].value
    at.radio(key="glmm_model").set_value("months").run()
    at.selectbox(key="glmm_family").set_value("poisson").run()
    assert not at.exception
    assert at.error and "binomial" in at.error[0].value


def test_nagq_above_one_explains_the_jump_in_loglik(at):
    """Issue 15: nAGQ = 9 moved logLik by ~395 without a word. lme4 then leaves out the saturated model's
    log-likelihood (tests/teach/test_story.py checks the number against R's)."""
    at.radio(key="glmm_model").set_value("months").run()
    laplace = float(metrics(at)["logLik"])
    assert not any("saturated model" in i.value for i in at.info)
    at.select_slider(key="glmm_nagq").set_value(9).run()
    assert not at.exception and not at.error
    note = next(i.value for i in at.info if "relative to the saturated model" in i.value)
    assert f"move by {abs(laplace - float(metrics(at)['logLik'])):.1f}" in note


def test_the_distribution_is_not_called_family_alone(at):
    """Issue 15: a "Family" select (binomial, Poisson) beside FamID's families."""
    assert at.selectbox(key="glmm_family").label.startswith("Distribution")


def test_the_tables_tab_is_made_when_chosen_and_agrees_with_the_summary(at):
    """The Tables tab is lazy (nothing sent until chosen); chosen, its estimates are the summary's, to
    the summary's printed digits (half a unit of the last one: R's rounding of the same numbers)."""
    assert not at.dataframe
    at.session_state["glmm_view"] = "Tables"
    at.run()
    assert not at.exception and len(at.dataframe) == 3  # estimates, odds ratios, variances
    estimates = at.dataframe[0].value
    summary = next(c.value for c in at.code if "summary(fit)" in c.value)
    block = summary.split("Fixed effects:")[1].splitlines()[2:2 + len(estimates)]
    for name, line in zip(estimates.index, block):
        label, printed = line.split()[:2]
        assert label == name
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        assert abs(estimates.loc[name, "Estimate"] - float(printed)) <= 0.5 * 10 ** -decimals

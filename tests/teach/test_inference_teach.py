"""The inference pages' teaching logic: which p-values disagree, how lopsided a profile is, the bands."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.engine.confint import wald
from lib.engine.profile import profile
from lib.teach import inference as inf
from lib.teach.bootstrap_page import lrt_table


def test_disagreements_across_five_percent_and_by_factor():
    table = pd.DataFrame({"df (Satterthwaite)": [6.9, 250.0, 7.1],
                          "p (Wald z)": [0.01, 0.001, 1e-30], "p (Satterthwaite)": [0.08, 0.0012, 1e-9]},
                         index=["Time", "SexM", "(Intercept)"])
    notes = inf.disagreements(table)
    assert len(notes) == 1 and notes[0].startswith("**Time**: the verdict at 0.05 depends on the method")
    assert "between groups" in notes[0]
    table.loc["SexM", "p (Satterthwaite)"] = 0.02
    notes = inf.disagreements(table)
    assert any(n.startswith("**SexM**: all methods agree it is significant") and "within groups" in n
               for n in notes)


def test_profile_table_and_shape_notes(lmer_fits):
    """MMod's family SD: the profile interval [3.34, 9.28] (lme4's confint) reaches 2.3 times as far
    above the ML estimate 5.14 as below it; its fixed effects are nearly symmetric."""
    fit = lmer_fits.get("MMod")
    table = inf.profile_table(profile(fit, which=[".sig01", "SexM"]), wald(fit))
    assert table.loc[".sig01", "upper / lower reach"] == pytest.approx((9.2753 - 5.1422) / (5.1422 - 3.3405), rel=1e-3)
    assert np.isnan(table.loc[".sig01", "Wald lower (fit)"])
    notes = inf.shape_notes(table)
    assert len(notes) == 1 and notes[0].startswith("**.sig01**")


def test_prediction_bands_of_mmodtime4(lmer_fits):
    """The population band widens with Time (the slope's uncertainty); an individual's measurements
    sit inside their own 95% prediction band about 95% of the time (1-F, 1-M, 7-F: 54 measurements,
    at least 45 inside, a binomial(54, 0.95) lower 0.1% quantile)."""
    fit = lmer_fits.get("MModTime4")
    pop = inf.population_band(fit)
    units = inf.unit_bands(fit, lmer_fits.frame("MModTime4"), ["1-F", "1-M", "7-F"])
    w = inf.band_widths(pop, units)
    assert w["population_last"] > w["population_first"] > 0
    assert len(units) == 54 and inf.coverage(units) >= 45 / 54


def test_lrt_table_rows():
    from lib.engine.boot_lrt import BootLRT
    from lib.engine.bootstrap import Replicates
    res = BootLRT(5.0, 2, Replicates(1, 4, np.array([[0.0], [1.0], [6.0], [2.0]])))
    table = lrt_table(res)
    assert list(table.index) == ["lrtest()", "boundary-corrected", "bootstrap"]
    assert table.loc["bootstrap", "p-value"] == pytest.approx(2 / 5)


def test_checks_of_the_inference_pages(lmer_fits):
    """The intercept of MMod has the fewest df (7.16 against 261.1, lmerTest); the family SD's profile
    interval is lopsided; 200 replicates cannot give a p below 1/201; the chi-square p is the largest."""
    from lib.engine.boot_lrt import BootLRT
    from lib.engine.bootstrap import Replicates
    from lib.teach import bootstrap_page as bp
    from lib.teach import exercise_bank as bank
    from lib.teach.exercises import grade
    from lib.engine.satterthwaite import coef_table

    fit = lmer_fits.get("MMod")
    table = inf.p_value_table(fit, coef_table(fit), None, None)
    ptable = inf.profile_table(profile(fit, which=[".sig01"]), wald(fit))
    few, lop = bank.questions("inference", table=table, profile=ptable)
    assert (few.slot, few.answer, lop.answer) == ("fewest_df", "(Intercept)", "No")
    assert [q.slot for q in bank.questions("inference", table=table, profile=ptable)] == list(bank.SLOTS["inference"])
    res = BootLRT(6.97, 2, Replicates(1, 200, np.linspace(0, 5, 200)[:, None]))
    smallest, which = bp.exercises(200, res)
    assert grade(smallest, 1 / 201).correct and not grade(smallest, 0.01).correct
    assert which.answer == "bootstrap" and [q.slot for q in bp.exercises(200, res)] == list(bank.SLOTS["bootstrap"])

"""ui/cache.py: the warm-up computes what the pages show by default, with the keys the pages use."""
from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest

from lib.teach.contents import REPO, available_sections
from ui import cache

# what the cached functions compute from (in ui.cache's namespace): called again only on a cache miss
UNDERLYING = ("_fit_lmer", "_fit_lm", "lm", "design_count", "to_spec", "replay", "reading", "last_digit_costs",
              "compare_with_lme4", "criterion_frames", "residual_spread", "code_pairs", "file_text",
              "varpar_covariance", "coefficient_lrt", "explained", "profile", "population_band", "unit_bands",
              "pooling", "covariance_ellipses", "caterpillar", "Experiment")


def test_the_warm_up_computes_every_default_without_error(caplog):
    with caplog.at_level(logging.ERROR, logger=cache.__name__):
        cache.compute(cache.default_work())
    assert not [r for r in caplog.records if r.name == cache.__name__]


@pytest.fixture()
def computed(monkeypatch) -> list[str]:
    """The names of the underlying computations called from now on."""
    calls: list[str] = []
    # the cache module's own computations, and the GLMM pages' fits and simulations
    targets = [(cache, name) for name in UNDERLYING] + \
        [(cache.gp, name) for name in ("fit_glmm", "normal_misfit", "prediction_frame")] + \
        [(cache.gr, name) for name in ("fit_model", "run_checks")]
    for module, name in targets:
        original = getattr(module, name)

        def counting(*args, _name=name, _f=original, **kwargs):
            calls.append(_name)
            return _f(*args, **kwargs)
        monkeypatch.setattr(module, name, counting)
    return calls


def test_after_the_warm_up_no_page_computes_anything(computed):
    """A first visit to any page on a warm server finds its fits, stories and charts made."""
    cache.compute(cache.default_work())
    computed.clear()
    for section in available_sections():
        at = AppTest.from_file(str(REPO / section.page), default_timeout=120).run()
        assert not at.exception
        assert computed == [], (section.page, computed)

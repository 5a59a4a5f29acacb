"""The QA/QC of a binomial or Poisson GLMM, by simulated residuals (lib.engine.sim_residuals).

The models are the "Generalized mixed models" page's (lib.teach.glmm_page.MODELS); each may get
the random parts offered here. The months-of-18 model is the page's lesson: with (1 | FamID) alone
the people of a family differ more than a binomial allows (overdispersion), which the dispersion
test flags; a random effect per person, (1 | Sex:IndID) (one row per person: an observation-level
random effect), takes it up.
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.engine.sim_residuals import (
    ScaledResiduals,
    TestResult,
    dispersion_test,
    outlier_test,
    pearson_dispersion_test,
    scaled_residuals,
    uniformity_test,
)
from lib.teach.fitting import Outcome, attempt
from lib.teach.glmm_page import MODELS, load_model_data
from lib.teach.model_builder import fixed_text

RANDOM_PARTS: dict[str, tuple[str, ...]] = {
    "binary": ("(1 | FamID)",),
    "months": ("(1 | FamID)", "(1 | FamID) + (1 | Sex:IndID)"),
    "counts": ("(1 | Site)",),
}
NSIM_CHOICES = (100, 250, 500, 1000)
DEFAULT_NSIM, DEFAULT_SEED, DEFAULT_CONDITIONAL = 250, 1, True  # what the page shows first


def formula(key: str, random: str) -> str:
    m = MODELS[key]
    return f"{m.response} ~ {fixed_text(m.default_terms)} + {random}"


def fit_model(key: str, random: str) -> Outcome:
    """glmer of the page's model `key` with the random part `random` (one of RANDOM_PARTS[key])."""
    from lib.api import glmer

    if random not in RANDOM_PARTS.get(key, ()):
        raise ValueError(f"no random part {random!r} for the model {key!r}")
    text = formula(key, random)
    return attempt(lambda: glmer(text, load_model_data(key), family=MODELS[key].family), text, key)


@dataclass(frozen=True)
class Checks:
    residuals: ScaledResiduals
    uniformity: TestResult
    dispersion: TestResult
    outliers: TestResult
    pearson: TestResult

    @property
    def tests(self) -> dict[str, TestResult]:
        return {"uniformity": self.uniformity, "dispersion": self.dispersion,
                "outliers": self.outliers, "Pearson dispersion": self.pearson}


def run_checks(fit, nsim: int, seed: int, conditional: bool) -> Checks:
    """Simulated residuals of `fit` and DHARMa's tests on them."""
    res = scaled_residuals(fit, nsim, seed, conditional)
    return Checks(res, uniformity_test(res), dispersion_test(res), outlier_test(res),
                  pearson_dispersion_test(fit))


def verdict(test: TestResult, alpha: float = 0.05) -> str:
    """The test in words, with its p-value."""
    if test.flagged(alpha):
        return f"flagged (p = {test.p_value:.3g} < {alpha:g})"
    return f"no evidence of a problem (p = {test.p_value:.3g})"

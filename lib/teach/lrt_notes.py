"""What a likelihood-ratio comparison of two mixed models may and may not say.

`comparison_notes(a, b)` says, in plain words, whether the two fits can be compared
by their (REML or ML) likelihoods: REML likelihoods only compare models with the same
fixed effects; a variance tested at zero sits on the boundary of its parameter space,
so the chi-square p-value is conservative. `boundary_p` gives the usual
correction for one variance (and its covariances) tested at zero: a 50:50 mixture
of chi-square distributions with df - 1 and df degrees of freedom.
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.engine.boot_lrt import mixture_p as boundary_p  # noqa: F401 (the pages' name for it)


@dataclass(frozen=True)
class Note:
    kind: str  # "reml_fixed" | "boundary" | "ok" | "data"
    text: str


def _fixed_terms(fit) -> frozenset[str]:
    return frozenset(fit.fixef.index)


def _random_terms(fit) -> frozenset[tuple[str, tuple[str, ...]]]:
    return frozenset((b.group, tuple(b.cnames)) for b in fit.blocks)


def comparison_notes(a, b) -> list[Note]:
    """Notes on comparing fits a and b (LmerFit) by a likelihood-ratio test."""
    notes: list[Note] = []
    if a.nobs != b.nobs:
        notes.append(Note("data", f"The models are fitted to different numbers of rows ({a.nobs} vs "
                                  f"{b.nobs}): their likelihoods cannot be compared."))
        return notes
    same_fixed = _fixed_terms(a) == _fixed_terms(b)
    if a.REML != b.REML:
        notes.append(Note("reml_fixed", "One model is fitted by REML and the other by ML: their "
                                        "likelihoods are of different kinds and cannot be compared."))
    elif a.REML and not same_fixed:
        notes.append(Note("reml_fixed",
                          "The fixed effects differ, so these REML likelihoods are of different data "
                          "(REML uses the residuals after the fixed effects), and the test is not valid. "
                          "Compare fixed effects by ML: R's anova() refits both models with ML first."))
    elif a.REML:
        notes.append(Note("ok", "Same fixed effects, different random effects: comparing REML "
                                "likelihoods is right here."))
    if same_fixed:
        ra, rb = _random_terms(a), _random_terms(b)
        if ra != rb and (ra < rb or rb < ra or len(a.theta) != len(b.theta)):
            notes.append(Note("boundary",
                              "The test asks whether a variance is zero. Zero is the edge of what a variance "
                              "can be, so the chi-square p-value is conservative (too large); a common fix "
                              "halves it, i.e. uses a 50:50 mixture of chi-square distributions."))
    return notes

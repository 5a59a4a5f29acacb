"""This app's summary of a tutorial model beside lme4 1.1-31's own, and why their last digits can differ.

The engine reports the criterion's optimum; lme4's default optimizer stops up to 5e-5 above it, at
a point that depends on the path it took. Where the criterion is flat, that small gap moves the last
printed digit (MModTime2's intercept SE: 1.9659 at the optimum, 1.9656 at lme4's stop) and can
change lme4's verdict (MModTime3 by ML: a gradient warning at lme4's stop, singular at the optimum).
`compare_with_lme4` lists the printed numbers that differ and how far lme4 stopped above the optimum,
from lme4's own printout (data/lme4_reference.json).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lib.data.lme4_reference import PrintedDifference, criterion_gap, lme4_fit, printed_differences
from lib.rprint.lme4_print import lmer_summary
from lib.teach import model_builder as mb

REFERENCE = "lme4 1.1-31"
SHOWN_INLINE = 4  # differences named in the sentence; the rest are in the table


def reference_name(formula: str, REML: bool, data: str) -> str | None:
    """The key of lme4's printout of this model in data/lme4_reference.json (None: not a tutorial fit
    on the correctly rounded values, so there is no printout to compare with)."""
    if data == "all_r_read":
        return None
    name = mb.tutorial_name(formula, data)
    if name is None:
        return None
    key = name if REML else f"{name}_ML"
    ref = lme4_fit(key)
    return key if ref is not None and "printed" in ref else None


@dataclass(frozen=True)
class Lme4Comparison:
    name: str  # the tutorial's name (MModTime2, MModTime2_ML)
    differences: tuple[PrintedDifference, ...]
    gap: float  # how far lme4's stop lies above the optimum, in the criterion
    criterion: str  # "REML criterion" or "deviance"
    lme4_printed: str
    lme4_messages: tuple[str, ...]
    our_messages: tuple[str, ...]

    @property
    def same_verdict(self) -> bool:
        return self.lme4_messages == self.our_messages

    def sentence(self) -> str:
        """One line for under the summary: the gap, and which printed numbers differ."""
        head = (f"Beside {REFERENCE}: its default optimizer stopped {self.gap:.1e} above the optimum shown "
                f"here ({self.criterion}).")
        if not self.differences:
            return head + " Every number prints as lme4 printed it."
        named = "; ".join(f"{d.ours} here, {d.lme4} in lme4" for d in self.differences[:SHOWN_INLINE])
        more = len(self.differences) - SHOWN_INLINE
        rest = f"; and {more} more (table below)" if more > 0 else ""
        return (f"{head} {len(self.differences)} printed number(s) differ in their last digits, "
                f"where the criterion is too flat to fix them: {named}{rest}.")

    def verdict_note(self) -> str | None:
        """When lme4's messages at its stop are not the optimum's, say so."""
        if self.same_verdict:
            return None
        theirs = "; ".join(self.lme4_messages) or "no message"
        ours = "; ".join(self.our_messages) or "no message"
        return (f"At its own stopping point {REFERENCE} says: *{theirs}*. At the optimum the check says: "
                f"*{ours}*. The verdict belongs to the point where the optimizer stopped.")

    def table(self) -> pd.DataFrame:
        """Each differing number: lme4's line (for context), the value here, the value lme4 printed."""
        return pd.DataFrame({"lme4's line": [d.line.strip() for d in self.differences],
                             "here (the optimum)": [d.ours for d in self.differences],
                             f"{REFERENCE} (its stop)": [d.lme4 for d in self.differences]})


def compare_with_lme4(fit, formula: str, REML: bool, data: str) -> Lme4Comparison | None:
    """This fit's summary beside lme4's own for the same tutorial model (None if there is none)."""
    name = reference_name(formula, REML, data)
    if name is None:
        return None
    ref = lme4_fit(name)
    ours = lmer_summary(fit, data_name="dat", correlation=False)
    return Lme4Comparison(name, tuple(printed_differences(ours, name)), float(criterion_gap(name) or 0.0),
                          "REML criterion" if REML else "deviance", "\n".join(ref["printed"]),
                          tuple(ref["messages"]), tuple(fit.all_messages))

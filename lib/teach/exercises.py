"""Checks at the end of each page: questions built from the live fit, graded, and progress kept.

A `Question` is made from what the page shows (lib.teach.exercise_bank), so a student who changes
the model gets a question about the new model: its `key` changes with the question. Each page has
fixed `slots` (one per kind of question); progress is a plain dict kept by the caller (the
session), recording per page and slot whether the student has solved it and how many tries it took.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Mapping, MutableMapping, Sequence

NUMBER, CHOICE = "number", "choice"


@dataclass(frozen=True)
class Question:
    slot: str  # which of the page's questions this is
    prompt: str  # markdown
    kind: str  # NUMBER or CHOICE
    answer: float | str
    why: str  # the reasoning, shown with a right answer
    hint: str  # what to look at, shown with a wrong one
    options: tuple[str, ...] = ()
    tolerance: float = 0.0  # for numbers: how far from the answer still counts as right

    def __post_init__(self) -> None:
        if self.kind not in (NUMBER, CHOICE):
            raise ValueError(f"kind must be {NUMBER!r} or {CHOICE!r}")
        if self.kind == CHOICE and self.answer not in self.options:
            raise ValueError(f"the answer {self.answer!r} is not among the options")

    @property
    def key(self) -> str:
        """Changes whenever the question does (another model, another answer)."""
        text = "\x1f".join([self.slot, self.prompt, *self.options, str(self.answer)])
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Feedback:
    correct: bool
    message: str


def grade(question: Question, response: float | str | None) -> Feedback | None:
    """None before an answer; else right or wrong, with the reason (or a hint)."""
    if response is None:
        return None
    if question.kind == NUMBER:
        try:
            value = float(response)
        except (TypeError, ValueError):
            return Feedback(False, "Give a number.")
        right = math.isfinite(value) and abs(value - float(question.answer)) <= question.tolerance + 1e-9
    else:
        if response not in question.options:
            raise ValueError(f"{response!r} is not one of the options")
        right = response == question.answer
    return Feedback(True, f"Right. {question.why}") if right else Feedback(False, f"Not quite. {question.hint}")


def relative(value: float, share: float) -> float:
    """A tolerance of `share` of |value| (a number read off a printout to its shown digits)."""
    return share * abs(value)


# -- progress ------------------------------------------------------------------------------------

Progress = MutableMapping[str, dict[str, dict[str, int | bool]]]


def record(progress: Progress, page: str, question: Question, feedback: Feedback) -> None:
    """Count a try at `question` on `page`; a slot once solved stays solved."""
    entry = progress.setdefault(page, {}).setdefault(question.slot, {"solved": False, "tries": 0})
    entry["tries"] = int(entry["tries"]) + 1
    entry["solved"] = bool(entry["solved"]) or feedback.correct


def solved(progress: Mapping, page: str, slots: Sequence[str]) -> int:
    return sum(bool(progress.get(page, {}).get(s, {}).get("solved")) for s in slots)


def totals(progress: Mapping, pages: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    """(slots solved, slots in all) over the pages."""
    return (sum(solved(progress, p, slots) for p, slots in pages.items()),
            sum(len(slots) for slots in pages.values()))

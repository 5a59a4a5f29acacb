"""The tutorial's "Fixed or random?" question, asked of this study's variables."""
from __future__ import annotations

from dataclasses import dataclass

CHOICES = ("Fixed", "Random")


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    answer: str  # one of CHOICES
    why: str


QUESTIONS: tuple[Question, ...] = (
    Question("family", "Family (FamID): 8 extended families sampled from a population of families.",
             "Random",
             "The 8 families stand for families in general; nobody wants to know about family 5 "
             "in particular. A random effect estimates one variance among families instead of "
             "7 family contrasts, and generalises beyond these 8."),
    Question("sex", "Sex: female or male.", "Fixed",
             "Both levels are in the data and the hypothesis is about this very difference "
             "(the SexM estimate). There is no wider population of sexes the two were drawn from."),
    Question("individual", "Individual: 270 people, each measured 18 times.", "Random",
             "The people are a sample of vaccinated people, and their repeated measures are not "
             "independent. A random intercept (and slope) per person models that with a few "
             "variances instead of 269 contrasts."),
    Question("time", "Time: month 0 to 17 after vaccination.", "Fixed",
             "How IgG declines with time is what we want to estimate, so Time is a fixed slope. "
             "The months are not a random sample of times. (Later, the tutorial also lets the "
             "slope vary at random among families and people, but the mean slope stays fixed.)"),
    Question("dose", "Treatment with 3 doses chosen by the experimenter.", "Fixed",
             "The doses were picked on purpose and the question is about exactly these doses; "
             "they are not a sample from a population of doses, and 3 levels give too little "
             "to estimate a variance from."),
)


def check(question: Question, choice: str | None) -> tuple[bool, str] | None:
    """None before an answer; else whether it is right and the explanation."""
    if choice is None:
        return None
    if choice not in CHOICES:
        raise ValueError(f"answer must be one of {CHOICES}, not {choice!r}")
    right = choice == question.answer
    verdict = "Right" if right else f"Not quite: {question.answer.lower()}"
    return right, f"{verdict}. {question.why}"

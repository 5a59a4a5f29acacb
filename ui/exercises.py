"""The checks at the end of a page, and the student's progress in the sidebar.

A page ends with one line, e.g. `exercises.show("random_effects", fit=outcome.fit, name=name)`: the
keywords are what lib.teach.exercise_bank's builder for that page reads. Answers are graded as soon
as they are given; progress lives in the session (st.session_state), so it lasts while the tab is open.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from lib.teach import exercise_bank as bank
from lib.teach.contents import available_sections
from lib.teach.exercises import NUMBER, Question, grade, record, solved, totals

PROGRESS = "exercise_progress"


def _progress() -> dict:
    return st.session_state.setdefault(PROGRESS, {})


def _widget_key(page: str, q: Question) -> str:
    return f"ex_{page}_{q.slot}_{q.key}"


def _on_answer(page: str, q: Question) -> None:
    feedback = grade(q, st.session_state.get(_widget_key(page, q)))
    if feedback is not None:
        record(_progress(), page, q, feedback)


def _ask(page: str, q: Question) -> None:
    key = _widget_key(page, q)
    st.markdown(q.prompt)
    if q.kind == NUMBER:
        value = st.number_input("Your answer", value=None, key=key, on_change=_on_answer, args=(page, q),
                                format="%.4g", label_visibility="collapsed", placeholder="a number")
    else:
        value = st.radio("Your answer", q.options, index=None, key=key, on_change=_on_answer, args=(page, q),
                         label_visibility="collapsed")
    feedback = grade(q, value)
    if feedback is not None:
        (st.success if feedback.correct else st.error)(feedback.message,
                                                      icon=":material/check:" if feedback.correct else
                                                      ":material/close:")


def show(page: str, **live) -> None:
    """The page's checks on what it shows, then the progress in the sidebar."""
    questions = bank.questions(page, **live)
    st.header("Check yourself", divider="gray")
    if not questions:
        st.info("Fit a model above to get this page's checks.")
    for q in questions:
        with st.container(border=True):
            _ask(page, q)
    sidebar_progress()


def _titles() -> dict[str, str]:
    return {Path(s.page).stem: s.title for s in available_sections()}


def sidebar_progress() -> None:
    """Checks solved so far, per page and in all."""
    progress, titles = _progress(), _titles()
    pages = {p: slots for p, slots in bank.SLOTS.items() if p in titles}
    done, total = totals(progress, pages)
    with st.sidebar:
        st.markdown(f"**Checks solved: {done} of {total}**")
        st.progress(done / total if total else 0.0)
        lines = [f"{'✅' if solved(progress, p, s) == len(s) else '▫️'} {titles[p]}: "
                 f"{solved(progress, p, s)}/{len(s)}" for p, s in pages.items() if p in progress]
        if lines:
            st.caption("  \n".join(lines))


def fit_of(outcome) -> object | None:
    """The fit of an Outcome, or None when there is none (for a page's exercises line)."""
    return outcome.fit if outcome is not None and outcome.ok else None

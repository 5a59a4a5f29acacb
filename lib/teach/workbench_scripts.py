"""The R script (lme4) and the Python script (lib) that reproduce every model of a workbench session.

Each data set the models use (a data set with its factor marks) is read once, as `data1`, `data2`
...; each model is fitted to its data under its own name and summarized.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from lib.teach.workbench import Fitted
from lib.teach.workbench_data import Dataset, typing_lines


def _data_groups(models: Sequence[Fitted]) -> dict[tuple, str]:
    """Each distinct (data set, factors) the models use, named data1, data2 ..."""
    out: dict[tuple, str] = {}
    for m in models:
        out.setdefault(m.data_id, f"data{len(out) + 1}")
    return out


def _script(models: Sequence[Fitted], datasets: Mapping[str, Dataset], head: list[str],
            read: Callable[[Dataset, tuple], list[str]], fit: Callable[[Fitted, str], list[str]]) -> str:
    """head, then each data set read once (`read`), then each model fitted to its data (`fit`)."""
    groups = _data_groups(models)
    lines = list(head)
    for (key, factors), var in groups.items():
        lines += [f"# {datasets[key].label}", *read(datasets[key], factors), ""]
    for m in models:
        lines += [*fit(m, groups[m.data_id]), ""]
    return "\n".join(lines) + "\n"


def r_script(models: Sequence[Fitted], datasets: Mapping[str, Dataset]) -> str:
    """R code that reads the data and fits every model with lme4 as the workbench did."""
    groups = _data_groups(models)

    def read(data: Dataset, factors: tuple) -> list[str]:
        r_types, _ = typing_lines(data, factors)
        return [data.r_read, *([r_types] if r_types else []), f"{groups[(data.key, factors)]} <- d"]

    def fit(m: Fitted, var: str) -> list[str]:
        if m.choice.family == "gaussian":
            call = f"lmer({m.formula}, data = {var}{'' if m.choice.REML else ', REML = FALSE'})"
        else:
            call = f"glmer({m.formula}, data = {var}, family = {m.choice.family})"
        return [f"{m.name} <- {call}", f"summary({m.name})"]

    head = ["# Every model of the workbench session, refitted with lme4.",
            "# Put the data file(s) beside this script, or change the paths.", "library(lme4)", ""]
    return _script(models, datasets, head, read, fit)


def python_script(models: Sequence[Fitted], datasets: Mapping[str, Dataset]) -> str:
    """Python code that reads the data and fits every model with this project's lib."""
    groups = _data_groups(models)

    def read(data: Dataset, factors: tuple) -> list[str]:
        return [data.py_read, typing_lines(data, factors)[1], f"{groups[(data.key, factors)]} = d"]

    def fit(m: Fitted, var: str) -> list[str]:
        if m.choice.family == "gaussian":
            call = f"lmer({m.formula!r}, {var}, REML={m.choice.REML})"
        else:
            call = f"glmer({m.formula!r}, {var}, family={m.choice.family!r})"
        return [f"{m.name} = {call}", f"print({m.name}.summary({var!r}))"]

    head = ['"""Every model of the workbench session, refitted with lib.', "",
            "Run it with the repository on the path (PYTHONPATH=/path/to/repository python this_script.py),",
            'the data file(s) in the working folder (or change the paths)."""', "from lib import glmer, lmer", ""]
    return _script(models, datasets, head, read, fit)

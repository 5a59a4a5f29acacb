"""Mixed models built from a student's choices, and the calls that reproduce them.

A `ModelSpec` is what the model-chooser widgets describe: the response, the fixed
terms, the random terms (grouping factor, intercept and/or slopes, correlated `|` or
uncorrelated `||`), REML or ML, and a named data slice. `build_formula` writes it as
the formula lme4 would print (R's deparse spacing), checked by
`lib.engine.formula.parse_formula`; `lme4_call` and `lib_call` give the R and Python code
that fit it, on a data slice named as lib.data.slices names it (so fits are cached by
(formula, REML, slice name) rather than by a hash of a data frame).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Sequence

from lib.data.idcoding import Example
from lib.data.slices import slice_info
from lib.engine.formula import Formula, FormulaError, parse_formula

RESPONSE = "IgG"
FIXED_OPTIONS = ("Sex", "Time", "Sex:Time")
GROUP_OPTIONS = ("FamID", "IndID", "Sex:IndID")
SLOPE_OPTIONS = ("Sex", "Time")

# -- the code that makes each data slice ------------------------------------------------

_PY_IMPORT = "from lib import load_prepared\nImmuneDat = load_prepared()"
_FACTORS = ("ImmuneDat$IndID <- as.factor(ImmuneDat$IndID)\n"
            "ImmuneDat$FamID <- as.factor(ImmuneDat$FamID)\n"
            "ImmuneDat$Sex <- as.factor(ImmuneDat$Sex)")
# Base R only, so that the code runs in a fresh R session with lme4 installed; the tutorial's dplyr
# (mutate, filter) does the same.
_R_SETUP = MappingProxyType({
    "time0": 'ImmuneDat <- read.csv("ImmuneData.csv")\n' + _FACTORS
             + "\nInitIgG <- subset(ImmuneDat, Time == 0)  # the tutorial: ImmuneDat %>% filter(Time==0)",
    "all": 'ImmuneDat <- read.csv("ImmuneData_exact.csv")  # IgG to 17 digits: the values fitted here\n'
           + _FACTORS,
    "all_r_read": 'ImmuneDat <- read.csv("ImmuneData.csv")  # R reads row 781 one ulp high\n' + _FACTORS,
})
LAST_DIGIT_NOTE = "# lme4 may print a last digit differently: see the note under the summary"
_PY_SETUP = MappingProxyType({
    "time0": _PY_IMPORT + '\nInitIgG = ImmuneDat[ImmuneDat["Time"] == 0].reset_index(drop=True)',
    "all": _PY_IMPORT,
    "all_r_read": _PY_IMPORT + "\nfrom lib.data.slices import flip_r_reading\n"
                  "ImmuneDat = flip_r_reading(ImmuneDat)  # IgG[780] one ulp up, as R reads it",
})


def r_setup(data: str) -> str:
    """R code that makes a slice's data, after which its r_name holds it."""
    if data in _R_SETUP:
        return _R_SETUP[data]
    return ("# the same small example, written out from Python:\n"
            "toy <- read.csv(\"toy.csv\"); toy$Family <- factor(toy$Family)\n"
            "toy$Individual <- factor(toy$Individual); toy$UniqueID <- factor(toy$UniqueID)")


def py_setup(data: str) -> str:
    """Python code (with lib) that makes a slice's data under its r_name."""
    if data in _PY_SETUP:
        return _PY_SETUP[data]
    ex = Example.from_slice_name(data)
    return ("from lib.data.idcoding import Example, example_data\n"
            f"toy = example_data(Example(sizes={tuple(ex.sizes)!r}, reps={ex.reps}, sd_family={ex.sd_family:g}, "
            f"sd_individual={ex.sd_individual:g}, sd_residual={ex.sd_residual:g}, seed={ex.seed}))")


# -- model specification ------------------------------------------------------

@dataclass(frozen=True)
class RandomSpec:
    """One random-effects term `(1 + slopes | group)` or `(... || group)`."""

    group: str
    intercept: bool = True
    slopes: tuple[str, ...] = ()
    correlated: bool = True

    def lhs(self) -> str:
        if not self.slopes:
            return "1" if self.intercept else "0"
        return " + ".join((["1"] if self.intercept else ["0"]) + list(self.slopes))

    def text(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({self.lhs()} {bar} {self.group})"

    @property
    def n_effects(self) -> int:
        return int(self.intercept) + len(self.slopes)


@dataclass(frozen=True)
class ModelSpec:
    fixed: tuple[str, ...]
    random: tuple[RandomSpec, ...]
    REML: bool = True
    data: str = "all"
    response: str = RESPONSE
    name: str = ""  # the tutorial's name, when it is a tutorial model

    @property
    def formula(self) -> str:
        return build_formula(self.fixed, self.random, self.response)

    def with_(self, **changes) -> "ModelSpec":
        return replace(self, **changes)


def fixed_text(fixed: Sequence[str]) -> str:
    """The fixed part as the tutorial writes it: 'Sex * Time' for a full crossing, '1' for none."""
    terms = list(dict.fromkeys(fixed))
    if not terms:
        return "1"
    mains = [t for t in terms if ":" not in t]
    inter = [t for t in terms if ":" in t]
    if len(inter) == 1 and len(mains) == 2 and set(inter[0].split(":")) == set(mains):
        a, b = inter[0].split(":")
        return f"{a} * {b}"
    return " + ".join(mains + inter)


def build_formula(fixed: Sequence[str], random: Sequence[RandomSpec], response: str = RESPONSE,
                  columns: Sequence[str] | None = None) -> str:
    """The formula text for the choices, validated by lib.engine.formula.parse_formula.

    Raises FormulaError for a model the grammar or lme4 would refuse (no random term,
    a term with no effects, an unknown column).
    """
    if not random:
        raise FormulaError("No random effects terms specified in formula")
    for r in random:
        if r.n_effects == 0:
            raise FormulaError(f"{r.text()} has no random effects: tick the intercept or a slope")
    text = f"{response} ~ {fixed_text(fixed)} + " + " + ".join(r.text() for r in random)
    cols = list(columns) if columns is not None else _columns_of(text)
    parse_formula(text, cols)
    return text


def _columns_of(text: str) -> list[str]:
    """Every name in the text counts as a column (for validating grammar only)."""
    return sorted(set(re.findall(r"[A-Za-z.][A-Za-z0-9._]*", text)))


def canonical(formula: str | Formula, columns: Sequence[str] | None = None) -> tuple:
    """A comparable form of a model: equal for formulas that lme4 fits identically."""
    f = formula if isinstance(formula, Formula) else parse_formula(formula, columns or _columns_of(formula))
    fixed = (frozenset(frozenset(t) for t in f.fixed.terms), f.fixed.intercept)
    random = frozenset((frozenset(frozenset(t) for t in r.expr.terms), r.expr.intercept,
                        r.group_label, r.correlated) for r in f.random)
    return f.response.label if f.response else None, fixed, random


def same_model(a: str, b: str) -> bool:
    try:
        return canonical(a) == canonical(b)
    except FormulaError:
        return False


FACTOR_COLUMNS = ("Sex", "FamID", "IndID")


def caveats(spec: ModelSpec, factors: Sequence[str] = FACTOR_COLUMNS) -> list[str]:
    """Plain-words warnings about choices that do not mean what they seem."""
    out = []
    for r in spec.random:
        fac = [s for s in r.slopes if s in factors]
        if fac and not r.correlated:
            out.append(f"`||` with the factor {', '.join(fac)}: lme4 splits the term into "
                       f"(1 | {r.group}) + (0 + {' + '.join(fac)} | {r.group}), and a factor without an intercept "
                       "gets a column for every level, so the correlations are not removed and the "
                       "intercept is estimated twice.")
        if spec.data == "time0" and "Time" in r.slopes:
            out.append("At Time 0 every Time value is 0, so a random slope in Time has nothing to vary over.")
    if spec.data == "time0" and any("Time" in t.split(":") for t in spec.fixed):
        out.append("At Time 0 the Time column is all zeros: its fixed effects cannot be estimated "
                   "(lme4 drops them as rank deficient).")
    return out


def random_groups(text: str) -> list[str]:
    """The grouping factors of a formula's random terms, in order (lme4's names, e.g. Sex:IndID)."""
    f = parse_formula(text, _columns_of(text))
    return list(dict.fromkeys(r.group_label for r in f.random))


def spec_from_formula(text: str, REML: bool = True, data: str = "all", name: str = "") -> ModelSpec:
    """The widget choices that describe a formula (terms the widgets can show)."""
    f = parse_formula(text, _columns_of(text))
    fixed = tuple(":".join(t) for t in f.fixed.terms)
    random = tuple(RandomSpec(r.group_label, r.expr.intercept, tuple(":".join(t) for t in r.expr.terms),
                              r.correlated) for r in f.random)
    return ModelSpec(fixed, random, REML, data, f.response.label if f.response else RESPONSE, name)


# -- the tutorial's models -------------------------------------------------------

TUTORIAL_FORMULAS: dict[str, tuple[str, str]] = {
    "MMod": ("IgG ~ Sex + (1 | FamID)", "time0"),
    "MMod2": ("IgG ~ Sex + (Sex | FamID)", "time0"),
    "MMod3": ("IgG ~ 1 + (Sex | FamID)", "time0"),
    "MModTime": ("IgG ~ Sex * Time + (1 | FamID)", "all"),
    "MModTime2": ("IgG ~ Sex * Time + (1 + Time | FamID)", "all"),
    "MModTime3": ("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | IndID)", "all"),
    "MModTime4": ("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", "all"),
}
LM_FORMULAS: dict[str, tuple[str, str]] = {
    "LMod2": ("IgG ~ Sex + FamID", "time0"),
    "LReg": ("IgG ~ FamID*Time + IndID*Time", "all"),
}


def tutorial_spec(name: str, REML: bool = True) -> ModelSpec:
    text, data = TUTORIAL_FORMULAS[name]
    return spec_from_formula(text, REML, data, name)


def tutorial_name(formula: str, data: str) -> str | None:
    """The tutorial's name for this model on this data, if it is one of its models."""
    base = "all" if data == "all_r_read" else data
    for name, (text, d) in TUTORIAL_FORMULAS.items():
        if d == base and same_model(text, formula):
            return name
    return None


def display_formula(spec: ModelSpec) -> str:
    """The formula as the tutorial writes it when the spec is one of its models."""
    built = spec.formula
    name = tutorial_name(built, spec.data)
    return TUTORIAL_FORMULAS[name][0] if name else built


def display_name(spec: ModelSpec, fallback: str = "model") -> str:
    name = tutorial_name(spec.formula, spec.data)
    if name and not spec.REML:
        return f"{name}_ML"
    return name or fallback


# -- code that reproduces a fit --------------------------------------------------

def lme4_fit_lines(formula: str, REML: bool, data: str, name: str = "model") -> str:
    """The lmer call and summary in R, without the data setup."""
    reml = "" if REML else ", REML=FALSE"
    return f"{name} <- lmer({formula}, data={slice_info(data).r_name}{reml})\nsummary({name})"


def lib_fit_lines(formula: str, REML: bool, data: str, name: str = "model") -> str:
    """The lmer call and summary with this project's lib, without the data setup."""
    return f'{name} = lmer("{formula}", data={slice_info(data).r_name}, REML={REML})\nprint({name}.summary())'


def lme4_call(formula: str, REML: bool, data: str, name: str = "model") -> str:
    """The R call, in the tutorial's style: runs as it stands where the files it reads are."""
    return f"library(lme4)\n{r_setup(data)}\n{lme4_fit_lines(formula, REML, data, name)}\n{LAST_DIGIT_NOTE}"


def lib_call(formula: str, REML: bool, data: str, name: str = "model") -> str:
    """The Python call with this project's lib."""
    return f"from lib import lmer\n{py_setup(data)}\n{lib_fit_lines(formula, REML, data, name)}"


def lm_calls(formula: str, data: str, name: str = "model") -> tuple[str, str]:
    """R and Python code for an lm fit on a slice."""
    r_name = slice_info(data).r_name
    r = f"{r_setup(data)}\n{name} <- lm({formula}, data={r_name})\nsummary({name})"
    py = (f"from lib import lm\n{py_setup(data)}\n"
          f'{name} = lm("{formula}", data={r_name})\nprint({name}.summary())')
    return r, py

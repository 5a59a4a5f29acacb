"""The R code the app shows: the files it reads are the ones the app offers, made by the app's own code,
and for the tutorial's models it fits what the R reference scripts fit (shared/reference/refs.R and
extras.R: same model, same data, same REML flag, same family). Where R with lme4 is installed, each
snippet is also run in a fresh R session and its printed summary compared with lme4's own print
(data/lme4_reference.json); CI has no R, and there that part is skipped."""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess

import pandas as pd
import pytest
from conftest import shared_dir

from lib.data.slices import R_READ_ROW, slice_frame
from lib.engine.formula import parse_formula
from lib.teach import glmm_page as gp
from lib.teach import model_builder as mb
from lib.teach.downloads import FILES, file_text, files_read
from lib.teach.fixed_models import r_code as lm_r_code

LMER_CALL = re.compile(r"<- lmer\((.+?), data=(\w+)(, REML=FALSE)?\)")
GLMER_CALL = re.compile(r"glmer\((.+?), data = (\w+), family = (\w+)\)")
REFS_SPEC = re.compile(r"(\w+)=list\((IgG ~ [^\"]+?), \"(i0|d)\"\)")
REFS_GLMER = re.compile(r"glmer\((.+?), data=(\w+), family=(\w+)\)")
REFS_DATA = {"i0": "time0", "d": "all"}  # refs.R: i0 <- subset(d, Time == 0); d: all of ImmuneData_exact.csv
R_MD5 = "ad1e5a5cc42bf7d63d26d408c7c2bee0"  # README: md5 of the tutorial's ImmuneData.csv


def refs_script(name: str) -> str:
    return (shared_dir() / "reference" / name).read_text()


def same_model(a: str, b: str) -> bool:
    """Two formulas that lme4 fits identically (terms as sets, R's a*b expanded)."""
    cols = sorted(set(re.findall(r"[A-Za-z][A-Za-z0-9._]*", a + " " + b)))
    return mb.canonical(parse_formula(a, cols)) == mb.canonical(parse_formula(b, cols))


# -- the files ---------------------------------------------------------------------------------

def test_files_read_are_the_read_csv_calls():
    code = 'a <- read.csv("ImmuneData.csv")\nb <- read.csv( "toy.csv" ); c <- read.csv("ImmuneData.csv")'
    assert files_read(code) == ["ImmuneData.csv", "toy.csv"]


def test_the_exact_csv_is_rs_reference_file_byte_for_byte():
    """ImmuneData_exact.csv, written by lib.data.csv_for_r from data/ImmuneData.csv, is the file the R
    references were computed on (shared/reference/ImmuneData_exact.csv, written by R's sprintf("%.17g"))."""
    assert file_text("ImmuneData_exact.csv") == (shared_dir() / "reference" / "ImmuneData_exact.csv").read_text()


def test_the_tutorial_csv_is_the_tutorials_file():
    assert hashlib.md5(file_text("ImmuneData.csv").encode()).hexdigest() == R_MD5


def test_toy_csv_reads_back_as_the_example_on_screen():
    """17 significant digits give back every double exactly (IEEE 754: 17 digits round-trip a double)."""
    name = "idcoding:3x4:6:4:3:1:7"
    back = pd.read_csv(io.StringIO(file_text("toy.csv", name)))
    frame = slice_frame(name)
    assert list(back.columns) == list(frame.columns)
    assert back["y"].tolist() == frame["y"].tolist()
    with pytest.raises(ValueError):
        file_text("toy.csv")
    with pytest.raises(KeyError):
        file_text("nothing.csv")


def test_row_781_is_not_at_time_0():
    """So R reads InitIgG from ImmuneData.csv exactly as this app does: the one value R reads one ulp
    off (shared/reference/README.md) is at Time 3."""
    assert slice_frame("all").loc[R_READ_ROW, "Time"] == 3


# -- the tutorial's models, against the reference scripts ---------------------------------------

def test_every_tutorial_lmer_call_fits_what_refs_r_fits():
    specs = {name: (formula, REFS_DATA[data]) for name, formula, data in REFS_SPEC.findall(refs_script("refs.R"))}
    assert set(specs) == set(mb.TUTORIAL_FORMULAS)
    for name, (formula, data) in mb.TUTORIAL_FORMULAS.items():
        assert data == specs[name][1] and same_model(formula, specs[name][0]), name
        for REML in (True, False):
            code = mb.lme4_call(formula, REML, data, name)
            (shown, r_data, ml), = LMER_CALL.findall(code)
            assert same_model(shown, specs[name][0]) and bool(ml) == (not REML), (name, REML)
            assert r_data == ("InitIgG" if data == "time0" else "ImmuneDat")
            # refs.R: factor(IndID), factor(FamID), factor(Sex); i0 <- subset(d, Time == 0)
            for col in ("IndID", "FamID", "Sex"):
                assert f"ImmuneDat${col} <- as.factor(ImmuneDat${col})" in code
            assert ("InitIgG <- subset(ImmuneDat, Time == 0)" in code) == (data == "time0")
            # refs.R reads ImmuneData_exact.csv; at Time 0 ImmuneData.csv gives the same doubles in R
            assert files_read(code) == (["ImmuneData.csv"] if data == "time0" else ["ImmuneData_exact.csv"])


def test_the_r_reading_reads_the_tutorials_file():
    """refs.R's tutorial_as_printed: `dr <- read.csv(file.path(out, "ImmuneData.csv"))`."""
    code = mb.lme4_call(mb.TUTORIAL_FORMULAS["MModTime3"][0], True, "all_r_read", "MModTime3")
    assert files_read(code) == ["ImmuneData.csv"]


def test_lm_calls_fit_what_refs_r_fits():
    """refs.R: lm(IgG ~ Sex + FamID, i0) as LMod2 (factors); lm(IgG ~ Sex + FamID, i0raw) with FamID as read."""
    refs = refs_script("refs.R")
    assert 'lm_ref(lm(IgG ~ Sex + FamID, i0), "LMod2")' in refs
    assert 'lm_ref(lm(IgG ~ Sex + FamID, i0raw), "LMod2_numericFamID")' in refs
    r_call, _ = mb.lm_calls(*mb.LM_FORMULAS["LMod2"], "LMod2")
    assert "LMod2 <- lm(IgG ~ Sex + FamID, data=InitIgG)" in r_call and "as.factor(ImmuneDat$FamID)" in r_call
    as_read, as_factor = lm_r_code("IgG ~ Sex + FamID", 0, False), lm_r_code("IgG ~ Sex + FamID", 0, True)
    assert "as.factor" not in as_read and "FamID = as.factor(FamID)" in as_factor
    for code in (as_read, as_factor):
        assert "lm(IgG ~ Sex + FamID, data = subset(ImmuneData, Time == 0))" in code
        assert files_read(code) == ["ImmuneData.csv"]


def test_every_glmer_call_fits_what_extras_r_fits():
    extras = refs_script("extras.R")
    refs = REFS_GLMER.findall(extras)
    assert len(refs) == len(gp.MODELS) == 3
    for (formula, data, family), model in zip(refs, gp.MODELS.values()):
        code = gp.r_code(model, gp.formula_for(model, model.default_terms), model.family, None, 1)
        (shown, r_data, r_family), = GLMER_CALL.findall(code)
        assert shown.replace(" ", "") == formula.replace(" ", "") and (r_data, r_family) == (data, family)
        assert set(files_read(code)) <= set(FILES)
    # the data as extras.R makes it
    binary, months = (gp.r_code(m, gp.formula_for(m, m.default_terms), m.family, None, 1)
                      for m in (gp.MODELS["binary"], gp.MODELS["months"]))
    assert "d$Low <- as.integer(d$IgG < 100)" in binary and "d$Low <- as.integer(d$IgG < 100)" in extras
    assert "aggregate(Low ~ FamID + IndID + Sex, data = d, FUN = sum)" in months
    assert "aggregate(Low ~ FamID + IndID + Sex, data=d, FUN=sum)" in extras
    assert 'names(agg)[4] <- "MonthsLow"; agg$Months <- 18L' in months
    assert 'names(agg)[4] <- "MonthsLow"; agg$Months <- 18L' in extras


# -- run in R, where R is installed -----------------------------------------------------------------

def _has_lme4() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True, timeout=120).returncode == 0


needs_r = pytest.mark.skipif(not _has_lme4(), reason="R with lme4 is not installed (CI has none)")


def run_in_r(code: str, folder, data: str | None = None) -> str:
    """The snippet in a fresh R session, in a folder holding the files it reads (as the app offers them)."""
    for name in files_read(code):
        (folder / name).write_text(file_text(name, data))
    script = folder / "snippet.R"
    script.write_text(code + "\n")
    out = subprocess.run(["Rscript", str(script)], cwd=folder, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _lines(text: str, starts: tuple[str, ...]) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.startswith(starts)]


@needs_r
@pytest.mark.parametrize("name, data", [(n, d) for n, (_, d) in mb.TUTORIAL_FORMULAS.items()]
                         + [("MModTime3", "all_r_read")])
def test_tutorial_snippets_run_in_r_on_the_offered_files(name, data, tmp_path):
    """Each snippet runs as it stands in a fresh R session, beside the files the page offers, and fits
    the page's model to the page's data: the same criterion to the printed decimal (lme4 stops at most
    5e-5 above the optimum, optimum_lme4.json, far below the 0.05 of one printed decimal), the same
    observations and groups, the same fixed effects. The other digits lme4 prints depend on where its
    optimizer stopped on this machine, so they are not compared (the page marks them)."""
    from lib.teach.fitting import fit_lmer
    from lib.rprint.lme4_print import lmer_summary

    formula = mb.TUTORIAL_FORMULAS[name][0]
    printed = run_in_r(mb.lme4_call(formula, True, data, name), tmp_path)
    ours = lmer_summary(fit_lmer(formula, True, data).fit, data_name="ImmuneDat" if data != "time0" else "InitIgG")
    for starts in (("REML criterion",), ("Number of obs",), ("   Data:",), ("(Intercept)", "SexM", "Time")):
        mine = [line.split()[0] if starts[0] == "(Intercept)" else line for line in _lines(ours, starts)]
        theirs = [line.split()[0] if starts[0] == "(Intercept)" else line for line in _lines(printed, starts)]
        assert theirs[:len(mine)] == mine, (name, starts)

"""lme4's results for the R script the workbench writes (tests/teach/test_workbench_scripts.py).

A workbench session (`session()`: an uploaded semicolon-separated Latin-1 file whose names need
backticks, and two bundled data sets; lmer by REML and ML, glmer binomial and Poisson) gives its R
script; this writes that script, followed by lines that save each model's logLik, to
workbench_models.R, runs it with Rscript in a temporary folder holding the data files, and stores
lme4's answers in workbench_models.json. The test checks that the workbench still writes the very
script stored here, and that lib's fits agree with lme4's.

usage: python -m tests.reference.make_workbench_reference   (R 4.2.2, lme4 1.1-31, jsonlite)
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from lib.data import DATA_DIR
from lib.data.immune import load_raw
from lib.data.upload import read_csv_bytes
from lib.teach import workbench as wb
from lib.teach.workbench_data import BUNDLED, from_upload, typed
from lib.teach.workbench_scripts import r_script

HERE = Path(__file__).resolve().parent
UPLOAD_NAME = "immune_eu.csv"
SCRIPT, RESULTS = HERE / "workbench_models.R", HERE / "workbench_models.json"
CUT = "# -- lme4's answers for the test"

MODELS = (  # name, data set, factors, formula, family, REML
    ("m1", "upload", ("Fam ID", "IndID"), "`Ig G` ~ Sex * `Mois écoulés` + (1 + `Mois écoulés` | `Fam ID`)",
     "gaussian", True),
    ("m2", "upload", ("Fam ID", "IndID"),
     "`Ig G` ~ Sex * `Mois écoulés` + (1 + `Mois écoulés` | `Fam ID`) + (1 | Sex:IndID)", "gaussian", False),
    ("m3", "ImmuneLow", ("FamID", "IndID"), "Low ~ Sex + Time + (1 | FamID)", "binomial", True),
    ("m4", "SimulatedCounts", ("Site",), "Count ~ Dose + (1 | Site)", "poisson", True),
)


def upload_bytes() -> bytes:
    """Months 0-5 of ImmuneData, renamed so that names need backticks, as a European CSV in Latin-1."""
    d = load_raw()
    d = d[d["Time"] <= 5].rename(columns={"IgG": "Ig G", "FamID": "Fam ID", "Time": "Mois écoulés"})
    return d.to_csv(index=False, sep=";", decimal=",").encode("latin-1")


def session() -> tuple[list[wb.Fitted], dict]:
    """The session's models and data sets, fitted by lib through the workbench."""
    upload = from_upload(read_csv_bytes(upload_bytes(), UPLOAD_NAME))
    datasets = {**BUNDLED, upload.key: upload}
    models = []
    for name, key, factors, formula, family, reml in MODELS:
        data = datasets[upload.key if key == "upload" else key]
        choice = wb.choice_from_formula(formula, data.columns, family, reml)
        models.append(wb.fit(name, choice, choice.formula(data.columns), typed(data, factors), data.key, factors))
    return models, datasets


def main() -> None:
    models, datasets = session()
    answers = "\n".join([CUT, "suppressMessages(library(jsonlite))",
                         "out <- lapply(list(" + ", ".join(f"{m.name} = {m.name}" for m in models) + "), "
                         "function(m) list(logLik = as.numeric(logLik(m)), df = attr(logLik(m), 'df'), "
                         "nobs = nobs(m), fixef = as.list(fixef(m))))",
                         'writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "workbench_models.json")', ""])
    SCRIPT.write_text(r_script(models, datasets) + answers)
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("ImmuneData.csv", "SimulatedCounts.csv"):
            shutil.copy(DATA_DIR / f, tmp)
        Path(tmp, UPLOAD_NAME).write_bytes(upload_bytes())
        subprocess.run(["Rscript", str(SCRIPT)], cwd=tmp, check=True, capture_output=True)
        shutil.copy(Path(tmp, "workbench_models.json"), RESULTS)


if __name__ == "__main__":
    main()

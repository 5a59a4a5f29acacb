"""The files that the R code shown on the pages reads, made by this app's own code.

Every R snippet the app shows must run as it stands in a fresh R session, in a folder holding the
files it reads; the page offers each of them for download beside the code (ui.downloads). The files:

- ImmuneData.csv: the tutorial's data as distributed (R's read.csv reads its row 781 one unit in the
  last place above the value this app uses);
- ImmuneData_exact.csv: the same with IgG written to 17 significant digits, so that R reads exactly
  the values this app fits (lib.data.csv_for_r);
- SimulatedCounts.csv: the Poisson example's data;
- toy.csv: the ID-coding example on screen (it depends on the example's sliders).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from lib.data import DATA_DIR
from lib.data.csv_for_r import exact_immune_csv, to_r_csv
from lib.data.immune import DATA_FILE
from lib.data.slices import slice_frame


@dataclass(frozen=True)
class DataFile:
    name: str
    what: str  # one line: what the file holds, for the button's help


FILES = MappingProxyType({f.name: f for f in (
    DataFile("ImmuneData.csv", "The tutorial's data as distributed (4,860 rows). R's read.csv reads row 781 "
                               "one unit in the last place high; the Convergence page tells that story."),
    DataFile("ImmuneData_exact.csv", "ImmuneData.csv with IgG written to 17 significant digits: R reads exactly "
                                     "the values this app fits."),
    DataFile("SimulatedCounts.csv", "The simulated counts of the Poisson example (12 sites × 25 doses)."),
    DataFile("toy.csv", "The small ID-coding example on screen, as this page made it."),
)})
READ_CSV = re.compile(r"""read\.csv\(\s*["']([^"']+)["']""")


def files_read(r_code: str) -> list[str]:
    """The files an R snippet reads with read.csv, in order, each once."""
    return list(dict.fromkeys(READ_CSV.findall(r_code)))


def file_text(name: str, data: str | None = None) -> str:
    """The content of a file the R code reads; `data` names the toy example's slice for toy.csv."""
    if name == "ImmuneData.csv":
        return DATA_FILE.read_text()
    if name == "ImmuneData_exact.csv":
        return exact_immune_csv()
    if name == "SimulatedCounts.csv":
        return (DATA_DIR / "SimulatedCounts.csv").read_text()
    if name == "toy.csv":
        if data is None or not data.startswith("idcoding:"):
            raise ValueError("toy.csv needs the ID-coding example's slice name")
        return to_r_csv(slice_frame(data))
    raise KeyError(f"no downloadable file {name!r}; known: {', '.join(FILES)}")

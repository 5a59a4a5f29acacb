"""A CSV file given as bytes (an upload), read into a data frame as R's read.csv would, or refused
with the reason in words.

Nothing is written to disk: `read_csv_bytes` reads from memory, and the caller keeps the result
(the workbench keeps it in the user's session only). Every failure is an `UploadError` whose message
says what is wrong and what to do; `column_types` says how each column was read, and `with_types`
makes the columns the user marks into factors (R's factor()).
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from lib.data.immune import r_factor

NA_STRINGS = ["NA", ""]  # read.csv's na.strings = "NA" (and an empty numeric field is NA too)
SEPARATORS = (",", ";", "\t")
DECIMAL = {";": ","}  # semicolons: read.csv2's convention, decimal commas
_SIGNATURES = {  # the first bytes of files that are not text
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Word file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
}


class UploadError(ValueError):
    """A file that cannot be read as a table of data; the message says why and what to do."""


@dataclass(frozen=True)
class CsvTable:
    """A data frame read from CSV bytes, with how it was read (for the R and Python code that redo it)."""

    frame: pd.DataFrame
    name: str  # the file's name
    encoding: str  # "UTF-8" or "latin1" (R's fileEncoding names)
    sep: str
    notes: tuple[str, ...] = ()  # what the user should know about the reading (latin-1, dropped columns)
    dropped: tuple[int, ...] = ()  # 1-based positions of unnamed columns left out


@dataclass(frozen=True)
class ColumnType:
    """How one column was read: its kind, distinct values, missing values, whether it must be a factor."""

    name: str
    kind: str  # "number", "whole number", "text" or "logical"
    distinct: int
    missing: int

    @property
    def numeric(self) -> bool:
        return self.kind in ("number", "whole number")


def read_csv_bytes(raw: bytes, name: str = "data.csv", max_bytes: int | None = None) -> CsvTable:
    """The table in `raw` (CSV text, UTF-8 or else Latin-1), or an UploadError saying why not."""
    raw = bytes(raw)
    _check_size(raw, name, max_bytes)
    text, encoding, notes = _decode(raw, name)
    sep = _separator(text)
    header = _header(text, sep, name)
    frame = _parse(text, sep, name)
    frame, dropped = _drop_unnamed(frame, header)
    if dropped:
        notes += (f"Column{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))} "
                  "had no name (a column of row numbers?) and was left out.",)
    _check_shape(frame, name)
    frame.columns = [str(c) for c in frame.columns]
    return CsvTable(frame, name, encoding, sep, notes, tuple(dropped))


def _check_size(raw: bytes, name: str, max_bytes: int | None) -> None:
    if max_bytes is not None and len(raw) > max_bytes:
        raise UploadError(f"{name} is {len(raw) / 2**20:.1f} MB, over the upload limit of "
                          f"{max_bytes / 2**20:g} MB (server.maxUploadSize in .streamlit/config.toml). "
                          "Upload the columns and rows the model needs only.")
    if not raw.strip():
        raise UploadError(f"{name} is empty: there is nothing to read.")


def _decode(raw: bytes, name: str) -> tuple[str, str, tuple[str, ...]]:
    """The text of the file: UTF-8 (a BOM allowed), else Latin-1, said in a note; binary refused."""
    for magic, what in _SIGNATURES.items():
        if raw.startswith(magic):
            raise UploadError(f"{name} is {what}, not a CSV file. Save the table as CSV "
                              "(comma-separated values) and upload that.")
    if b"\x00" in raw:
        raise UploadError(f"{name} is not a text file (it holds NUL bytes), so it is not CSV. Save the "
                          "table as CSV (comma-separated values) and upload that.")
    try:
        text, encoding, notes = raw.decode("utf-8-sig"), "UTF-8", ()
    except UnicodeDecodeError as e:
        text, encoding = raw.decode("latin-1"), "latin1"
        notes = (f"{name} is not UTF-8 (byte {e.start + 1} is {raw[e.start:e.start + 1]!r}); it was "
                 "read as Latin-1 (ISO-8859-1) instead. Check that accented letters look right.",)
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\r\n")
    if controls > max(2, len(text) // 1000):
        raise UploadError(f"{name} does not read as text in UTF-8 or Latin-1 ({controls} control "
                          "characters), so it is not CSV. Save the table as CSV and upload that.")
    return text, encoding, notes


def _separator(text: str) -> str:
    """The separator of the header line: the commonest of comma, semicolon and tab (comma on a tie)."""
    first = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    counts = {s: first.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])  # max keeps the first on a tie: the comma
    return best if counts[best] else ","


def _header(text: str, sep: str, name: str) -> list[str]:
    """The column names as written in the first line; refused if they repeat or cannot be used."""
    try:
        header = next(csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=sep), [])
    except csv.Error as e:
        raise UploadError(f"the first line of {name} cannot be read as CSV: {e}") from None
    named = [h for h in header if h.strip()]
    repeated = sorted({h for h in named if named.count(h) > 1})
    if repeated:
        raise UploadError(f"the column names must differ, but {', '.join(map(repr, repeated))} "
                          f"appear{'s' if len(repeated) == 1 else ''} more than once in {name}: rename them.")
    bad = [h for h in named if "`" in h or "\n" in h or "\r" in h]
    if bad:
        raise UploadError(f"the column name {bad[0]!r} holds a backtick or a line break, which no "
                          "formula can name: rename the column.")
    return header


def _parse(text: str, sep: str, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=DECIMAL.get(sep, "."),
                            keep_default_na=False, na_values=NA_STRINGS, skip_blank_lines=True)
        return frame.reset_index(drop=True)  # a first column of row names (one field more) is dropped
    except pd.errors.EmptyDataError:
        raise UploadError(f"{name} has no columns: the file holds no table.") from None
    except (pd.errors.ParserError, ValueError, csv.Error, OverflowError, IndexError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UploadError(f"{name} cannot be read as CSV: {reason}. Check that every row has as many "
                          "fields as the header and that quotes are closed.") from None


def _drop_unnamed(frame: pd.DataFrame, header: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Columns whose header is empty (pandas' 'Unnamed: k') are left out: no formula can name them."""
    if len(header) != frame.shape[1]:
        return frame, []
    dropped = [i + 1 for i, h in enumerate(header) if not h.strip()]
    keep = [c for i, c in enumerate(frame.columns) if i + 1 not in dropped]
    return frame[keep], dropped


def _check_shape(frame: pd.DataFrame, name: str) -> None:
    if frame.shape[1] < 2:
        shown = str(frame.columns[0])[:60] if frame.shape[1] else ""
        raise UploadError(f"{name} has only one column ({shown!r}): a model needs a response and at "
                          "least one more column. Is the file separated by commas (or semicolons, or "
                          "tabs)? A spreadsheet saved as text with another separator reads as one column.")
    if frame.shape[0] == 0:
        raise UploadError(f"{name} has a header line but no rows of data.")


# -- column types -----------------------------------------------------------------------------

def column_types(frame: pd.DataFrame) -> list[ColumnType]:
    """How read.csv would read each column: number, whole number, text or logical."""
    return [ColumnType(str(c), _kind(frame[c]), int(frame[c].nunique()), int(frame[c].isna().sum()))
            for c in frame.columns]


def _kind(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col):
        return "logical"
    if isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col):
        return "text"
    values = col.dropna().to_numpy(float)
    return "whole number" if len(values) and (values == values.round()).all() else "number"


def id_like(t: ColumnType) -> bool:
    """A whole-number column named as codes are (FamID, IndID, site_code): likely a factor."""
    return t.kind == "whole number" and t.name.lower().rstrip("_. ").endswith(("id", "code"))


def default_factors(frame: pd.DataFrame) -> list[str]:
    """Columns that are factors unless the user says otherwise: text, logical and categorical ones."""
    return [t.name for t in column_types(frame) if not t.numeric]


def with_types(frame: pd.DataFrame, factors: Iterable[str]) -> pd.DataFrame:
    """The frame with `factors` as R factors (levels the sorted values) and the rest as read.

    A column that is not numeric stays a factor whatever is asked: text cannot be a number. A logical
    column stays logical, which the models treat as R does (a factor with levels FALSE and TRUE).
    """
    factors = set(factors)
    unknown = sorted(factors - set(frame.columns))
    if unknown:
        raise UploadError(f"no column {', '.join(map(repr, unknown))} in the data")
    out = frame.copy()
    for c in frame.columns:
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(col):
            continue
        if c in factors or not pd.api.types.is_numeric_dtype(col):
            out[c] = r_factor(col)
    return out

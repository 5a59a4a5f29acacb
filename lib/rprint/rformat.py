"""Numbers printed as R prints them: format(), signif(), format.pval(), printCoefmat().

Ports of R's formatReal() (src/main/format.c) and of printCoefmat() / format.pval()
(src/library/stats), so summaries read digit for digit like R's console.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

DBL_EPS = float(np.finfo(float).eps)
STAR_CUTS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
SIGNIF_CODES = "0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"
_KP_MAX = 27  # powers of ten exact in an x87 long double, as R's table
_LD = np.longdouble


def _scientific(x: float, digits: int) -> tuple[bool, int, int, bool]:
    """R's scientific(): sign, decimal exponent, significant digits, rounding widens."""
    if x == 0.0:
        return False, 0, 1, False
    neg, r = x < 0, abs(x)
    if digits >= 16:  # R switches to sprintf here too
        mant, exp = f"{r:.{digits - 1}e}".split("e")
        return neg, int(exp), max(1, len(mant.replace(".", "").rstrip("0"))), False
    kp = math.floor(math.log10(r)) - digits + 1
    # long double scaling, as R does on x86-64 Linux, so ties round the same way
    if abs(kp) <= _KP_MAX:
        r_prec = _LD(r) / _LD(10) ** kp if kp >= 0 else _LD(r) * _LD(10) ** (-kp)
    else:
        r_prec = _LD(r) / np.power(_LD(10), kp)
    if r_prec < _LD(10) ** (digits - 1):
        r_prec *= 10
        kp -= 1
    alpha = float(np.rint(r_prec))
    nsig = digits
    for _ in range(digits):
        alpha /= 10.0
        if alpha != math.floor(alpha):
            break
        nsig -= 1
    if nsig == 0 and digits > 0:
        nsig, kp = 1, kp + 1
    kpower = kp + digits - 1
    rgt = min(max(digits - kpower, 0), _KP_MAX)
    fuzz = 0.5 / 10.0 ** rgt
    widens = 0 < kpower <= _KP_MAX and r < 10.0 ** kpower - fuzz
    return neg, kpower, nsig, widens


def _format_info(xs: Sequence[float], digits: int, nsmall: int = 0) -> tuple[int, int, int]:
    """R's formatReal(): common width, digits after the point, exponent flag (0 = fixed)."""
    finite = [x for x in xs if math.isfinite(x)]
    if not finite:
        return 0, 0, 0
    rgt = mxl = mxsl = mxns = -(10**9)
    mnl, neg = 10**9, False
    for x in finite:
        neg_i, kpower, nsig, widens = _scientific(x, digits)
        left = kpower + 1 - widens
        sleft = neg_i + (1 if left <= 0 else left)
        rgt, mxl, mnl = max(rgt, nsig - left), max(mxl, left), min(mnl, left)
        mxsl, mxns, neg = max(mxsl, sleft), max(mxns, nsig), neg or neg_i
    if mxl < 0:
        mxsl = 1 + neg
    rgt = max(rgt, 0)
    w_fixed = mxsl + rgt + (rgt != 0)
    e = 2 if (mxl > 100 or mnl <= -99) else 1
    d = mxns - 1
    w_sci = neg + (d > 0) + d + 4 + e
    if w_fixed <= w_sci:
        rgt = max(rgt, nsmall)
        return mxsl + rgt + (rgt != 0), rgt, 0
    return w_sci, d, e


def _encode(x: float, w: int, d: int, e: int, na: str) -> str:
    if math.isnan(x):
        return na.rjust(w)
    if math.isinf(x):
        return ("Inf" if x > 0 else "-Inf").rjust(w)
    if e:
        return f"{x:#{w}.{d}e}" if d else f"{x:{w}.0e}"
    return f"{x:{w}.{d}f}"


def _drop0(s: str) -> str:
    """R's drop0trailing: 1.50 -> 1.5, 2.00 -> 2, 1.50e+01 -> 1.5e+01."""
    mant, sep, exp = s.partition("e")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return mant + sep + exp


def format_numbers(values: Iterable[float], digits: int = 7, nsmall: int = 0, *,
                   trim: bool = False, drop0trailing: bool = False, na: str = "NA") -> list[str]:
    """R's format(x, digits=) of a numeric vector: one common layout for all elements."""
    xs = [float(v) + 0.0 for v in values]  # + 0.0: R prints a negative zero as 0
    w, d, e = _format_info(xs, digits, nsmall)
    if any(math.isnan(x) for x in xs):
        w = max(w, len(na))
    out = [_encode(x, w, d, e, na) for x in xs]
    if drop0trailing:
        out = [_drop0(s.strip()) for s in out]
        width = max(map(len, out), default=0)
        out = [s.rjust(width) for s in out]
    return [s.strip() for s in out] if trim else out


def format_signif(x: float, digits: int = 7) -> str:
    """R's format(x, digits=): x to `digits` significant digits, trailing zeros dropped."""
    return format_numbers([x], digits)[0]


def format_c(x: float, digits: int) -> str:
    """R's formatC(x, digits=), i.e. C's %.*g."""
    return f"{x:.{digits}g}"


def r_signif(x: float, digits: int) -> float:
    """R's signif(x, digits)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{max(1, digits) - 1}e}")


def _pow_di(x: float, n: int) -> float:
    """R_pow_di(): x^n by repeated squaring, as R computes powers of ten."""
    xn, neg, n = 1.0, n < 0, abs(n)
    while True:
        if n & 1:
            xn *= x
        n >>= 1
        if not n:
            break
        x *= x
    return 1.0 / xn if neg else xn


def _fround(x: float, digits: float) -> float:
    """R >= 4.0's fround(): the nearer of the two decimal neighbours, ties to even."""
    if not math.isfinite(x) or x == 0.0 or digits > 323:
        return x
    if digits < -308:
        return 0.0
    if digits == 0:
        return float(np.rint(x))
    dig = math.floor(digits + 0.5)
    sgn, x = (-1.0 if x < 0 else 1.0), abs(x)
    if math.log10(2) * (0.5 + math.frexp(x)[1] - 1) + dig > 15:
        return sgn * x
    if dig <= 308:
        p10 = _pow_di(10.0, dig)
        x10 = x * p10
        i10, xd, xu = math.floor(x10), math.floor(x10) / p10, math.ceil(x10) / p10
    else:
        p10, e10 = _pow_di(10.0, 308), _pow_di(10.0, dig - 308)
        x10 = (x * p10) * e10
        i10, xd, xu = math.floor(x10), math.floor(x10) / p10 / e10, math.ceil(x10) / p10 / e10
    du, dd = xu - x, x - xd
    return sgn * (xu if du < dd or (i10 % 2 == 1 and du == dd) else xd)


def r_round(values: Iterable[float], digits: int) -> np.ndarray:
    """R's round(x, digits), elementwise (R 4's algorithm: ties in double go to even)."""
    return np.array([_fround(v, digits) for v in map(float, values)])


def zapsmall(values: Iterable[float], digits: int) -> np.ndarray:
    """R 4.2's zapsmall(): round(x, digits - log10(max|x|)), so tiny values become 0.

    R's round() takes a fractional `digits` to floor(digits + 0.5) decimals (R 4.4 switched
    zapsmall to ceiling(log10(max|x|)); the references are R 4.2).
    """
    xs = np.asarray(list(values), dtype=float)
    finite = xs[np.isfinite(xs)]
    mx = float(np.max(np.abs(finite))) if finite.size else 0.0
    keep = max(0.0, digits - math.log10(mx)) if mx > 0 else float(digits)
    return r_round(xs, math.floor(keep + 0.5))


def format_pvalues(ps: Iterable[float], digits: int = 5, eps: float = DBL_EPS) -> list[str]:
    """R's format.pval(): p below eps as '< eps', others formatted together."""
    pv = [float(p) for p in ps]
    out = ["NA" if math.isnan(p) else "" for p in pv]
    idx = [i for i, p in enumerate(pv) if not math.isnan(p)]
    tiny = [i for i in idx if pv[i] < eps]
    rest = [i for i in idx if pv[i] >= eps]
    expo = {i: math.floor(math.log10(pv[i])) if pv[i] > 0 else -50 for i in rest}
    fixp = [i for i in rest if expo[i] >= -3 or (expo[i] == -4 and digits > 1)]
    sci = [i for i in rest if i not in fixp]
    for group in (fixp, sci):
        for i, s in zip(group, format_numbers([pv[i] for i in group], digits)):
            out[i] = s
    if tiny:
        dig = max(1, digits - 2)
        if rest:
            nc = max(len(out[i]) for i in rest)
            if dig > 1 and dig + 6 > nc:
                dig = max(1, nc - 7)
            sep = "" if dig == 1 and nc <= 6 else " "
        else:
            sep = "" if dig == 1 else " "
        for i in tiny:
            out[i] = "<" + sep + format_signif(eps, dig)
    return out


def format_pvalue(p: float, digits: int = 5, eps: float = DBL_EPS) -> str:
    """R's format.pval() of one p-value, e.g. '< 2.2e-16' or '0.007003'."""
    return format_pvalues([p], digits, eps)[0]


def signif_stars(p: float) -> str:
    """R's significance stars: '***' p <= 0.001, '**' <= 0.01, '*' <= 0.05, '.' <= 0.1."""
    if p is None or math.isnan(p):
        return ""
    for cut, star in STAR_CUTS:
        if p <= cut:
            return star
    return " "


def signif_legend() -> str:
    """The legend R prints under a table with stars."""
    return f"---\nSignif. codes:  {SIGNIF_CODES}"


def print_matrix(cells: Sequence[Sequence[str]], rownames: Sequence[str],
                 colnames: Sequence[str]) -> str:
    """R's print of a character matrix with quote=FALSE, right=TRUE."""
    rw = max((len(r) for r in rownames), default=0)
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(colnames)]
    lines = [" " * rw + "".join(" " + c.rjust(w) for c, w in zip(colnames, widths))]
    for name, row in zip(rownames, cells):
        lines.append(name.ljust(rw) + "".join(" " + s.rjust(w) for s, w in zip(row, widths)))
    return "\n".join(lines)


def print_named(values: Sequence[float], names: Sequence[str], digits: int = 7,
                width: int = 80) -> str:
    """R's print of a named numeric vector, wrapped at `width` like R's console."""
    return print_named_strings(format_numbers(values, digits), names, width)


def print_named_strings(values: Sequence[str], names: Sequence[str], width: int = 80) -> str:
    """R's print() of a named character vector, quote = FALSE: right-justified columns."""
    w = max([len(v) for v in values] + [len(n) for n in names])
    per = max(1, width // (w + 1))
    lines = []
    for i in range(0, len(values), per):
        lines.append("".join(n.rjust(w) + " " for n in names[i:i + per]))
        lines.append("".join(v.rjust(w) + " " for v in values[i:i + per]))
    return "\n".join(lines)


def _parse(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return math.nan


def _coef_cells(cs: np.ndarray, digits: int) -> np.ndarray:
    """Estimates and SEs: rounded by the smallest one's magnitude, then formatted together."""
    acs = np.abs(cs[np.isfinite(cs) & (cs != 0)])
    digmin = 1 + np.floor(np.log10([acs.min(), acs.max()])) if acs.size else np.array([1.0])
    dec = int(max(1, *(digits - digmin)))
    return np.array(format_numbers(r_round(cs.ravel(), dec), digits), dtype=object).reshape(cs.shape)


def _unzero(cf: np.ndarray, x: np.ndarray, cols: list[int], digits: int) -> None:
    """A non-zero number that formatting rounded to 0 is shown with digits - 1 instead."""
    for j in cols:
        for i in range(x.shape[0]):
            if np.isfinite(x[i, j]) and x[i, j] != 0 and _parse(cf[i, j]) == 0:
                cf[i, j] = format_signif(x[i, j], max(1, digits - 1))


@dataclass(frozen=True)
class Cells:
    """A table as R prints it, before layout: row names, header and cell strings (stars last)."""

    index: list[str]
    header: list[str]
    rows: list[list[str]]
    stars: bool = False  # whether the last column holds significance stars

    def frame(self) -> pd.DataFrame:
        """The same cells as a DataFrame (what a page shows)."""
        return pd.DataFrame(self.rows, index=self.index, columns=self.header)

    def text(self) -> str:
        """The cells laid out as R's print.default of a character matrix."""
        return print_matrix(self.rows, self.index, self.header)


def coefmat_cells(table: pd.DataFrame, digits: int = 5, *, stars: bool = True,
                  dig_tst: int | None = None, cs_ind: Sequence[int] | None = None,
                  tst_ind: Sequence[int] | None = None, zap_ind: Sequence[int] = (),
                  has_pvalue: bool | None = None, na_print: str = "NA") -> Cells:
    """R's printCoefmat()'s cells: estimates and SEs together, test statistics, p-values, stars.

    Column positions are 0-based; defaults follow R: all but the last two columns are
    coefficients/SEs, the next is the test statistic, the last the p-value.
    """
    x = np.array(table.to_numpy(dtype=float, na_value=np.nan))  # a copy: zap_ind writes into it
    nr, nc = x.shape
    cols = [str(c) for c in table.columns]
    if has_pvalue is None:
        has_pvalue = nc >= 4 and cols[-1][:3] in ("Pr(", "p-v")
    k = nc - has_pvalue - (1 if tst_ind is None else len(tst_ind))
    cs_ind = list(range(k)) if cs_ind is None else list(cs_ind)
    tst_ind = [k] if tst_ind is None else list(tst_ind)
    dig_tst = max(1, min(5, digits - 1)) if dig_tst is None else dig_tst
    cf = np.full((nr, nc), "", dtype=object)
    for i in zap_ind:
        x[:, i] = zapsmall(x[:, i], digits)
    if cs_ind:
        cf[:, cs_ind] = _coef_cells(x[:, cs_ind], digits)
    for j in tst_ind:
        cf[:, j] = format_numbers(r_round(x[:, j], dig_tst), digits)
    p_col = [nc - 1] if has_pvalue else []
    for j in set(range(nc)) - set(cs_ind) - set(tst_ind) - set(p_col):
        cf[:, j] = format_numbers(x[:, j], digits)
    _unzero(cf, x, [j for j in range(nc) if j not in tst_ind + p_col], digits)
    cf[np.isnan(x)] = na_print
    header = list(cols)
    show_stars = False
    if has_pvalue:
        okp = ~np.isnan(x[:, nc - 1])
        if okp.any():
            pv = x[okp, nc - 1]
            cf[okp, nc - 1] = format_pvalues(pv, dig_tst)
            show_stars = stars and bool((pv < 0.1).any())
    rows = [list(r) for r in cf]
    if show_stars:
        marks = [signif_stars(p) for p in x[:, nc - 1]]
        width = max(len(m) for m in marks)
        rows = [r + [m.ljust(width)] for r, m in zip(rows, marks)]
        header.append("")
    return Cells([str(i) for i in table.index], header, rows, show_stars)


def print_coefmat(table: pd.DataFrame, digits: int = 5, *, legend: bool = True, **kw) -> str:
    """R's printCoefmat(): coefmat_cells laid out, with the significance legend under stars."""
    cells = coefmat_cells(table, digits, **kw)
    return cells.text() + ("\n" + signif_legend() if cells.stars and legend else "")

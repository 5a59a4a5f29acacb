"""lme4's printed output, character for character: summary(fit) of an lmer fit.

`lmer_summary(fit)` lays a fit out as lme4 1.1-31's print.summary.merMod does
(digits = max(3, getOption("digits") - 3) = 4):

    Linear mixed model fit by REML ['lmerMod']
    Formula: IgG ~ Sex + (1 | FamID)

    REML criterion at convergence: 1475.7

    Scaled residuals:
    ...

The pieces are ports of the R code that prints them: lme4's .prt.* helpers and
formatVC(), R's deparse() of a formula (spacing and line breaks at width.cutoff 60),
cat(fill = TRUE), abbreviate() and print.default() of character matrices
(left-justified, wrapped at 80 columns). Numbers go through lib.rprint.rformat (R's
formatReal and printCoefmat).

`varcorr_table(fit)` and `fixef_table(fit)` give the Random effects and Fixed
effects tables as data frames, numeric or formatted as R prints them.
"""
from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from lib.engine.formula import FormulaError, _tokenize, parse_formula, quote_name, term_text
from lib.rprint.rformat import (
    format_numbers,
    format_signif,
    print_coefmat,
    print_named_strings,
    r_round,
    zapsmall,
)

WIDTH = 80  # getOption("width")
DIGITS = 4  # print.summary.merMod: max(3, getOption("digits") - 3)
COR_MAX = 12  # getOption("lme4.summary.cor.max")
OPT_CODE = re.compile(r"^convergence code (-?\d+) from (\S+?)(?:: (.*))?$", re.S)
FIT_WARNING = re.compile(r"^(fixed-effect model matrix is rank deficient|Some predictor variables are on very different scales)")


# ---------------------------------------------------------------------------
# R's small printing primitives
# ---------------------------------------------------------------------------
def _format(values: Iterable[float], digits: int = 7, nsmall: int = 0) -> list[str]:
    """R's format(): lib.rprint.rformat's formatReal, with R's dropping of a signed zero ("-0.000" is "0.000")."""
    return format_numbers(np.asarray(list(values), dtype=float) + 0.0, digits, nsmall)


def cat_fill(items: Sequence[str], width: int = WIDTH, sep: str = " ") -> str:
    """R's cat(..., fill = TRUE): items joined by sep, a new line before an item that would pass `width`."""
    out, at = [], 0
    for i, item in enumerate(items):
        if i:
            out.append(sep)
        if at + len(item) + len(sep) > width:
            out.append("\n")
            at = 0
        out.append(item)
        at += len(item) + len(sep)
    if at:
        out.append("\n")
    return "".join(out)


def _strip_chars(s: str, minlen: int) -> str:
    """R's C routine stripchars() behind abbreviate(use.classes = TRUE)."""
    b = list(s.lstrip())

    def length() -> int:
        return len(b) - sum(1 for c in b if c.isspace())

    def first_char(i: int) -> bool:
        return b[i - 1].isspace()

    def last_char(i: int) -> bool:
        return not b[i - 1].isspace() and (i + 1 >= len(b) or b[i + 1].isspace())

    def vowel(i: int) -> bool:
        return b[i] in "aeiou"

    if len(b) < minlen:
        return "".join(b)
    # trailing blanks go; inner blanks count as word boundaries until the end
    while b and b[-1].isspace():
        b.pop()
    if length() <= minlen:
        return _drop_spaces(b, minlen)
    rules = (lambda i: vowel(i) and last_char(i),
             lambda i: vowel(i) and not first_char(i),
             lambda i: b[i].islower() and last_char(i),
             lambda i: b[i].islower() and not first_char(i),
             lambda i: not first_char(i) and not b[i].isspace())
    for rule in rules:
        i = len(b) - 1
        while i > 0:
            if i < len(b) and rule(i):
                del b[i]
            if length() <= minlen:
                return _drop_spaces(b, minlen)
            i -= 1
    return _drop_spaces(b, minlen)


def _drop_spaces(b: list[str], minlen: int) -> str:
    if len(b) > minlen:
        b = [b[0]] + [c for c in b[1:] if not c.isspace()]
    return "".join(b)


def abbreviate(names: Sequence[str], minlength: int = 4) -> list[str]:
    """R's abbreviate(names, minlength) (method "left.kept", strict = FALSE).

    Clashing abbreviations are redone, one character longer each round, for every
    name that shares an abbreviation with another, as R does.
    """
    names = [str(n).strip(" ") for n in names]
    uniq = list(dict.fromkeys(names))
    x = [""] * len(uniq)
    redo = [True] * len(uniq)
    m = minlength
    while True:
        for i in (i for i, r in enumerate(redo) if r):
            x[i] = _strip_chars(uniq[i], m)
        dup = _duplicated(x)
        if not any(dup):
            break
        m += 1
        clash = {x[i] for i, d in enumerate(dup) if d}
        redo = [d or x[i] in clash for i, d in enumerate(dup)]
    lookup = dict(zip(uniq, x))
    return [lookup[n] for n in names]


def _duplicated(xs: Sequence[str]) -> list[bool]:
    seen: set[str] = set()
    out = []
    for v in xs:
        out.append(v in seen)
        seen.add(v)
    return out


def print_char_matrix(cells: Sequence[Sequence[str]], rownames: Sequence[str],
                      colnames: Sequence[str], right: bool = False, width: int = WIDTH) -> str:
    """R's print.default() of a character matrix, quote = FALSE.

    Columns are justified left (right = FALSE, lme4's tables) or right; row names
    always left. Columns that do not fit in `width` go to further blocks, each
    with its own header, as R wraps wide matrices.
    """
    rw = max((len(r) for r in rownames), default=0)
    nc = len(colnames)
    widths = [max([len(colnames[j])] + [len(row[j]) for row in cells]) for j in range(nc)]
    just = (lambda s, w: s.rjust(w)) if right else (lambda s, w: s.ljust(w))
    lines, jmin = [], 0
    if nc == 0:
        return "\n".join([" " * rw] + [r.ljust(rw) for r in rownames])
    while jmin < nc:
        w, jmax = rw, jmin
        while True:
            w += widths[jmax] + 1
            jmax += 1
            if not (jmax < nc and w + widths[jmax] + 1 < width):
                break
        cols = range(jmin, jmax)
        lines.append(" " * rw + "".join(" " + just(colnames[j], widths[j]) for j in cols))
        for name, row in zip(rownames, cells):
            lines.append(name.ljust(rw) + "".join(" " + just(row[j], widths[j]) for j in cols))
        jmin = jmax
    return "\n".join(lines)


def print_named_numbers(values: Sequence[float], names: Sequence[str], digits: int = 7,
                        width: int = WIDTH) -> str:
    """R's print() of a named numeric vector with `digits`."""
    return print_named_strings(_format(values, digits), list(names), width)


# ---------------------------------------------------------------------------
# deparse() of a formula
# ---------------------------------------------------------------------------
@dataclass
class _Node:
    op: str  # "name", "num", "(", "call", or an operator
    args: tuple = ()
    value: str = ""


_SPACED = {"~", "|", "||", "+", "-", "*"}  # PP_BINARY: " op ", and a possible line break
_TIGHT = {":", "/", "^"}  # PP_BINARY2: no spaces
# binding power of R's binary operators (gram.y): ~ < | || < + - < * / < : < unary - < ^
_POWER = {"~": 1, "|": 2, "||": 2, "+": 3, "-": 3, "*": 4, "/": 4, ":": 6, "^": 8}
_UNARY = {"-": 7, "+": 7, "~": 1}


class _TreeParser:
    """Formula text to R's call tree (kept as written: no expansion of * or /)."""

    def __init__(self, text: str):
        self.toks = [("name" if k == "qname" else k, v) for k, v, _ in _tokenize(text)]
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise FormulaError("the formula ends too early")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Node:
        node = self.expr(0)
        if self.i != len(self.toks):
            raise FormulaError(f"unexpected {self.peek()!r} in the formula")
        return node

    def expr(self, min_power: int) -> _Node:
        left = self.atom()
        while True:
            op = self.peek()
            if op not in _POWER or _POWER[op] < min_power:
                return left
            self.take()
            power = _POWER[op]
            right = self.expr(power if op == "^" else power + 1)  # ^ is right-associative
            left = _Node(op, (left, right))

    def atom(self) -> _Node:
        kind, value = self.take()
        if kind == "op" and value in _UNARY:
            return _Node(value, (self.expr(_UNARY[value]),))
        if value == "(":
            inner = self.expr(0)
            self.close()
            return _Node("(", (inner,))
        if kind == "name" and self.peek() == "(":
            self.take()
            args = [self.expr(0)]
            while self.peek() == ",":
                self.take()
                args.append(self.expr(0))
            self.close()
            return _Node("call", tuple(args), value)
        if kind in ("name", "num"):
            return _Node(kind, (), value)
        raise FormulaError(f"unexpected {value!r} in the formula")

    def close(self) -> None:
        if self.take()[1] != ")":
            raise FormulaError("unbalanced parentheses in the formula")


class _Deparser:
    """R's deparse2buff(): lines broken after a binary operator once a line passes the cutoff."""

    def __init__(self, cutoff: int):
        self.cutoff, self.lines, self.buf, self.indent, self.start = cutoff, [], "", 0, True

    def put(self, s: str) -> None:
        if self.start:
            self.start = False
            self.buf += "".join("    " if i < 4 else "  " for i in range(self.indent))
        self.buf += s

    def writeline(self) -> None:
        self.lines.append(self.buf)
        self.buf, self.start = "", True

    def linebreak(self, state: list[bool]) -> None:
        if len(self.buf) > self.cutoff:
            if not state[0]:
                state[0] = True
                self.indent += 1
            self.writeline()

    def node(self, n: _Node) -> None:
        if n.op == "name":
            self.put(quote_name(n.value))
        elif n.op == "num":
            self.put(n.value)
        elif n.op == "(":
            self.put("(")
            self.node(n.args[0])
            self.put(")")
        elif n.op == "call":
            self.put(n.value + "(")
            state = [False]
            for i, a in enumerate(n.args):
                if i:
                    self.put(", ")
                    self.linebreak(state)
                self.node(a)
            self.put(")")
            if state[0]:
                self.indent -= 1
        elif len(n.args) == 1:
            self.put(n.op)
            self.node(n.args[0])
        elif n.op in _TIGHT:
            self.node(n.args[0])
            self.put(n.op)
            self.node(n.args[1])
        else:
            self.node(n.args[0])
            self.put(f" {n.op} ")
            state = [False]
            self.linebreak(state)
            self.node(n.args[1])
            if state[0]:
                self.indent -= 1

    def result(self) -> list[str]:
        if self.buf or not self.lines:
            self.writeline()
        return self.lines


def _columns(node: _Node) -> list[str]:
    if node.op == "name":
        return [node.value]
    return [c for a in node.args for c in _columns(a)]


def _expand_double_verts(node: _Node) -> _Node:
    """lme4's expandDoubleVerts: (x || g) becomes ((1 | g) + (0 + x1 | g) + ...)."""
    if node.op == "||":
        lhs, group = node.args
        text = deparse(lhs, cutoff=500)[0]
        cols = _columns(lhs)
        lin = parse_formula(f"~ {text}", cols).fixed
        group_text = deparse(group, cutoff=500)[0]
        parts = (["1"] if lin.intercept else []) + [f"0+{term_text(t)}" for t in lin.terms]
        if not parts:
            return node
        expr = "(" + ")+(".join(f"{p}|{group_text}" for p in parts) + ")"
        return _TreeParser(expr).parse()
    if node.op in ("name", "num"):
        return node
    return _Node(node.op, tuple(_expand_double_verts(a) for a in node.args), node.value)


def deparse(formula: "str | _Node", cutoff: int = 60) -> list[str]:
    """R's deparse() of a formula: its lines, as R spaces and breaks them."""
    node = _TreeParser(formula).parse() if isinstance(formula, str) else formula
    d = _Deparser(cutoff)
    d.node(node)
    return d.result()


def lme4_formula(text: str) -> _Node:
    """The formula as lmer keeps it in its call: || terms expanded (expandDoubleVerts)."""
    return _expand_double_verts(_TreeParser(text).parse())


def formula_lines(fit, cutoff: int = 60) -> list[str]:
    """deparse(formula(fit)), lme4's stored formula."""
    return deparse(lme4_formula(_formula_text(fit)), cutoff)


def formula_text(fit) -> str:
    """deparse1(formula(fit)): one line, as anova() prints it."""
    return " ".join(formula_lines(fit, cutoff=500))


def _formula_text(fit) -> str:
    return fit.formula.text


# ---------------------------------------------------------------------------
# the tables
# ---------------------------------------------------------------------------
@dataclass
class _VCGroup:
    name: str
    terms: list[str]
    sd: np.ndarray
    corr: np.ndarray  # k x k


def _vc_groups(fit) -> tuple[list[_VCGroup], float | None]:
    """VarCorr(fit) from the as.data.frame(VarCorr) layout of fit.varcorr."""
    vc = fit.varcorr
    groups: dict[str, _VCGroup] = {}
    residual = None
    for row in vc.itertuples(index=False):
        if row.grp == "Residual" and _missing(row.var1):
            residual = float(row.sdcor)
            continue
        g = groups.setdefault(row.grp, _VCGroup(row.grp, [], np.zeros(0), np.zeros((0, 0))))
        if _missing(row.var2):
            g.terms.append(row.var1)
            g.sd = np.append(g.sd, float(row.sdcor))
    for g in groups.values():
        g.corr = np.eye(len(g.terms))
    for row in vc.itertuples(index=False):
        if row.grp in groups and not _missing(row.var2):
            g = groups[row.grp]
            i, j = g.terms.index(row.var1), g.terms.index(row.var2)
            g.corr[i, j] = g.corr[j, i] = float(row.sdcor)
    return list(groups.values()), residual


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def varcorr_table(fit, formatted: bool = False, digits: int = DIGITS) -> pd.DataFrame:
    """The Random effects table of summary(fit), one row per random effect.

    Columns Groups, Name, Variance, Std.Dev. and, when a term has several effects,
    Corr (one column per earlier effect of the same group: ``Corr`` alone, or
    ``Corr 1``, ``Corr 2``, ...). With `formatted`, the cells are the strings lme4
    prints (Groups blank after a group's first row, correlations to 2 decimals).
    """
    groups, residual = _vc_groups(fit)
    maxlen = max([len(g.terms) for g in groups] + [1])
    ncorr = maxlen - 1
    corr_names = ["Corr"] if ncorr == 1 else [f"Corr {j + 1}" for j in range(ncorr)]
    rows = []
    for g in groups:
        for i, name in enumerate(g.terms):
            corr = [g.corr[i, j] if j < i else np.nan for j in range(ncorr)]
            rows.append([g.name, name, g.sd[i] ** 2, g.sd[i]] + corr)
    if residual is not None:
        rows.append(["Residual", "", residual ** 2, residual] + [np.nan] * ncorr)
    table = pd.DataFrame(rows, columns=["Groups", "Name", "Variance", "Std.Dev."] + corr_names)
    if not formatted:
        return table
    cells = _format_vc(groups, residual, digits)
    header = cells[0]
    return pd.DataFrame(cells[1:], columns=header[:4] + corr_names[:len(header) - 4])


def _format_vc(groups: list[_VCGroup], residual: float | None, digits: int) -> list[list[str]]:
    """lme4's formatVC(): header and cells, before print()."""
    sds = [s for g in groups for s in g.sd] + ([residual] if residual is not None else [])
    variances = _format([s ** 2 for s in sds], digits)
    stddevs = _format(sds, digits)
    names = [t for g in groups for t in g.terms] + ([""] if residual is not None else [])
    grp_col = []
    for g in groups:
        grp_col += [g.name] + [""] * (len(g.terms) - 1)
    if residual is not None:
        grp_col.append("Residual")
    rows = [[a, b, c, d] for a, b, c, d in zip(grp_col, names, variances, stddevs)]
    header = ["Groups", "Name", "Variance", "Std.Dev."]
    maxlen = max([len(g.terms) for g in groups] + [0])
    if maxlen > 1:
        dig = max(2, digits - 2)
        corr_rows = []
        for g in groups:
            k = len(g.terms)
            flat = _format(r_round(g.corr.ravel(), dig), 7, nsmall=dig)
            cc = np.array(flat, dtype=object).reshape(k, k)
            for i in range(k):
                corr_rows.append([cc[i, j] if j < i else "" for j in range(maxlen - 1)])
        corr_rows += [[""] * (maxlen - 1)] * (len(rows) - len(corr_rows))
        rows = [r + c for r, c in zip(rows, corr_rows)]
        header += ["Corr"] + [""] * (maxlen - 2)
    return [header] + rows


def fixef_table(fit, formatted: bool = False, digits: int = DIGITS) -> pd.DataFrame:
    """The Fixed effects table: Estimate, Std. Error, t value (strings as printCoefmat prints them if `formatted`)."""
    table = pd.DataFrame({"Estimate": fit.fixef, "Std. Error": fit.se})
    table["t value"] = table["Estimate"] / table["Std. Error"]
    if not formatted:
        return table
    lines = print_coefmat(table, digits=digits).split("\n")
    rw = max(len(str(i)) for i in table.index)
    cells = [line[rw:].split() for line in lines[1:]]
    return pd.DataFrame(cells, index=table.index, columns=table.columns)


# ---------------------------------------------------------------------------
# the summary
# ---------------------------------------------------------------------------
def _classify_messages(fit) -> tuple[list[str], list[str], int, str | None]:
    """fit.messages split as lme4 stores them: fit warnings (X's attributes), lme4's
    convergence messages, the optimizer's warnings; and the optimizer's code."""
    fitmsgs, lme4msgs, optwarn = [], [], []
    code, detail = 0, None
    for m in fit.all_messages:
        hit = OPT_CODE.match(m)
        if FIT_WARNING.match(m):
            fitmsgs.append(m)
        elif hit:
            optwarn.append(m)
            code, detail = int(hit.group(1)), hit.group(3)
        else:
            lme4msgs.append(m)
    return fitmsgs, lme4msgs + optwarn, code, detail


def method_title(fit) -> str:
    """lme4's methTitle(): a fit with a `family` is a GLMM (glmer), else an LMM."""
    if fit.family is not None:
        nagq = fit.nAGQ
        how = "(Laplace Approximation)" if nagq == 1 else \
            f"(Adaptive Gauss-Hermite Quadrature, nAGQ = {nagq})"
        return f"Generalized linear mixed model fit by maximum likelihood {how}"
    # paste("maximum likelihood", NULL) leaves a trailing blank: two spaces before ['lmerMod']
    return "Linear mixed model fit by " + ("REML" if fit.REML else "maximum likelihood ")


def _method_line(title: str, cls: str) -> str:
    """lme4's .prt.methTit(): a title too long for the console is wrapped by strwrap()."""
    if len(title) + 5 + len(cls) <= WIDTH:
        return f"{title} ['{cls}']"
    # strwrap(width = 78, exdent = 2): lines shorter than 78 characters
    wrapped = textwrap.wrap(title, width=WIDTH - 3, subsequent_indent="  ")
    return cat_fill(wrapped + [" [", cls, "]"], sep="").rstrip("\n")


def _aic_block(fit) -> str:
    if fit.REML:
        crit = float(r_round([fit.reml_criterion], 1)[0])
        return cat_fill(["REML criterion at convergence:", format_signif(crit, 7)]).rstrip("\n")
    df_resid = fit.nobs - fit.df
    dev = -2 * fit.loglik  # lme4's devCrit: the ML deviance of an lmer fit, -2 logLik of a glmer fit
    vals = r_round([fit.aic, fit.bic, fit.loglik, dev, df_resid], 1)
    cells = _format(vals, 7)
    cells[4] = _format([vals[4]], 7)[0]
    return print_named_strings(cells, ["AIC", "BIC", "logLik", "deviance", "df.resid"])


def _resid_block(fit, digits: int) -> str:
    q = zapsmall(np.asarray(fit.scaled_resid_quantiles, float), digits + 1)
    return "Scaled residuals: \n" + print_named_numbers(q, ["Min", "1Q", "Median", "3Q", "Max"], digits)


def random_effects_text(fit, digits: int = DIGITS) -> str:
    groups, residual = _vc_groups(fit)
    cells = _format_vc(groups, residual, digits)
    return "Random effects:\n" + print_char_matrix(cells[1:], [""] * (len(cells) - 1), cells[0])


def groups_line(fit) -> str:
    ngrps = fit.ngrps
    text = "; ".join(f"{k}, {v}" for k, v in ngrps.items())
    return cat_fill([f"Number of obs: {fit.nobs}, groups: ", text]).rstrip("\n")


def fixef_correlation_text(fit, name: str = "x", limit: int = COR_MAX) -> str:
    """Correlation of Fixed Effects, or lme4's note when p > `limit` (12)."""
    p = len(fit.fixef)
    if p > limit:
        return (f"\nCorrelation matrix not shown by default, as p = {p} > {limit}.\n"
                f"Use print({name}, correlation=TRUE)  or\n"
                f"    vcov({name})        if you need it\n\n")  # message() adds a newline
    if p <= 1:
        return ""
    rn = [str(n) for n in fit.fixef.index]
    corr = np.asarray(fit.cor_fixef, float)
    flat = _format(r_round(corr.ravel(order="F"), 3), 7, nsmall=3)
    cc = np.array(flat, dtype=object).reshape((p, p), order="F")
    cells = [[cc[i, j] if j < i else "" for j in range(p - 1)] for i in range(1, p)]
    table = print_char_matrix(cells, abbreviate(rn, 11)[1:], abbreviate(rn, 6)[:-1])
    return "\nCorrelation of Fixed Effects:\n" + table


def convergence_text(fit) -> str:
    """lme4's .prt.warn(): the optimizer's code and the messages, when there are any."""
    _, msgs, code, detail = _classify_messages(fit)
    if code <= 0 and not msgs:
        return ""
    status = "(OK)" if code == 0 else (f"({detail})" if detail else "")
    optimizer = fit.optimizer
    return "\n".join([f"optimizer ({optimizer}) convergence code: {code} {status}"] + msgs) + "\n\n"


def lmer_summary(fit, data_name: str | None = None, digits: int = DIGITS,
                 correlation: bool | None = None, name: str = "x") -> str:
    """print(summary(fit)) as lme4 1.1-31 prints it.

    `data_name` fills lme4's "   Data: ..." line (the data argument of the call);
    without it the line is left out. `name` is what lme4's note on a large
    correlation matrix calls the object.
    """
    head = [_method_line(method_title(fit), fit.object_class) + "\n"]
    return summary_text(fit, head, [], fixef_table(fit), data_name, digits, correlation, name)


def summary_text(fit, head: list[str], extra: list[tuple[str, str]], coefs,
                 data_name: str | None, digits: int, correlation: bool | None, name: str) -> str:
    """print.summary.merMod's body, shared by lmer and glmer summaries.

    `head` are the title lines, `extra` further (label, value) lines after Data
    (glmer's Weights), `coefs` the fixed-effects table.
    """
    out = list(head)
    out.append(cat_fill(["Formula:"] + formula_lines(fit)))
    if data_name:
        out.append(cat_fill(["   Data:", data_name]))
    out += [cat_fill([label, value]) for label, value in extra]
    out.append("\n")
    out.append(_aic_block(fit) + "\n\n")
    out.append(_resid_block(fit, digits) + "\n\n")
    out.append(random_effects_text(fit, digits) + "\n")
    out.append(groups_line(fit) + "\n")
    p = len(fit.fixef)
    if p > 0:
        out.append("\nFixed effects:\n" + print_coefmat(coefs, digits=digits) + "\n")
        if correlation is None and p > COR_MAX:
            out.append(fixef_correlation_text(fit, name))
        elif correlation or (correlation is None and p > 1):
            text = fixef_correlation_text(fit, name, limit=p)
            out.append(text + ("\n" if text else ""))
    fitmsgs = _classify_messages(fit)[0]
    if fitmsgs:
        out.append("fit warnings:\n" + "\n".join(fitmsgs) + "\n")
    out.append(convergence_text(fit))
    return "".join(out)

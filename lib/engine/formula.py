"""A strict parser for R / lme4 model formulas.

Formulas are parsed by a small grammar of column names, R's formula operators and
the numbers 0 and 1; nothing in a formula is ever evaluated as code (patsy and
formulaic would run Python found inside one). Anything else is a `FormulaError`
that names the offending part.

Grammar (R's precedence: ``:`` binds tighter than ``*`` and ``/``, which bind
tighter than ``+`` and ``-``)::

    formula  := [response] "~" sum
    response := NAME | "cbind" "(" NAME "," NAME ["-" NAME] ")"
    sum      := ["-"] product (("+" | "-") product)*
    product  := inter (("*" | "/") inter)*
    inter    := atom (":" atom)*
    atom     := NAME | "0" | "1" | "(" sum ")" | "(" sum ("|" | "||") group ")"
    group    := NAME (":" NAME)* ["/" NAME (":" NAME)*]
    NAME     := R's syntactic name | "`" any characters but ` and newline "`"

A column whose name is not a syntactic R name (``my col``, ``2020``, ``if``) is written in
backticks, as R writes it; `quote_name` gives that spelling.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

Term = tuple[str, ...]  # variables of one term, in order of first appearance


class FormulaError(ValueError):
    """A formula that does not follow the grammar or names an unknown column."""


@dataclass(frozen=True)
class Response:
    """The left-hand side: one column, or cbind(successes, failures)."""

    name: str
    failures: str | None = None  # cbind(s, f): column of failures, or
    total: str | None = None  # cbind(s, total - s): column of totals

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.name, self.failures, self.total) if c)

    @property
    def is_cbind(self) -> bool:
        return self.failures is not None or self.total is not None

    @property
    def label(self) -> str:
        name = quote_name(self.name)
        if self.failures:
            return f"cbind({name}, {quote_name(self.failures)})"
        if self.total:
            return f"cbind({name}, {quote_name(self.total)} - {name})"
        return name


@dataclass(frozen=True)
class Linear:
    """Expanded fixed-effects terms of a (sub)formula, as R's terms() would give them."""

    terms: tuple[Term, ...]
    intercept: bool = True

    @property
    def labels(self) -> list[str]:
        return [":".join(t) for t in self.terms]

    @property
    def variables(self) -> list[str]:
        return _unique(v for t in self.terms for v in t)


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` term; `correlated` is False for ``||``."""

    expr: Linear
    group: Term  # ("Sex", "IndID") for Sex:IndID
    correlated: bool = True

    @property
    def group_label(self) -> str:
        return ":".join(self.group)

    @property
    def label(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({linear_text(self.expr)} {bar} {':'.join(map(quote_name, self.group))})"


@dataclass(frozen=True)
class Formula:
    text: str
    response: Response | None
    fixed: Linear
    random: tuple[RandomTerm, ...]

    @property
    def variables(self) -> list[str]:
        """Every column the formula uses."""
        cols = list(self.response.columns) if self.response else []
        cols += self.fixed.variables
        for r in self.random:
            cols += r.expr.variables + list(r.group)
        return _unique(cols)

    def fixed_text(self) -> str:
        lhs = self.response.label if self.response else ""
        return f"{lhs} ~ {linear_text(self.fixed)}".strip()


_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z.][A-Za-z0-9._]*)|`(?P<qname>[^`\n]+)`|(?P<num>\d+(?:\.\d*)?)"
                    r"|(?P<op>\|\||[~+\-*:/()|,]))")
# R's reserved words (?Reserved): never a plain column name in a formula
_RESERVED = frozenset("if else repeat while function for next break TRUE FALSE NULL Inf NaN NA "
                      "NA_integer_ NA_real_ NA_character_ NA_complex_ in".split())
_SYNTACTIC = re.compile(r"(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*|\.")


def quote_name(name: str) -> str:
    """A column name as R writes it in a formula: plain if syntactic, else in backticks."""
    if _SYNTACTIC.fullmatch(name) and name not in _RESERVED:
        return name
    if "`" in name or "\n" in name or not name:
        raise FormulaError(f"the column name {name!r} cannot be written in a formula: rename it")
    return f"`{name}`"


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].strip()[:20]
            raise FormulaError(f"unexpected {bad!r} at position {pos + 1} of the formula: "
                               "only column names (`in backticks` if need be), 0, 1 and "
                               "~ + - * : / ( ) | || are allowed")
        kind = m.lastgroup or "op"
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str, columns: Sequence[str]):
        self.text = text
        self.columns = list(columns)
        self.tokens = _tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------
    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        if self.i >= len(self.tokens):
            raise FormulaError(f"the formula ends too early: expected {expected or 'more'}")
        tok = self.tokens[self.i]
        if expected is not None and tok[1] != expected:
            raise FormulaError(f"expected {expected!r} but found {tok[1]!r} at position {tok[2] + 1}")
        self.i += 1
        return tok

    def name(self) -> str:
        kind, value, pos = self.take()
        if kind not in ("name", "qname"):
            raise FormulaError(f"expected a column name but found {value!r} at position {pos + 1}")
        if value not in self.columns:
            raise FormulaError(f"unknown column {value!r} at position {pos + 1}; "
                               f"the data has: {', '.join(map(str, self.columns))}")
        return value

    # -- grammar -------------------------------------------------------
    def formula(self) -> Formula:
        response = None
        if self.peek() != "~":
            response = self.response()
        self.take("~")
        fixed, random = self.sum()
        if self.peek() is not None:
            _, value, pos = self.tokens[self.i]
            raise FormulaError(f"unexpected {value!r} at position {pos + 1}")
        return Formula(self.text.strip(), response, fixed, tuple(random))

    def response(self) -> Response:
        if self.peek() == "cbind" and self.tokens[self.i][0] == "name":
            self.take()
            self.take("(")
            succ = self.name()
            self.take(",")
            other = self.name()
            if self.peek() == "-":
                self.take()
                minus = self.name()
                if minus != succ:
                    raise FormulaError(f"cbind({succ}, {other} - {minus}): the subtracted "
                                       f"column must be the successes, {succ}")
                self.take(")")
                return Response(succ, total=other)
            self.take(")")
            return Response(succ, failures=other)
        return Response(self.name())

    def sum(self) -> tuple[Linear, list[RandomTerm]]:
        acc = _Acc()
        sign = +1
        if self.peek() == "-":
            self.take()
            sign = -1
        while True:
            part = self.product()
            if isinstance(part, RandomTerm):
                if sign < 0:
                    raise FormulaError(f"a random-effects term cannot be subtracted: -{part.label}")
                acc.random.append(part)
            else:
                acc.apply(part, sign)
            op = self.peek()
            if op not in ("+", "-"):
                return acc.result()
            self.take()
            sign = +1 if op == "+" else -1

    def product(self) -> "_Part | RandomTerm":
        left = self.inter()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            right = self.inter()
            if isinstance(left, RandomTerm) or isinstance(right, RandomTerm):
                raise FormulaError(f"random-effects terms can only be added (+), not combined with {op!r}")
            left = left.star(right) if op == "*" else left.nest(right)
        return left

    def inter(self) -> "_Part | RandomTerm":
        left = self.atom()
        while self.peek() == ":":
            self.take()
            right = self.atom()
            if isinstance(left, RandomTerm) or isinstance(right, RandomTerm):
                raise FormulaError("random-effects terms can only be added (+), not combined with ':'")
            left = left.colon(right)
        return left

    def atom(self) -> "_Part | RandomTerm":
        kind, value, pos = self.tokens[self.i] if self.i < len(self.tokens) else ("", "", 0)
        if value == "(":
            self.take()
            inner, random = self.sum()
            if self.peek() in ("|", "||"):
                if random:
                    raise FormulaError("random-effects terms cannot be nested inside another")
                bar = self.take()[1]
                group = self.group()
                self.take(")")
                return RandomTerm(inner, group, correlated=(bar == "|"))
            self.take(")")
            if random:
                raise FormulaError("random-effects terms cannot stand inside parentheses")
            return _Part(list(inner.terms), True)
        if kind == "num":
            self.take()
            if value in ("0", "1"):
                return _Part([], value == "1", explicit_intercept=value == "1")
            raise FormulaError(f"the number {value} at position {pos + 1} has no meaning in a formula "
                               "(only 0 and 1, for the intercept)")
        if kind in ("name", "qname"):
            return _Part([(self.name(),)], False)
        if not value:
            raise FormulaError("the formula ends too early: expected a term")
        raise FormulaError(f"unexpected {value!r} at position {pos + 1}")

    def group(self) -> Term:
        # `a/b` is expanded by the caller into (1|a) + (1|a:b); here it is kept as a marker.
        parts = [self.name()]
        while self.peek() == ":":
            self.take()
            parts.append(self.name())
        if self.peek() == "/":
            self.take()
            inner = self.group()
            return tuple(parts) + ("/",) + inner
        return tuple(parts)


@dataclass
class _Part:
    """A right-hand side under construction: terms plus intercept flag."""

    terms: list[Term]
    intercept: bool
    explicit_intercept: bool | None = None  # set for the atoms 0 and 1

    def star(self, other: "_Part") -> "_Part":
        return _Part(_unique(self.terms + other.terms + self.colon(other).terms), False)

    def colon(self, other: "_Part") -> "_Part":
        out = [_join(a, b) for b in other.terms for a in self.terms]
        return _Part(_unique(sorted_by_degree(out)), False)

    def nest(self, other: "_Part") -> "_Part":
        outer: Term = tuple(_unique(v for t in self.terms for v in t))
        return _Part(_unique(self.terms + [_join(outer, b) for b in other.terms]), False)


@dataclass
class _Acc:
    """Running sum of a formula's right-hand side."""

    terms: list[Term] = field(default_factory=list)
    intercept: bool = True
    random: list[RandomTerm] = field(default_factory=list)

    def apply(self, part: _Part, sign: int) -> None:
        if part.explicit_intercept is not None:
            # "+ 1" keeps it, "+ 0" and "- 1" drop it, "- 0" keeps it
            self.intercept = part.explicit_intercept if sign > 0 else not part.explicit_intercept
            return
        if sign > 0:
            self.terms = _unique(self.terms + part.terms)
        else:
            drop = {frozenset(t) for t in part.terms}
            self.terms = [t for t in self.terms if frozenset(t) not in drop]

    def result(self) -> tuple[Linear, list[RandomTerm]]:
        return Linear(tuple(sorted_by_degree(self.terms)), self.intercept), self.random


def _join(a: Term, b: Term) -> Term:
    return tuple(_unique(list(a) + list(b)))


def _unique(items: Iterable) -> list:
    seen, out = set(), []
    for it in items:
        key = frozenset(it) if isinstance(it, tuple) else it
        if key not in seen:
            seen.add(key)
            out.append(it)
    return out


def sorted_by_degree(terms: list[Term]) -> list[Term]:
    """R's terms() order: by number of variables, stable within a degree."""
    return sorted(terms, key=len)


def linear_text(lin: Linear) -> str:
    """A right-hand side written back as R would: 1 + a + a:b, or 0 + a."""
    return " + ".join((["1"] if lin.intercept else ["0"]) + [term_text(t) for t in lin.terms])


def term_text(term: Term) -> str:
    """One term as R writes it: its variables joined by ':', each quoted if need be."""
    return ":".join(quote_name(v) for v in term)


def _expand_nesting(random: Iterable[RandomTerm]) -> tuple[RandomTerm, ...]:
    """(x | a/b) is (x | a) + (x | b:a), as lme4's expandSlash writes it."""
    out: list[RandomTerm] = []
    for r in random:
        if "/" not in r.group:
            out.append(r)
            continue
        cut = r.group.index("/")
        outer, inner = r.group[:cut], r.group[cut + 1:]
        out += list(_expand_nesting([RandomTerm(r.expr, outer, r.correlated),
                                     RandomTerm(r.expr, inner + outer, r.correlated)]))
    return tuple(out)


def parse_formula(text: str, columns: Sequence[str]) -> Formula:
    """Parse an R / lme4 formula over the given column names."""
    if not isinstance(text, str) or "~" not in text:
        raise FormulaError("a formula needs a '~', as in IgG ~ Sex + (1 | FamID)")
    f = _Parser(text, columns).formula()
    random = _expand_nesting(f.random)
    for r in random:
        if r.group_label in (":".join(t) for t in r.expr.terms):
            raise FormulaError(f"{r.label}: the grouping factor cannot also be an effect in its own term")
    return Formula(f.text, f.response, f.fixed, random)

"""Our printed output against R's, digit by digit where the digit is the model's.

R prints each model twice in the references: at lme4's default stop and at the criterion's optimum
(optimum_lme4.json's `printed`, tests/golden/lme4/*_optimum.txt). Where the two texts agree, the
digits are a property of the model and ours must be the same, character for character, but for a
number that may differ by one unit in its last digit: a value within the reference band can sit on
the other side of a rounding edge (MModTime4 ML: 11.52295 prints 11.5229 or 11.5230). Where they
differ, the digit belongs to where lme4's optimizer stopped: ours must then lie within the two
printed values, widened on each side by their gap, since every optimizer path that reaches the
optimum lands within that reach in the reference (MModTime4's runs: 29.7860 to 29.7881 where the two
named points print 29.7861 and 29.7865).
"""
from __future__ import annotations

import re

NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$")


def without_control(lines: list[str]) -> list[str]:
    """R's printout without the `Control:` block that a non-default optimizer adds."""
    out, skipping = [], False
    for line in lines:
        if line.startswith("Control:"):
            skipping = True
            continue
        if skipping and (line.startswith(("    ", '"', "structure(")) or line.endswith("  ")):
            continue
        skipping = False
        out.append(line)
    return out


def _number(token: str) -> float | None:
    t = token.rstrip("*").rstrip(".")
    if t.startswith("<"):
        return None
    return float(t) if NUMBER.match(t) else None


def _one_unit_apart(a: str, b: str) -> bool:
    """Two printed numbers of the same layout one unit apart in their last digit."""
    x, y = _number(a), _number(b)
    if x is None or y is None or len(a) != len(b) or "e" in a or "." not in a:
        return False
    unit = 10.0 ** -len(a.rstrip("*").split(".")[1])
    return abs(abs(x - y) - unit) < unit / 100


def mismatches(ours: list[str], at_stop: list[str], at_optimum: list[str]) -> list[str]:
    """Lines or tokens of `ours` that break the rule above (an empty list: all good)."""
    if not len(ours) == len(at_stop) == len(at_optimum):
        return [f"{len(ours)} lines, R prints {len(at_stop)} at its stop and {len(at_optimum)} at the optimum"]
    bad = []
    for o, s, p in zip(ours, at_stop, at_optimum):
        if s == p and o == s:
            continue
        to, ts, tp = o.split(), s.split(), p.split()
        if not len(to) == len(ts) == len(tp):
            bad.append(f"{o!r} vs {s!r} / {p!r}")
            continue
        for a, b, c in zip(to, ts, tp):
            x, y, z = _number(a), _number(b), _number(c)
            if b == c:
                if a != b and not _one_unit_apart(a, b):
                    bad.append(f"{a} != {b} in {o!r}")
                continue
            if x is None or y is None or z is None:
                bad.append(f"{a} not in ({b}, {c}) in {o!r}")
                continue
            gap = abs(y - z)
            if not min(y, z) - gap <= x <= max(y, z) + gap:
                bad.append(f"{a} outside {b}..{c} (+-{gap:g}) in {o!r}")
    return bad

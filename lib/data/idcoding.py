"""ID coding for grouping factors: unique vs non-unique codes, and recoding to unique IDs.

The tutorial's CODING CAUTION: when individuals are numbered 1..n within each family,
`(1 | Individual)` sees individual 1 of family 1 and individual 1 of family 2 as one
person. `unique_ids` recodes so that every individual has its own code; lme4's nested
form `(1 | Family/Individual)` (= `(1 | Family) + (1 | Individual:Family)`, as lme4 expands it) reaches the
same groups without recoding. `example_data` builds the tutorial's small two-family
table with a simulated response, so the miscount can be fitted and seen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def unique_ids(df: pd.DataFrame, within: str | list[str], code: str, sep: str = "-",
               numbered: bool = True) -> pd.Series:
    """One code per distinct (within..., code) combination.

    numbered=True gives 1, 2, 3, ... in order of first appearance (the tutorial's
    "Unique ID" table); numbered=False keeps the parts readable, e.g. "2-1".
    The result is categorical with levels in that order.
    """
    keys = [within] if isinstance(within, str) else list(within)
    parts = [df[k].astype(str) for k in keys] + [df[code].astype(str)]
    label = parts[0]
    for p in parts[1:]:
        label = label + sep + p
    if not numbered:
        levels = list(dict.fromkeys(label))
        return pd.Series(pd.Categorical(label, categories=levels), index=df.index, name=code)
    first = pd.Series(pd.factorize(label, sort=False)[0] + 1, index=df.index).astype(str)
    levels = [str(i) for i in range(1, first.astype(int).max() + 1)] if len(first) else []
    return pd.Series(pd.Categorical(first, categories=levels), index=df.index, name=code)


def is_uniquely_coded(df: pd.DataFrame, outer: str, inner: str) -> bool:
    """True when no inner code appears under two different outer codes."""
    per_code = df.groupby(df[inner].astype(str), observed=True)[outer].nunique()
    return bool((per_code <= 1).all())


def shared_codes(df: pd.DataFrame, outer: str, inner: str) -> pd.DataFrame:
    """Inner codes that appear under more than one outer code, with those outer codes."""
    g = df.assign(_o=df[outer].astype(str), _i=df[inner].astype(str)).groupby("_i", observed=True)["_o"]
    table = g.agg(lambda s: ", ".join(sorted(set(s), key=_natural))).rename(f"{outer} values")
    counts = g.nunique()
    out = pd.DataFrame({inner: counts.index, f"{outer} count": counts.to_numpy(),
                        f"{outer} values": table.to_numpy()})
    out = out[out[f"{outer} count"] > 1]
    order = sorted(range(len(out)), key=lambda i: _natural(out[inner].iloc[i]))
    return out.iloc[order].reset_index(drop=True)


def _natural(s: str):
    return (0, int(s), "") if str(s).isdigit() else (1, 0, str(s))


def id_tables(sizes: tuple[int, ...] = (3, 4)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tutorial's two tables: Family/Individual non-unique and unique codes."""
    fam = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    within = np.concatenate([np.arange(1, n + 1) for n in sizes]) if sizes else np.array([], int)
    non = pd.DataFrame({"Family": fam, "Individual": within})
    uniq = non.assign(Individual=np.arange(1, len(non) + 1))
    return non, uniq


@dataclass(frozen=True)
class Example:
    sizes: tuple[int, ...] = (3, 4)  # individuals per family
    reps: int = 6  # measurements per individual
    sd_family: float = 4.0
    sd_individual: float = 3.0
    sd_residual: float = 1.0
    seed: int = 1

    @property
    def slice_name(self) -> str:
        sizes = "x".join(map(str, self.sizes))
        return (f"idcoding:{sizes}:{self.reps}:{self.sd_family:g}:{self.sd_individual:g}:"
                f"{self.sd_residual:g}:{self.seed}")

    @classmethod
    def from_slice_name(cls, name: str) -> "Example":
        tag, sizes, reps, sf, si, sr, seed = name.split(":")
        if tag != "idcoding":
            raise ValueError(f"not an ID-coding example: {name!r}")
        return cls(tuple(int(s) for s in sizes.split("x")), int(reps), float(sf), float(si),
                   float(sr), int(seed))


def example_data(ex: Example) -> pd.DataFrame:
    """Families x individuals x repeated measures with a simulated response y.

    Columns: Family, Individual (1..n within each family: the non-unique coding),
    UniqueID (1..N over all families, recoded by `unique_ids`), Rep, y. The response is
    10 + family effect + individual effect + noise, drawn with a fixed seed.
    """
    rng = np.random.default_rng(ex.seed)
    non, _ = id_tables(ex.sizes)
    fam_eff = rng.normal(0, ex.sd_family, len(ex.sizes))
    ind_eff = rng.normal(0, ex.sd_individual, len(non))
    rows = non.loc[non.index.repeat(ex.reps)].reset_index(drop=False).rename(columns={"index": "_who"})
    rows["Rep"] = np.tile(np.arange(1, ex.reps + 1), len(non))
    noise = rng.normal(0, ex.sd_residual, len(rows))
    rows["y"] = 10 + fam_eff[rows["Family"].to_numpy() - 1] + ind_eff[rows["_who"].to_numpy()] + noise
    out = pd.DataFrame({
        "Family": pd.Categorical(rows["Family"].astype(str), categories=[str(i) for i in range(1, len(ex.sizes) + 1)]),
        "Individual": rows["Individual"].astype(str),
        "Rep": rows["Rep"].to_numpy(),
        "y": rows["y"].to_numpy(),
    })
    levels = sorted(out["Individual"].unique(), key=int)
    out["Individual"] = pd.Categorical(out["Individual"], categories=levels)
    out.insert(2, "UniqueID", unique_ids(out, "Family", "Individual"))
    return out

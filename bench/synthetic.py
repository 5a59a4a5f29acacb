"""Seeded synthetic data sets for the benchmark (reusable by tests).

Each maker returns a data frame with its grouping factors as categoricals; the formulas
beside them are the models the bench fits. The shapes are those of data sets people fit
every day: a crossed design with three factors (make_crossed), InstEval's ratings of
instructors by students (make_insteval, after lme4's InstEval), counts with an
observation-level effect (make_obs_poisson, after lme4's grouseticks) and a binary
response on crossed subjects and items (make_subjects_items).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CROSSED_FORMULA = "y ~ x + (1 | g1) + (1 | g2) + (1 | g3)"
CROSSED_BINARY_FORMULA = "y01 ~ x + (1 | g1) + (1 | g2) + (1 | g3)"
CROSSED_SEED = 20261201
INSTEVAL_FORMULA = "y ~ service + (1 | s) + (1 | d) + (1 | dept:service)"
OBS_POISSON_FORMULA = "ticks ~ year + cheight + (1 | brood) + (1 | index) + (1 | location)"
SUBJECTS_ITEMS_FORMULA = "correct ~ condition + (1 | subject) + (1 | item)"


def _balanced_factor(rng: np.random.Generator, n: int, k: int, prefix: str) -> pd.Categorical:
    """A factor of k levels over n rows, every level used, in random order."""
    return _labelled(rng.permutation(np.arange(n) % k), k, prefix)


def _labelled(codes: np.ndarray, k: int, prefix: str) -> pd.Categorical:
    """Integer codes 0..k-1 as a categorical with zero-padded labels prefix000, prefix001, ..."""
    width = len(str(k - 1))
    return pd.Categorical.from_codes(codes, categories=[f"{prefix}{i:0{width}d}" for i in range(k)])


def _sizes(rng: np.random.Generator, total: int, k: int, minimum: int, spread: float) -> np.ndarray:
    """k group sizes summing to total, each at least `minimum`, log-normally spread."""
    share = rng.lognormal(0.0, spread, k)
    return minimum + rng.multinomial(total - minimum * k, share / share.sum())


def _members(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """Group codes repeated by their sizes, in random order."""
    return rng.permutation(np.repeat(np.arange(len(sizes)), sizes))


def make_crossed(
    n: int = 70_000,
    levels: tuple[int, ...] = (3000, 1100, 30),
    sds: tuple[float, ...] = (1.0, 0.7, 0.5),
    sigma: float = 1.0,
    beta: tuple[float, float] = (2.0, 0.5),
    seed: int = CROSSED_SEED,
) -> pd.DataFrame:
    """y = b0 + b1*x + u1[g1] + u2[g2] + u3[g3] + e with crossed factors g1, g2, ..."""
    if len(levels) != len(sds):
        raise ValueError("levels and sds must have the same length")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = beta[0] + beta[1] * x + sigma * rng.standard_normal(n)
    columns: dict[str, object] = {}
    for i, (k, sd) in enumerate(zip(levels, sds), start=1):
        factor = _balanced_factor(rng, n, k, prefix=f"L{i}_")
        y += rng.normal(0.0, sd, size=k)[factor.codes]
        columns[f"g{i}"] = factor
    return pd.DataFrame({"y": y, "x": x, **columns})


def make_crossed_binary(**kwargs) -> pd.DataFrame:
    """make_crossed(**kwargs) with a 0/1 response for glmer: y01 = 1 where y is above its median."""
    df = make_crossed(**kwargs)
    return df.assign(y01=(df["y"] > df["y"].median()).astype(int))


def make_insteval(n: int = 73_421, students: int = 2972, instructors: int = 1128, depts: int = 14,
                  seed: int = 73421) -> pd.DataFrame:
    """InstEval's shape (lme4): ratings y (1 to 5) of instructors d by students s, each instructor
    in one of 14 departments, service (0/1) varying within instructor; 73,421 ratings by 2,972
    students of 1,128 instructors. As in InstEval, students follow curricula: a student rates
    instructors of their cohort's courses, most in the cohort's home department and a third in
    partner departments, so the instructors' cross product is about 20% full, as InstEval's is
    (a random pairing would fill 57%, and make every fit needlessly dense). Effects of the size
    lme4 estimates on InstEval (s 0.32, d 0.52, dept:service 0.07, residual 1.18) before rounding
    to the 1-5 scale."""
    rng = np.random.default_rng(seed)
    dept_of = rng.permutation(np.concatenate([np.arange(depts), rng.integers(0, depts, instructors - depts)]))
    pull = rng.lognormal(0.0, 0.9, instructors)  # how many ratings an instructor draws
    cohorts = 300
    home = rng.choice(depts, cohorts, p=np.bincount(dept_of, minlength=depts) / instructors)
    partners = rng.dirichlet(np.full(depts, 0.3), depts)
    courses = []
    for h in home:  # a curriculum: 30 instructors at home, 15 in partner departments
        at_home = np.flatnonzero(dept_of == h)
        away = np.flatnonzero(np.isin(dept_of, rng.choice(depts, 3, p=partners[h])) & (dept_of != h))
        courses.append(np.concatenate([rng.choice(at_home, min(30, len(at_home)), replace=False),
                                       rng.choice(away, min(15, len(away)), replace=False)]))
    s = _members(rng, _sizes(rng, n, students, 1, 0.5))
    cohort = rng.integers(0, cohorts, students)[s]
    d = np.empty(n, int)
    for c, staff in enumerate(courses):
        rows = np.flatnonzero(cohort == c)
        d[rows] = rng.choice(staff, len(rows), p=pull[staff] / pull[staff].sum())
    unrated = np.setdiff1d(np.arange(instructors), d)  # every instructor rated (InstEval's have 10+)
    d[rng.choice(n, len(unrated), replace=False)] = unrated
    dept = dept_of[d]
    service = (rng.random(n) < rng.beta(0.6, 0.8, instructors)[d]).astype(int)
    cell = dept * 2 + service
    latent = (3.2 - 0.07 * service + rng.normal(0, 0.32, students)[s] + rng.normal(0, 0.52, instructors)[d]
              + rng.normal(0, 0.07, 2 * depts)[cell] + rng.normal(0, 1.18, n))
    return pd.DataFrame({"y": np.clip(np.rint(latent), 1, 5).astype(int),
                         "service": _labelled(service, 2, ""), "s": _labelled(s, students, "s"),
                         "d": _labelled(d, instructors, "d"), "dept": _labelled(dept, depts, "dept"),
                         "dept_service": _labelled(cell, 2 * depts, "ds")})  # dept:service, for peers


def make_obs_poisson(n: int = 403, nested: bool = True, seed: int = 403) -> pd.DataFrame:
    """grouseticks' shape (lme4): counts of ticks on n chicks, three years, a centred height,
    broods (118 per 403 rows) at locations (63 per 403), and an observation-level index, the
    usual term for overdispersion. nested: each brood at one location (as in grouseticks);
    else a chick's location is drawn apart from its brood (crossed factors). Effects of the
    size lme4 estimates on grouseticks (sd brood 1.06, index 0.56, location 0.29)."""
    rng = np.random.default_rng(seed + n + (0 if nested else 1))
    nb, nl = max(2, round(118 * n / 403)), max(2, round(63 * n / 403))
    brood = _members(rng, _sizes(rng, n, nb, 1, 0.5))
    home = rng.permutation(np.concatenate([np.arange(nl), rng.integers(0, nl, nb - nl)]))
    location = home[brood] if nested else _members(rng, _sizes(rng, n, nl, 1, 0.5))
    height = rng.normal(460, 25, nl)[location] + rng.normal(0, 5, n)
    year = rng.integers(0, 3, n)
    eta = (0.47 + np.array([0.0, 1.17, -0.98])[year] - 0.024 * (height - height.mean())
           + rng.normal(0, 1.06, nb)[brood] + rng.normal(0, 0.29, nl)[location] + rng.normal(0, 0.56, n))
    return pd.DataFrame({"ticks": rng.poisson(np.exp(eta)), "year": _labelled(year, 3, "y9"),
                         "cheight": height - height.mean(), "brood": _labelled(brood, nb, "b"),
                         "location": _labelled(location, nl, "l"), "index": _labelled(np.arange(n), n, "i")})


def make_subjects_items(subjects: int = 60, items: int = 40, seed: int = 2400) -> pd.DataFrame:
    """A binary response on crossed subjects and items (every subject sees every item), with a
    two-level condition within subject and item: the classic psycholinguistic design."""
    rng = np.random.default_rng(seed)
    subject, item = np.repeat(np.arange(subjects), items), np.tile(np.arange(items), subjects)
    condition = (subject + item) % 2
    eta = 0.8 - 0.6 * condition + rng.normal(0, 0.9, subjects)[subject] + rng.normal(0, 0.6, items)[item]
    return pd.DataFrame({"correct": (rng.random(len(subject)) < 1 / (1 + np.exp(-eta))).astype(int),
                         "condition": _labelled(condition, 2, "c"), "subject": _labelled(subject, subjects, "S"),
                         "item": _labelled(item, items, "I")})

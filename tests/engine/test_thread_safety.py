"""Fits shared between sessions are read-only values: eight threads working on the same fits (summary,
anova with its ML refits, criterion curves on the fit's own problem, glmer's vcov and conditional
variances) get the serial results, and leave the fits as they were."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lib.api import anova, glmer, lmer
from lib.data.glmm_data import load_months_low
from lib.data.slices import slice_frame
from lib.engine.profile_curves import criterion_curve, theta_grid


def work(fits: dict) -> dict:
    """Everything a page does with shared fits, as text and arrays."""
    m2, m3, g = fits["MMod2"], fits["MMod3"], fits["cbind"]
    curve = criterion_curve(fits["MMod"].problem, theta_grid(float(fits["MMod"].theta.iloc[0]), n=15), True)
    curve = curve.select_dtypes("number")
    return {"summary": m2.summary() + fits["MModTime4"].summary(),
            "anova": str(anova(m2, m3)),
            "curve": curve.to_numpy(float),
            "glmer": np.concatenate([g.vcov.to_numpy().ravel(), g.condvar[0].ravel(), g.b]),
            "condvar": np.concatenate([c.ravel() for c in fits["MModTime4"].condvar])}


def test_eight_threads_get_the_serial_results():
    t0, full = slice_frame("time0"), slice_frame("all")
    fits = {"MMod": lmer("IgG ~ Sex + (1 | FamID)", t0), "MMod2": lmer("IgG ~ Sex + (Sex | FamID)", t0),
            "MMod3": lmer("IgG ~ 1 + (Sex | FamID)", t0),
            "MModTime4": lmer("IgG ~ Sex*Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", full),
            "cbind": glmer("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID) + (1 | IndID)",
                           load_months_low())}
    thetas = {k: f.theta.to_numpy().copy() for k, f in fits.items()}
    serial = work(fits)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: work(fits), range(16)))
    for r in results:
        assert r["summary"] == serial["summary"] and r["anova"] == serial["anova"]
        for k in ("curve", "glmer", "condvar"):  # the same arithmetic: agreement to round-off
            np.testing.assert_allclose(r[k], serial[k], rtol=1e-13, atol=1e-15)
    for k, f in fits.items():
        np.testing.assert_allclose(f.theta.to_numpy(), thetas[k], rtol=0, atol=0)
    assert work(fits)["summary"] == serial["summary"]

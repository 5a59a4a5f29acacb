"""lib.engine.glmer_devfun: where PIRLS starts at deriv12's points."""
from __future__ import annotations

import numpy as np

from lib.api import glmer
from lib.data.glmm_data import load_months_low
from lib.engine.glmer_devfun import Devfuns, Trace

DELTA = 1e-4  # deriv12's step


def test_modes_at_deriv12s_cross_points_are_predicted_to_second_order():
    """x + d e_i + d e_j starts from x + d e_i moved along the slope seen from x to x + d e_j: O(d^2)
    from its modes, where x + d e_i's own modes are O(d) away. The ratio of the two is ~d times the
    modes' second over first derivative (~1e-4 here); 1e-2 leaves the margin."""
    fit = glmer("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID) + (1 | IndID)", load_months_low())
    dev = Devfuns(fit.problem, Trace())
    dev.nAGQ, dev.lp0 = 1, dev.pirls.lin_pred()
    x = np.concatenate([fit.theta.to_numpy(), fit.fixef.to_numpy()])
    e = np.eye(len(x)) * DELTA
    for point in (x, x + e[0], x + e[1]):
        dev.stage2(point)
    predicted, _ = dev.modes.predict(x + e[0] + e[1], with_beta=False)
    neighbour = dev.modes.modes[False][1][0]  # x + d e_0's modes
    dev.stage2(x + e[0] + e[1])
    exact = dev.pirls.delu
    assert np.max(np.abs(predicted - exact)) < 1e-2 * np.max(np.abs(neighbour - exact))

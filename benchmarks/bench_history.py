"""The cost of recording a run with `History`, against the same run without it.

Target (issue "One seam per concept", item 4): at most 1.3x on a 10,000-d sphere
with FixedStep, the analytic gradient and StopOnZeroGradient. The ratio is
reported (`ratio_history_to_none`), not asserted: timings on a shared machine
are too noisy to fail a build on.
"""

import numpy as np
import pytest

from benchmarks.conftest import ratio
from optim import AnalyticGradient, FixedStep, History, Optimizer, StopOnZeroGradient
from optim.problems import Sphere

CASES = [
    pytest.param(1, id="keep_x_every=1"),
    pytest.param(None, id="keep_x_every=None"),
]


@pytest.mark.parametrize("keep_x_every", CASES)
def test_history_overhead(benchmark, keep_x_every):
    """Per-run time with History attached over the time without, interleaved."""
    n, steps = 10_000, 200
    x0 = np.linspace(1.0, 2.0, n)

    def optimizer(*callbacks):
        return Optimizer(
            Sphere(),
            step_rule=FixedStep(1e-4),
            estimator=AnalyticGradient(),
            callbacks=[StopOnZeroGradient(tol=0.0), *callbacks],
            max_steps=steps,
            max_growth=None,
        )

    history = History(keep_x_every=keep_x_every)
    with_history, without = optimizer(history), optimizer()

    def recorded():
        return with_history.run(x0)

    def bare():
        return without.run(x0)

    np.testing.assert_array_equal(recorded().x, bare().x)
    assert len(history) == steps + 1
    measured = ratio(recorded, bare, number=1, repeat=15)
    benchmark.extra_info["ratio_history_to_none"] = measured
    benchmark.extra_info["target"] = 1.3
    benchmark.pedantic(recorded, rounds=5, iterations=1)

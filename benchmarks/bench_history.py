"""The cost of recording a run with `History`, against the same run without it.

Issue "Per-step cost at the limit": with `History()` attached (a copy of every
point), a FixedStep run on the sphere (analytic gradient, `StopOnZeroGradient(0)`)
costs at most 1.3x the same run without it at n = 10,000. Reported at every size of
the per-step table, and against the hand loop too (see `benchmarks/per_step.py`),
and for `History(keep_x_every=None)` (values, norms and step sizes only) at
n = 10,000, and against the least a callback can do to keep every point (copy
`info.x` into a block): what `History` adds beyond what any recording of every
point pays. Ratios are reported (`extra_info`), not asserted: timings on a shared
machine are too noisy to fail a build on.
"""

import numpy as np
import pytest

from benchmarks import per_step
from benchmarks.timing import interleaved_ratio
from optim import AnalyticGradient, FixedStep, History, Optimizer, StopOnZeroGradient
from optim.problems import Sphere

ROWS = [
    per_step.row("FixedStep + History ÷ FixedStep"),
    per_step.row("FixedStep + History ÷ hand loop"),
    per_step.row("FixedStep + History ÷ FixedStep + a copy of each point"),
]
IDS = {ROWS[0].name: "to_none", ROWS[1].name: "to_hand_loop", ROWS[2].name: "to_copies"}


def rounds(n):
    return 7 if n >= 100_000 else 11


@pytest.mark.parametrize("n", per_step.SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("row", ROWS, ids=lambda row: IDS[row.name])
def test_history_overhead(benchmark, row, n):
    """Per-run time with History() attached over the time without (or the hand loop)."""
    measured = per_step.per_step_ratio(row, n, rounds=rounds(n))
    benchmark.extra_info[f"ratio_history_{IDS[row.name]}"] = measured.median
    benchmark.extra_info["ratio_quartiles"] = f"{measured.low:.2f}-{measured.high:.2f}"
    if n in row.targets:
        benchmark.extra_info["target"] = row.targets[n]
        benchmark.extra_info["met"] = measured.median <= row.targets[n]
    benchmark.pedantic(row.candidate(n), rounds=1, iterations=1)
    assert measured.median > 0.0


def test_history_without_points(benchmark):
    """`History(keep_x_every=None)` over no History, n = 10,000 (target 1.3)."""
    n, steps = 10_000, per_step.steps(10_000)
    x0 = per_step.start(n)

    def optimizer(*callbacks):
        return Optimizer(
            Sphere(),
            step_rule=FixedStep(per_step.LEARNING_RATE),
            estimator=AnalyticGradient(),
            callbacks=[StopOnZeroGradient(tol=0.0), *callbacks],
            max_steps=steps,
            max_growth=None,
        )

    history = History(keep_x_every=None)
    with_history, without = optimizer(history), optimizer()

    def recorded():
        return with_history.run(x0)

    def bare():
        return without.run(x0)

    np.testing.assert_array_equal(recorded().x, bare().x)
    assert len(history) == steps + 1
    measured = interleaved_ratio(recorded, bare, rounds=11)
    benchmark.extra_info["ratio_history_to_none"] = measured.median
    benchmark.extra_info["target"] = 1.3
    benchmark.extra_info["met"] = measured.median <= 1.3
    benchmark.pedantic(recorded, rounds=1, iterations=1)

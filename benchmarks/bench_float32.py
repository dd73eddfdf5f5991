"""Memory of a float32 run against the same run in float64 (issue 14, acceptance 2).

A 5-step `Adam` run at n = 10^6 with an objective whose gradient keeps the dtype
of `x`: the peak traced memory (tracemalloc) of the float32 run must be at most
60% of the float64 run's. Run with

    pytest benchmarks/bench_float32.py -p no:cacheprovider --benchmark-only -s

The ratio is attached to the benchmark (`extra_info`) and printed.
"""

import tracemalloc

import numpy as np

from optim import Adam, FunctionObjective, Optimizer

N = 1_000_000
STEPS = 5


def adam_peak(n, dtype, steps=STEPS):
    """Peak traced bytes of a `steps`-step Adam run at size `n` in `dtype`."""
    x0 = np.full(n, 0.5, dtype=dtype)
    objective = FunctionObjective(lambda x: float(np.vdot(x, x)), lambda x: 2.0 * x)
    optimizer = Optimizer(objective, step_rule=Adam(1e-3), max_steps=steps)
    tracemalloc.start()
    try:
        result = optimizer.run(x0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.steps == steps
    assert result.dtype == dtype
    state = result.run_state.rule_state.direction_state
    assert state.first_moment.dtype == dtype
    assert state.second_moment.dtype == dtype
    return peak


def test_float32_adam_peak_memory_at_n_1e6(benchmark):
    """float32 Adam at n = 10^6: peak memory at most 60% of the float64 run's."""

    def measure():
        return adam_peak(N, np.float32), adam_peak(N, np.float64)

    peak32, peak64 = benchmark.pedantic(measure, rounds=1, iterations=1)
    ratio = peak32 / peak64
    benchmark.extra_info["peak_bytes_float32"] = peak32
    benchmark.extra_info["peak_bytes_float64"] = peak64
    benchmark.extra_info["ratio"] = ratio
    print(
        f"\nAdam, {STEPS} steps, n = {N}: peak float32 {peak32 / 2**20:.1f} MiB, "
        f"float64 {peak64 / 2**20:.1f} MiB, ratio {ratio:.3f}"
    )
    assert ratio <= 0.6

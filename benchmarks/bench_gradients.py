"""Speed and memory of the batched finite-difference estimators.

Every target is checked as a ratio against a baseline timed in the same test
(interleaved, best of several rounds), never as an absolute time. Run with

    pytest benchmarks/ -p no:cacheprovider --benchmark-only

The measured ratios are attached to each benchmark (`extra_info`) and quoted in
docs/estimators.md.
"""

import time
import tracemalloc

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from optim import CentralDifference, FunctionObjective

H = 1e-4


def rosenbrock(x):
    """Rosenbrock; vectorized over leading axes."""
    return np.sum(
        100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2,
        axis=-1,
    )


def sphere(x):
    """Sum of squares; the cheapest vectorized objective there is."""
    return np.sum(x**2, axis=-1)


def textbook_gradient(f, x, h=H):
    """The textbook's loop: one Python call of f per perturbed point."""
    x = x.copy()
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp = x[idx]
        x[idx] = tmp + h
        fxh1 = f(x)
        x[idx] = tmp - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp
    return grad


def perturbed_points(x, h=H):
    """All 2n central-difference points as one (2n, n) stack."""
    eye = np.eye(x.size)
    return np.concatenate([x + h * eye, x - h * eye])


def _per_call(fn, seconds=0.02):
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, int(seconds / max(once, 1e-9)))
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def ratio(target, baseline, rounds=9):
    """Best-of-rounds time of `target` over that of `baseline`, interleaved."""
    target_times, baseline_times = [], []
    for _ in range(rounds):
        target_times.append(_per_call(target))
        baseline_times.append(_per_call(baseline))
    return min(target_times) / min(baseline_times)


def _point(n):
    return np.random.default_rng(n).uniform(-1.0, 1.0, n)


@pytest.mark.parametrize(
    "fun",
    [pytest.param(rosenbrock, id="rosenbrock"), pytest.param(sphere, id="sphere")],
)
def test_vectorized_speedup_over_textbook_loop(benchmark, fun):
    """Vectorized objective, n = 100: CentralDifference >= 15x faster than the loop."""
    x = _point(100)
    objective = FunctionObjective(fun, vectorized=True)
    estimator = CentralDifference(step=H)

    benchmark(estimator.estimate, objective, x)
    speedup = 1.0 / ratio(
        lambda: estimator.estimate(objective, x), lambda: textbook_gradient(fun, x)
    )

    benchmark.extra_info["speedup_ratio_textbook_over_central"] = speedup
    if fun is rosenbrock:
        assert speedup >= 15.0


@pytest.mark.parametrize("n", [100, 1000])
@pytest.mark.parametrize(
    "fun",
    [pytest.param(rosenbrock, id="rosenbrock"), pytest.param(sphere, id="sphere")],
)
def test_vectorized_close_to_one_bare_call(benchmark, fun, n):
    """Vectorized objective: CentralDifference within 1.5x of one bare batched call."""
    x = _point(n)
    points = perturbed_points(x)
    objective = FunctionObjective(fun, vectorized=True)
    estimator = CentralDifference(step=H)

    benchmark(estimator.estimate, objective, x)
    slowdown = ratio(lambda: estimator.estimate(objective, x), lambda: fun(points))

    benchmark.extra_info["ratio_to_bare_call"] = slowdown
    if fun is rosenbrock:
        assert slowdown <= 1.5


def test_bare_vectorized_call(benchmark):
    """Baseline: one call of the vectorized objective on all 2n points (n = 1000)."""
    points = perturbed_points(_point(1000))

    benchmark(rosenbrock, points)


def test_textbook_loop(benchmark):
    """Baseline: the textbook loop (n = 100)."""
    x = _point(100)

    benchmark(textbook_gradient, rosenbrock, x)


@pytest.mark.parametrize(
    "fun",
    [pytest.param(rosenbrock, id="rosenbrock"), pytest.param(sphere, id="sphere")],
)
def test_scalar_objective_no_slower_than_textbook_loop(benchmark, fun):
    """Plain scalar objective, n = 100: at most 1.1x the textbook loop's time."""
    x = _point(100)
    objective = FunctionObjective(fun)
    estimator = CentralDifference(step=H)

    benchmark(estimator.estimate, objective, x)
    slowdown = ratio(
        lambda: estimator.estimate(objective, x), lambda: textbook_gradient(fun, x)
    )

    benchmark.extra_info["ratio_to_textbook"] = slowdown
    assert slowdown <= 1.1


def test_scipy_approx_fprime(benchmark):
    """scipy approx_fprime (forward, n + 1 calls), scalar objective, n = 100."""
    x = _point(100)
    objective = FunctionObjective(rosenbrock)
    estimator = CentralDifference(step=H)

    benchmark(approx_fprime, x, rosenbrock, H)
    relative = ratio(
        lambda: estimator.estimate(objective, x),
        lambda: approx_fprime(x, rosenbrock, H),
    )

    benchmark.extra_info["ratio_to_approx_fprime"] = relative


def test_peak_memory_at_n_10000(benchmark):
    """n = 10,000: peak traced memory stays under 4 MiB (the 2n x n stack is 1.6 GB)."""
    n = 10_000
    x = _point(n)
    objective = FunctionObjective(sphere, vectorized=True)
    estimator = CentralDifference(step=H)

    def measure():
        tracemalloc.start()
        try:
            estimator.estimate(objective, x)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak = benchmark.pedantic(measure, rounds=1, iterations=1)

    benchmark.extra_info["peak_bytes"] = peak
    assert peak <= 4 * 2**20
    assert peak < 2 * n * n * 8 / 100


def test_spsa_peak_memory_at_n_1e6(benchmark):
    """SPSA(samples=100) at n = 10^6: peak traced memory <= max_batch_bytes + 10 n."""
    from optim import SPSA

    n = 1_000_000
    x = np.zeros(n)
    objective = FunctionObjective(sphere, vectorized=True)
    estimator = SPSA(samples=100, rng=0)

    def measure():
        tracemalloc.start()
        try:
            estimator.estimate_with_error(objective, x)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak = benchmark.pedantic(measure, rounds=1, iterations=1)

    benchmark.extra_info["peak_bytes"] = peak
    benchmark.extra_info["peak_n_vectors"] = peak / (8 * n)
    assert peak <= estimator.max_batch_bytes + 10 * 8 * n

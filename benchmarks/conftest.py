"""Helpers for ratio benchmarks: candidate and baseline timed in the same run."""

import timeit
from collections.abc import Callable


def best_time(fn: Callable[[], object], *, number: int, repeat: int) -> float:
    """Best (minimum) seconds per call of `fn` over `repeat` batches of `number`."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def ratio(
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    number: int = 3,
    repeat: int = 15,
) -> float:
    """Time candidate and baseline interleaved; return best(candidate) / best(baseline).

    Interleaving the two and taking the minimum of many batches makes the ratio
    robust to the noise of a shared machine.
    """
    candidate_times, baseline_times = [], []
    for _ in range(repeat):
        candidate_times.append(best_time(candidate, number=number, repeat=1))
        baseline_times.append(best_time(baseline, number=number, repeat=1))
    return min(candidate_times) / min(baseline_times)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print every benchmark's measured ratios, the numbers the docs quote."""
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return
    for bench in session.benchmarks:
        ratios = {k: v for k, v in bench.extra_info.items() if "ratio" in k}
        if ratios:
            shown = ", ".join(f"{k}={v:.3g}" for k, v in ratios.items())
            terminalreporter.write_line(f"{bench.fullname}: {shown}")

"""Helpers for ratio benchmarks: candidate and baseline timed in the same run."""

from collections.abc import Callable

from benchmarks.timing import interleaved_ratio


def ratio(
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    number: int = 3,
    repeat: int = 15,
) -> float:
    """Time candidate and baseline interleaved; return the median per-round ratio.

    Each of `repeat` rounds times `number` calls of each, back to back, and takes
    their ratio; interleaving, and the median over rounds, make the ratio robust to
    the noise of a shared machine (see `benchmarks/timing.py`).
    """
    return interleaved_ratio(candidate, baseline, number=number, rounds=repeat).median


def _shown(value):
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, str):
        return value
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print every benchmark's measured numbers (ratios, counts, targets).

    The ratios are what the docs quote; `target` entries are printed next to them.
    Targets are reported, never asserted: a shared machine is too noisy to fail a
    build on.
    """
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return
    for bench in session.benchmarks:
        shown = [
            f"{key}={text}"
            for key, value in bench.extra_info.items()
            if (text := _shown(value)) is not None
        ]
        if shown:
            terminalreporter.write_line(f"{bench.fullname}: {', '.join(shown)}")

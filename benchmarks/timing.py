"""Interleaved timing of a candidate against a baseline, robust to a loaded machine.

Shared by the `bench_*.py` files and `benchmarks/report.py`. Each round times the
candidate and the baseline back to back (alternating which goes first), and the
ratio of the two is taken *within* the round; the reported ratio is the median
over rounds. Load from other jobs slows both halves of a round alike, so the
per-round ratio cancels most of it, and the median drops the rounds it does not.

All timing runs with single-threaded BLAS (`threadpoolctl`, when installed) and,
if torch has been imported, single-threaded torch: on a 2-core machine shared with
other jobs, a multi-threaded `vdot` at n = 100,000 is several times slower than a
single-threaded one, and the peers must run under the same conditions as optim.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import sys
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Ratio:
    """Candidate time over baseline time: median and quartiles over rounds."""

    median: float
    low: float
    """First quartile of the per-round ratios."""
    high: float
    """Third quartile of the per-round ratios."""
    candidate_seconds: float
    """Median seconds per call of the candidate."""
    baseline_seconds: float
    """Median seconds per call of the baseline."""
    rounds: int

    def __str__(self) -> str:
        return f"{self.median:.2f}x ({self.low:.2f}-{self.high:.2f})"


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Limit BLAS (and torch, if imported) to one thread inside the block."""
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - installed with scikit-learn
            pass
        else:
            stack.enter_context(threadpool_limits(1))
        torch = sys.modules.get("torch")
        if torch is not None:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, threads)
        yield


def interleaved_ratio(
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    number: int = 1,
    rounds: int = 15,
) -> Ratio:
    """Time `candidate` and `baseline` interleaved; return the median per-round ratio.

    Args:
        candidate: The code measured (called `number` times per round).
        baseline: What it is compared with (called `number` times per round).
        number: Calls per half-round (raise it for calls of a few milliseconds).
        rounds: Rounds; each gives one ratio.

    Returns:
        The ratios' median and quartiles, and the median seconds per call of each.
    """
    ratios, candidate_times, baseline_times = [], [], []
    with single_threaded():
        candidate()  # warm caches, imports and lazily compiled code
        baseline()
        for i in range(rounds):
            gc.collect()
            pair = [(candidate, candidate_times), (baseline, baseline_times)]
            for fn, times in pair if i % 2 == 0 else pair[::-1]:
                times.append(timeit.timeit(fn, number=number) / number)
            ratios.append(candidate_times[-1] / baseline_times[-1])
    if rounds >= 2:
        low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    else:
        low = high = ratios[0]
    return Ratio(
        median=statistics.median(ratios),
        low=low,
        high=high,
        candidate_seconds=statistics.median(candidate_times),
        baseline_seconds=statistics.median(baseline_times),
        rounds=rounds,
    )

"""optim against other libraries: torch.optim, optax and scipy's L-BFGS-B.

Issue "Per-step cost at the limit". The per-step rows (`FixedStep` over
`torch.optim.SGD`, `Adam` over `torch.optim.Adam`, and the optional optax rows) run
only where the peer is installed (neither is a dependency of optim; see
`docs/performance.md` for how they were installed), and have no target. The L-BFGS
row times a whole solve of the extended Rosenbrock function, like with like: optim's
`LBFGS(search=MoreThuente(1e-3, 0.9, xtol=0.1))` (L-BFGS-B's own search) with
`StopOnZeroGradient(1e-6, norm=numpy.inf)` over scipy's
`minimize(method="L-BFGS-B", jac=True)` with `gtol=1e-6, ftol=0` (its `gtol` tests
the infinity norm): targets at most 1.5x at n = 2 and 100, at most 0.8x at
n = 10^4, and no more evaluations than scipy; the default `LBFGS()`'s evaluations
under the same stop test are reported beside them. Everything is reported
(`extra_info`), nothing timed is asserted. The definitions are in
`benchmarks/per_step.py`.
"""

import pytest

from benchmarks import per_step

TORCH_ROWS = [r for r in per_step.ROWS if r.needs == "torch"]
OPTAX_ROWS = [r for r in per_step.ROWS if r.needs == "optax"]
LBFGS_TARGETS = {2: 1.5, 100: 1.5, 10_000: 0.8}


def rounds(n):
    return 7 if n >= 100_000 else 11


def _report(benchmark, row, n):
    pytest.importorskip(row.needs)
    measured = per_step.per_step_ratio(row, n, rounds=rounds(n))
    benchmark.extra_info["ratio_to_peer"] = measured.median
    benchmark.extra_info["ratio_quartiles"] = f"{measured.low:.2f}-{measured.high:.2f}"
    benchmark.pedantic(row.candidate(n), rounds=1, iterations=1)
    assert measured.median > 0.0


@pytest.mark.parametrize("n", per_step.SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("row", TORCH_ROWS, ids=lambda row: row.name.split()[0])
def test_per_step_ratio_to_torch(benchmark, row, n):
    """optim's per-step time over torch.optim's (reported)."""
    _report(benchmark, row, n)


@pytest.mark.parametrize("n", per_step.SIZES, ids=lambda n: f"n={n}")
@pytest.mark.parametrize("row", OPTAX_ROWS, ids=lambda row: row.name.split()[0])
def test_per_step_ratio_to_optax(benchmark, row, n):
    """optim's per-step time over a jitted optax step's (reported)."""
    _report(benchmark, row, n)


@pytest.mark.parametrize("n", per_step.LBFGS_SIZES, ids=lambda n: f"n={n}")
def test_lbfgs_solve_vs_scipy(benchmark, n):
    """Whole-solve time of LBFGS over L-BFGS-B's, and both evaluation counts."""
    row = per_step.lbfgs_row(n)
    benchmark.extra_info["time_ratio_to_scipy_lbfgsb"] = row.ratio.median
    benchmark.extra_info["ratio_quartiles"] = (
        f"{row.ratio.low:.2f}-{row.ratio.high:.2f}"
    )
    benchmark.extra_info["evaluations"] = row.evaluations
    benchmark.extra_info["gradient_evaluations"] = row.gradient_evaluations
    benchmark.extra_info["scipy_evaluations"] = row.scipy_evaluations
    benchmark.extra_info["default_lbfgs_evaluations"] = row.default_evaluations
    benchmark.extra_info["evaluation_ratio"] = row.evaluations / row.scipy_evaluations
    if n in LBFGS_TARGETS:
        benchmark.extra_info["target"] = LBFGS_TARGETS[n]
        benchmark.extra_info["met"] = (
            row.ratio.median <= LBFGS_TARGETS[n]
            and row.evaluations <= row.scipy_evaluations
        )
    benchmark.extra_info["status"] = row.status
    ours, _ = per_step.lbfgs_solvers(n)
    benchmark.pedantic(ours, rounds=1, iterations=1)
    assert row.evaluations > 0

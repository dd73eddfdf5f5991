"""Evaluation counts of issue "Stopping that is honest and useful" (not timed).

1. `optim run rosenbrock --rule lbfgs --estimator forward --tol 1e-8` from 10 starts
   1-10 ulps from the standard one, against scipy's L-BFGS-B with `jac="2-point"`
   and `gtol=1e-8`: never MAX_STEPS, at most 3x scipy's evaluations.
2. `minimize(f, x0, method="L-BFGS-B", jac="2-point")` (and `"3-point"`) on the MGH
   problems with n <= 10, optim's against scipy's: median evaluation ratio at most
   1.3, no final value worse than scipy's by more than 1e-8 relative.
3. The MGH problems x {LBFGS, ConjugateGradient} x tol in {1e-6, 1e-10}, exact
   gradients: no run within 1e-8 of the best known value reports failure, and no
   run reports success with a value worse than scipy L-BFGS-B's by more than 1e-6.
4. SPSA with FixedStep on a 2-D quadratic, 20 seeds, float32 (tol 1e-3) and float64
   with `SPSA(step=1e-2)` (tol 1e-6), 2-norm and infinity-norm stop tests: no
   CONVERGED run with a true gradient norm above 2 tol.
5. SPSA with LBFGS and ConjugateGradient on Rosenbrock, 300 steps, 10 seeds: at
   most 10 consecutive steps that leave x unchanged while evaluating.
6. ConjugateGradient on Rosenbrock with x1 <= 0.5: at most 3x the evaluations of
   the unbounded run.

The measures are defined in `benchmarks/stopping.py` (shared with
`benchmarks/report.py`). Targets are reported (`extra_info`, printed in the
summary), never asserted; only sanity (every run ended and was counted) is.
"""

import numpy as np
import pytest

from benchmarks import stopping


def _once(benchmark, measure, *args):
    return benchmark.pedantic(measure, args=args, rounds=1, iterations=1)


def test_cli_lbfgs_forward_from_ulp_starts(benchmark):
    """Measure 1: statuses, and evaluations over scipy's."""
    measure = _once(benchmark, stopping.cli_measure)
    info = benchmark.extra_info
    info["count_max_steps"] = measure.max_steps
    info["statuses"] = measure.statuses
    info["max_evaluation_ratio_to_scipy"] = measure.max_ratio
    info["median_evaluation_ratio_to_scipy"] = measure.median_ratio
    info["evaluations"] = " ".join(str(row.evaluations) for row in measure.rows)
    info["scipy_evaluations"] = " ".join(
        str(row.scipy_evaluations) for row in measure.rows
    )
    info["target"] = "0 MAX_STEPS, ratio <= 3"
    info["met"] = measure.max_steps == 0 and measure.max_ratio <= 3.0
    assert len(measure.rows) == 10


@pytest.mark.parametrize("jac", ["2-point", "3-point"])
def test_minimize_finite_differences_vs_scipy(benchmark, jac):
    """Measure 2: median evaluation ratio and count of worse final values."""
    measure = _once(benchmark, stopping.minimize_measure, jac)
    info = benchmark.extra_info
    info["median_evaluation_ratio_to_scipy"] = measure.median_ratio
    info["count_worse_than_scipy"] = measure.worse
    info["successes"] = f"{measure.successes}/{len(measure.rows)}"
    info["scipy_successes"] = f"{measure.scipy_successes}/{len(measure.rows)}"
    info["statuses"] = measure.statuses
    info["target"] = "ratio <= 1.3, 0 worse"
    info["met"] = measure.median_ratio <= 1.3 and measure.worse == 0
    assert len(measure.rows) == len(stopping.small_mgh())


@pytest.mark.parametrize("jac", ["2-point", "3-point"])
def test_minimize_finite_differences_from_ulp_starts(benchmark, jac):
    """Measure 2 from the starts 1-4 ulps above the standard ones (not a target:
    how often runs that part from scipy's path end above it)."""
    measure = _once(benchmark, stopping.minimize_ulp_measure, jac)
    info = benchmark.extra_info
    info["median_evaluation_ratio_to_scipy"] = measure.median_ratio
    info["worse_than_scipy"] = measure.worse_runs
    info["same_evaluations"] = f"{measure.same_evaluations}/{len(measure.rows)}"
    assert len(measure.rows) == stopping.ULP_STARTS * len(stopping.small_mgh())


def test_honest_success_with_exact_gradients(benchmark):
    """Measure 3: failures at the best known value, successes worse than scipy."""
    measure = _once(benchmark, stopping.honest_measure)
    info = benchmark.extra_info
    info["count_failed_at_best"] = measure.failed_at_best
    info["count_succeeded_worse_than_scipy"] = measure.succeeded_worse
    info["runs"] = len(measure.rows)
    info["statuses"] = measure.statuses
    info["target"] = "0 and 0"
    info["met"] = measure.failed_at_best == 0 and measure.succeeded_worse == 0
    assert len(measure.rows) == 2 * 2 * 35


@pytest.mark.parametrize("norm", [2.0, np.inf], ids=["norm=2", "norm=inf"])
@pytest.mark.parametrize("case", list(stopping.SPSA_CASES), ids=["float32", "float64"])
def test_spsa_converged_means_small_gradient(benchmark, case, norm):
    """Measure 4: CONVERGED runs whose true gradient norm exceeds 2 tol."""
    measure = _once(benchmark, stopping.spsa_measure, case, norm)
    info = benchmark.extra_info
    info["count_false_converged"] = measure.false_converged
    info["converged"] = measure.converged
    info["statuses"] = measure.statuses
    info["median_evaluations"] = float(measure.median_evaluations)
    info["target"] = 0
    info["met"] = measure.false_converged == 0
    assert measure.converged <= len(stopping.SPSA_SEEDS)


@pytest.mark.parametrize("rule", list(stopping.HONEST_RULES))
def test_spsa_line_search_stalls(benchmark, rule):
    """Measure 5: longest run of steps that evaluate without moving x."""
    measure = _once(benchmark, stopping.stall_measure, rule)
    info = benchmark.extra_info
    info["max_consecutive_stalled_steps"] = measure.worst
    info["per_seed"] = " ".join(str(k) for k in measure.longest)
    info["statuses"] = measure.statuses
    info["target"] = 10
    info["met"] = measure.worst <= 10
    assert len(measure.longest) == len(stopping.STALL_SEEDS)


def test_bounded_cg_evaluations(benchmark):
    """Measure 6: evaluations of CG with x1 <= 0.5 over the unbounded run's."""
    measure = _once(benchmark, stopping.bounds_measure)
    info = benchmark.extra_info
    info["evaluation_ratio_bounded_to_unbounded"] = measure.ratio
    info["evaluations"] = measure.evaluations
    info["unbounded_evaluations"] = measure.unbounded_evaluations
    info["status"] = measure.status
    info["target"] = 3.0
    info["met"] = measure.ratio <= 3.0
    assert measure.x[0] <= 0.5

"""What users meet when a run stops: correct answers are successes, no burned steps.

Each long run is repeated from starts a few ulps apart: that stands in for the BLAS
kernels and CPUs the suite cannot run on, so the assertions are what the algorithm
guarantees, not what one kernel happens to produce.
"""

import numpy as np
import pytest
import scipy.optimize

from optim import (
    LBFGS,
    Adam,
    Bounds,
    CentralDifference,
    FixedStep,
    ForwardDifference,
    Optimizer,
    Status,
    StopOnZeroGradient,
    maximize,
)
from optim.problems import LogisticRegression, Rosenbrock


def _nudged(x0, ulps):
    x = np.array(x0, dtype=float)
    for _ in range(ulps):
        x = np.nextafter(x, np.inf)
    return x


ULPS = [0, 1, 3, 7]


@pytest.mark.parametrize("ulps", ULPS)
def test_l2_logistic_regression_is_a_success(ulps):
    """L-BFGS at tol 1e-8 reaches scipy's answer and says so (success=True)."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 8))
    labels = (features @ rng.normal(size=8) + rng.normal(size=500) > 0).astype(int)
    problem = LogisticRegression(features, labels, l2=1e-2)
    x0 = _nudged(np.zeros(9), ulps)

    result = Optimizer(
        problem, step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
    ).run(x0)
    reference = scipy.optimize.minimize(
        problem.value, x0, jac=problem.gradient, method="L-BFGS-B", tol=1e-12
    )

    assert result.success, result.message
    np.testing.assert_allclose(result.x, reference.x, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ulps", ULPS)
def test_maximize_with_two_point_differences_is_a_success(ulps):
    result = maximize(
        lambda x: -((x[0] - 1) ** 2 + 3 * (x[1] + 2) ** 2),
        _nudged([0.0, 0.0], ulps),
        jac="2-point",
    )

    assert result.success, result.message
    np.testing.assert_allclose(result.x, [1.0, -2.0], atol=1e-6)


def test_a_solution_in_a_corner_converges_with_central_differences():
    """Every coordinate on a bound: pinned coordinates carry no error."""
    result = Optimizer(
        lambda x: float((x[0] - 3) ** 2 + (x[1] + 3) ** 2),
        step_rule=LBFGS(),
        estimator=CentralDifference(),
        constraint=Bounds([-1.0, -1.0], [1.0, 1.0]),
        callbacks=[StopOnZeroGradient(1e-8)],
    ).run([0.0, 0.0])

    assert result.status is Status.CONVERGED
    np.testing.assert_array_equal(result.x, [1.0, -1.0])


@pytest.mark.parametrize("ulps", ULPS)
def test_forward_differences_never_burn_their_budget(ulps):
    """Rosenbrock, L-BFGS, forward differences, tol 1e-8: never MAX_STEPS.

    The run cannot resolve a gradient of 1e-8; it ends at its floor and says
    so, in far fewer evaluations than the 155,931 a run used to burn.
    """
    rosenbrock = Rosenbrock()
    result = Optimizer(
        rosenbrock,
        step_rule=LBFGS(),
        estimator=ForwardDifference(),
        callbacks=[StopOnZeroGradient(1e-8)],
    ).run(_nudged([-1.2, 1.0], ulps))

    assert result.status in (Status.CONVERGED, Status.NOISE_FLOOR)
    assert result.evaluations < 1000
    if result.status is Status.CONVERGED:
        true_norm = float(np.linalg.norm(rosenbrock.gradient(result.x)))
        assert true_norm <= 1e-8 or "below the floor" in result.message


def test_an_oscillating_rate_ends_after_patience_steps_with_its_diagnosis():
    result = Optimizer(
        lambda x: float(x @ x), step_rule=FixedStep(1.0), estimator=ForwardDifference()
    ).run([3.0, 2.0])

    assert result.status is Status.NO_PROGRESS
    assert result.steps == 20
    assert result.diagnosis == "oscillating"
    assert f"at step {result.steps}" in result.message


def test_a_minibatch_loop_is_never_stopped_by_the_progress_stop():
    """Values of different batches do not measure progress: no progress stop."""

    def loss(w, batch):
        return float(np.mean((batch @ w - 1.0) ** 2))

    rng = np.random.default_rng(0)
    run = Optimizer(loss, step_rule=Adam(0.05), patience=3).start(np.zeros(2))
    for _ in range(200):
        run.step(rng.normal(size=(4, 2)))

    assert not run.done


def test_a_loop_without_batches_is_stopped_like_run():
    optimizer = Optimizer(lambda x: float(x @ x), step_rule=FixedStep(1.0))
    run = optimizer.start(np.array([3.0, 2.0]))
    while not run.done:
        run.step()

    assert run.result().status is Status.NO_PROGRESS
    assert run.result().steps == optimizer.run(np.array([3.0, 2.0])).steps


def test_ftol_none_switches_the_progress_stop_off():
    result = Optimizer(
        lambda x: float(x @ x), step_rule=FixedStep(1.0), ftol=None, max_steps=60
    ).run([3.0, 2.0])

    assert result.status is Status.MAX_STEPS
    assert result.steps == 60

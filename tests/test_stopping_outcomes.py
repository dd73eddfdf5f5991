"""What users meet when a run stops: correct answers are successes, no burned steps.

Each long run is repeated from starts a few ulps apart: that stands in for the BLAS
kernels and CPUs the suite cannot run on, so the assertions are what the algorithm
guarantees, not what one kernel happens to produce.
"""

import re

import numpy as np
import pytest
import scipy.optimize

from optim import (
    LBFGS,
    Adam,
    Bounds,
    CentralDifference,
    ConjugateGradient,
    FixedStep,
    ForwardDifference,
    Optimizer,
    Status,
    StopOnZeroGradient,
    maximize,
)
from optim.problems import LogisticRegression, Rosenbrock, Sphere


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


def test_an_exact_oscillation_ends_after_patience_steps_with_its_diagnosis():
    """With the exact gradient, rate 1 maps x to -x bit for bit: no step improves,
    and the run ends at step 20 (the default patience) on any machine."""
    result = Optimizer(Sphere(), step_rule=FixedStep(1.0)).run([3.0, 2.0])

    assert result.status is Status.NO_PROGRESS
    assert result.steps == 20
    assert result.diagnosis == "oscillating"
    assert f"at step {result.steps}" in result.message
    np.testing.assert_array_equal(result.x, [3.0, 2.0])


@pytest.mark.parametrize("ulps", ULPS)
def test_an_oscillating_rate_ends_patience_steps_after_its_last_progress(ulps):
    """With forward differences the 2-cycle drifts by rounding (how far, and which
    way, depends on the last bits of the start and on the CPU): the run ends 20
    steps after the last step that made progress, as its message says."""
    result = Optimizer(
        lambda x: float(x @ x), step_rule=FixedStep(1.0), estimator=ForwardDifference()
    ).run(_nudged([3.0, 2.0], ulps))

    assert result.status is Status.NO_PROGRESS
    assert result.diagnosis == "oscillating"
    since = re.search(
        r"no progress in the (\d+) steps since step (\d+)", result.message
    )
    assert since is not None, result.message
    assert int(since[1]) == 20
    assert int(since[2]) + 20 == result.steps
    assert f"at step {result.steps}" in result.message
    assert result.value == pytest.approx(13.0, rel=1e-3)  # oscillating, not converging


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


@pytest.mark.parametrize("ulps", [1, 2, 5, 8])
def test_forward_differences_stop_at_most_3x_scipy(ulps):
    """The same run costs at most 3x scipy L-BFGS-B `jac="2-point"` from its start.

    From 1, 2, 5 and 8 ulps away a step's line searches used to fail twice per
    step for three steps (about 160 evaluations each) before the progress stop
    saw it, then Richardson confirmed the floor (about 52 more): 625 to 793
    evaluations. A failed search now gives up when its bracket cannot move x,
    the rule stays put after searches that all failed, and the cheap second-step
    check settles the floor.
    """
    rosenbrock = Rosenbrock()
    x0 = _nudged([-1.2, 1.0], ulps)
    result = Optimizer(
        rosenbrock,
        step_rule=LBFGS(),
        estimator=ForwardDifference(),
        callbacks=[StopOnZeroGradient(1e-8)],
    ).run(x0)
    reference = scipy.optimize.minimize(
        rosenbrock.value, x0, method="L-BFGS-B", jac="2-point", options={"gtol": 1e-8}
    )

    assert result.status is Status.CONVERGED
    assert "Richardson" not in result.message
    assert result.evaluations <= 3 * reference.nfev
    assert float(np.linalg.norm(rosenbrock.gradient(result.x))) < 1e-4


@pytest.mark.parametrize("ulps", [0, 1, 3, 6])
@pytest.mark.parametrize(
    ("name", "tol"), [("Meyer", 1e-6), ("Watson", 1e-10), ("Trigonometric", 1e-10)]
)
def test_exact_gradients_stalled_at_the_minimum_are_a_success(name, tol, ulps):
    """MGH problems whose computed f is noisier than eps |f| (small differences of
    large terms): L-BFGS stalls at the minimum with a gradient above tol but below
    the floor that f's measured rounding noise (or ftol) sets; that is a success,
    and the message gives the floor and the norm reached."""
    from optim.mgh import PROBLEMS

    problem = next(p for p in PROBLEMS if p.name == name)
    with np.errstate(all="ignore"):
        result = Optimizer(
            problem, step_rule=LBFGS(), callbacks=[StopOnZeroGradient(tol)]
        ).run(_nudged(problem.x0, ulps))
        scipy_value = scipy.optimize.minimize(
            problem.value,
            problem.x0,
            jac=problem.gradient,
            method="L-BFGS-B",
            options={"gtol": tol, "ftol": 0.0, "maxiter": 10_000},
        ).fun

    assert result.success, result.message
    assert result.value <= scipy_value + 1e-6 * max(1.0, abs(scipy_value))
    if result.gradient_norm > tol:
        assert "floor" in result.message
        assert f"reached {result.gradient_norm:.3g})" in result.message


def _mgh_run(name, rule, tol, ulps, **config):
    from optim.mgh import PROBLEMS

    problem = next(p for p in PROBLEMS if p.name == name)
    with np.errstate(all="ignore"):
        return problem, Optimizer(
            problem, step_rule=rule(), callbacks=[StopOnZeroGradient(tol)], **config
        ).run(_nudged(problem.x0, ulps))


@pytest.mark.parametrize("ulps", [0, 1, 3, 6])
@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("Osborne 2", ConjugateGradient),
        ("Penalty II", LBFGS),
        ("Biggs EXP6", ConjugateGradient),
    ],
)
def test_a_value_converged_to_ftol_is_a_success(name, rule, ulps):
    """The run stops improving with the gradient above tol 1e-10, where a Newton
    step (Hessian measured at the end) would lower f by less than ftol max(1, |f|),
    scipy L-BFGS-B's test of a converged value: a success, at scipy's value, and the
    message gives the floor that puts on the gradient and the norm reached.

    Biggs EXP6's standard start has x1 = x5 and x3 = x6, a symmetry every gradient
    step keeps; the runs end on a saddle of f (scipy's L-BFGS-B too), where the
    bound is taken along the directions the gradient has a component in."""
    problem, result = _mgh_run(name, rule, 1e-10, ulps)
    with np.errstate(all="ignore"):
        reference = scipy.optimize.minimize(
            problem.value,
            problem.x0,
            jac=problem.gradient,
            method="L-BFGS-B",
            options={"gtol": 1e-10, "ftol": 0.0, "maxiter": 10_000},
        ).fun

    assert result.success, result.message
    assert abs(result.value - reference) <= 1e-8 * max(1.0, abs(reference))
    if result.gradient_norm > 1e-10:
        assert "Newton step" in result.message
        assert f"reached {result.gradient_norm:.3g})" in result.message
        found = re.search(r"gradient norm at this point is (\S+) ", result.message)
        assert found is not None, result.message
        floor = float(found.group(1))
        assert floor >= result.gradient_norm


def test_a_stall_on_a_saddle_the_gradient_cannot_leave_says_so():
    """f = (x0^2 + x1^2 - x2^2) / 2 + 1 from x2 = 0: the gradient has no x2
    component, so the run stays on the plane, where it converges (too slowly for
    the progress stop): the Newton bound along x0, x1 (1e-10) is within ftol, a
    success, and the message names the saddle direction it leaves out."""
    from optim.objective import FunctionObjective

    saddle = FunctionObjective(
        lambda x: 0.5 * float(x[0] ** 2 + x[1] ** 2 - x[2] ** 2) + 1.0,
        gradient=lambda x: np.array([x[0], x[1], -x[2]]),
    )
    result = Optimizer(saddle, step_rule=FixedStep(1e-3)).run([1e-5, 1e-5, 0.0])

    assert result.success, result.message
    assert result.status is Status.CONVERGED
    assert result.x[2] == 0.0
    assert "f is converged to ftol here" in result.message
    assert "1 direction(s) of negative curvature (a saddle" in result.message


@pytest.mark.parametrize("ulps", [0, 1, 3, 7])
def test_a_stall_short_of_the_minimum_is_no_success(ulps):
    """Powell badly scaled with CG, progress stop off: the line search fails where
    a Newton step would still lower f by about 1e-6 (against rounding noise of
    1e-20): PRECISION_LIMIT, success=False, and the message says so."""
    _, result = _mgh_run(
        "Powell badly scaled", ConjugateGradient, 1e-10, ulps, ftol=None
    )

    assert not result.success
    assert result.status is Status.PRECISION_LIMIT
    assert "not a minimum to precision" in result.message
    assert f"gradient norm {result.gradient_norm:.3g} at step {result.steps}" in (
        result.message
    )


@pytest.mark.parametrize("ulps", [0, 1, 3, 7])
def test_without_ftol_only_precision_makes_a_stall_a_success(ulps):
    """Osborne 2 with CG, progress stop off: the search stalls with the gradient
    near 5e-8, where a Newton step would still gain about 1e-14, 100x the rounding
    noise of f: not stationary in floating point, so no success."""
    _, result = _mgh_run("Osborne 2", ConjugateGradient, 1e-10, ulps, ftol=None)

    if result.gradient_norm > 1e-10:
        assert not result.success, result.message
        assert "converged to ftol" not in result.message


def test_ascent_judges_a_stall_as_descent_does():
    """Maximizing -f ends as minimizing f does, with the same verdict."""
    from optim.mgh import PROBLEMS
    from optim.objective import FunctionObjective

    problem = next(p for p in PROBLEMS if p.name == "Penalty II")
    negated = FunctionObjective(
        lambda x: -problem.value(x), gradient=lambda x: -problem.gradient(x)
    )
    _, descent = _mgh_run("Penalty II", LBFGS, 1e-10, 0)
    with np.errstate(all="ignore"):
        ascent = Optimizer(
            negated,
            step_rule=LBFGS(),
            callbacks=[StopOnZeroGradient(1e-10)],
            mode="ascent",
        ).run(problem.x0)

    assert ascent.success == descent.success
    assert ascent.value == -descent.value
    verdict = descent.message.index("; f is converged to ftol")
    assert ascent.message.endswith(descent.message[verdict:])

"""Searches that fit the path (issue "Stopping that is honest and useful", item 6).

Under `Bounds`, a strong Wolfe search along a projected path that bends cannot
meet its curvature condition: conjugate gradients and steepest descent search
only the straight part of the path, and the variables held at a bound are left
out of the direction. The answers are compared with scipy's L-BFGS-B.
"""

import numpy as np
import pytest
import scipy.optimize

from optim import (
    LBFGS,
    Bounds,
    ConjugateGradient,
    FunctionObjective,
    LineSearchRule,
    Optimizer,
    StopOnZeroGradient,
)
from optim.directions import SteepestDescent
from optim.line_search import StrongWolfe
from optim.problems import Rosenbrock

_ROSENBROCK_BOX = Bounds([-np.inf, -np.inf], [0.5, np.inf])
"""Rosenbrock with x1 <= 0.5: the optimum (0.5, 0.25) lies on the bound."""


def _starts(x0, count=4):
    """`x0` and starts a few ulps away from it (runs must not hinge on one start)."""
    x0 = np.asarray(x0, dtype=float)
    starts = [x0]
    for k in range(1, count):
        nudged = x0.copy()
        for _ in range(k):
            nudged = np.nextafter(nudged, np.inf)
        starts.append(nudged)
    return starts


def _scipy_box_answer():
    problem = Rosenbrock()
    reference = scipy.optimize.minimize(
        problem.value,
        [-1.2, 1.0],
        jac=problem.gradient,
        method="L-BFGS-B",
        bounds=[(None, 0.5), (None, None)],
        options={"ftol": 0.0, "gtol": 1e-12},
    )
    assert reference.success
    return reference.x


@pytest.mark.parametrize("x0", _starts([-1.2, 1.0]), ids=lambda x: repr(x[0]))
def test_conjugate_gradient_in_a_box_costs_at_most_three_times_the_free_run(x0):
    """CG with x1 <= 0.5 reaches L-BFGS-B's answer for < 3x the unbounded cost."""
    stop = [StopOnZeroGradient(1e-8)]
    free = Optimizer(Rosenbrock(), step_rule=ConjugateGradient(), callbacks=stop)
    boxed = Optimizer(
        Rosenbrock(),
        step_rule=ConjugateGradient(),
        constraint=_ROSENBROCK_BOX,
        callbacks=stop,
    )

    free_result, boxed_result = free.run(x0), boxed.run(x0)

    assert free_result.success
    assert boxed_result.success, boxed_result.message
    assert boxed_result.evaluations <= 3 * free_result.evaluations
    np.testing.assert_allclose(boxed_result.x, _scipy_box_answer(), atol=1e-8)
    np.testing.assert_allclose(boxed_result.x, [0.5, 0.25], atol=1e-8)


@pytest.mark.parametrize("x0", _starts([-1.2, 1.0], 3), ids=lambda x: repr(x[0]))
def test_steepest_descent_with_strong_wolfe_fits_the_box(x0):
    """Another strong-Wolfe user in the box reaches L-BFGS-B's answer, cheaply."""
    rule = LineSearchRule(SteepestDescent(), StrongWolfe())
    result = Optimizer(
        Rosenbrock(),
        step_rule=rule,
        constraint=_ROSENBROCK_BOX,
        callbacks=[StopOnZeroGradient(1e-8)],
    ).run(x0)

    assert result.success, result.message
    np.testing.assert_allclose(result.x, _scipy_box_answer(), atol=1e-8)
    # Steepest descent needs many steps, but its searches are not exhausted:
    # about one trial a step (1.49 a step when the search ran along the bent path).
    assert result.evaluations < 1.25 * result.steps


def _flat_valley(curvature, far):
    """A tiny curvature along x1 (unbounded, optimum at about `far`), x2 <= 1."""

    def value(x):
        return (
            0.5 * curvature * (x[0] - far) ** 2
            + 0.5 * (x[1] - 2.0) ** 2
            + 0.5 * (x[2] + 1e-3 * x[0]) ** 2
        )

    def gradient(x):
        coupling = x[2] + 1e-3 * x[0]
        return np.array(
            [curvature * (x[0] - far) + 1e-3 * coupling, x[1] - 2.0, coupling]
        )

    return value, gradient


@pytest.mark.parametrize(("curvature", "far"), [(1e-4, 1e2), (1e-6, 1e3), (1e-8, 1e4)])
@pytest.mark.parametrize("x0", _starts([1.0, 0.5, 0.0]), ids=lambda x: repr(x[0]))
def test_box_lbfgs_follows_a_flat_valley_as_far_as_lbfgsb(curvature, far, x0):
    """Small but real progress along a flat, unbounded direction is not cut short.

    The minimum, 0.5 at (far, 1, -far / 1000), has x2 on its bound; scipy's
    L-BFGS-B (with ftol=0 and gtol=0: as far as it can go) and our box L-BFGS
    must end at the same value, to rounding.
    """
    value, gradient = _flat_valley(curvature, far)
    reference = scipy.optimize.minimize(
        value,
        x0,
        jac=gradient,
        method="L-BFGS-B",
        bounds=[(None, None), (None, 1.0), (None, None)],
        options={"ftol": 0.0, "gtol": 0.0, "maxiter": 10_000},
    )
    box = Bounds([-np.inf, -np.inf, -np.inf], [np.inf, 1.0, np.inf])

    result = Optimizer(
        FunctionObjective(value, gradient), step_rule=LBFGS(), constraint=box
    ).run(x0)

    eps = np.finfo(float).eps
    assert reference.fun == pytest.approx(0.5, abs=4 * eps)
    assert result.value <= reference.fun + 4 * eps
    assert result.x[1] == 1.0
    # What rounding lets one tell apart: 0.5 c (x1 - far)^2 below eps.
    slack = 4 * np.sqrt(eps / curvature)
    assert abs(result.x[0] - far) <= slack

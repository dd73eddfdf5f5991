"""The gradient-mismatch probe, scaled to the problem (issue "Stopping that is
honest and useful", item 7).

Exact gradients (the complex-step gradients of `optim.mgh`) are never blamed,
badly scaled problems included; gradients with a sign or scale error are.
"""

import numpy as np
import pytest

from optim import (
    LBFGS,
    AnalyticGradient,
    Bounds,
    ConjugateGradient,
    Evaluator,
    FixedStep,
    FunctionObjective,
    Mode,
    Optimizer,
)
from optim.mgh import PROBLEMS, by_name
from optim.stopping import gradient_mismatch

_ERRORS = {"sign": -1.0, "times 10": 10.0, "divided by 10": 0.1}


def _with_gradient_times(problem, factor):
    """`problem` with its exact gradient multiplied by `factor`."""
    return FunctionObjective(problem.value, lambda x: factor * problem.gradient(x))


def _probe(objective, x, constraint=None):
    """The probe's verdict at `x`, and the evaluations it cost."""
    state = Optimizer(
        objective, step_rule=FixedStep(1e-9), constraint=constraint, max_steps=0
    ).run(x)
    evaluator = Evaluator(
        objective, AnalyticGradient(), Mode.DESCENT, constraint=constraint
    )
    return gradient_mismatch(state.run_state, evaluator, constraint), (
        evaluator.evaluations
    )


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_exact_gradients_are_never_blamed_at_the_start(problem):
    """At every MGH start the exact gradient agrees with the values, cheaply."""
    verdict, cost = _probe(problem, problem.x0)

    assert verdict == ""
    assert cost <= 8


@pytest.mark.parametrize("error", _ERRORS)
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_wrong_gradients_are_caught_at_the_start(problem, error):
    """A sign or scale error is caught at every MGH start."""
    verdict, cost = _probe(_with_gradient_times(problem, _ERRORS[error]), problem.x0)

    assert "sign or scale error" in verdict
    assert cost <= 17


@pytest.mark.parametrize("make_rule", [LBFGS, ConjugateGradient], ids=["LBFGS", "CG"])
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_exact_gradients_are_never_blamed_after_a_run(problem, make_rule):
    """Whatever a run from the standard start ends with, it does not blame f'."""
    result = Optimizer(problem, step_rule=make_rule()).run(problem.x0)

    assert result.diagnosis != "gradient_mismatch", result.message


@pytest.mark.parametrize("make_rule", [LBFGS, ConjugateGradient], ids=["LBFGS", "CG"])
@pytest.mark.parametrize(
    "name", ["Rosenbrock", "Powell badly scaled", "Meyer", "Biggs EXP6", "Penalty II"]
)
def test_a_sign_error_is_caught_after_a_run(name, make_rule):
    """A gradient of the wrong sign stalls the run, and the probe blames it."""
    problem = by_name(name)
    wrong = _with_gradient_times(problem, -1.0)

    result = Optimizer(wrong, step_rule=make_rule(), max_steps=200).run(problem.x0)

    assert result.diagnosis == "gradient_mismatch"
    assert "check_gradient" in result.message
    assert "learning rate" not in result.message


@pytest.mark.parametrize("name", ["Powell badly scaled", "Meyer"])
def test_badly_scaled_points_are_probed_per_coordinate(name):
    """Near the badly scaled solutions, exact gradients agree; wrong ones do not.

    Powell's solution has x1 near 1e-5 and x2 near 9; Meyer's has coordinates
    from 0.0056 to 6181: steps of 1e-4 max(1, |x|) along the gradient, as the
    old probe took, were not small there.
    """
    problem = by_name(name)
    solution = Optimizer(problem, step_rule=LBFGS()).run(problem.x0).x
    # Points a little off the solution, where f (1e-4 and 1e-8 on Powell's) is
    # still well above the probe's rounding floor, 1e3 eps max(1, |f|).
    for k in (1, 2):
        x = solution * (1.0 + 10.0**-k * np.array([1.0, -1.0, 1.0][: solution.size]))
        assert _probe(problem, x)[0] == ""
        assert _probe(_with_gradient_times(problem, -1.0), x)[0] != ""


def test_points_on_a_bound_are_probed_along_the_projected_path():
    """In a box, exact gradients on a bound agree; sign-flipped ones do not."""
    problem = by_name("Rosenbrock")
    box = Bounds([-np.inf, -np.inf], [0.5, np.inf])
    x = np.array([0.5, 0.1])  # on the bound, the gradient pushes x1 out of the box

    assert _probe(problem, x, box)[0] == ""
    assert _probe(_with_gradient_times(problem, -1.0), x, box)[0] != ""

"""Property-based tests (hypothesis) over random problems, points and settings."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optim
from optim import (
    CentralDifference,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    History,
    LogProgress,
    Optimizer,
    StopOnZeroGradient,
)

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


@st.composite
def quadratics(draw, max_n=4):
    """A random convex quadratic f(x) = 1/2 x'Ax - b'x + c with its gradient."""
    n = draw(st.integers(1, max_n))
    m = draw(hnp.arrays(np.float64, (n, n), elements=finite))
    a = m @ m.T + np.eye(n)
    b = draw(hnp.arrays(np.float64, n, elements=finite))
    c = draw(finite)

    def value(x):
        return float(0.5 * x @ a @ x - b @ x + c)

    def gradient(x):
        return a @ x - b

    x0 = draw(hnp.arrays(np.float64, n, elements=finite))
    return a, value, gradient, x0


@given(quadratics(), st.floats(0.01, 0.9))
def test_ascent_on_f_equals_descent_on_minus_f(problem, fraction):
    """Ascent on -f visits exactly the points descent on f visits."""
    a, value, gradient, x0 = problem
    rate = fraction / float(np.linalg.eigvalsh(a).max())
    down, up = History(), History()

    Optimizer(
        FunctionObjective(value, gradient),
        step_rule=FixedStep(rate),
        callbacks=[down],
        max_steps=10,
    ).run(x0)
    Optimizer(
        FunctionObjective(lambda x: -value(x), lambda x: -gradient(x)),
        step_rule=FixedStep(rate),
        mode="ascent",
        callbacks=[up],
        max_steps=10,
    ).run(x0)

    np.testing.assert_array_equal(down.x, up.x)
    np.testing.assert_array_equal(down.values, -up.values)


@given(quadratics())
def test_central_difference_is_exact_on_quadratics(problem):
    """Central differences have no truncation error on a quadratic: rounding only."""
    a, value, gradient, x0 = problem
    exact = gradient(x0)

    estimate = CentralDifference().estimate(FunctionObjective(value), x0)

    # Rounding error of a difference quotient: about eps * |f| / h per coordinate.
    scale = abs(value(x0)) + float(np.abs(a).sum()) * (1 + float(np.abs(x0).max())) ** 2
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(x0))
    bound = 8 * np.finfo(float).eps * scale / h
    assert np.all(np.abs(estimate - exact) <= bound)


@given(quadratics())
def test_forward_difference_error_is_its_truncation_term(problem):
    """Forward differences on a quadratic err by exactly h_i * A_ii / 2 (+ rounding)."""
    a, value, gradient, x0 = problem
    h = np.finfo(float).eps ** 0.5 * np.maximum(1.0, np.abs(x0))
    h = (x0 + h) - x0

    estimate = ForwardDifference().estimate(FunctionObjective(value), x0)

    scale = abs(value(x0)) + float(np.abs(a).sum()) * (1 + float(np.abs(x0).max())) ** 2
    rounding = 8 * np.finfo(float).eps * scale / h
    truncation = h * np.diag(a) / 2
    assert np.all(np.abs(estimate - gradient(x0) - truncation) <= rounding)


arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=finite
)


@given(arrays, st.sampled_from(["run", "estimate", "textbook", "minimize"]))
def test_public_functions_do_not_modify_inputs(x, entry):
    """No public entry point writes into the caller's array."""
    original = x.copy()

    def f(v):
        return float(np.sum(np.sin(v) + v**2))

    if entry == "run":
        Optimizer(f, step_rule=FixedStep(0.01), max_steps=3).run(x)
    elif entry == "estimate":
        CentralDifference().estimate(FunctionObjective(f), x)
        ForwardDifference().estimate(FunctionObjective(f), x)
    elif entry == "textbook":
        optim.numerical_gradient(f, x)
        optim.gradient_descent(f, x, lr=0.01, step_num=3)
    else:
        optim.minimize(f, x.reshape(-1), step_rule=FixedStep(0.01), max_steps=3)

    np.testing.assert_array_equal(x, original)


garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
    st.just(lambda x: x),
)

CONSTRUCTORS = {
    "FixedStep": lambda g: FixedStep(g),
    "CentralDifference": lambda g: CentralDifference(step=g),
    "ForwardDifference": lambda g: ForwardDifference(step=g),
    "StopOnZeroGradient.tol": lambda g: StopOnZeroGradient(tol=g),
    "StopOnZeroGradient.norm": lambda g: StopOnZeroGradient(norm=g),
    "LogProgress": lambda g: LogProgress(every=g),
    "FunctionObjective": lambda g: FunctionObjective(g),
    "Optimizer.objective": lambda g: Optimizer(g, step_rule=FixedStep(0.1)),
    "Optimizer.step_rule": lambda g: Optimizer(lambda x: 0.0, step_rule=g),
    "Optimizer.mode": lambda g: Optimizer(
        lambda x: 0.0, step_rule=FixedStep(0.1), mode=g
    ),
    "Optimizer.max_steps": lambda g: Optimizer(
        lambda x: 0.0, step_rule=FixedStep(0.1), max_steps=g
    ),
    "Optimizer.max_time": lambda g: Optimizer(
        lambda x: 0.0, step_rule=FixedStep(0.1), max_time=g
    ),
    "Optimizer.callbacks": lambda g: Optimizer(
        lambda x: 0.0, step_rule=FixedStep(0.1), callbacks=g
    ),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
@given(value=garbage)
def test_constructors_raise_only_documented_errors(name, value):
    """Random garbage gives TypeError or ValueError, or a working object."""
    try:
        CONSTRUCTORS[name](value)
    except (TypeError, ValueError) as error:
        message = str(error)
    else:
        message = "accepted"
    assert message  # an error always says what was wrong


@given(arrays)
def test_run_result_is_finite_or_reported(x):
    """Whatever the start, a run ends with a finite x or a DIVERGED status."""
    result = Optimizer(
        lambda v: float(np.sum(np.exp(v))), step_rule=FixedStep(1.0), max_steps=20
    ).run(x)

    assert np.isfinite(result.x).all()
    assert math.isfinite(result.value)


smooth_functions = st.sampled_from(
    [
        (
            lambda x: float(np.sum(x**2) + np.sum(np.sin(3 * x))),
            lambda x: 2 * x + 3 * np.cos(3 * x),
        ),
        (
            lambda x: float(
                np.sum((x[1:] - x[:-1] ** 2) ** 2 * 10 + (1 - x[:-1]) ** 2)
            ),
            None,
        ),
        (lambda x: float(np.log1p(np.sum(x**4)) - np.sum(x)), None),
    ]
)


@given(
    smooth_functions,
    hnp.arrays(np.float64, 3, elements=st.floats(-3, 3)),
    hnp.arrays(np.float64, 3, elements=st.floats(-1, 1)),
    st.floats(1e-3, 1e3),
    st.floats(1e-4, 0.5),
    st.booleans(),
)
def test_armijo_backtracking_never_increases_the_objective(
    function, x, tilt, initial_step, c1, ascent
):
    """Backtracking accepts only steps with sufficient decrease, in either mode."""
    f, grad = function
    objective = FunctionObjective(f, grad)
    mode = optim.Mode.ASCENT if ascent else optim.Mode.DESCENT
    evaluator = optim.Evaluator(
        FunctionObjective(lambda v: -f(v)) if ascent else objective,
        CentralDifference(),
        mode,
    )
    value, gradient = evaluator.value_and_gradient(x)
    direction = -gradient + 0.1 * np.linalg.norm(gradient) * tilt  # still descent
    slope = float(gradient @ direction)
    if not slope < 0:
        return

    found = optim.Backtracking(c1=c1).search(
        evaluator,
        x=x,
        value=value,
        gradient=gradient,
        direction=direction,
        initial_step=initial_step,
    )

    new_value = evaluator.value(x + found.delta)
    assert new_value <= value
    if found.success:
        assert new_value <= value + c1 * found.step * slope + 1e-12 * abs(value)


@pytest.mark.parametrize(
    "build",
    [
        lambda g: optim.Momentum(g),
        lambda g: optim.Momentum(0.1, beta=g),
        lambda g: optim.Adam(beta2=g),
        lambda g: optim.AdamW(weight_decay=g),
        lambda g: optim.LBFGS(memory=g),
        lambda g: optim.Backtracking(c1=g),
        lambda g: optim.StrongWolfe(c2=g),
        lambda g: optim.Richardson(order=g),
        lambda g: optim.SPSA(samples=g),
        lambda g: optim.ComplexStep(step=g),
        lambda g: CentralDifference(max_batch_bytes=g),
        lambda g: optim.ClipByNorm(g),
        lambda g: optim.schedules.CosineDecay(0.1, decay_steps=g),
        lambda g: optim.Checkpoint(g, every=g),
    ],
)
@given(value=garbage)
def test_more_constructors_raise_only_documented_errors(build, value):
    """Random garbage gives TypeError or ValueError, or a working object."""
    try:
        build(value)
    except (TypeError, ValueError) as error:
        message = str(error)
    else:
        message = "accepted"
    assert message

"""A run keeps x0's dtype on every path: rules, estimators, boxes, line searches.

Issue "One run engine", point 5: a float32 L-BFGS run in a box used to end with a
float64 gradient (a float64 trial point's gradient was reused) and wrote a final
checkpoint that the same optimizer refused to load.
"""

import attrs
import numpy as np
import pytest

from optim import (
    LBFGS,
    SPSA,
    AnalyticGradient,
    Bounds,
    CentralDifference,
    Checkpoint,
    ForwardDifference,
    FunctionObjective,
    Optimizer,
    load_checkpoint,
)
from optim.constrained import box_direction
from optim.directions import LBFGSDirectionState
from optim.line_search import AcceptStep, Backtracking, StrongWolfe

from .test_step_rules import ALL_RULES, UNCONSTRAINED_ONLY

CENTER = np.array([0.25, -0.5, 2.0])
"""The unconstrained minimizer, float64 (so the gradient is float64 at any x)."""

X0 = [0.75, 0.25, -0.6]

BOX = Bounds([0.5, -1.0, -0.3], [1.0, 1.0, 0.1])
"""The minimizer is outside: the run ends on the bounds 0.5 (a float32 number)
and 0.1 (not one), with the middle coordinate free."""

ESTIMATORS = [
    pytest.param(AnalyticGradient(), id="analytic"),
    pytest.param(ForwardDifference(), id="forward"),
    pytest.param(CentralDifference(), id="central"),
    pytest.param(SPSA(rng=0), id="spsa"),
]


def _recording_objective(seen):
    """A quadratic whose gradient is float64 whatever x is; records the dtypes."""

    def value(x):
        seen.add(x.dtype)
        return np.sum((x - CENTER) ** 2, axis=-1)

    def gradient(x):
        seen.add(x.dtype)
        return 2.0 * (x - CENTER).astype(np.float64)

    return FunctionObjective(value, gradient=gradient, vectorized=True)


def _leaves(value):
    """Every numpy array or numpy number reachable from a rule state."""
    if isinstance(value, np.ndarray | np.generic):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _leaves(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _leaves(item)


RULES_AND_BOXES = [
    pytest.param(rule.values[0], boxed, id=f"{rule.id}-{'box' if boxed else 'free'}")
    for rule in ALL_RULES
    for boxed in (False, True)
    if not (boxed and rule.id in UNCONSTRAINED_ONLY)  # refuses a box: tested apart
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(("rule", "boxed"), RULES_AND_BOXES)
def test_every_path_keeps_the_dtype_and_checkpoints_load(
    rule, estimator, boxed, dtype, tmp_path
):
    seen = set()
    path = tmp_path / "run.npz"
    optimizer = Optimizer(
        _recording_objective(seen),
        step_rule=rule,
        estimator=estimator,
        constraint=BOX if boxed else None,
        max_steps=20,
        callbacks=[Checkpoint(path)],
    )
    x0 = np.array(X0, dtype=dtype)
    result = optimizer.run(x0)

    # Every point evaluated (iterates, trial points, difference stencils).
    assert seen == {np.dtype(dtype)}
    for array in (result.x, result.gradient, result.best_x):
        assert array.dtype == dtype
    leaves = list(_leaves(result.run_state.rule_state))
    assert all(leaf.dtype == dtype for leaf in leaves), [
        (type(leaf), leaf.dtype) for leaf in leaves
    ]
    assert result.best_value < result.run_state.start_value
    if boxed:
        assert (result.x >= BOX.lower).all()
        assert (result.x <= BOX.upper).all()

    state = load_checkpoint(path, optimizer)  # the final state, saved at the end
    assert state.step == result.steps
    assert state.x.dtype == state.gradient.dtype == dtype
    np.testing.assert_array_equal(state.x, result.x)
    np.testing.assert_array_equal(state.gradient, result.gradient)


def test_float32_lbfgs_in_a_box_reported_case(tmp_path):
    """The reported case: the final gradient is float32 and the checkpoint loads."""
    path = tmp_path / "run.npz"
    optimizer = Optimizer(
        _recording_objective(set()),
        step_rule=LBFGS(),
        constraint=Bounds(0.5, 1.0),
        max_steps=20,
        callbacks=[Checkpoint(path)],
    )
    result = optimizer.run(np.array(X0, dtype=np.float32).clip(0.5, 1.0))
    assert result.status.name == "CONVERGED"
    np.testing.assert_array_equal(result.x, [0.5, 0.5, 1.0])
    assert result.gradient.dtype == np.float32
    resumed = attrs.evolve(optimizer, max_steps=25).resume(path)
    assert resumed.x.dtype == np.float32
    np.testing.assert_array_equal(resumed.x, result.x)


def test_box_direction_keeps_float32():
    """The L-BFGS-B direction is float32 for float32 points and float64 bounds."""
    x = np.array([0.5, 0.25], dtype=np.float32)
    g = np.array([3.0, -1.0], dtype=np.float32)
    lower, upper = np.array([0.1, 0.1]), np.array([0.7, 0.7])
    direction = box_direction(x, g, lower, upper, LBFGSDirectionState())
    assert direction.dtype == np.float32
    # No pair: P(x - g) - x, to float32 precision.
    np.testing.assert_allclose(direction, [0.1 - 0.5, 0.7 - 0.25], rtol=1e-6)


class _Trials:
    """A test double of the run's evaluator: records the trial points."""

    def __init__(self, constraint=None):
        self.points = []
        self.constraint = constraint

    def value(self, x):
        self.points.append(x)
        return float(np.sum((x.astype(np.float64) - 1.0) ** 2))

    def value_and_gradient(self, x):
        return self.value(x), 2.0 * (x.astype(np.float64) - 1.0)


@pytest.mark.parametrize("constraint", [None, Bounds(-0.3, 0.9)], ids=["free", "box"])
@pytest.mark.parametrize(
    "search", [Backtracking(), StrongWolfe(), AcceptStep()], ids=type
)
def test_searches_build_trial_points_in_xs_dtype(search, constraint):
    """A float64 direction in a float32 run still gives float32 trial points."""
    evaluator = _Trials(constraint)
    x = np.zeros(2, dtype=np.float32)
    gradient = np.full(2, -2.0, dtype=np.float32)
    result = search.search(
        evaluator,
        x=x,
        value=2.0,
        gradient=gradient,
        direction=np.array([2.0, 2.0]),  # float64
        initial_step=1.0,
    )
    assert result.delta.dtype == np.float32
    assert all(point.dtype == np.float32 for point in evaluator.points)
    if evaluator.points:
        # The accepted trial is the very point x + delta (projected).
        last = x + result.delta
        if constraint is not None:
            last = constraint.project(last)
        np.testing.assert_array_equal(evaluator.points[-1], last)

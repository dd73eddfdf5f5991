"""Scalar points: a 0-d x0 works with every rule, estimator and constraint.

Issue "One run engine", point 6. numpy's arithmetic on 0-d arrays gives numpy
scalars (`-0.1 * np.array(2.0)` is `np.float64(-0.2)`), which the run used to
refuse as "not an array", blaming the library's own step rules.
"""

import attrs
import numpy as np
import pytest

from optim import (
    LBFGS,
    SPSA,
    Adam,
    AnalyticGradient,
    BackwardDifference,
    Ball,
    BarzilaiBorwein,
    Bounds,
    CentralDifference,
    Checkpoint,
    ComplexStep,
    ConjugateGradient,
    Evaluator,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    Mode,
    Momentum,
    Optimizer,
    Richardson,
    Simplex,
    StopOnZeroGradient,
    minimize,
)
from optim._arrays import check_like_x
from optim.directions import (
    BarzilaiBorweinDirection,
    LBFGSDirection,
    PolakRibiere,
    SteepestDescent,
)
from optim.line_search import Backtracking, StrongWolfe
from optim.problems import Sphere

from .test_step_rules import ALL_RULES

STARTS = [
    pytest.param(0.0, id="float"),
    pytest.param(np.float64(0.0), id="numpy-float64"),
    pytest.param(np.array(0.0), id="0d-array"),
]

FOUR_RULES = [
    pytest.param(FixedStep(0.1), id="fixed"),
    pytest.param(Adam(0.1), id="adam"),
    pytest.param(LBFGS(), id="lbfgs"),
    pytest.param(BarzilaiBorwein(), id="bb"),
]

WEIGHT_DECAY = ("adamw", "adamw-amsgrad")
"""Rules whose decoupled weight decay shrinks the answer toward 0 (see AdamW)."""


def _parabola(*, gradient=False):
    """(x - 3)^2, minimized at 3; with its exact gradient if asked."""
    return FunctionObjective(
        lambda x: (x - 3.0) ** 2,
        gradient=(lambda x: 2.0 * (x - 3.0)) if gradient else None,
    )


def _run(rule, x0=0.0, **options):
    options.setdefault("callbacks", [StopOnZeroGradient(1e-6)])
    return Optimizer(_parabola(), step_rule=rule, **options).run(x0)


# --- the check on what plug-ins return --------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_scalars_are_0d_arrays_for_a_0d_x(dtype):
    x = np.array(1.0, dtype=dtype)
    for value in (np.float64(-0.4), np.float32(-0.4)):
        step = check_like_x(value, x, name="Rule.update", what="a step")
        assert type(step) is np.ndarray
        assert step.shape == ()
        assert step.dtype == dtype
        assert step == dtype(value)


def test_scalars_are_still_refused_where_they_do_not_belong():
    with pytest.raises(TypeError, match=r"Rule.update returned a step .* shape \(1,\)"):
        check_like_x(np.float64(0.5), np.zeros(1), name="Rule.update", what="a step")
    for wrong in (0.5, np.int64(1), np.complex128(1.0)):  # not numpy floats
        with pytest.raises(TypeError, match=r"Rule\.update returned a step"):
            check_like_x(wrong, np.array(0.0), name="Rule.update", what="a step")


# --- the building blocks on 0-d points ---------------------------------------------


def test_fixed_step_first_step_on_a_scalar():
    """f = (x - 3)^2 from 0: the gradient is -6, a 0.1 step moves x to 0.6."""
    result = Optimizer(
        _parabola(gradient=True), step_rule=FixedStep(0.1), max_steps=1
    ).run(0.0)
    assert np.ndim(result.x) == 0
    assert result.x == pytest.approx(0.6)
    assert result.gradient == pytest.approx(2.0 * (0.6 - 3.0))


def test_directions_on_0d_gradients():
    g = np.array(4.0)
    lbfgs = LBFGSDirection()
    state = lbfgs.observe(lbfgs.init(g), step=np.array(1.0), gradient_change=g / 2)
    # One pair in one dimension is the secant: p = -g s / y = -4 * 1 / 2.
    assert lbfgs.direction(g, state)[0] == -2.0
    assert lbfgs.direction(g, lbfgs.init(g))[0] == -1.0  # -g, shortened to length 1
    assert SteepestDescent().direction(g, None)[0] == -4.0
    assert PolakRibiere().direction(g, PolakRibiere().init(g))[0] == -4.0
    bb = BarzilaiBorweinDirection()
    assert bb.direction(g, bb.init(g))[0] == -1.0  # 1 / |g| times -g


@pytest.mark.parametrize("constraint", [None, Bounds(-1.0, 0.25)], ids=["free", "box"])
def test_line_searches_on_0d_points(constraint):
    """On x^2 from 1 along -1 (or -2): hand-computed accepted steps."""
    evaluator = Evaluator(
        Sphere(), AnalyticGradient(), Mode.DESCENT, constraint=constraint
    )
    x, value, gradient = np.array(1.0), 1.0, np.array(2.0)
    wolfe = StrongWolfe().search(
        evaluator,
        x=x,
        value=value,
        gradient=gradient,
        direction=np.array(-1.0),
        initial_step=1.0,
    )
    armijo = Backtracking().search(
        evaluator,
        x=x,
        value=value,
        gradient=gradient,
        direction=np.array(-2.0),
        initial_step=1.0,
    )
    for found in (wolfe, armijo):
        assert type(found.delta) is np.ndarray
        assert found.delta.shape == ()
        assert found.success
    assert wolfe.step == 1.0
    assert armijo.step == 0.5  # the unit step overshoots to -1: no decrease
    if constraint is None:
        assert wolfe.value == armijo.value == 0.0
    else:  # the trial point 0 is projected onto [-1, 0.25]: still 0
        assert wolfe.value == 0.0


def test_bounds_project_a_0d_point_to_a_0d_array():
    for dtype in (np.float32, np.float64):
        projected = Bounds(0.0, 0.1).project(np.array(2.0, dtype=dtype))
        assert type(projected) is np.ndarray
        assert projected.shape == ()
        assert projected.dtype == dtype
        assert projected <= 0.1


# --- whole runs ----------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALL_RULES)
def test_every_rule_converges_from_a_scalar(rule, request):
    if request.node.callspec.id == "lamb":
        pytest.skip(
            "LAMB's trust ratio makes a one-coordinate step lr * |x| * sign(u): "
            "sign descent, which the progress stop reads as oscillation"
        )
    result = _run(rule, max_steps=1000)
    assert np.ndim(result.x) == 0
    assert np.asarray(result.x).dtype == np.float64
    if request.node.callspec.id in WEIGHT_DECAY:
        # Decoupled decay keeps a gradient of about -2 * 0.01 * 3 (no convergence):
        # the run ends on its budget or on the progress stop, never CONVERGED.
        assert result.status.name in ("MAX_STEPS", "NO_PROGRESS")
        assert abs(result.x - 3.0) < 0.02
    else:
        assert result.status.name == "CONVERGED", result.message
        assert abs(result.x - 3.0) < 1e-6


@pytest.mark.parametrize("x0", STARTS)
@pytest.mark.parametrize("rule", FOUR_RULES)
def test_every_kind_of_scalar_start(rule, x0):
    result = _run(rule, x0)
    assert result.status.name == "CONVERGED", result.message
    assert np.ndim(result.x) == 0
    assert abs(result.x - 3.0) < 1e-6


ESTIMATORS = [
    pytest.param(AnalyticGradient(), id="analytic"),
    pytest.param(ForwardDifference(), id="forward"),
    pytest.param(BackwardDifference(), id="backward"),
    pytest.param(CentralDifference(), id="central"),
    pytest.param(Richardson(), id="richardson"),
    pytest.param(ComplexStep(), id="complex"),
    pytest.param(SPSA(rng=0), id="spsa"),
]


@pytest.mark.parametrize(
    "constraint", [None, Bounds(-10.0, 10.0)], ids=["free", "bounds"]
)
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "rule",
    [FixedStep(0.1), LBFGS(), BarzilaiBorwein("short", search=Backtracking())],
    ids=["fixed", "lbfgs", "bb-armijo"],
)
def test_every_estimator_and_bounds_on_a_scalar(rule, estimator, constraint):
    result = Optimizer(
        _parabola(gradient=True),
        step_rule=rule,
        estimator=estimator,
        constraint=constraint,
        callbacks=[StopOnZeroGradient(1e-5)],
        max_steps=500,
    ).run(0.0)
    assert np.ndim(result.x) == 0
    # A one-sided difference is off by h (about 1.5e-8 here) on a parabola.
    assert abs(result.x - 3.0) < 1e-5, result.message
    assert result.best_value < 1e-10


@pytest.mark.parametrize(
    ("constraint", "answer"),
    [
        pytest.param(Bounds(-10.0, 2.0), 2.0, id="bounds-active"),
        pytest.param(Ball(0.0, 2.5), 2.5, id="ball"),
        pytest.param(Simplex(1.5), 1.5, id="simplex"),  # the only feasible point
    ],
)
@pytest.mark.parametrize("rule", FOUR_RULES)
def test_constraints_on_a_scalar(rule, constraint, answer):
    result = _run(rule, constraint=constraint, max_steps=500)
    assert np.ndim(result.x) == 0
    assert result.x == pytest.approx(answer, abs=1e-6)


@pytest.mark.parametrize(
    "rule",
    [LBFGS(), ConjugateGradient(), Momentum(0.1), Adam(0.1, amsgrad=True)],
    ids=["lbfgs", "cg", "momentum", "amsgrad"],
)
def test_a_scalar_run_checkpoints_and_resumes(rule, tmp_path):
    path = tmp_path / "run.npz"
    optimizer = Optimizer(
        _parabola(gradient=True), step_rule=rule, callbacks=[Checkpoint(path)]
    )
    whole = attrs.evolve(optimizer, max_steps=3).run(0.5)
    attrs.evolve(optimizer, max_steps=1).run(0.5)
    resumed = attrs.evolve(optimizer, max_steps=3).resume(path)
    assert np.ndim(resumed.x) == 0
    assert resumed.x == whole.x
    assert resumed.evaluations == whole.evaluations


@pytest.mark.parametrize("x0", STARTS)
def test_minimize_a_scalar(x0):
    result = minimize(lambda x: (x - 3.0) ** 2, x0)
    assert result.success, result.message
    assert np.shape(result.x) == (1,)  # scipy's rule: x0 made 1-d
    assert abs(result.x - 3.0) < 1e-6
    bounded = minimize(lambda x: (x - 3.0) ** 2, x0, bounds=[(-10.0, 2.0)])
    assert bounded.x == pytest.approx(2.0)


# --- needs the optimizer to keep x an array -------------------------------------------


@pytest.mark.parametrize("rule", FOUR_RULES)
def test_a_scalar_run_ends_on_a_0d_array(rule):
    seen = []
    result = _run(rule, callbacks=[StopOnZeroGradient(1e-6), seen.append])
    for array in (result.x, result.best_x, result.gradient, *[i.x for i in seen]):
        assert type(array) is np.ndarray
        assert array.shape == ()
        assert array.dtype == np.float64


@pytest.mark.parametrize("rule", FOUR_RULES)
def test_a_float32_scalar_stays_float32(rule):
    result = Optimizer(
        _parabola(gradient=True),
        step_rule=rule,
        callbacks=[StopOnZeroGradient(1e-5)],
        max_steps=500,
    ).run(np.float32(0.0))
    assert np.ndim(result.x) == 0
    assert result.x.dtype == result.gradient.dtype == np.float32
    assert abs(result.x - 3.0) < 1e-5

"""float32 runs: every array stays float32 end to end (issue 14, item 2)."""

import tracemalloc

import attrs
import numpy as np
import pytest

from optim import (
    SPSA,
    Adam,
    BackwardDifference,
    Bounds,
    CentralDifference,
    Checkpoint,
    ComplexStep,
    ForwardDifference,
    FunctionObjective,
    History,
    Optimizer,
    Richardson,
)
from optim.callbacks import Callback
from optim.problems import Rosenbrock, Sphere

from .test_step_rules import ALL_RULES


def _arrays(value, seen=None):
    """Every numpy array reachable from `value` (attrs records, tuples, dicts)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _arrays(getattr(value, field.name), seen)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _arrays(item, seen)


def _float_arrays(state):
    """The float arrays of a run state (the random stream's integers excluded)."""
    return [a for a in _arrays(attrs.evolve(state, random_state=None))]


def _quadratic32():
    """A quadratic whose gradient keeps the dtype of `x`."""
    curvature = np.linspace(1.0, 4.0, 5).astype(np.float32)
    return FunctionObjective(
        lambda x: float(0.5 * np.vdot(x, curvature * x)),
        lambda x: curvature * x,
    )


X0 = np.linspace(-1.0, 1.0, 5).astype(np.float32) + np.float32(0.25)


def _run(objective, rule, x0=X0, **options):
    seen = []
    optimizer = Optimizer(
        objective, step_rule=rule, max_steps=15, callbacks=[seen.append], **options
    )
    return optimizer.run(x0), seen


def _assert_float32(result, seen):
    assert result.dtype == np.float32
    for array in (result.x, result.gradient, result.best_x):
        assert array.dtype == np.float32
    for info in seen:
        for array in _float_arrays(info.run_state):
            assert array.dtype == np.float32, (info.step, array)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_float32_run_keeps_every_array_float32(rule):
    result, seen = _run(_quadratic32(), rule)
    _assert_float32(result, seen)
    assert result.best_value < seen[0].value


@pytest.mark.parametrize("rule", ALL_RULES)
def test_float64_gradient_is_cast_to_the_runs_float32(rule):
    result, seen = _run(Sphere(), rule)  # Sphere's gradient is float64
    _assert_float32(result, seen)


BOX_RULES = [rule for rule in ALL_RULES if rule.id in ("lbfgs", "cg", "bfgs-dense")]


@pytest.mark.parametrize("rule", [pytest.param(Adam(0.1), id="adam"), *BOX_RULES])
def test_float32_run_in_a_box_stays_float32_and_feasible(rule):
    box = Bounds(np.float64(0.1), 0.7)  # 0.1 and 0.7 are not float32 numbers
    result, seen = _run(Sphere(), rule, constraint=box)
    _assert_float32(result, seen)
    for info in seen:
        assert (info.x >= 0.1).all()
        assert (info.x <= 0.7).all()


def test_mixed_and_other_dtypes_run_in_float64():
    for x0 in ([1, 2], np.array([1.0, 2.0], dtype=np.float16), np.array([1.0, 2.0])):
        result = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=3).run(x0)
        assert result.dtype == np.float64
        assert all(a.dtype == np.float64 for a in _float_arrays(result.run_state))


def test_run_context_and_summary_name_the_dtype():
    contexts = []

    class Record(Callback):
        def on_start(self, context, x0):
            contexts.append(context.dtype)

    optimizer = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=2)
    result = attrs.evolve(optimizer, callbacks=[Record()]).run(X0)
    attrs.evolve(optimizer, callbacks=[Record()]).run(X0.astype(np.float64))
    assert contexts == [np.float32, np.float64]
    assert "dtype: float32" in str(result)
    history = History()
    attrs.evolve(optimizer, callbacks=[history]).run(X0)
    assert history.x.dtype == np.float32
    assert optimizer.run_context().dtype == np.float64


ESTIMATORS = [
    pytest.param(CentralDifference(), 1e-3, id="central"),
    pytest.param(ForwardDifference(), 1e-2, id="forward"),
    pytest.param(BackwardDifference(), 1e-2, id="backward"),
    pytest.param(ComplexStep(), 1e-5, id="complex"),
    pytest.param(Richardson(), 1e-3, id="richardson"),
    pytest.param(CentralDifference(step=1e-2), 1e-3, id="central-step"),
]


def _smooth():
    """A smooth function computed in the dtype of its points."""

    def f(x):
        return np.sum(np.exp(0.3 * x) * np.sin(x) + 0.5 * x**2, axis=-1)

    def g(x):
        return 0.3 * np.exp(0.3 * x) * np.sin(x) + np.exp(0.3 * x) * np.cos(x) + x

    return FunctionObjective(f, vectorized=True), g, f


@pytest.mark.parametrize(("estimator", "tol"), ESTIMATORS)
def test_differences_on_float32_points_are_float32_and_accurate(estimator, tol):
    _, exact, f = _smooth()
    x = np.linspace(-2.0, 3.0, 7).astype(np.float32)
    seen = []
    wrapped = FunctionObjective(
        lambda xs: seen.append(xs.dtype) or f(xs), vectorized=True
    )
    gradient, error = estimator.estimate_with_error(wrapped, x)
    truth = exact(x.astype(np.float64))
    assert gradient.dtype == np.float32
    assert error.dtype == np.float32
    expected = np.complex64 if isinstance(estimator, ComplexStep) else np.float32
    assert set(seen) == {np.dtype(expected)}
    relative = np.max(np.abs(gradient - truth)) / np.max(np.abs(truth))
    assert relative <= tol
    assert (np.abs(gradient - truth) <= error + 1e-6 * np.abs(truth)).mean() >= 0.8


def test_automatic_steps_follow_float32_epsilon():
    objective, exact, _ = _smooth()
    x = np.full(3, 0.5, dtype=np.float32)
    # float64's automatic step (6e-6) would leave float32 with ~1e-2 rounding error.
    gradient = CentralDifference().estimate(objective, x)
    assert np.max(np.abs(gradient - exact(0.5))) < 1e-3


def test_spsa_and_box_differences_on_float32_points():
    objective, exact, f = _smooth()
    x = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    gradient, error = SPSA(samples=400, rng=0).estimate_with_error(objective, x)
    assert gradient.dtype == error.dtype == np.float32
    assert np.all(np.abs(gradient - exact(x.astype(np.float64))) < 5 * error + 1e-2)
    box = (np.zeros(3), np.array([0.3, 0.5, 1.0]))  # x at the upper bounds
    for estimator in (CentralDifference(), ForwardDifference(), Richardson()):
        points = []
        wrapped = FunctionObjective(
            lambda xs, points=points: points.append(xs.copy()) or f(xs),
            vectorized=True,
        )
        gradient = estimator.estimate(wrapped, x, bounds=box)
        assert gradient.dtype == np.float32
        assert np.max(np.abs(gradient - exact(x.astype(np.float64)))) < 1e-2
        stacked = np.concatenate([p.reshape(-1, 3) for p in points])
        assert stacked.dtype == np.float32
        assert (stacked >= box[0]).all()
        assert (stacked <= box[1]).all()


def test_float32_run_checkpoints_and_resumes(tmp_path):
    path = tmp_path / "run.npz"
    optimizer = Optimizer(
        Rosenbrock(), step_rule=Adam(0.01), callbacks=[Checkpoint(path)]
    )
    x0 = np.array([-1.2, 1.0], dtype=np.float32)
    whole = attrs.evolve(optimizer, max_steps=8).run(x0)
    attrs.evolve(optimizer, max_steps=4).run(x0)
    resumed = attrs.evolve(optimizer, max_steps=8).resume(path)
    assert resumed.dtype == np.float32
    assert all(a.dtype == np.float32 for a in _float_arrays(resumed.run_state))
    np.testing.assert_array_equal(resumed.x, whole.x)
    assert resumed.value == whole.value


def _adam_peak(n, dtype, steps=5):
    """Peak traced bytes of a `steps`-step Adam run at size `n` in `dtype`."""
    x0 = np.full(n, 0.5, dtype=dtype)
    objective = FunctionObjective(
        lambda x: float(np.vdot(x, x)), lambda x: 2.0 * x
    )  # the gradient keeps x's dtype
    optimizer = Optimizer(objective, step_rule=Adam(1e-3), max_steps=steps)
    tracemalloc.start()
    try:
        result = optimizer.run(x0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.steps == steps
    assert result.dtype == dtype
    return peak


def test_float32_adam_peak_memory_is_at_most_60_percent_of_float64():
    n = 100_000
    ratio = _adam_peak(n, np.float32) / _adam_peak(n, np.float64)
    assert ratio <= 0.6, ratio

"""Objectives and the run's evaluator on array-api-strict (and JAX) points."""

import array_api_strict as xps
import numpy as np
import pytest

from optim import (
    AnalyticGradient,
    CentralDifference,
    Evaluator,
    ForwardDifference,
    FunctionObjective,
    Mode,
    Objective,
)
from optim._arrays import (
    as_scalar,
    as_start_point,
    check_gradient_shape,
    check_like_x,
)
from optim.backend import device, library, namespace, to_host

POINT = np.array([0.3, -1.2, 2.0])


def _value(x):
    xp = namespace(x)
    return xp.sum(x**3) + xp.sum(x) ** 2


def _gradient(x):
    xp = namespace(x)
    return 3.0 * x**2 + 2.0 * xp.sum(x)


def _stack_values(xs):
    xp = namespace(xs)
    return xp.sum(xs**3, axis=-1) + xp.sum(xs, axis=-1) ** 2


OBJECTIVES = {
    "per point": FunctionObjective(_value, _gradient),
    "vectorized": FunctionObjective(_stack_values, _gradient, vectorized=True),
}


class PerPoint(Objective):
    def value(self, x):
        return _value(x)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_values_stay_in_the_stack_library_with_numpy_bits(name):
    objective = OBJECTIVES[name]
    stack = np.stack([POINT, 2.0 * POINT, -POINT])
    values = objective.values(xps.asarray(stack))
    assert library(values) == "array_api_strict"
    assert values.dtype == xps.float64
    np.testing.assert_array_equal(to_host(values), objective.values(stack))


def test_default_values_call_value_per_point_in_the_library():
    stack = xps.asarray(np.stack([POINT, -POINT]))
    values = PerPoint().values(stack)
    assert library(values) == "array_api_strict"
    assert device(values) == device(stack)
    np.testing.assert_array_equal(
        to_host(values), [float(_value(stack[i, ...])) for i in range(2)]
    )


def test_gradient_of_another_library_is_moved_to_the_point():
    on_host = FunctionObjective(_value, lambda x: 2.0 * to_host(x))
    gradient = on_host.gradient(xps.asarray(POINT))
    assert library(gradient) == "array_api_strict"
    np.testing.assert_array_equal(to_host(gradient), 2.0 * POINT)
    on_device = FunctionObjective(_value, lambda x: xps.asarray(2.0 * x))
    back = on_device.gradient(POINT)
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, 2.0 * POINT)


def test_integer_gradient_becomes_float64_in_the_library():
    objective = FunctionObjective(_value, lambda x: xps.asarray([1, 2, 3]))
    gradient = objective.gradient(xps.asarray(POINT))
    assert gradient.dtype == xps.float64


def test_a_zero_dimensional_array_is_a_value():
    assert as_scalar(xps.asarray(2.5)) == 2.5
    assert as_scalar(xps.asarray(3, dtype=xps.int64)) == 3.0


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (xps.asarray([1.0, 2.0]), ValueError, r"array of array_api_strict of shape"),
        (xps.asarray(1.0 + 1.0j), TypeError, "must be a real scalar"),
    ],
    ids=["vector", "complex"],
)
def test_values_of_another_library_are_checked(value, error, match):
    with pytest.raises(error, match=match):
        as_scalar(value, name="f")


def test_gradient_checks_name_the_problem():
    x = xps.asarray(POINT)
    with pytest.raises(ValueError, match=r"expected an array of shape \(3,\)"):
        check_gradient_shape(xps.ones(2), x, name="grad")
    with pytest.raises(TypeError, match="expected a real array"):
        check_gradient_shape(np.array(["a", "b", "c"]), x, name="grad")
    copied = check_gradient_shape(x, x, name="grad")
    assert copied is not x
    assert library(copied) == "array_api_strict"


def test_a_plugin_output_of_another_library_is_refused_in_one_line():
    x = xps.asarray(POINT)
    with pytest.raises(TypeError, match="expected a real floating-point array of "):
        check_like_x(np.zeros(3), x, name="Rule.update", what="a step")
    with pytest.raises(ValueError, match=r"of shape \(2,\), expected shape \(3,\)"):
        check_like_x(xps.zeros(2), x, name="Rule.update", what="a step")
    assert check_like_x(x, x, name="Rule.update", what="a step") is x


ESTIMATORS = [AnalyticGradient(), CentralDifference(), ForwardDifference()]


@pytest.mark.parametrize("mode", [Mode.DESCENT, Mode.ASCENT])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=type)
@pytest.mark.parametrize("name", OBJECTIVES)
def test_evaluator_keeps_the_point_library_with_numpy_bits(name, estimator, mode):
    objective = OBJECTIVES[name]
    x = xps.asarray(POINT)
    on_device = Evaluator(objective, estimator, mode)
    on_host = Evaluator(objective, estimator, mode)

    trial = on_device.value_and_gradient(x)
    expected = on_host.value_and_gradient(POINT)
    assert trial[0] == expected[0]
    assert library(trial[1]) == "array_api_strict"
    np.testing.assert_array_equal(to_host(trial[1]), expected[1])

    value, gradient, error = on_device.evaluate(x)  # reuses the trial
    host_value, host_gradient, host_error = on_host.evaluate(POINT)
    assert on_device.evaluations == on_host.evaluations
    assert value == host_value
    np.testing.assert_array_equal(to_host(gradient), host_gradient)
    if host_error is None:
        assert error is None
    else:
        np.testing.assert_array_equal(to_host(error), host_error)
    assert on_device.value(x + 1.0) == on_host.value(POINT + 1.0)


def test_evaluator_on_jax_points_keeps_jax_arrays():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    objective = OBJECTIVES["per point"]
    evaluator = Evaluator(objective, CentralDifference(), Mode.DESCENT)
    value, gradient, error = evaluator.evaluate(jnp.asarray(POINT))
    assert isinstance(gradient, jax.Array)
    assert isinstance(error, jax.Array)
    expected = Evaluator(objective, CentralDifference(), Mode.DESCENT).evaluate(POINT)
    assert value == pytest.approx(expected[0], rel=1e-15)
    np.testing.assert_allclose(np.asarray(gradient), expected[1], rtol=1e-9)


def test_a_start_point_may_keep_its_library():
    x0 = xps.asarray([1, 2], dtype=xps.int32)
    start = as_start_point(x0, keep_library=True)
    assert library(start) == "array_api_strict"
    assert start.dtype == xps.float64
    float32 = xps.asarray([1.0], dtype=xps.float32)
    copied = as_start_point(float32, keep_library=True)
    assert copied.dtype == xps.float32
    assert copied is not float32
    with pytest.raises(ValueError, match="x0 must be finite"):
        as_start_point(xps.asarray([1.0, float("nan")]), keep_library=True)
    with pytest.raises(ValueError, match="x0 must not be empty"):
        as_start_point(xps.zeros(0), keep_library=True)
    with pytest.raises(TypeError, match="x0 is an array of array_api_strict"):
        as_start_point(x0)


@pytest.mark.parametrize("every", [1, 2])
def test_history_keeps_host_copies_of_another_library_points(every):
    from types import SimpleNamespace

    from optim import History

    points = [POINT, 2.0 * POINT, POINT - 1.0]
    on_device, on_host = History(keep_x_every=every), History(keep_x_every=every)
    for history, convert in ((on_device, xps.asarray), (on_host, np.asarray)):
        history.on_start(None, convert(points[0]))
        for step, point in enumerate(points):
            info = SimpleNamespace(
                x=convert(point), step=step, value=1.0, gradient_norm=2.0
            )
            history.on_step(info)
    assert type(on_device.x) is np.ndarray
    np.testing.assert_array_equal(on_device.x, on_host.x)
    np.testing.assert_array_equal(on_device.step_sizes, on_host.step_sizes)


@pytest.mark.parametrize("every", [None, 3])
def test_history_measures_another_library_run_on_its_device(every, monkeypatch):
    """In a run of another library, History's step sizes are measured there: only
    the kept points cross to the host, and the sizes are those of the same run in
    numpy, to rounding."""
    import optim.history
    from optim import FixedStep, History, Optimizer, StopOnZeroGradient

    def record(x0):
        history = History(keep_x_every=every)
        Optimizer(
            OBJECTIVES["per point"],
            step_rule=FixedStep(0.01),
            callbacks=[StopOnZeroGradient(1e-12), history],
            max_steps=7,
        ).run(x0)
        return history

    on_host = record(POINT)
    crossings = []
    to_host_once = optim.history.backend.to_host

    def counted(x):
        crossings.append(x)
        return to_host_once(x)

    monkeypatch.setattr(optim.history.backend, "to_host", counted)
    on_device = record(xps.asarray(POINT))

    assert len(crossings) == len(on_device.x_steps) == (0 if every is None else 3)
    assert on_device.step_sizes[0] == 0.0
    assert all(on_device.step_sizes[1:] > 0.0)
    # the same run to rounding: each library sums in its own order
    np.testing.assert_allclose(on_device.step_sizes, on_host.step_sizes, rtol=1e-12)
    np.testing.assert_allclose(on_device.x, on_host.x, rtol=1e-12, atol=1e-15)


def test_a_checkpoint_keeps_host_copies_of_another_library_state(tmp_path):
    import attrs

    from optim import Adam, Optimizer
    from optim.checkpoint import load_checkpoint, save_checkpoint

    optimizer = Optimizer(OBJECTIVES["per point"], step_rule=Adam(0.1), max_steps=3)
    *_, last = optimizer.iterate(POINT)
    state = last.run_state
    on_device = attrs.evolve(
        state,
        x=xps.asarray(state.x),
        gradient=xps.asarray(state.gradient),
        rule_state=Adam(0.1).init(xps.asarray(state.x)),
    )
    save_checkpoint(tmp_path / "device.npz", on_device, optimizer)
    save_checkpoint(
        tmp_path / "host.npz",
        attrs.evolve(state, rule_state=Adam(0.1).init(state.x)),
        optimizer,
    )
    loaded = load_checkpoint(tmp_path / "device.npz", optimizer)
    expected = load_checkpoint(tmp_path / "host.npz", optimizer)
    assert type(loaded.x) is np.ndarray
    assert loaded == expected

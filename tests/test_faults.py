"""Faults found by attacking round two: nothing lost, nothing misleading."""

import numpy as np
import pytest

from optim import (
    LBFGS,
    Bounds,
    Callback,
    ConjugateGradient,
    FixedStep,
    FunctionObjective,
    GradientEstimator,
    OptimizationError,
    Optimizer,
    Projection,
    Status,
    StopOnZeroGradient,
)
from optim.problems import Rosenbrock, Sphere


def _bowl(center):
    center = np.asarray(center, dtype=float)
    return FunctionObjective(
        lambda x: float(np.sum((x - center) ** 2)), lambda x: 2.0 * (x - center)
    )


class Exact(GradientEstimator):
    """Exact gradients, written into one buffer (`reuse=True`) or fresh arrays."""

    def __init__(self, reuse):
        self.reuse, self.buffer = reuse, None

    def estimate(self, objective, x):
        if not self.reuse:
            return objective.gradient(x)
        if self.buffer is None or self.buffer.shape != x.shape:
            self.buffer = np.empty_like(x)
        self.buffer[...] = objective.gradient(x)
        return self.buffer


@pytest.mark.parametrize("rule", [LBFGS(), ConjugateGradient()], ids=["lbfgs", "cg"])
def test_an_estimator_that_reuses_its_buffer_changes_nothing(rule):
    """A gradient written into one buffer gives the run of fresh arrays, exactly."""
    x0 = np.array([-1.2, 1.0])
    stop = [StopOnZeroGradient(1e-8)]
    fresh = Optimizer(
        Rosenbrock(), step_rule=rule, estimator=Exact(False), callbacks=stop
    ).run(x0)

    reused = Optimizer(
        Rosenbrock(), step_rule=rule, estimator=Exact(True), callbacks=stop
    ).run(x0)

    assert fresh.status is Status.CONVERGED
    assert reused.status is fresh.status
    assert reused.steps == fresh.steps
    assert reused.evaluations == fresh.evaluations
    np.testing.assert_array_equal(reused.x, fresh.x)


class Faulty(Projection):
    def __init__(self, after, what):
        self.after, self.what, self.calls = after, what, 0

    def project(self, x):
        self.calls += 1
        if self.calls <= self.after:
            return np.clip(x, -1.0, 1.0)
        if self.what == "none":
            return None
        if self.what == "short":
            return np.clip(x, -1.0, 1.0)[:-1]
        return np.asarray(x, dtype=float)  # unprojected

    def contains(self, x):
        return bool(np.all(np.abs(x) <= 1.0))


@pytest.mark.parametrize("what", ["none", "short"])
def test_a_projection_that_breaks_later_keeps_the_result(what):
    """project returning None or a wrong shape mid-run: FAILED, named, result kept."""
    optimizer = Optimizer(
        _bowl([3.0, 3.0]),
        step_rule=FixedStep(0.01),
        constraint=Faulty(6, what),
    )

    with pytest.raises(OptimizationError) as failure:
        optimizer.run(np.array([-0.9, -0.9]))

    assert "Faulty.project" in str(failure.value)
    result = failure.value.result
    assert result.status is Status.FAILED
    assert np.all(np.abs(result.x) <= 1.0)
    assert result.steps >= 1


def test_a_projection_that_stops_projecting_never_converges_outside():
    """An unprojected point at the end is not CONVERGED: membership is checked."""
    optimizer = Optimizer(
        _bowl([3.0, 3.0]),
        step_rule=FixedStep(0.25),
        constraint=Faulty(2, "unprojected"),
        callbacks=[StopOnZeroGradient(1e-6)],
    )

    with pytest.raises(OptimizationError) as failure:
        optimizer.run(np.array([0.5, 0.5]))

    assert "Faulty.project" in str(failure.value)
    assert "outside" in str(failure.value)


def test_a_callback_returning_an_array_is_named():
    calls = []

    def returns_array(info):
        calls.append(info.step)
        return info.x if info.step == 2 else None

    with pytest.raises(OptimizationError) as failure:
        Optimizer(Sphere(), step_rule=FixedStep(0.1), callbacks=[returns_array]).run(
            [1.0, 2.0]
        )

    assert "returns_array returned ndarray" in str(failure.value)
    assert failure.value.result.steps == 2
    assert failure.value.result.status is Status.FAILED


def test_an_on_end_that_raises_keeps_the_result_and_runs_the_others():
    seen = []

    class Broken(Callback):
        def on_end(self, result):
            raise RuntimeError("disk full")

    class Witness(Callback):
        def on_end(self, result):
            seen.append(result.steps)

    optimizer = Optimizer(
        Sphere(), step_rule=FixedStep(0.1), callbacks=[Broken(), Witness()], max_steps=4
    )
    with pytest.raises(OptimizationError) as failure:
        optimizer.run([1.0, 2.0])

    result = failure.value.result
    assert result.status is Status.FAILED
    assert result.steps == 4
    assert "Broken raised RuntimeError('disk full')" in result.message
    assert seen == [4]
    assert isinstance(failure.value.__cause__, RuntimeError)


def test_an_ascent_divergence_says_the_objective_fell():
    hill = Optimizer(lambda x: -float(x @ x), step_rule=FixedStep(10.0), mode="ascent")

    result = hill.run([1.0, -2.0])

    assert result.status is Status.DIVERGED
    assert "fell from -5" in result.message
    assert "grew" not in result.message


@pytest.mark.parametrize("ulps", [0, 2, 5])
def test_an_unbounded_objective_is_called_unbounded(ulps):
    """A line search running off to -infinity: the message says unbounded below."""
    x0 = np.array([1.0, 1.0])
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    result = Optimizer(
        lambda x: -float(np.sum(x**3)),
        step_rule=LBFGS(),
        max_growth=None,
        max_steps=400,
    ).run(x0)

    assert result.status is not Status.CONVERGED
    assert "appears unbounded below" in result.message


def test_bounds_in_the_box_and_an_exact_zero_projected_gradient_converge():
    """Every coordinate on a bound, projected gradient exactly 0: CONVERGED."""
    optimizer = Optimizer(
        _bowl([3.0, -3.0]),
        step_rule=LBFGS(),
        constraint=Bounds([-1.0, -1.0], [1.0, 1.0]),
        callbacks=[StopOnZeroGradient(1e-8)],
    )

    result = optimizer.run(np.array([0.0, 0.0]))

    assert result.status is Status.CONVERGED
    np.testing.assert_array_equal(result.x, [1.0, -1.0])


def test_print_shows_the_status_as_the_status_and_the_diagnosis_apart():
    result = Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=10).run([3.0, 2.0])

    lines = str(result).splitlines()

    assert result.status is Status.MAX_STEPS
    assert lines[:2] == [" status: max_steps (no success)", "diagnosis: oscillating"]
    converged = Optimizer(Sphere(), step_rule=FixedStep(0.5)).run([3.0, 2.0])
    assert not any(line.startswith("diagnosis") for line in str(converged).split("\n"))


@pytest.mark.parametrize(
    ("wrong", "right"),
    [("bounds", "constraint"), ("maxiter", "max_steps"), ("callback", "callbacks")],
)
def test_keywords_from_other_libraries_get_a_hint(wrong, right):
    with pytest.raises(TypeError, match=rf"'{wrong}'; did you mean {right}=\?$"):
        Optimizer(Sphere(), step_rule=FixedStep(0.1), **{wrong: None})


class OneBufferObjective:
    """A sphere whose gradient is written into one buffer, returned every time."""

    def __init__(self):
        self.buffer = None

    def __call__(self, x):
        return float(x @ x)

    def gradient(self, x):
        if self.buffer is None:
            self.buffer = np.empty_like(x)
        np.multiply(x, 2.0, out=self.buffer)
        return self.buffer


@pytest.mark.parametrize("rule", [FixedStep(0.1), LBFGS()], ids=["fixed", "lbfgs"])
def test_an_objective_that_reuses_its_gradient_buffer_changes_nothing(rule):
    """Gradients are copied when the rule keeps them, or once reuse is seen."""
    stop = [StopOnZeroGradient(1e-10)]
    x0 = np.array([3.0, -2.0, 1.0])
    fresh = Optimizer(
        FunctionObjective(lambda x: float(x @ x), lambda x: 2.0 * x),
        step_rule=rule,
        callbacks=stop,
    ).run(x0)
    reused_objective = OneBufferObjective()
    reused = Optimizer(
        FunctionObjective(reused_objective, reused_objective.gradient),
        step_rule=rule,
        callbacks=stop,
    ).run(x0)

    assert reused.status is fresh.status is Status.CONVERGED
    assert reused.steps == fresh.steps
    np.testing.assert_array_equal(reused.x, fresh.x)
    assert reused.gradient is not reused_objective.buffer

"""The JAX adapter: exact gradients of JAX functions, in float64."""

import numpy as np
import pytest

from optim import (
    LBFGS,
    Adam,
    AnalyticGradient,
    FixedStep,
    Optimizer,
    StopOnZeroGradient,
)
from optim.errors import MissingExtraError
from optim.jax_objective import JaxObjective
from optim.problems import Beale, Booth, Himmelblau, Rosenbrock, Sphere

jax = pytest.importorskip("jax")
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)


def _sphere(x):
    return jnp.sum(x**2)


def _rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _beale(x):
    a, b = x[0], x[1]
    return (
        (1.5 - a + a * b) ** 2
        + (2.25 - a + a * b**2) ** 2
        + (2.625 - a + a * b**3) ** 2
    )


def _booth(x):
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


def _himmelblau(x):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


PAIRS = [
    pytest.param(_sphere, Sphere(), id="sphere"),
    pytest.param(_rosenbrock, Rosenbrock(), id="rosenbrock"),
    pytest.param(_beale, Beale(), id="beale"),
    pytest.param(_booth, Booth(), id="booth"),
    pytest.param(_himmelblau, Himmelblau(), id="himmelblau"),
]


@pytest.mark.parametrize(("fun", "problem"), PAIRS)
def test_gradient_equals_the_analytic_one(fun, problem):
    """At the start and at seeded points the JAX gradient is the closed form."""
    objective = JaxObjective(fun)
    rng = np.random.default_rng(0)
    for x in [problem.start, *rng.normal(size=(5, problem.dimension))]:
        value, gradient = objective.value_and_gradient(x)

        assert gradient.dtype == np.float64
        np.testing.assert_allclose(value, problem.value(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            gradient, problem.gradient(x), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize(("fun", "problem"), PAIRS)
def test_run_matches_the_analytic_run(fun, problem):
    """A gradient-descent run with the JAX gradient follows the analytic one."""
    steps = dict(max_steps=30, max_growth=None)
    analytic = Optimizer(
        problem, step_rule=FixedStep(1e-3), estimator=AnalyticGradient(), **steps
    ).run(problem.start)
    through_jax = Optimizer(JaxObjective(fun), step_rule=FixedStep(1e-3), **steps).run(
        problem.start
    )

    np.testing.assert_allclose(through_jax.x, analytic.x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("fun", "problem"), PAIRS)
def test_lbfgs_reaches_the_same_minimizer(fun, problem):
    """L-BFGS with JAX gradients converges where the analytic run converges."""
    stop = [StopOnZeroGradient(1e-8)]
    analytic = Optimizer(problem, step_rule=LBFGS(), callbacks=stop).run(problem.start)
    through_jax = Optimizer(JaxObjective(fun), step_rule=LBFGS(), callbacks=stop).run(
        problem.start
    )

    assert through_jax.status is analytic.status
    np.testing.assert_allclose(through_jax.x, analytic.x, rtol=1e-7, atol=1e-7)


def test_adam_on_the_sphere_is_bit_identical():
    """Where the gradients are bit-identical (2x), so are the runs."""
    analytic = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=50).run([3.0, 2.0])
    through_jax = Optimizer(
        JaxObjective(_sphere), step_rule=Adam(0.1), max_steps=50
    ).run([3.0, 2.0])

    np.testing.assert_array_equal(through_jax.x, analytic.x)


def test_missing_extra_is_one_clear_line(monkeypatch):
    """Without JAX installed, making a JaxObjective names the extra to install."""
    import builtins

    real_import = builtins.__import__

    def no_jax(name, *args, **kwargs):
        if name == "jax" or name.startswith("jax."):
            raise ImportError("No module named 'jax'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jax)

    with pytest.raises(MissingExtraError, match=r'pip install "optim-gradient\[jax\]"'):
        JaxObjective(_sphere)


def test_jax_points_stay_jax_arrays():
    objective = JaxObjective(_rosenbrock)
    x = jnp.asarray([-1.2, 1.0, 0.5])
    value, gradient = objective.value_and_gradient(x)
    host_value, host_gradient = objective.value_and_gradient(np.asarray(x))
    assert isinstance(gradient, jax.Array)
    assert type(host_gradient) is np.ndarray
    assert value == host_value
    np.testing.assert_array_equal(np.asarray(gradient), host_gradient)
    assert objective.value(x) == host_value


def test_a_stack_of_jax_points_is_one_vectorized_call():
    objective = JaxObjective(_rosenbrock)
    stack = np.array([[-1.2, 1.0, 0.5], [1.0, 1.0, 1.0], [0.0, 2.0, -1.0]])
    values = objective.values(jnp.asarray(stack))
    assert isinstance(values, jax.Array)
    np.testing.assert_allclose(
        np.asarray(values), objective.values(stack), rtol=1e-15, atol=0
    )


@pytest.mark.parametrize("rule", [Adam(0.05), LBFGS()], ids=["adam", "lbfgs"])
def test_rules_on_jax_points_with_a_jax_objective(rule):
    from optim.testing import check_array_library

    check_array_library(
        rule, jnp.asarray, problem=JaxObjective(_rosenbrock), x0=(-1.2, 1.0, 0.5)
    )

"""Whole runs on other array libraries: the engine computes in the start's library.

Issue "The same optimizer on any array library", acceptance 1: for every built-in
rule (and L-BFGS with `Bounds`), in descent and ascent, a run from an
`array-api-strict` point (and from a JAX CPU point) ends like the numpy run from
the same start, with its arrays in the start's library.
"""

import numpy as np
import pytest

from optim import (
    LBFGS,
    Adam,
    Bounds,
    CentralDifference,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    History,
    Optimizer,
    Status,
    StopOnZeroGradient,
)
from optim.backend import library, to_host
from optim.testing import ARRAY_API_PROBLEM
from tests.test_step_rules import ALL_RULES

xps = pytest.importorskip("array_api_strict")

START = (1.0, -2.0, 0.5, 1.5)
ON_NUMPY_ONLY = {"newton-cg", "trust-ncg"}  # refuse other libraries in one line
CASES = [p for p in ALL_RULES if p.id not in ON_NUMPY_ONLY] + [
    pytest.param(LBFGS(), id="lbfgs-bounds")
]
MAXIMIZED = FunctionObjective(
    lambda x: -ARRAY_API_PROBLEM.fun(x), lambda x: -ARRAY_API_PROBLEM.grad(x)
)


def _runs(rule, mode, x0, *, constraint=None, estimator=None, steps=40):
    extra = {} if constraint is None else {"constraint": constraint}
    if estimator is not None:
        extra["estimator"] = estimator
    objective = ARRAY_API_PROBLEM if mode == "descent" else MAXIMIZED

    def run(start):
        return Optimizer(
            objective,
            step_rule=rule,
            mode=mode,
            max_steps=steps,
            callbacks=[StopOnZeroGradient(1e-9)],
            **extra,
        ).run(start)

    return run(x0), run(np.asarray(START))


def _rule_id(request):
    return request.node.callspec.id.rsplit("-", 1)[0]  # "<rule>-<mode>"


def _constraint(request):
    return Bounds(-0.5, 1.2) if _rule_id(request) == "lbfgs-bounds" else None


@pytest.mark.parametrize("mode", ["descent", "ascent"])
@pytest.mark.parametrize("rule", CASES)
def test_a_run_from_array_api_strict_is_the_numpy_run(rule, mode, request):
    theirs, ours = _runs(
        rule, mode, xps.asarray(START), constraint=_constraint(request)
    )
    assert library(theirs.x) == "array_api_strict"
    assert library(theirs.best_x) == "array_api_strict"
    assert (theirs.status, theirs.steps) == (ours.status, ours.steps)
    assert theirs.evaluations == ours.evaluations
    np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=1e-12, atol=1e-12)
    assert theirs.value == pytest.approx(ours.value, rel=1e-12, abs=1e-14)


# Armijo backtracking accepts or halves on a strict comparison of two values; JAX
# sums in another order than numpy (an ulp apart), and on these two rules a near
# tie is decided the other way within 40 steps: both runs are runs of the rule,
# from there on along slightly different paths.
NEAR_TIES = {"steepest-backtracking", "cg-armijo"}


@pytest.mark.parametrize("mode", ["descent", "ascent"])
@pytest.mark.parametrize("rule", CASES)
def test_a_run_from_jax_is_the_numpy_run(rule, mode, request):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    theirs, ours = _runs(
        rule,
        mode,
        jax.numpy.asarray(START, dtype=jax.numpy.float64),
        constraint=_constraint(request),
    )
    assert library(theirs.x) == "jax"
    assert (theirs.status, theirs.steps) == (ours.status, ours.steps)
    rtol = 1e-5 if _rule_id(request) in NEAR_TIES else 1e-11
    np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=rtol, atol=rtol)


@pytest.mark.parametrize(
    "estimator", [ForwardDifference(), CentralDifference()], ids=type
)
def test_difference_runs_confirm_their_claims_on_the_device(estimator):
    """A finite-difference run's certificate (second step, Richardson) works too."""
    theirs, ours = _runs(
        LBFGS(), "descent", xps.asarray(START), estimator=estimator, steps=200
    )
    assert theirs.status is ours.status is Status.CONVERGED
    assert theirs.message == ours.message
    np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=1e-12)


def test_history_keeps_host_copies_of_a_device_run():
    history = History()
    result = Optimizer(
        ARRAY_API_PROBLEM,
        step_rule=Adam(0.05),
        callbacks=[history],
        max_steps=20,
    ).run(xps.asarray(START))
    assert type(history.x) is np.ndarray
    assert history.x.shape == (21, 4)
    np.testing.assert_array_equal(history.x[-1], to_host(result.x))


def test_the_callers_start_is_never_modified():
    start = xps.asarray(START)
    Optimizer(ARRAY_API_PROBLEM, step_rule=FixedStep(0.1), max_steps=5).run(start)
    np.testing.assert_array_equal(to_host(start), np.asarray(START))

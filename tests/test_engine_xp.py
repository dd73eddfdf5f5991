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
    Checkpoint,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    History,
    Optimizer,
    Status,
    StopOnZeroGradient,
)
from optim.backend import library, to_host
from optim.checkpoint import load_checkpoint
from optim.testing import ARRAY_API_PROBLEM
from tests.test_step_rules import ALL_RULES

xps = pytest.importorskip("array_api_strict")

START = (1.0, -2.0, 0.5, 1.5)
# Armijo backtracking accepts or halves on a strict comparison of two values; a
# library that sums in another order than numpy (an ulp apart: JAX here) may
# decide a near tie on these two rules the other way within 40 steps: both runs
# are runs of the rule, from there on along slightly different paths.
NEAR_TIES = {"steepest-backtracking", "cg-armijo"}
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
    bounded = request.node.callspec.id.startswith("lbfgs-bounds")
    return Bounds(-0.5, 1.2) if bounded else None


@pytest.mark.parametrize("mode", ["descent", "ascent"])
@pytest.mark.parametrize("rule", CASES)
def test_a_run_from_array_api_strict_is_the_numpy_run(rule, mode, request):
    theirs, ours = _runs(
        rule, mode, xps.asarray(START), constraint=_constraint(request)
    )
    assert library(theirs.x) == "array_api_strict"
    assert library(theirs.best_x) == "array_api_strict"
    assert (theirs.status, theirs.steps) == (ours.status, ours.steps)
    if _rule_id(request) in NEAR_TIES:
        # Equal here; on another CPU numpy's `vdot` (BLAS) and the standard's
        # `vecdot` may sum an ulp apart, and these rules may then part (below).
        np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=1e-5, atol=1e-5)
        return
    assert theirs.evaluations == ours.evaluations
    np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=1e-12, atol=1e-12)
    assert theirs.value == pytest.approx(ours.value, rel=1e-12, abs=1e-14)


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
    # JAX's sums round differently from numpy's (and differently across JAX and
    # numpy versions): slopes and norms an ulp apart move line-search steps by
    # as much, and 40 steps of steepest descent amplify that to about 4e-11
    # (numpy 1.26 with its JAX); 1e-9 leaves room for other kernels.
    rtol = 1e-5 if _rule_id(request) in NEAR_TIES else 1e-9
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


# --- a resumed run returns to the library and device of its x0 ----------------

RESUMED_AT = 15


def _optimizer(rule, constraint, steps, callbacks=()):
    extra = {} if constraint is None else {"constraint": constraint}
    return Optimizer(
        ARRAY_API_PROBLEM,
        step_rule=rule,
        max_steps=steps,
        callbacks=[StopOnZeroGradient(1e-9), *callbacks],
        **extra,
    )


def _resumed_like_uninterrupted(rule, constraint, x0, tmp_path, *, rtol):
    """Checkpoint a run at step 15, resume it with `like=x0`: the same iterates."""
    whole = _optimizer(rule, constraint, 40)
    uninterrupted = [to_host(info.x) for info in whole.iterate(x0)]
    path = tmp_path / "run.npz"
    _optimizer(rule, constraint, RESUMED_AT, [Checkpoint(path)]).run(x0)
    state = load_checkpoint(path, whole, like=x0)
    assert library(state.x) == library(x0)
    resumed = list(whole.resume_from(state))
    assert [info.step for info in resumed] == list(
        range(RESUMED_AT + 1, len(uninterrupted))
    )
    for info in resumed:
        assert library(info.x) == library(info.gradient) == library(x0)
        np.testing.assert_allclose(
            to_host(info.x), uninterrupted[info.step], rtol=rtol, atol=rtol
        )
    return resumed


@pytest.mark.parametrize("rule", CASES)
def test_a_resumed_array_api_strict_run_is_the_uninterrupted_run(
    rule, request, tmp_path
):
    constraint = (
        Bounds(-0.5, 1.2) if request.node.callspec.id == "lbfgs-bounds" else None
    )
    _resumed_like_uninterrupted(
        rule, constraint, xps.asarray(START), tmp_path, rtol=1e-12
    )


@pytest.mark.parametrize(
    "rule",
    [p for p in CASES if p.id in {"adam", "lbfgs", "lbfgs-bounds", "bfgs-dense"}],
)
def test_a_resumed_jax_run_is_the_uninterrupted_run(rule, request, tmp_path):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    constraint = (
        Bounds(-0.5, 1.2) if request.node.callspec.id == "lbfgs-bounds" else None
    )
    x0 = jax.numpy.asarray(START, dtype=jax.numpy.float64)
    _resumed_like_uninterrupted(rule, constraint, x0, tmp_path, rtol=1e-12)


def _returned(generator):
    """The value a generator of steps returns: the run's result."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def test_every_resume_path_takes_like(tmp_path):
    """`resume`, `start` and `resume_from` of a host state move it to `like`."""
    x0 = xps.asarray(START)
    path = tmp_path / "run.npz"
    _optimizer(Adam(0.05), None, 10, [Checkpoint(path)]).run(x0)
    optimizer = _optimizer(Adam(0.05), None, 30)
    expected = optimizer.run(x0)
    on_host = load_checkpoint(path, optimizer)
    assert type(on_host.x) is np.ndarray  # without like: the file's host copies
    results = [
        optimizer.resume(path, like=x0),
        _returned(optimizer.resume_from(on_host, like=x0)),
    ]
    run = optimizer.start(path, like=x0)
    while not run.done:
        run.step()
    results.append(run.result())
    for result in results:
        assert library(result.x) == library(result.best_x) == "array_api_strict"
        assert result.steps == expected.steps
        np.testing.assert_allclose(
            to_host(result.x), to_host(expected.x), rtol=1e-12, atol=1e-12
        )


def test_a_state_resumed_without_like_stays_where_its_arrays_are(tmp_path):
    """No `like`: a file's state runs on the host, numpy's run bit for bit."""
    path = tmp_path / "run.npz"
    _optimizer(Adam(0.05), None, 10, [Checkpoint(path)]).run(xps.asarray(START))
    optimizer = _optimizer(Adam(0.05), None, 30)
    on_host = optimizer.resume(path)
    again = optimizer.resume(path, like=np.asarray(START))
    assert type(on_host.x) is type(again.x) is np.ndarray
    np.testing.assert_array_equal(on_host.x, again.x)


# --- structured parameters of one library ---------------------------------------


def _structured_objective(xp):
    def loss(p):
        return float(
            xp.sum((p["w"] - 1.0) ** 2) + (p["b"] - 2.0) ** 2 + xp.sum(p["v"][0] ** 4)
        )

    def grad(p):
        return {
            "w": 2.0 * (p["w"] - 1.0),
            "b": 2.0 * (p["b"] - 2.0),
            "v": [4.0 * p["v"][0] ** 3],
        }

    return FunctionObjective(loss, grad)


def _structured_start(asarray):
    return {
        "w": asarray(np.array([[0.0, 0.5], [2.0, -1.0]])),
        "b": 0.5,
        "v": [asarray(np.array([1.0, -0.5, 0.25]))],
    }


@pytest.mark.parametrize("rule", [Adam(0.05), LBFGS()], ids=["adam", "lbfgs"])
def test_a_structure_of_one_library_runs_in_that_library(rule):
    def run(xp, asarray):
        return Optimizer(_structured_objective(xp), step_rule=rule, max_steps=40).run(
            _structured_start(asarray)
        )

    theirs, ours = run(xps, xps.asarray), run(np, np.asarray)
    assert (theirs.status, theirs.steps) == (ours.status, ours.steps)
    assert library(theirs.x) == "array_api_strict"
    for key in ("w", "b"):
        assert library(theirs.params[key]) == "array_api_strict"
        np.testing.assert_allclose(
            to_host(theirs.params[key]), ours.params[key], rtol=1e-12, atol=1e-12
        )
    np.testing.assert_allclose(
        to_host(theirs.params["v"][0]), ours.params["v"][0], rtol=1e-12, atol=1e-12
    )


def test_a_structured_run_by_differences_stays_in_its_library():
    objective = FunctionObjective(_structured_objective(xps).fun)
    result = Optimizer(
        objective, step_rule=LBFGS(), estimator=CentralDifference(), max_steps=30
    ).run(_structured_start(xps.asarray))
    assert library(result.params["w"]) == "array_api_strict"
    np.testing.assert_allclose(to_host(result.params["w"]), np.ones((2, 2)), atol=1e-6)


def test_a_resumed_structured_run_returns_to_its_library(tmp_path):
    start = _structured_start(xps.asarray)
    path = tmp_path / "run.npz"

    def optimizer(steps, callbacks=()):
        return Optimizer(
            _structured_objective(xps),
            step_rule=Adam(0.05),
            max_steps=steps,
            callbacks=list(callbacks),
        )

    optimizer(10, [Checkpoint(path)]).run(start)
    resumed = optimizer(30).resume(path, like=start)
    whole = optimizer(30).run(start)
    assert library(resumed.params["w"]) == "array_api_strict"
    np.testing.assert_allclose(
        to_host(resumed.x), to_host(whole.x), rtol=1e-12, atol=1e-12
    )


def test_a_device_state_moves_to_the_host_with_a_numpy_like():
    """`like` a numpy array: an in-memory array-api-strict state runs in numpy."""
    rule = next(p for p in ALL_RULES if p.id == "momentum-plateau").values[0]
    optimizer = _optimizer(rule, None, 30)
    stopped = _optimizer(rule, None, 10).run(xps.asarray(START)).run_state
    on_host = optimizer.resume_from(stopped, like=np.asarray(START))
    infos = list(on_host)
    assert infos
    assert all(type(info.x) is np.ndarray for info in infos)
    whole = [to_host(info.x) for info in optimizer.iterate(xps.asarray(START))]
    for info in infos:
        np.testing.assert_allclose(info.x, whole[info.step], rtol=1e-12, atol=1e-12)

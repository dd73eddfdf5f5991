"""Many runs at once: multistart and parallel sweeps, in order and bit for bit."""

import multiprocessing
import os
import pathlib
import site
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from optim import (
    LBFGS,
    SPSA,
    Adam,
    FixedStep,
    FunctionObjective,
    Optimizer,
    Status,
    StopOnZeroGradient,
    multistart,
    sweep_learning_rates,
)
from optim.problems import Himmelblau, Rosenbrock, Sphere
from optim.tree import flatten


def _pool(workers):
    """A process pool that does not fork (JAX, imported by other tests, forbids it).

    Its workers can import this file's functions (`tests.test_multistart`), as a
    pickled objective defined here needs, whatever the install.
    """
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=site.addsitedir,
        initargs=(str(pathlib.Path(__file__).resolve().parent.parent),),
    )


STARTS = [[-1.2, 1.0], [2.0, 2.0], [0.0, -1.0], [-2.0, 0.5]]

OPTIMIZERS = [
    pytest.param(
        Optimizer(
            Rosenbrock(), step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
        ),
        id="lbfgs",
    ),
    pytest.param(
        Optimizer(
            Rosenbrock(), step_rule=Adam(0.02), estimator=SPSA(rng=3), max_steps=200
        ),
        id="adam-spsa",
    ),
]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.x, y.x)
        assert x == y


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_process_pool_gives_the_sequential_results(optimizer):
    """Results come back in input order, the same bits as one after another."""
    sequential = multistart(optimizer, STARTS)

    with _pool(2) as pool:
        parallel = multistart(optimizer, STARTS, executor=pool)

    _same(parallel, sequential)
    assert [r.run_state.x.tolist() for r in parallel] == [
        optimizer.run(s).x.tolist() for s in STARTS
    ]


def _crashes_far_out(x):
    if x[0] > 50.0:
        raise RuntimeError("solver crashed")
    return float(x @ x)


def _twice(x):
    return 2 * x


def test_one_failed_run_never_loses_the_others():
    """A run that raises is reported FAILED in its own result; the rest are fine."""
    optimizer = Optimizer(
        FunctionObjective(_crashes_far_out, _twice), step_rule=FixedStep(0.1)
    )

    with ThreadPoolExecutor(2) as pool:
        results = multistart(optimizer, [[1.0], [100.0], [-2.0]], executor=pool)

    assert [r.status for r in results] == [
        Status.MAX_STEPS,
        Status.FAILED,
        Status.MAX_STEPS,
    ]
    assert "solver crashed" in results[1].message
    np.testing.assert_allclose(results[0].x, [0.0], atol=1e-8)


def test_unsendable_optimizer_is_refused_before_any_run():
    """A lambda objective cannot reach process workers: a clear TypeError first."""
    optimizer = Optimizer(lambda x: float(x @ x), step_rule=FixedStep(0.1))

    with _pool(1) as pool, pytest.raises(TypeError, match="objective"):
        multistart(optimizer, STARTS, executor=pool)


def test_bad_start_is_named():
    """A start that is not finite is refused, naming the argument."""
    optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1))

    with pytest.raises(ValueError, match="starts"):
        multistart(optimizer, [[1.0, 2.0], [np.nan, 0.0]])


def test_parallel_sweep_equals_the_sequential_one():
    """The learning-rate sweep on a process pool: same results, histories back."""
    rates = [1.0, 0.1, 1e-6]
    sequential = sweep_learning_rates(Sphere(), [3.0, 2.0], rates)

    with _pool(2) as pool:
        parallel = sweep_learning_rates(Sphere(), [3.0, 2.0], rates, executor=pool)

    assert [run.result for run in parallel] == [run.result for run in sequential]
    for a, b in zip(parallel, sequential, strict=True):
        np.testing.assert_array_equal(a.history.values, b.history.values)
    assert [run.result.outcome for run in parallel] == [
        "oscillating",
        "converged",
        "stalled",
    ]


def _dict_loss(p):
    return float(np.sum((p["w"] - 1.0) ** 2) + 3.0 * (p["b"] + 2.0) ** 2)


def _dict_gradient(p):
    if p["b"] > 50.0:
        raise RuntimeError("solver crashed")
    return {"w": 2.0 * (p["w"] - 1.0), "b": 6.0 * (p["b"] + 2.0)}


def _squares(p):
    """The sum of squares of every leaf of a structure (or of an array)."""
    return float(np.sum(flatten(p)[0] ** 2))


DICT_STARTS = [
    {"w": np.zeros((2, 2)), "b": 0.0},
    {"w": np.full((2, 2), 4.0), "b": np.float64(-7.0)},
    {"w": np.array([[1.0, -3.0], [2.0, 0.5]]), "b": 1.5},
]


class TestStructuredStarts:
    """Dicts of arrays are starts, as for `Optimizer.run`."""

    optimizer = Optimizer(
        FunctionObjective(_dict_loss, _dict_gradient),
        step_rule=LBFGS(),
        callbacks=[StopOnZeroGradient(1e-10)],
    )

    def test_each_result_is_the_run_from_that_start(self):
        results = multistart(self.optimizer, DICT_STARTS)

        assert len(results) == len(DICT_STARTS)
        for result, start in zip(results, DICT_STARTS, strict=True):
            alone = self.optimizer.run(start)
            np.testing.assert_array_equal(result.x, alone.x)
            assert result == alone
            assert result.status.name == "CONVERGED"
            assert list(result.params) == ["w", "b"]
            np.testing.assert_allclose(result.params["w"], np.ones((2, 2)), atol=1e-9)
            assert result.params["b"] == pytest.approx(-2.0, abs=1e-9)

    def test_on_a_process_pool_with_a_flat_start_among_them(self):
        """Structures travel to workers; a start of another layout runs too."""
        optimizer = Optimizer(_squares, step_rule=FixedStep(0.25), max_steps=60)
        starts = [{"x": np.ones(3)}, [1.0, 2.0], ({"x": np.full(2, 3.0)}, 4.0)]
        sequential = multistart(optimizer, starts)

        with _pool(2) as pool:
            parallel = multistart(optimizer, starts, executor=pool)

        _same(parallel, sequential)
        assert [r.status for r in parallel] == [Status.MAX_STEPS] * 3
        assert isinstance(parallel[0].params, dict)
        assert isinstance(parallel[1].params, np.ndarray)
        assert isinstance(parallel[2].params, tuple)
        np.testing.assert_allclose(parallel[2].params[0]["x"], 0.0, atol=1e-12)
        assert abs(parallel[2].params[1]) < 1e-12

    def test_a_failed_structured_run_keeps_its_structure(self):
        starts = [DICT_STARTS[0], {"w": np.zeros((2, 2)), "b": 100.0}]

        with ThreadPoolExecutor(2) as pool:
            results = multistart(self.optimizer, starts, executor=pool)

        assert [r.status for r in results] == [Status.CONVERGED, Status.FAILED]
        assert "solver crashed" in results[1].message
        np.testing.assert_array_equal(results[1].params["w"], np.zeros((2, 2)))
        assert results[1].params["b"] == 100.0

    def test_starts_are_not_changed_or_kept(self):
        start = {"w": np.ones((2, 2)), "b": 0.5}
        copy = {"w": start["w"].copy(), "b": 0.5}

        (result,) = multistart(self.optimizer, [start])

        np.testing.assert_array_equal(start["w"], copy["w"])
        assert start["b"] == copy["b"]
        assert result.params["w"] is not start["w"]

    @pytest.mark.parametrize(
        ("bad", "error", "says"),
        [
            ({"w": np.array(["a", "b"]), "b": 0.0}, TypeError, r"starts\[1\]\['w'\]"),
            ({"w": np.array([np.nan, 0.0]), "b": 0.0}, ValueError, r"starts\[1\]"),
            ({}, ValueError, r"starts\[1\] has no leaves"),
            ([1.0, np.inf], ValueError, r"starts\[1\] must be finite"),
        ],
    )
    def test_a_bad_start_is_named_before_any_run(self, bad, error, says):
        calls = []

        def loss(p):
            calls.append(p)
            return 0.0

        with pytest.raises(error, match=says):
            multistart(Optimizer(loss, step_rule=LBFGS()), [DICT_STARTS[0], bad])
        assert calls == []


distributed = pytest.importorskip("distributed")


def test_dask_multistart_is_bit_identical_and_survives_a_killed_worker():
    """On a Dask LocalCluster: the sequential bits, and a dead worker costs one run."""
    import dask

    def dies_far_out(x):
        if x[0] > 50.0:
            os._exit(1)  # the worker process dies
        return float((x[0] - 1) ** 2 + (x[1] + 2) ** 2)

    optimizer = Optimizer(
        Himmelblau(), step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
    )
    fragile = Optimizer(
        FunctionObjective(dies_far_out), step_rule=FixedStep(0.1), max_steps=50
    )
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        parallel = multistart(optimizer, STARTS, executor=executor)
        survivors = multistart(
            fragile, [[0.0, 0.0], [100.0, 0.0], [3.0, 3.0]], executor=executor
        )

    _same(parallel, multistart(optimizer, STARTS))
    assert [r.status for r in survivors] == [
        Status.MAX_STEPS,
        Status.FAILED,
        Status.MAX_STEPS,
    ]
    assert "no result" in survivors[1].message
    expected = [fragile.run([0.0, 0.0]), fragile.run([3.0, 3.0])]
    _same([survivors[0], survivors[2]], expected)

"""Many runs at once: multistart and parallel sweeps, in order and bit for bit."""

import multiprocessing
import os
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


def _pool(workers):
    """A process pool that does not fork (JAX, imported by other tests, forbids it)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


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

import attrs
import numpy as np
import pytest

from optim import (
    SPSA,
    BackwardDifference,
    CentralDifference,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    Optimizer,
    Richardson,
)
from optim.problems import Sphere

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_executor():
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client.get_executor()


ESTIMATORS = [
    pytest.param(CentralDifference(), id="central"),
    pytest.param(CentralDifference(step=1e-4), id="central-textbook"),
    pytest.param(ForwardDifference(), id="forward"),
    pytest.param(BackwardDifference(), id="backward"),
    pytest.param(Richardson(), id="richardson"),
]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_dask_gives_the_same_bits(estimator, dask_executor):
    """A Dask LocalCluster gives exactly the sequential gradient."""
    x = np.linspace(-1.0, 2.0, 9)

    remote = attrs.evolve(estimator, executor=dask_executor).estimate(Sphere(), x)

    np.testing.assert_array_equal(remote, estimator.estimate(Sphere(), x))


def test_dask_spsa_same_bits(dask_executor):
    """Seeded SPSA draws its perturbations locally, so Dask gives the same bits."""
    x = np.linspace(-1.0, 2.0, 9)

    remote = SPSA(samples=3, rng=5, executor=dask_executor).estimate(Sphere(), x)

    np.testing.assert_array_equal(remote, SPSA(samples=3, rng=5).estimate(Sphere(), x))


def test_dask_run_counts_every_evaluation(dask_executor):
    """An optimizer run on Dask counts the remote evaluations and matches locally."""
    estimator = CentralDifference(executor=dask_executor, batch_size=3)

    remote = Optimizer(
        Sphere(), step_rule=FixedStep(0.1), estimator=estimator, max_steps=2
    ).run(np.ones(4))
    local = Optimizer(
        Sphere(), step_rule=FixedStep(0.1), estimator=CentralDifference(), max_steps=2
    ).run(np.ones(4))

    assert remote.evaluations == local.evaluations == 3 * (2 * 4 + 1)
    np.testing.assert_array_equal(remote.x, local.x)


def test_dask_accepts_lambdas_through_cloudpickle(dask_executor):
    """Dask serializes with cloudpickle, so a lambda objective works there."""
    objective = FunctionObjective(lambda xs: np.sum(xs**2, axis=-1), vectorized=True)

    gradient = CentralDifference(step=1e-4, executor=dask_executor).estimate(
        objective, np.array([3.0, 2.0])
    )

    np.testing.assert_allclose(gradient, [6.0, 4.0], rtol=1e-10)


def test_dask_unsendable_objective_gets_a_clear_error(dask_executor):
    """An objective holding a lock cannot be sent; the error names it."""
    import threading

    lock = threading.Lock()
    objective = FunctionObjective(lambda x: float(np.sum(x**2)) + 0 * lock.locked())

    with pytest.raises(TypeError, match="cannot be sent"):
        CentralDifference(executor=dask_executor).estimate(objective, np.ones(2))

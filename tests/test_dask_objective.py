"""`optim.dask.PartitionedObjective`: data on a Dask cluster, summed over partitions."""

import functools
import os
import pathlib
import pickle
import threading

import attrs
import numpy as np
import pytest
from scipy.special import expit

from optim import (
    LBFGS,
    SPSA,
    AdaGrad,
    Adam,
    Bounds,
    CentralDifference,
    Checkpoint,
    ConjugateGradient,
    FixedStep,
    ForwardDifference,
    History,
    Momentum,
    OptimizationError,
    Optimizer,
    Status,
    StopOnZeroGradient,
)
from optim.directions import SteepestDescent
from optim.line_search import Backtracking
from optim.line_search_rules import LineSearchRule
from optim.problems import LogisticRegression

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from optim.dask import FAN_IN, PartitionedObjective  # noqa: E402

_ROOT = str(pathlib.Path(__file__).resolve().parent.parent)

C = 1.0
ROWS, COLUMNS, PARTITIONS = 20_000, 10, 4


def logistic_pair(w, features, signs, *, rows, l2):
    """L2 logistic loss of one partition: its rows' share of the mean and penalty."""
    margins = signs * (features @ w)
    share = len(signs) / rows
    loss = np.sum(np.logaddexp(0.0, -margins)) / rows + share * 0.5 * l2 * (w @ w)
    gradient = features.T @ (-signs * expit(-margins)) / rows + share * l2 * w
    return loss, gradient


def logistic_value(w, features, signs, *, rows, l2):
    margins = signs * (features @ w)
    share = len(signs) / rows
    return np.sum(np.logaddexp(0.0, -margins)) / rows + share * 0.5 * l2 * (w @ w)


def make_data(rows=ROWS, columns=COLUMNS, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, columns))
    truth = rng.normal(size=columns)
    labels = (rng.random(rows) < expit(features @ truth)).astype(float)
    return features, labels


def partitioned(features, labels, partitions, client=None, *, with_value=False):
    rows = len(labels)
    l2 = 1.0 / (C * rows)
    chunk = -(-rows // partitions)
    signs = np.where(labels == 1, 1.0, -1.0)
    x = da.from_array(features, chunks=(chunk, features.shape[1]))
    y = da.from_array(signs, chunks=chunk)
    pair = functools.partial(logistic_pair, rows=rows, l2=l2)
    value = functools.partial(logistic_value, rows=rows, l2=l2)
    return PartitionedObjective(
        pair, x, y, value=value if with_value else None, client=client
    )


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def small():
    return make_data(rows=2_000, columns=5, seed=1)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=False,
            threads_per_worker=1,
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


def in_memory(features, labels):
    return LogisticRegression.from_sklearn_c(features, labels, C, fit_intercept=False)


class TestValues:
    @pytest.mark.parametrize("on_cluster", [False, True], ids=["local", "cluster"])
    def test_value_and_gradient_match_in_memory(self, data, client, on_cluster):
        """The sums over partitions are the in-memory value and gradient."""
        objective = partitioned(*data, PARTITIONS, client if on_cluster else None)
        reference = in_memory(*data)
        x = np.random.default_rng(3).normal(size=COLUMNS)

        value, gradient = objective.value_and_gradient(x)

        assert value == pytest.approx(reference.value(x), rel=1e-13)
        np.testing.assert_allclose(gradient, reference.gradient(x), rtol=1e-12)
        assert objective.value(x) == value
        np.testing.assert_array_equal(objective.gradient(x), gradient)

    def test_values_and_map_values_are_one_value_per_point(self, small, client):
        """A stack and several batches give each point's value, on the cluster too."""
        objective = partitioned(*small, 3, client, with_value=True)
        xs = np.random.default_rng(4).normal(size=(5, 5))
        expected = np.array([in_memory(*small).value(x) for x in xs])

        stacked = objective.values(xs)
        batched = objective.map_values([xs[:2], xs[2:3], xs[3:]])

        np.testing.assert_allclose(stacked, expected, rtol=1e-13)
        assert [len(b) for b in batched] == [2, 1, 2]
        np.testing.assert_array_equal(np.concatenate(batched), stacked)

    def test_a_value_alone_is_a_value_only_pass(self, small):
        """With `value`, a value calls only it: once per partition."""
        calls = {"pair": 0, "value": 0}
        lock = threading.Lock()

        def pair(x, a):
            with lock:
                calls["pair"] += 1
            return float(np.sum(a @ x)), a.sum(axis=0)

        def value(x, a):
            with lock:
                calls["value"] += 1
            return float(np.sum(a @ x))

        features = da.from_array(small[0], chunks=(500, 5))
        objective = PartitionedObjective(pair, features, value=value)

        result = objective.value(np.ones(5))

        assert calls == {"pair": 0, "value": 4}
        assert result == pytest.approx(small[0].sum(), rel=1e-12)

    def test_the_reduction_is_a_tree(self, small, client):
        """More partitions than the fan-in still sum to the in-memory gradient."""
        partitions = FAN_IN * 2 + 1
        objective = partitioned(*small, partitions, client)
        x = np.full(5, 0.1)

        gradient = objective.gradient(x)

        assert objective.partitions == partitions
        assert type(objective).__name__ == "PartitionedObjective"
        assert repr(objective).startswith(
            "PartitionedObjective(tests.test_dask_objective.logistic_pair, "
        )
        np.testing.assert_allclose(gradient, in_memory(*small).gradient(x), rtol=1e-12)

    def test_a_point_gives_the_same_bits_every_time(self, small, client):
        """The reduction order is fixed: the same point gives the same bits."""
        objective = partitioned(*small, 6, client)
        x = np.linspace(-1.0, 1.0, 5)

        first = objective.value_and_gradient(x)
        second = objective.value_and_gradient(x)

        assert first[0] == second[0]
        np.testing.assert_array_equal(first[1], second[1])
        local = partitioned(*small, 6).value_and_gradient(x)
        assert local[0] == first[0]
        np.testing.assert_array_equal(local[1], first[1])


class TestArguments:
    def test_row_chunks_must_match(self):
        """Arrays with other row chunks are refused, naming the argument."""
        a = da.ones((10, 2), chunks=(5, 2))
        b = da.ones(10, chunks=4)

        with pytest.raises(ValueError, match=r"arrays\[1\] has row chunks"):
            PartitionedObjective(lambda x, a, b: (0.0, x), a, b)

    def test_unknown_row_chunks_are_refused(self):
        """Unknown chunk sizes (a DataFrame without lengths) get a clear error."""
        a = da.ones((10, 2), chunks=(5, 2))
        unknown = a[a[:, 0] > 0]

        with pytest.raises(ValueError, match=r"arrays\[1\] has unknown row chunk"):
            PartitionedObjective(lambda x, a, b: (0.0, x), a, unknown)

    def test_numpy_arrays_and_bad_arguments_are_refused(self):
        """Data must be Dask arrays; functions callable; client a Client."""
        a = da.ones((4, 2), chunks=2)

        with pytest.raises(TypeError, match=r"arrays\[0\] must be a dask.array"):
            PartitionedObjective(lambda x, a: (0.0, x), np.ones((4, 2)))
        with pytest.raises(ValueError, match="at least one"):
            PartitionedObjective(lambda x: (0.0, x))
        with pytest.raises(TypeError, match="value_and_gradient must be callable"):
            PartitionedObjective(1.0, a)
        with pytest.raises(TypeError, match=r"client must be a distributed\.Client"):
            PartitionedObjective(lambda x, a: (0.0, x), a, client="tcp://x")

    def test_columns_are_merged_into_one_chunk(self):
        """Column chunks are merged: each task sees whole rows."""
        a = da.from_array(np.arange(12.0).reshape(4, 3), chunks=(2, 1))

        objective = PartitionedObjective(
            lambda x, block: (float(np.sum(block @ x)), block.sum(axis=0)), a
        )

        assert objective.value(np.ones(3)) == 66.0

    def test_a_wrong_gradient_shape_names_the_function(self):
        """A partition returning a gradient of the wrong shape is named."""

        def bad(x, a):
            return 0.0, np.zeros(3)

        objective = PartitionedObjective(bad, da.ones((4, 2), chunks=2))

        with pytest.raises(ValueError, match="bad returned a gradient of shape"):
            objective.gradient(np.ones(2))

    def test_the_dataframe_route(self):
        """A DataFrame's `.to_dask_array(lengths=True)` is a valid argument."""
        # dask.dataframe needs pyarrow, and pyarrow 26 needs numpy 2 (it raises
        # ImportError, not ModuleNotFoundError, on numpy 1.26).
        dd = pytest.importorskip("dask.dataframe", exc_type=ImportError)
        import pandas as pd

        frame = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}), npartitions=2)

        objective = PartitionedObjective(
            lambda x, b: (float(np.sum(b @ x)), b.sum(axis=0)),
            frame.to_dask_array(lengths=True),
        )

        assert objective.value(np.ones(1)) == 10.0


def _missing_file(x, block):
    raise FileNotFoundError("no such file: part.npy")


def test_errors_of_the_function_are_not_blamed_on_the_cluster(client):
    """A partition's own exception comes back as it is, not as a cluster failure."""
    objective = PartitionedObjective(
        _missing_file, da.ones((4, 2), chunks=2), client=client
    )

    with pytest.raises(FileNotFoundError, match=r"part\.npy"):
        objective.value(np.ones(2))


class TestFingerprint:
    def test_the_same_data_loaded_again_has_the_same_fingerprint(self, small):
        """Functions and layout identify the objective, not the cluster or data."""
        first = partitioned(*small, 4).fingerprint()
        again = partitioned(*small, 4).fingerprint()

        assert first == again
        assert first["value_and_gradient"]["fields"]["func"] == {
            "function": "tests.test_dask_objective.logistic_pair"
        }
        assert first["arrays"][0]["shape"] == [2_000, 5]

    def test_other_chunks_or_data_change_it(self, small):
        """Other chunks, or other data (another Dask name), change the fingerprint."""
        base = partitioned(*small, 4).fingerprint()

        rechunked = partitioned(*small, 5).fingerprint()
        other = partitioned(small[0] + 1.0, small[1], 4).fingerprint()

        assert rechunked["arrays"][0]["chunks"] != base["arrays"][0]["chunks"]
        assert other["arrays"][0]["name"] != base["arrays"][0]["name"]

    def test_a_cluster_objective_does_not_pickle(self, small, client):
        """It refuses pickling with a clear message; an estimator's executor too."""
        objective = partitioned(*small, 2, client)

        with pytest.raises(TypeError, match="give the estimator no executor"):
            pickle.dumps(objective)
        with pytest.raises(TypeError, match="cannot be sent"):
            Optimizer(
                objective,
                step_rule=FixedStep(0.1),
                estimator=CentralDifference(executor=client.get_executor()),
            )
        local = pickle.loads(pickle.dumps(partitioned(*small, 2)))
        assert local.value(np.zeros(5)) == pytest.approx(np.log(2.0))


def test_lbfgs_matches_in_memory_and_sklearn(data, client):
    """L-BFGS on the cluster: the in-memory run's answer and scikit-learn's."""
    from sklearn.linear_model import LogisticRegression as Sklearn

    features, labels = data
    model = Sklearn(C=C, fit_intercept=False, tol=1e-12, max_iter=10_000)
    model.fit(features, labels)
    stop = [StopOnZeroGradient(1e-10)]

    remote = Optimizer(
        partitioned(*data, PARTITIONS, client), step_rule=LBFGS(), callbacks=stop
    ).run(np.zeros(COLUMNS))
    local = Optimizer(in_memory(*data), step_rule=LBFGS(), callbacks=stop).run(
        np.zeros(COLUMNS)
    )

    assert remote.success
    # Both stop at |g| <= 1e-10: the points agree to what that pins down.
    np.testing.assert_allclose(remote.x, local.x, rtol=1e-7)
    assert remote.value == pytest.approx(local.value, rel=1e-14)
    np.testing.assert_allclose(remote.x, model.coef_[0], rtol=1e-6)
    assert abs(remote.steps - local.steps) <= 2


def test_a_dask_dataframe_through_to_dask_array(small, client):
    """A Dask DataFrame's columns, as `.to_dask_array(lengths=True)` gives them,
    are arrays with known row chunks: the run is the in-memory run."""
    dd = pytest.importorskip("dask.dataframe", exc_type=ImportError)  # see above
    pandas = pytest.importorskip("pandas")

    features, labels = small
    columns = [f"a{j}" for j in range(features.shape[1])]
    frame = pandas.DataFrame(features, columns=columns)
    frame["sign"] = np.where(labels == 1, 1.0, -1.0)
    table = dd.from_pandas(frame, npartitions=4)
    rows = len(frame)
    objective = PartitionedObjective(
        functools.partial(logistic_pair, rows=rows, l2=1.0 / (C * rows)),
        table[columns].to_dask_array(lengths=True),
        table["sign"].to_dask_array(lengths=True),
        client=client,
    )
    stop = [StopOnZeroGradient(1e-10)]

    remote = Optimizer(objective, step_rule=LBFGS(), callbacks=stop).run(np.zeros(5))
    local = Optimizer(in_memory(*small), step_rule=LBFGS(), callbacks=stop).run(
        np.zeros(5)
    )

    assert objective.partitions == 4
    assert objective.rows == rows
    assert remote.status is Status.CONVERGED
    np.testing.assert_allclose(remote.x, local.x, rtol=1e-7)


RULES = [
    pytest.param(FixedStep(2.0), id="fixed"),
    pytest.param(Momentum(1.0, beta=0.5), id="momentum"),
    pytest.param(Adam(0.1), id="adam"),
    pytest.param(AdaGrad(0.5), id="adagrad"),
    pytest.param(LBFGS(), id="lbfgs"),
    pytest.param(ConjugateGradient(), id="cg"),
    pytest.param(LineSearchRule(SteepestDescent(), Backtracking()), id="armijo"),
]


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_takes_the_in_memory_steps(small, client, rule):
    """Each rule's first steps on the cluster are the in-memory ones, to rounding."""
    optimizer = Optimizer(in_memory(*small), step_rule=rule, max_steps=6)

    local = optimizer.run(np.zeros(5))
    remote = attrs.evolve(optimizer, objective=partitioned(*small, 4, client)).run(
        np.zeros(5)
    )

    np.testing.assert_allclose(remote.x, local.x, rtol=1e-9, atol=1e-12)
    assert remote.evaluations == local.evaluations


def test_armijo_trials_keep_the_gradient_without_value(small):
    """Without `value`, an accepted trial's pair is reused: one pass a point."""
    passes = []
    lock = threading.Lock()

    def counted(x, features, signs):
        with lock:
            passes.append(1)
        return logistic_pair(x, features, signs, rows=2_000, l2=1.0 / 2_000)

    rule = LineSearchRule(SteepestDescent(), Backtracking())
    chunks = da.from_array(small[0], chunks=(500, 5))
    signs = da.from_array(np.where(small[1] == 1, 1.0, -1.0), chunks=500)
    objective = PartitionedObjective(counted, chunks, signs)
    local = Optimizer(in_memory(*small), step_rule=rule, max_steps=5).run(np.zeros(5))

    result = Optimizer(objective, step_rule=rule, max_steps=5).run(np.zeros(5))

    np.testing.assert_allclose(result.x, local.x, rtol=1e-12)
    assert len(passes) == 4 * result.evaluations
    assert result.evaluations == result.gradient_evaluations
    assert result.evaluations < local.evaluations + local.gradient_evaluations


ESTIMATORS = [
    pytest.param(CentralDifference(), id="central"),
    pytest.param(ForwardDifference(batch_size=2), id="forward-batches"),
    pytest.param(SPSA(samples=2, rng=3), id="spsa"),
]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_finite_differences_over_the_cluster(small, client, estimator):
    """Finite differences batch through `map_values`: the in-memory gradients."""
    x = np.linspace(-0.5, 0.5, 5)

    remote = estimator.estimate(partitioned(*small, 4, client, with_value=True), x)
    local = estimator.estimate(in_memory(*small), x)

    np.testing.assert_allclose(remote, local, rtol=1e-6, atol=1e-10)


def test_constraint_callbacks_and_history(small, client):
    """A box constraint and callbacks work as with the in-memory objective."""
    box = Bounds(-0.05, 0.05)
    history = History()
    optimizer = Optimizer(
        in_memory(*small), step_rule=LBFGS(), constraint=box, max_steps=20
    )

    local = optimizer.run(np.zeros(5))
    remote = attrs.evolve(
        optimizer, objective=partitioned(*small, 4, client), callbacks=[history]
    ).run(np.zeros(5))

    np.testing.assert_allclose(remote.x, local.x, rtol=1e-9, atol=1e-12)
    assert np.all(np.abs(remote.x) <= 0.05)
    assert len(history.values) == remote.steps + 1


def _cluster():
    return distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=":0"
    )


class TestFaults:
    def test_a_closed_cluster_fails_the_run_and_resumes_elsewhere(
        self, small, tmp_path
    ):
        """Client closed mid-run: FAILED, last good iterate, the cluster named;
        the checkpoint continues on a new cluster to the uninterrupted result."""
        path = tmp_path / "run.npz"
        reference = Optimizer(
            partitioned(*small, 4), step_rule=LBFGS(), max_steps=12
        ).run(np.zeros(5))

        def close_at_step_4(info):
            if info.step == 4:
                client.close()

        with (
            _cluster() as cluster,
            distributed.Client(cluster, set_as_default=False) as client,
        ):
            address = client.scheduler.address
            optimizer = Optimizer(
                partitioned(*small, 4, client),
                step_rule=LBFGS(),
                max_steps=12,
                callbacks=[Checkpoint(path, every=1), close_at_step_4],
            )
            with pytest.raises(OptimizationError) as caught:
                optimizer.run(np.zeros(5))

        failed = caught.value.result
        assert failed.status is Status.FAILED
        assert failed.steps == 4
        assert address in failed.message
        assert "ConnectionError" in failed.message
        with (
            _cluster() as cluster,
            distributed.Client(cluster, set_as_default=False) as client,
        ):
            resumed = Optimizer(
                partitioned(*small, 4, client), step_rule=LBFGS(), max_steps=12
            ).resume(path)
        # A new cluster persists the blocks at new addresses: a BLAS product over a
        # block may differ in its last bit, so the resumed run matches to rounding.
        np.testing.assert_allclose(resumed.x, reference.x, rtol=1e-9, atol=0)
        assert resumed.steps == reference.steps


def test_a_user_loop_and_its_checkpoint_match_the_run_bit_for_bit(
    small, client, tmp_path
):
    """`start`/`step`, stopped and resumed from a checkpoint, equals `run`."""
    path = tmp_path / "loop.npz"
    objective = partitioned(*small, 4, client)
    optimizer = Optimizer(objective, step_rule=LBFGS(), max_steps=10)
    uninterrupted = optimizer.run(np.zeros(5))

    first = attrs.evolve(optimizer, callbacks=[Checkpoint(path, every=1)]).start(
        np.zeros(5)
    )
    for _ in range(5):
        first.step()
    second = optimizer.start(str(path))
    while not second.done:
        second.step()
    resumed = second.result()

    np.testing.assert_array_equal(resumed.x, uninterrupted.x)
    assert resumed.value == uninterrupted.value
    assert resumed.steps == uninterrupted.steps
    assert resumed.status is uninterrupted.status


def _dies_once(marker, x, features, signs, *, rows, l2):
    """The logistic partition, whose first call anywhere kills its worker process."""
    import signal

    try:
        descriptor = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return logistic_pair(x, features, signs, rows=rows, l2=l2)
    os.close(descriptor)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")  # pragma: no cover


def test_a_worker_killed_mid_evaluation_costs_a_recomputation(
    small, tmp_path, monkeypatch
):
    """A worker process killed inside a task: the blocks it held are rebuilt from
    their lineage, the task runs again, and the run takes the undisturbed steps."""
    import sys

    import cloudpickle

    marker = str(tmp_path / "killed")
    rows = len(small[1])
    signs = np.where(small[1] == 1, 1.0, -1.0)
    l2 = 1.0 / (C * rows)
    dies_once = functools.partial(_dies_once, marker, rows=rows, l2=l2)
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)  # the workers cannot import tests
    # The workers import this file's functions (tests.*) whatever the install:
    # spawned processes start with this process's path, the repository root on it.
    monkeypatch.syspath_prepend(_ROOT)
    try:
        with (
            distributed.LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=":0",
                death_timeout=120,
            ) as cluster,
            distributed.Client(cluster, set_as_default=False, timeout=120) as client,
        ):
            client.wait_for_workers(2, timeout=120)
            results = [
                Optimizer(
                    PartitionedObjective(
                        pair,
                        da.from_array(small[0], chunks=(500, 5)),
                        da.from_array(signs, chunks=500),
                        client=client,
                    ),
                    step_rule=LBFGS(),
                    max_steps=6,
                ).run(np.zeros(5))
                for pair in (
                    functools.partial(logistic_pair, rows=rows, l2=l2),
                    dies_once,
                )
            ]
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    reference, result = results

    assert (tmp_path / "killed").exists()
    # A rebuilt or moved block may sit at another alignment in memory, which
    # changes the last bit of a BLAS product: equal to rounding, same path.
    np.testing.assert_allclose(result.x, reference.x, rtol=1e-12)
    assert result.evaluations == reference.evaluations
    assert result.steps == reference.steps
    assert result.status is reference.status


def _spilled(dask_worker):
    """How many keys a worker holds on disk (its spill buffer's slow store)."""
    return len(getattr(dask_worker.data, "slow", ()))


def test_data_larger_than_any_workers_memory(tmp_path, monkeypatch):
    """Out of core for real: 240 MB of data in 4 partitions on two workers of
    200 MB each; the blocks are made and kept on the workers (spilled to their
    disks), the client never holds more than a gradient."""
    import sys
    import tracemalloc

    import cloudpickle
    import dask

    rows, columns, partitions = 1_500_000, 20, 4  # 60 MB of features per partition
    chunk = rows // partitions
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)  # the workers cannot import tests
    monkeypatch.syspath_prepend(_ROOT)
    # Workers that would pause or be restarted at their limit could not hold this
    # data at all; spilling to disk is what a memory limit below the data means.
    memory = {"pause": False, "terminate": False, "target": 0.3, "spill": 0.4}
    try:
        with (
            dask.config.set(
                {f"distributed.worker.memory.{k}": v for k, v in memory.items()}
            ),
            distributed.LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                memory_limit="200MB",
                local_directory=str(tmp_path),
                dashboard_address=":0",
                death_timeout=120,
            ) as cluster,
            distributed.Client(cluster, set_as_default=False, timeout=120) as client,
        ):
            client.wait_for_workers(2, timeout=120)
            generator = da.random.default_rng(0)
            features = generator.normal(size=(rows, columns), chunks=(chunk, columns))
            truth = np.linspace(-1.0, 1.0, columns)
            chance = generator.random(rows, chunks=chunk)
            signs = da.where(
                chance < 1.0 / (1.0 + da.exp(-(features @ truth))), 1.0, -1.0
            )
            objective = PartitionedObjective(
                functools.partial(logistic_pair, rows=rows, l2=1.0 / rows),
                features,
                signs,
                client=client,
            )
            tracemalloc.start()
            try:
                result = Optimizer(
                    objective,
                    step_rule=LBFGS(),
                    callbacks=[StopOnZeroGradient(1e-8)],
                    max_steps=100,
                ).run(np.zeros(columns))
                _, client_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            spilled = sum(client.run(_spilled).values())
            worker_limits = [
                worker["memory_limit"]
                for worker in client.scheduler_info()["workers"].values()
            ]
    finally:
        cloudpickle.unregister_pickle_by_value(module)

    assert objective.partitions == partitions
    assert features.nbytes > max(worker_limits)  # the data outgrow every worker
    assert result.status is Status.CONVERGED, result.message
    assert result.gradient_norm < 1e-8
    assert spilled >= 1  # a worker kept part of its blocks on disk
    assert client_peak < features.nbytes / partitions / 4  # never a whole block

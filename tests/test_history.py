"""History: a cheap record of points, values, gradient norms and step sizes."""

import gc
import itertools
import json
import types
import weakref

import numpy as np
import pandas as pd
import pytest

from optim import AnalyticGradient, FixedStep, History, Objective, Optimizer
from optim.problems import Rosenbrock, Sphere


def run(callbacks, *, rate=0.25, max_steps=3, x0=(1.0, 0.0)):
    return Optimizer(
        Sphere(), step_rule=FixedStep(rate), callbacks=callbacks, max_steps=max_steps
    ).run(list(x0))


def rosenbrock_run(callbacks, max_steps=40):
    return Optimizer(
        Rosenbrock(),
        step_rule=FixedStep(1e-3),
        callbacks=callbacks,
        max_steps=max_steps,
    ).run(Rosenbrock().start)


class TestDefault:
    def test_arrays(self):
        """Points, values, gradient norms and step sizes of a known run."""
        history = History()

        run([history], max_steps=2, x0=(4.0, 0.0))

        np.testing.assert_array_equal(history.steps, [0, 1, 2])
        np.testing.assert_array_equal(history.x, [[4.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
        np.testing.assert_array_equal(history.x_steps, [0, 1, 2])
        np.testing.assert_array_equal(history.values, [16.0, 4.0, 1.0])
        np.testing.assert_array_equal(history.gradient_norms, [8.0, 4.0, 2.0])
        np.testing.assert_array_equal(history.step_sizes, [0.0, 2.0, 1.0])

    def test_reset_per_run(self):
        """Each run starts a fresh record."""
        history = History()

        run([history], max_steps=5)
        run([history], max_steps=1)

        assert len(history) == 2
        assert len(history.x) == 2

    def test_matches_the_step_records(self):
        """The default History equals what the per-step records say."""
        history, infos = History(), []

        rosenbrock_run([history, infos.append])

        points = np.array([info.x for info in infos])
        np.testing.assert_array_equal(history.steps, [info.step for info in infos])
        np.testing.assert_array_equal(history.x, points)
        np.testing.assert_array_equal(history.values, [info.value for info in infos])
        np.testing.assert_array_equal(
            history.gradient_norms, [info.gradient_norm for info in infos]
        )
        expected = np.r_[0.0, np.linalg.norm(np.diff(points, axis=0), axis=1)]
        np.testing.assert_allclose(history.step_sizes, expected, rtol=1e-14, atol=0)

    def test_points_of_any_shape(self):
        """x keeps each point's shape: (k, *x0.shape)."""
        history = History()

        Optimizer(
            Sphere(), step_rule=FixedStep(0.1), callbacks=[history], max_steps=4
        ).run(np.ones((2, 3)))

        assert history.x.shape == (5, 2, 3)
        np.testing.assert_allclose(history.step_sizes[1], 0.2 * np.sqrt(6))


def info(step, x, value=0.0, gradient_norm=0.0):
    """A stand-in for a per-step record with the fields History reads."""
    return types.SimpleNamespace(
        step=step, x=x, value=value, gradient_norm=gradient_norm, gradient=None
    )


class TestCopies:
    def test_caller_mutating_its_array_changes_nothing(self):
        """History keeps copies: changing the array it was shown changes nothing."""
        history = History(keep_x_every=1)
        x = np.array([1.0, 2.0])
        history.on_start(None, x)

        history.on_step(info(0, x))
        x[:] = [10.0, 20.0]  # the caller reuses its buffer in place
        history.on_step(info(1, x))
        x[:] = [10.0, 23.0]
        history.on_step(info(2, x))

        np.testing.assert_array_equal(history.x, [[1, 2], [10, 20], [10, 23]])
        np.testing.assert_allclose(history.step_sizes, [0.0, np.hypot(9, 18), 3.0])

    @pytest.mark.parametrize("every", [0, None, 2, 5])
    def test_step_sizes_with_points_dropped_and_buffers_reused(self, every):
        """Step sizes stay right when points are not kept, even for reused arrays."""
        history = History(keep_x_every=every)
        x = np.zeros(3)
        history.on_start(None, x)

        for step in range(7):
            x[:] = step * np.array([1.0, 2.0, 2.0])  # moves 3 per step, in place
            history.on_step(info(step, x))

        np.testing.assert_allclose(history.step_sizes, [0.0] + [3.0] * 6)

    @pytest.mark.parametrize("every", [None, 3])
    def test_the_runs_points_are_held_not_copied(self, every):
        """Without every point kept, History measures each step from the run's own
        previous point: the engine still alternates two buffers (holding the last
        point makes it allocate none), the distances are exact, and the last point
        is let go at the end."""
        history, points, buffers = History(keep_x_every=every), [], set()

        def watch(info):  # keeps copies and addresses only, never the array
            points.append(info.x.copy())
            buffers.add(info.x.ctypes.data)

        Optimizer(
            Sphere(),
            step_rule=FixedStep(0.1),
            estimator=AnalyticGradient(),
            callbacks=[history, watch],
            max_steps=12,
        ).run(np.linspace(1.0, 2.0, 50))

        assert len(buffers) <= 3  # the start's buffer, then two alternating
        expected = [0.0] + [
            float(np.sqrt((b - a) @ (b - a))) for a, b in itertools.pairwise(points)
        ]
        np.testing.assert_array_equal(history.step_sizes, expected)
        assert history._previous is None

    def test_a_point_shown_by_another_caller_is_copied_not_written_over(self):
        """After the run's own point, a caller's point goes to a private buffer:
        History never writes into an array it was shown."""
        history = History(keep_x_every=None)
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=1)
        history.on_start(None, np.array([1.0, 0.0]))
        steps = list(optimizer.iterate(np.array([1.0, 0.0])))
        for step in steps:
            history.on_step(step)
        shown = steps[-1].x
        before = shown.copy()

        caller = np.array([0.5, 3.0])
        history.on_step(info(2, caller))
        caller[:] = [0.5, 7.0]  # reused in place
        history.on_step(info(3, caller))

        np.testing.assert_array_equal(shown, before)
        np.testing.assert_allclose(history.step_sizes, [0.0, 0.5, 3.0, 4.0])


class GradientArray(np.ndarray):
    """An ndarray subclass, so a test can tell which gradients are still alive."""


class TrackedBowl(Objective):
    """The sphere, returning gradients that tests can watch with weakrefs."""

    def __init__(self):
        self.gradients = []

    def value(self, x):
        return float(np.sum(x**2))

    def gradient(self, x):
        gradient = (2 * x).view(GradientArray)
        self.gradients.append(weakref.ref(gradient))
        return gradient


class TestMemory:
    def test_keeps_no_step_records_or_gradients(self):
        """After a run, History keeps no StepInfo, gradient or point it was shown."""
        objective, records, points, history = TrackedBowl(), [], [], History()
        gradients = []

        def watch(step):
            records.append(weakref.ref(step))
            points.append(weakref.ref(step.x))
            gradients.append(weakref.ref(step.gradient))

        result = Optimizer(
            objective,
            step_rule=FixedStep(0.1),
            estimator=AnalyticGradient(),
            callbacks=[history, watch],
            max_steps=30,
        ).run(np.ones(50))
        del result
        gc.collect()

        assert len(history) == 31
        assert len(objective.gradients) >= 31
        assert all(ref() is None for ref in records)
        assert all(ref() is None for ref in objective.gradients)
        assert all(ref() is None for ref in gradients)
        assert all(ref() is None for ref in points)

    def test_the_check_can_fail(self):
        """Control: a recorder that keeps StepInfo keeps the gradients alive."""
        kept, gradients = [], []

        def keep(step):
            kept.append(step)
            gradients.append(weakref.ref(step.gradient))

        Optimizer(
            TrackedBowl(),
            step_rule=FixedStep(0.1),
            estimator=AnalyticGradient(),
            callbacks=[keep],
            max_steps=5,
        ).run(np.ones(3))
        gc.collect()

        assert all(ref() is not None for ref in gradients)

    def test_storage_is_the_recorded_numbers_only(self):
        """No point kept: History holds four floats per step, no arrays."""
        history = History(keep_x_every=None)

        rosenbrock_run([history], max_steps=100)

        assert history.x.shape == (0, 2)
        arrays = [v for v in vars_of(history) if isinstance(v, np.ndarray)]
        assert all(a.size <= 2 for a in arrays)  # at most the previous point


def vars_of(history):
    return [
        getattr(history, name) for name in history.__slots__ if name != "__weakref__"
    ]


class TestKeepXEvery:
    @pytest.mark.parametrize("every", [1, 3, 7, 100])
    def test_every_kth_point(self, every):
        """keep_x_every=k keeps the points of steps 0, k, 2k, ...; all else stays."""
        full, sparse = History(), History(keep_x_every=every)

        rosenbrock_run([full, sparse])

        kept = np.arange(0, len(full), every)
        np.testing.assert_array_equal(sparse.x_steps, kept)
        np.testing.assert_array_equal(sparse.x, full.x[kept])
        np.testing.assert_array_equal(sparse.values, full.values)
        np.testing.assert_array_equal(sparse.gradient_norms, full.gradient_norms)
        np.testing.assert_array_equal(sparse.step_sizes, full.step_sizes)
        np.testing.assert_array_equal(sparse.steps, full.steps)

    @pytest.mark.parametrize("never", [0, None])
    def test_never(self, never, tmp_path):
        """keep_x_every=0 or None keeps no point; x is empty, exports lack x[i]."""
        full, history = History(), History(keep_x_every=never)

        rosenbrock_run([full, history])
        history.write(tmp_path / "h.json")

        assert history.x.shape == (0, 2)
        assert history.x_steps.shape == (0,)
        assert list(history.as_dict()) == [
            "step",
            "value",
            "gradient_norm",
            "step_size",
        ]
        np.testing.assert_array_equal(history.step_sizes, full.step_sizes)
        assert len(json.loads((tmp_path / "h.json").read_text())["step"]) == len(full)

    def test_columns_are_nan_where_no_point_was_kept(self, tmp_path):
        """as_dict and write fill the coordinates of dropped points with NaN."""
        history = History(keep_x_every=2)

        run([history], max_steps=3, x0=(1.0, 0.0))
        history.write(tmp_path / "h.csv")

        columns = history.as_dict()
        np.testing.assert_array_equal(columns["x[0]"], [1.0, np.nan, 0.25, np.nan])
        frame = pd.read_csv(tmp_path / "h.csv")
        assert frame["x[0]"].isna().tolist() == [False, True, False, True]

    @pytest.mark.parametrize(
        ("value", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)]
    )
    def test_invalid(self, value, error):
        """keep_x_every must be None or an integer >= 0."""
        with pytest.raises(error, match="keep_x_every"):
            History(keep_x_every=value)

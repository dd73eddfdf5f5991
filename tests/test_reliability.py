"""Faults in the middle of a run, interrupts, budgets, checkpoints and resume."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import attrs
import numpy as np
import pytest

import optim.checkpoint
from optim import (
    SPSA,
    BackwardDifference,
    CentralDifference,
    Checkpoint,
    CheckpointError,
    ComplexStep,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    Objective,
    OptimizationError,
    Optimizer,
    Richardson,
    Status,
    StepRule,
    load_checkpoint,
    save_checkpoint,
)
from optim.problems import Sphere


class FailsAt(Objective):
    """The sphere, raising or returning NaN at its `fail_at`-th value call."""

    def __init__(self, fail_at, *, how="raise"):
        self.calls = 0
        self.fail_at = fail_at
        self.how = how

    def value(self, x):
        self.calls += 1
        if self.calls == self.fail_at:
            if self.how == "raise":
                raise RuntimeError(f"boom at call {self.calls}")
            if self.how == "interrupt":
                raise KeyboardInterrupt
            return float("nan")
        return float(np.sum(x**2))


@attrs.frozen
class HalvingState:
    trials: int


@attrs.frozen
class Halving(StepRule[HalvingState]):
    """Backtracking by halving from step 1 until the value decreases."""

    def init(self, x0):
        return HalvingState(trials=0)

    def update(self, gradient, state, *, x, value, evaluator):
        rate = 1.0
        while True:
            delta = -rate * gradient
            trial, _ = evaluator.value_and_gradient(x + delta)
            if trial < value:
                return delta, HalvingState(state.trials + 1)
            rate /= 2


@attrs.frozen
class MomentumState:
    velocity: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    count: int


@attrs.frozen
class TestMomentum(StepRule[MomentumState]):
    """A stateful rule with an array and a counter in its state."""

    __test__ = False
    learning_rate: float = 0.05

    def init(self, x0):
        return MomentumState(np.zeros_like(x0), 0)

    def update(self, gradient, state, *, x, value, evaluator):
        velocity = 0.9 * state.velocity + gradient
        return -self.learning_rate * velocity, MomentumState(velocity, state.count + 1)


class TestFaults:
    # n = 2, central differences: per point 1 value + 4 perturbed values. Call 13 is
    # the 2nd perturbed point of step 2's gradient sweep (calls 11..15).
    @pytest.mark.parametrize("fail_at", [3, 8, 13])
    def test_exception_in_finite_difference_sweep_is_raised_with_context(self, fail_at):
        """By default the error carries the step and the last good iterate."""
        x0 = np.array([3.0, 2.0])
        objective = FailsAt(fail_at)
        optimizer = Optimizer(
            objective,
            step_rule=FixedStep(0.1),
            estimator=CentralDifference(),
            max_steps=10,
        )

        if fail_at <= 5:  # at x0: bad input, raised as is before any step
            with pytest.raises(RuntimeError, match="boom"):
                optimizer.run(x0)
            return
        with pytest.raises(OptimizationError) as caught:
            optimizer.run(x0)

        error = caught.value
        good_steps = (fail_at - 1) // 5 - 1
        assert error.step == good_steps + 1
        assert error.result.status is Status.FAILED
        assert error.result.steps == good_steps
        np.testing.assert_allclose(error.result.x, x0 * 0.8**good_steps, rtol=1e-8)
        assert isinstance(error.__cause__, RuntimeError)
        assert f"step {good_steps + 1} raised RuntimeError" in str(error)
        np.testing.assert_array_equal(x0, [3.0, 2.0])

    def test_exception_in_line_search_with_diverge_option(self):
        """errors='diverge' turns a failed trial evaluation into DIVERGED."""
        # Analytic sphere gradients: each value_and_gradient is one value call.
        # Step 1's trials are calls 2 (rate 1 overshoots) and 3 (rate 1/2).
        calls = []

        def value(x):
            calls.append(1)
            if len(calls) == 3:
                raise ValueError("solver did not converge")
            return float(np.sum((x - 1.0) ** 2))

        result = Optimizer(
            FunctionObjective(value, lambda x: 2 * (x - 1.0)),
            step_rule=Halving(),
            errors="diverge",
        ).run([3.0])

        assert result.status is Status.DIVERGED
        assert "ValueError('solver did not converge')" in result.message
        assert result.steps == 0
        np.testing.assert_array_equal(result.x, [3.0])

    def test_nan_in_sweep_ends_diverged_with_last_finite_iterate(self):
        """A NaN among the perturbed values ends DIVERGED at the last good point."""
        result = Optimizer(
            FailsAt(13, how="nan"), step_rule=FixedStep(0.1), max_steps=10
        ).run([3.0, 2.0])

        assert result.status is Status.DIVERGED
        assert result.steps == 1
        np.testing.assert_allclose(result.x, [2.4, 1.6], rtol=1e-9)
        assert np.isfinite(result.gradient).all()

    def test_keyboard_interrupt_keeps_best_point(self):
        """KeyboardInterrupt mid-run ends INTERRUPTED with the last and best points."""
        result = Optimizer(
            FailsAt(13, how="interrupt"), step_rule=FixedStep(0.1), max_steps=10
        ).run([3.0, 2.0])

        assert result.status is Status.INTERRUPTED
        assert result.steps == 1
        np.testing.assert_allclose(result.best_x, [2.4, 1.6], rtol=1e-9)
        assert "interrupted" in result.message

    def test_callback_exception_keeps_result(self):
        """A failing callback raises OptimizationError with the result so far."""

        def broken(info):
            if info.step == 3:
                raise LookupError("bad callback")

        with pytest.raises(OptimizationError) as caught:
            Optimizer(Sphere(), step_rule=FixedStep(0.25), callbacks=[broken]).run(
                [8.0]
            )

        assert caught.value.result.steps == 3
        np.testing.assert_array_equal(caught.value.result.x, [1.0])


class TestBudgets:
    def test_max_evaluations(self):
        """The evaluation budget ends the run between steps with its own status."""
        result = Optimizer(
            FunctionObjective(lambda x: float(x @ x)),
            step_rule=FixedStep(0.1),
            estimator=ForwardDifference(),
            max_evaluations=10,
        ).run([1.0, 1.0])

        assert result.status is Status.MAX_EVALUATIONS
        # 3 evaluations per point (n + 1): stops at the first count >= 10.
        assert result.evaluations == 12
        assert result.steps == 3
        assert "max_evaluations=10" in result.message

    def test_max_time(self):
        """The wall-time budget ends a slow run with status MAX_TIME."""

        def slow(x):
            time.sleep(0.01)
            return float(x @ x)

        started = time.monotonic()
        result = Optimizer(
            FunctionObjective(slow, lambda x: 2 * x),
            step_rule=FixedStep(1e-3),
            max_time=0.1,
        ).run([1.0])

        assert result.status is Status.MAX_TIME
        # Each step sleeps at least 0.01 s, so the budget of 0.1 s allows at most 11
        # (a loaded machine sleeps longer, so there is no useful lower bound but 1).
        assert 1 <= result.steps <= 11
        assert time.monotonic() - started >= 0.1

    @pytest.mark.parametrize(
        ("name", "value"),
        [("max_evaluations", -1), ("max_time", 0.0), ("errors", "ignore")],
    )
    def test_bad_budget_values(self, name, value):
        """Bad budget arguments name themselves."""
        with pytest.raises(ValueError, match=name):
            Optimizer(Sphere(), step_rule=FixedStep(0.1), **{name: value})


RULES = [
    pytest.param(FixedStep(0.1), id="fixed"),
    pytest.param(TestMomentum(), id="stateful"),
    pytest.param(Halving(), id="line-search"),
]
ESTIMATORS = [  # factories: each optimizer gets a fresh estimator
    pytest.param(lambda: None, id="analytic"),
    pytest.param(CentralDifference, id="central"),
    pytest.param(ForwardDifference, id="forward"),
    pytest.param(BackwardDifference, id="backward"),
    pytest.param(Richardson, id="richardson"),
    pytest.param(ComplexStep, id="complex"),
    pytest.param(lambda: SPSA(samples=2, rng=7), id="spsa"),
]


class RotatedBowl(Objective):
    """An ill-conditioned quadratic with a gradient, for longer runs."""

    def value(self, x):  # complex points too, for ComplexStep
        return x[0] ** 2 + 10 * x[1] ** 2 + x[0] * x[1] + np.sin(x[0])

    def gradient(self, x):
        return np.array([2 * x[0] + x[1] + np.cos(x[0]), 20 * x[1] + x[0]])


class TestCheckpoint:
    @pytest.mark.parametrize("rule", RULES)
    @pytest.mark.parametrize("estimator", ESTIMATORS)
    def test_resumed_run_equals_uninterrupted(self, tmp_path, rule, estimator):
        """50 steps in one go equal 20, a checkpoint, and 30 more, to the bit.

        The continued run uses a fresh optimizer and estimator: SPSA's random
        stream comes back from the checkpoint.
        """
        path = tmp_path / "run.npz"
        x0 = np.array([2.0, -1.0])

        def optimizer(max_steps, callbacks):
            return Optimizer(
                RotatedBowl(),
                step_rule=rule,
                estimator=estimator(),
                callbacks=callbacks,
                max_steps=max_steps,
                max_growth=None,
                ftol=None,  # all 50 steps, even after progress ends
            )

        full, first, second = [], [], []
        whole = optimizer(50, [full.append]).run(x0)
        optimizer(20, [first.append, Checkpoint(path, every=7)]).run(x0)
        resumed = optimizer(50, [second.append]).resume(path)

        assert [i.step for i in second] == list(range(21, 51))
        joined = first + second
        assert len(joined) == len(full) == 51
        for a, b in zip(full, joined, strict=True):
            assert a == b  # points, values, gradients, counters, best point
            assert repr(a.run_state.rule_state) == repr(b.run_state.rule_state)
            assert a.run_state.random_state == b.run_state.random_state
        assert resumed == whole

    def test_periodic_saves(self, tmp_path, monkeypatch):
        """Checkpoint(every=k) saves at steps 0, k, 2k, ... and at the end."""
        saved = []
        real = optim.checkpoint.save_checkpoint
        monkeypatch.setattr(
            optim.checkpoint,
            "save_checkpoint",
            lambda path, info, opt: (saved.append(info.step), real(path, info, opt)),
        )

        Optimizer(
            Sphere(),
            step_rule=FixedStep(0.1),
            callbacks=[Checkpoint(tmp_path / "c.npz", every=4)],
            max_steps=10,
        ).run([1.0])

        assert saved == [0, 4, 8, 10]

    def test_incompatible_configuration_is_refused(self, tmp_path):
        """Resuming with another step rule names what differs."""
        path = tmp_path / "run.npz"
        Optimizer(Sphere(), step_rule=FixedStep(0.1), callbacks=[Checkpoint(path)]).run(
            [1.0]
        )

        with pytest.raises(CheckpointError, match=r"step_rule\.learning_rate is 0\.1"):
            Optimizer(Sphere(), step_rule=FixedStep(0.2)).resume(path)
        with pytest.raises(CheckpointError, match="mode"):
            Optimizer(Sphere(), step_rule=FixedStep(0.1), mode="ascent").resume(path)

    def test_unreadable_file(self, tmp_path):
        """A file that is not a checkpoint gives CheckpointError."""
        path = tmp_path / "junk.npz"
        path.write_bytes(b"not a checkpoint")

        with pytest.raises(CheckpointError, match="cannot read checkpoint"):
            load_checkpoint(path, Optimizer(Sphere(), step_rule=FixedStep(0.1)))

    def test_save_killed_halfway_keeps_previous_checkpoint(self, tmp_path, monkeypatch):
        """A crash in the middle of a save leaves the previous file intact."""
        path = tmp_path / "run.npz"
        optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=2)
        infos = list(optimizer.iterate([8.0]))
        save_checkpoint(path, infos[1], optimizer)
        before = path.read_bytes()

        def crash(stream, array, **options):
            stream.write(b"\x93NUMPY half an array")
            raise OSError("disk full")

        monkeypatch.setattr(np.lib.format, "write_array", crash)
        with pytest.raises(OSError, match="disk full"):
            save_checkpoint(path, infos[2], optimizer)

        assert path.read_bytes() == before
        assert os.listdir(tmp_path) == ["run.npz"]
        assert load_checkpoint(path, optimizer).step == 1

    def test_unsupported_state_is_refused(self, tmp_path):
        """A state the format cannot hold raises TypeError naming its type."""

        class OpaqueRule(StepRule[object]):
            def init(self, x0):
                return object()

            def update(self, gradient, state, *, x, value, evaluator):
                return -0.1 * gradient, state

        optimizer = Optimizer(Sphere(), step_rule=OpaqueRule(), max_steps=0)
        info = next(optimizer.iterate([1.0]))

        with pytest.raises(TypeError, match="object"):
            save_checkpoint(tmp_path / "x.npz", info, optimizer)

    def test_generator_and_containers_round_trip(self, tmp_path):
        """Random generators, dicts, lists and numpy scalars survive a save."""
        state = {
            "rng": np.random.default_rng(42),
            "items": [1, 2.5, None, "s", (np.float32(1.5), np.arange(3))],
        }
        state["rng"].random(5)

        class Holder(StepRule[dict]):
            def init(self, x0):
                return state

            def update(self, gradient, state, *, x, value, evaluator):
                return -gradient, state

        optimizer = Optimizer(Sphere(), step_rule=Holder(), max_steps=0)
        save_checkpoint(tmp_path / "s.npz", next(optimizer.iterate([1.0])), optimizer)
        loaded = load_checkpoint(tmp_path / "s.npz", optimizer).rule_state

        assert loaded["rng"].random() == state["rng"].random()
        assert loaded["items"][:4] == [1, 2.5, None, "s"]
        assert loaded["items"][4][0] == np.float32(1.5)
        assert loaded["items"][4][0].dtype == np.float32
        np.testing.assert_array_equal(loaded["items"][4][1], np.arange(3))


# A background job of a non-interactive shell (`pytest &`, as CI runs the suites)
# starts with SIGINT ignored, and a Python started with SIGINT ignored keeps it
# ignored: the scripts below install Python's own handler, as an interactive
# session has it, before they run.
SIGINT_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    from optim import Checkpoint, FixedStep, Optimizer
    from optim.problems import Sphere

    def started(info):
        if info.step == 5:
            print("running", flush=True)
        time.sleep(0.002)

    result = Optimizer(
        Sphere(),
        step_rule=FixedStep(1e-4),
        callbacks=[started, Checkpoint(sys.argv[1], every=1_000_000)],
        max_steps=10_000_000,
    ).run(np.array([3.0, 2.0]))
    print(result.status.name, result.steps, result.best_value < 13.0, flush=True)
    """
)


def test_sigint_gives_interrupted_result_and_final_checkpoint(tmp_path):
    """SIGINT to a running optimization: status INTERRUPTED and a final checkpoint."""
    path = tmp_path / "final.npz"
    with subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout.readline().strip() == "running"
            time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=300)
        finally:
            process.kill()  # a failed check leaves no process running

    status, steps, improved = out.split()
    assert status == "INTERRUPTED", err
    assert int(steps) >= 5  # a loaded machine may deliver the signal within step 5
    assert improved == "True"
    saved = load_checkpoint(path, Optimizer(Sphere(), step_rule=FixedStep(1e-4)))
    assert saved.step == int(steps)


def test_continue_from_result_without_a_file():
    """resume_from(result.run_state) continues a run that used up max_steps."""
    optimizer = Optimizer(RotatedBowl(), step_rule=TestMomentum(), max_steps=10)
    whole = attrs.evolve(optimizer, max_steps=25).run([2.0, -1.0])

    first = optimizer.run([2.0, -1.0])
    steps = attrs.evolve(optimizer, max_steps=25).resume_from(first.run_state)
    infos = list(steps)

    assert [info.step for info in infos] == list(range(11, 26))
    np.testing.assert_array_equal(infos[-1].x, whole.x)
    assert infos[-1].evaluations == whole.run_state.evaluations


def test_random_state_mismatch_is_refused(tmp_path):
    """A checkpoint's random stream belongs to its seed and its estimator."""
    path = tmp_path / "spsa.npz"
    Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=SPSA(rng=1),
        callbacks=[Checkpoint(path)],
        max_steps=2,
    ).run([1.0, 2.0])

    saved = load_checkpoint(
        path, Optimizer(Sphere(), step_rule=FixedStep(0.1), estimator=SPSA(rng=1))
    )
    assert saved.step == 2
    assert saved.random_state is not None
    with pytest.raises(CheckpointError, match=r"estimator\.rng is 1"):
        Optimizer(Sphere(), step_rule=FixedStep(0.1), estimator=SPSA(rng=5)).resume(
            path
        )
    with pytest.raises(
        CheckpointError, match=r"estimator\.class is 'optim\.gradients\.SPSA'"
    ):
        Optimizer(Sphere(), step_rule=FixedStep(0.1)).resume(path)
    with pytest.raises(ValueError, match="random"):
        list(Optimizer(Sphere(), step_rule=FixedStep(0.1)).resume_from(saved))


class TestRunOwnedRandomness:
    """The run, not the estimator, owns the random stream."""

    def optimizer(self, max_steps, callbacks=()):
        return Optimizer(
            RotatedBowl(),
            step_rule=FixedStep(0.02),
            estimator=SPSA(rng=3),
            max_steps=max_steps,
            callbacks=callbacks,
        )

    def test_same_optimizer_twice_is_identical(self):
        """The same Optimizer with SPSA(rng=3) run twice gives the same bits."""
        optimizer = self.optimizer(30)

        first, second = optimizer.run([2.0, -1.0]), optimizer.run([2.0, -1.0])

        np.testing.assert_array_equal(first.x, second.x)
        assert first == second

    def test_checkpoint_at_20_resumed_to_50_equals_straight_run(self, tmp_path):
        """One estimator object for all three runs; resume is bit for bit."""
        path = tmp_path / "spsa.npz"
        straight = self.optimizer(50).run([2.0, -1.0])
        self.optimizer(20, [Checkpoint(path)]).run([2.0, -1.0])

        resumed = self.optimizer(50).resume(path)

        np.testing.assert_array_equal(resumed.x, straight.x)
        assert resumed == straight

    @pytest.mark.parametrize("k", [0, 1, 7, 19])
    def test_resume_from_any_step_reproduces_the_run(self, k):
        """resume_from(any step's state) continues exactly as the run did."""
        whole = list(self.optimizer(20).iterate([2.0, -1.0]))

        continued = list(self.optimizer(20).resume_from(whole[k].run_state))

        assert continued == whole[k + 1 :]

    def test_estimator_is_not_changed_by_a_run(self):
        """A run draws from its own stream: the estimator is configuration only."""
        optimizer = self.optimizer(5)
        before = optimizer.gradient_estimator.estimate(RotatedBowl(), np.ones(2))

        optimizer.run([2.0, -1.0])

        after = optimizer.gradient_estimator.estimate(RotatedBowl(), np.ones(2))
        np.testing.assert_array_equal(before, after)

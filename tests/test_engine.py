"""One engine, several drivers: run, iterate, start/step and resume agree exactly."""

import signal
import subprocess
import sys
import textwrap
import weakref

import attrs
import numpy as np
import pytest

from optim import (
    LBFGS,
    SPSA,
    AdaGrad,
    Adam,
    AdamW,
    AnalyticGradient,
    BarzilaiBorwein,
    Callback,
    CentralDifference,
    Checkpoint,
    ConjugateGradient,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    LineSearchRule,
    Momentum,
    Nesterov,
    Objective,
    OptimizationError,
    Optimizer,
    RMSProp,
    Run,
    Status,
    StopOnZeroGradient,
    load_checkpoint,
    save_checkpoint,
)
from optim.bfgs import BFGS
from optim.problems import Sphere
from optim.run import RunState
from optim.schedules import LinearWarmup

RULES = {
    "fixed": FixedStep(0.05),
    "momentum": Momentum(0.02, beta=0.9),
    "nesterov": Nesterov(0.02, beta=0.9),
    "adagrad": AdaGrad(0.5),
    "rmsprop": RMSProp(0.05),
    "adam": Adam(0.1),
    "adamw": AdamW(0.1, weight_decay=0.01),
    "steepest": LineSearchRule(),
    "lbfgs": LBFGS(),
    "cg": ConjugateGradient(),
    "bfgs": BFGS(),
    "bb": BarzilaiBorwein(),
}
ESTIMATORS = {
    "analytic": AnalyticGradient(),
    "forward": ForwardDifference(),
    "central": CentralDifference(),
    "spsa": SPSA(rng=7),
}


class Valley(Objective):
    """An ill-conditioned quadratic with a cross term: f = x0^2 + 8 x1^2 + x0 x1."""

    def value(self, x):
        return float(x[0] ** 2 + 8.0 * x[1] ** 2 + x[0] * x[1])

    def gradient(self, x):
        return np.array([2.0 * x[0] + x[1], 16.0 * x[1] + x[0]], dtype=x.dtype)


def _fields(result):
    return (
        result.status,
        result.x.tobytes(),
        result.x.dtype,
        result.value,
        result.steps,
        result.evaluations,
        result.gradient_evaluations,
        result.message,
        result.best_x.tobytes(),
    )


class SaveAt(Callback):
    """Save the run's state at one step, as a Checkpoint killed right after would."""

    def __init__(self, path, step):
        self.path, self.step = path, step

    def on_start(self, context, x0):
        self.context = context

    def on_step(self, info):
        if info.step == self.step:
            save_checkpoint(self.path, info, self.context)


def _drive_all(optimizer, x0, tmp_path):
    """The same run through every driver, and split by a checkpoint and resumed."""
    whole = optimizer.run(x0)

    generator = optimizer.iterate(x0)
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            iterated = stop.value
            break

    run = optimizer.start(x0)
    while not run.done:
        run.step()
    stepped = run.result()

    results = {"run": whole, "iterate": iterated, "start/step": stepped}
    split = whole.steps // 2
    if split >= 1:
        path = tmp_path / "split.npz"
        saving = attrs.evolve(
            optimizer, callbacks=(*optimizer.callbacks, SaveAt(path, split))
        )
        saving.run(x0)
        results["resume"] = optimizer.resume(path)
        resumed = optimizer.start(path)
        while not resumed.done:
            resumed.step()
        results["start(path)/step"] = resumed.result()
        later = list(optimizer.resume_from(load_checkpoint(path, optimizer)))
        assert later[0].step == split + 1
    return results


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("stop", [False, True], ids=["no-stop", "stop"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("rule", RULES)
def test_every_driver_gives_the_same_result(rule, estimator, stop, dtype, tmp_path):
    """run, iterate, start/step and checkpoint-split runs are bit-identical."""
    tol = 1e-3 if dtype == np.float32 else 1e-6
    optimizer = Optimizer(
        Valley(),
        step_rule=RULES[rule],
        estimator=ESTIMATORS[estimator],
        callbacks=[StopOnZeroGradient(tol)] if stop else [],
        max_steps=30,
    )
    x0 = np.array([1.0, 0.7], dtype=dtype)

    results = _drive_all(optimizer, x0, tmp_path)

    expected = _fields(results["run"])
    for driver, result in results.items():
        assert _fields(result) == expected, driver
    assert results["run"].x.dtype == dtype


def test_a_precision_limit_is_confirmed_by_every_driver(tmp_path):
    """FixedStep(1e-20), forward differences, a gradient test: CONVERGED everywhere.

    The step cannot change x; the precision limit it reaches is confirmed by an
    independent estimate, whichever driver runs (the step driver used to skip
    the confirmation and end PRECISION_LIMIT).
    """
    optimizer = Optimizer(
        Sphere(),
        step_rule=FixedStep(1e-20),
        estimator=ForwardDifference(),
        callbacks=[StopOnZeroGradient()],
    )
    x0 = np.array([1e-9, -2e-9])

    results = _drive_all(optimizer, x0, tmp_path)

    assert results["run"].status is Status.CONVERGED
    for driver, result in results.items():
        assert _fields(result) == _fields(results["run"]), driver


def test_a_resumed_ended_run_stays_ended(tmp_path):
    """A finished max_steps=2 run resumed by start(state).step() takes no third step."""
    path = tmp_path / "ended.npz"
    optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=2)
    attrs.evolve(optimizer, callbacks=[Checkpoint(path)]).run([8.0])

    run = optimizer.start(load_checkpoint(path, optimizer))
    info = run.step()

    assert run.done
    assert info.step == 2
    assert run.result().steps == 2
    assert run.result().status is Status.MAX_STEPS
    assert optimizer.resume(path).steps == 2
    assert [i.step for i in optimizer.resume_from(run.result().run_state)] == []
    with pytest.raises(RuntimeError, match="ended"):
        run.step()


def test_a_failed_step_ends_the_run():
    """After step() raises OptimizationError the run is done and refuses to go on."""
    calls = []

    def fragile(x):
        calls.append(1)
        if len(calls) > 3:
            raise ArithmeticError("broken")
        return float(x @ x)

    run = Optimizer(
        FunctionObjective(fragile, lambda x: 2.0 * x), step_rule=FixedStep(0.1)
    ).start(np.array([1.0, 2.0]))
    run.step()
    run.step()
    run.step()
    with pytest.raises(OptimizationError) as failure:
        run.step()

    assert run.done
    assert run.result().status is Status.FAILED
    assert failure.value.result.steps == 2
    with pytest.raises(RuntimeError, match="ended \\(failed\\)"):
        run.step()


def test_a_user_owned_loop_has_no_hidden_budget():
    """1,500 steps of Adam through start() run to the end (run() keeps its budget)."""
    optimizer = Optimizer(Sphere(), step_rule=Adam(1e-4))
    run = optimizer.start(np.array([3.0, 2.0]))

    for _ in range(1500):
        info = run.step()

    assert not run.done
    assert info.step == 1499
    assert optimizer.run(np.array([3.0, 2.0])).steps == 1000
    assert optimizer.run_context().max_steps == 1000


def test_a_budget_set_explicitly_applies_to_start():
    run = Optimizer(Sphere(), step_rule=Adam(1e-4), max_steps=3).start([1.0])
    while not run.done:
        run.step()

    assert run.result().steps == 3
    assert run.result().status is Status.MAX_STEPS


def test_run_is_exported_and_start_arguments_reach_every_step():
    """Arguments given to start() come before those given to step()."""

    def loss(x, scale, batch):
        return scale * float(np.sum((x - batch) ** 2))

    run = Optimizer(loss, step_rule=FixedStep(0.1)).start(np.zeros(2), args=(2.0,))
    info = run.step(np.ones(2))

    assert isinstance(run, Run)
    assert info.value == 4.0
    np.testing.assert_allclose(info.gradient, [-4.0, -4.0], rtol=1e-6)


# --- a structured minibatch run, killed and resumed through the public API ---------

NETWORK = textwrap.dedent(
    """
    import numpy as np
    from optim import Adam, Checkpoint, Objective, Optimizer

    def data(dtype):
        rng = np.random.default_rng(11)
        inputs = rng.normal(size=(120, 8, 3)).astype(dtype)
        targets = np.tanh(inputs @ np.array([0.5, -1.0, 2.0], dtype=dtype))
        return inputs, targets.astype(dtype)

    class Network(Objective):
        def value(self, p, inputs, targets):
            return self.value_and_gradient(p, inputs, targets)[0]

        def value_and_gradient(self, p, inputs, targets):
            hidden = np.tanh(inputs @ p["w1"] + p["b1"])
            out = hidden @ p["w2"] + p["b2"]
            error = out - targets
            loss = float(np.mean(error**2))
            d_out = 2.0 * error / error.size
            d_hidden = np.outer(d_out, p["w2"]) * (1.0 - hidden**2)
            gradient = {
                "w1": inputs.T @ d_hidden,
                "b1": d_hidden.sum(axis=0),
                "w2": hidden.T @ d_out,
                "b2": np.asarray(d_out.sum()),
            }
            return loss, gradient

    def params(dtype):
        rng = np.random.default_rng(5)
        return {
            "w1": (0.5 * rng.normal(size=(3, 4))).astype(dtype),
            "b1": np.zeros(4, dtype=dtype),
            "w2": (0.5 * rng.normal(size=4)).astype(dtype),
            "b2": np.zeros((), dtype=dtype),
        }

    def optimizer(callbacks=()):
        return Optimizer(Network(), step_rule=Adam(0.01), callbacks=callbacks)
    """
)

KILLED = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from optim import Checkpoint
    exec(sys.argv[3])
    dtype = np.dtype(sys.argv[2])

    def kill_at_60(info):
        if info.step == 60:
            os.kill(os.getpid(), signal.SIGKILL)

    inputs, targets = data(dtype)
    run = optimizer([Checkpoint(sys.argv[1], every=25), kill_at_60]).start(
        params(dtype)
    )
    for step in range(120):
        run.step(inputs[step], targets[step])
    """
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_killed_structured_minibatch_run_resumes_bit_for_bit(dtype, tmp_path):
    """Adam on a dict-of-arrays network, checkpointed every 25 steps, SIGKILLed."""
    space = {"__name__": "__main__"}  # the class's module, as in the subprocess
    exec(NETWORK, space)
    inputs, targets = space["data"](np.dtype(dtype))
    like = space["params"](np.dtype(dtype))
    straight = space["optimizer"]().start(like)
    for step in range(120):
        straight.step(inputs[step], targets[step])

    path = tmp_path / "net.npz"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(path), dtype, NETWORK],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    optimizer = space["optimizer"]()
    state = load_checkpoint(path, optimizer, like=like)
    run = optimizer.start(state, like=like)
    assert state.step == 50
    for step in range(state.step + 1, 120):
        run.step(inputs[step], targets[step])
    by_path = optimizer.start(path, like=like)
    for step in range(state.step + 1, 120):
        by_path.step(inputs[step], targets[step])

    for resumed in (run, by_path):
        np.testing.assert_array_equal(resumed.x, straight.x)
        assert resumed.x.dtype == np.dtype(dtype)
        assert _fields(resumed.result()) == _fields(straight.result())
        assert list(resumed.params) == ["w1", "b1", "w2", "b2"]
        np.testing.assert_array_equal(resumed.params["w1"], straight.params["w1"])


def test_a_structured_checkpoint_without_like_says_what_to_pass(tmp_path):
    space = {"__name__": "__main__"}  # the class's module, as in the subprocess
    exec(NETWORK, space)
    inputs, targets = space["data"](np.dtype("float64"))
    path = tmp_path / "net.npz"
    run = space["optimizer"]([Checkpoint(path, every=1)]).start(
        space["params"](np.dtype("float64"))
    )
    run.step(inputs[0], targets[0])

    from optim import CheckpointError

    with pytest.raises(CheckpointError, match="like="):
        load_checkpoint(path, space["optimizer"]())


def test_a_rule_returning_three_things_is_named():
    """(step, state, extra) from update: the message names the rule, not numpy."""
    from optim import StepRule

    class Chatty(StepRule):
        def init(self, x0):
            return None

        def update(self, gradient, state, *, x, value, evaluator):
            return -0.1 * gradient, state, "extra"

    with pytest.raises(OptimizationError) as failure:
        Optimizer(Sphere(), step_rule=Chatty()).run([1.0, 2.0])

    assert "Chatty.update returned a 3-element tuple" in str(failure.value)
    np.testing.assert_array_equal(failure.value.result.x, [1.0, 2.0])


def test_points_you_keep_are_never_reused():
    """The engine reuses an old point's buffer only when nobody else holds it."""
    kept, copies = [], []

    def keep(info):
        kept.append(info.x)
        copies.append(info.x.copy())

    Optimizer(Sphere(), step_rule=Adam(0.1), callbacks=[keep], max_steps=30).run(
        np.array([3.0, 2.0])
    )
    for held, copy in zip(kept, copies, strict=True):
        np.testing.assert_array_equal(held, copy)
    assert len({id(x) for x in kept}) == len(kept)


def test_a_long_run_reuses_its_buffers():
    """Without references kept, x is written into the array of the point before last.

    A weak reference does not keep a point alive: with recycling, the point of
    step k is the very array of step k - 2; without it, that array would have
    been freed (its weak reference dead) or be another object.
    """
    points, recycled = [], []

    class Watch(Callback):
        def on_step(self, info):
            if len(points) >= 2:
                recycled.append(points[-2]() is info.x)
            points.append(weakref.ref(info.x))

    Optimizer(
        Sphere(), step_rule=FixedStep(1e-3), callbacks=[Watch()], max_steps=50
    ).run(np.array([3.0, 2.0]))

    assert len(recycled) == 49
    assert sum(recycled) >= 45


@pytest.mark.parametrize("rule", [FixedStep(0.05), Adam(0.1), LBFGS()])
def test_records_you_keep_stay_those_of_their_step(rule):
    """A kept `StepInfo` and its `run_state` describe their own step, read only.

    The engine keeps a plain record per step and makes a frozen `RunState` of it
    only when asked; reusing the retired rule state and point buffers must never
    change what a kept record says.
    """
    infos, seen = [], []

    def keep(info):
        infos.append(info)
        seen.append((info.step, info.value, info.x.copy(), info.gradient_norm))

    result = Optimizer(Sphere(), step_rule=rule, callbacks=[keep], max_steps=25).run(
        np.array([3.0, -2.0])
    )

    assert len(infos) == result.steps + 1
    for info, (step, value, x, norm) in zip(infos, seen, strict=True):
        state = info.run_state
        assert isinstance(state, RunState)
        assert state is info.run_state  # made once
        assert (state.step, state.value, state.gradient_norm) == (step, value, norm)
        np.testing.assert_array_equal(state.x, x)
        assert info.start_value == infos[0].value
        with pytest.raises(AttributeError):
            info.x = x  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            state.step = 0  # type: ignore[misc]
    assert infos[-1].run_state == result.run_state
    # A kept rule state is never rewritten in place by later steps.
    if isinstance(rule, FixedStep | Adam):
        assert [i.run_state.rule_state.step for i in infos] == list(range(len(infos)))


@pytest.mark.parametrize(
    ("estimator", "per_point"), [(AnalyticGradient(), 1), (CentralDifference(), 5)]
)
def test_a_zero_step_costs_no_evaluation(estimator, per_point):
    """A warm-up from rate 0 leaves x where it is at its first step (the rule's
    state changes, so the run goes on): with a deterministic estimator that point's
    evaluation is the one already made, and the step reports the same value,
    gradient and error estimate. x_2 = 0.96 x_0, x_3 = 0.92 x_2 on the sphere."""
    seen = []
    result = Optimizer(
        Sphere(),
        step_rule=FixedStep(LinearWarmup(0.1, warmup_steps=5)),
        estimator=estimator,
        max_steps=3,
        callbacks=[
            lambda info: seen.append(
                (
                    info.evaluations,
                    info.value,
                    info.gradient.copy(),
                    info.gradient_error,
                )
            )
        ],
    ).run([3.0, 2.0])

    assert result.evaluations == 3 * per_point
    assert [evaluations for evaluations, *_ in seen] == [
        per_point,
        per_point,
        2 * per_point,
        3 * per_point,
    ]
    (_, value0, gradient0, error0), (_, value1, gradient1, error1) = seen[:2]
    assert value1 == value0
    np.testing.assert_array_equal(gradient1, gradient0)
    assert error1 == error0
    np.testing.assert_allclose(result.x, 0.92 * 0.96 * np.array([3.0, 2.0]))


def test_a_zero_step_with_a_random_estimator_draws_a_fresh_estimate():
    """SPSA's next estimate at the same point differs: it is drawn."""
    counts = []
    Optimizer(
        Sphere(),
        step_rule=FixedStep(LinearWarmup(0.1, warmup_steps=5)),
        estimator=SPSA(rng=0),
        max_steps=2,
        callbacks=[lambda info: counts.append(info.evaluations)],
    ).run([3.0, 2.0])

    assert counts == [3, 6, 9]


def test_a_zero_step_with_new_arguments_is_evaluated_with_them():
    """A step given its own arguments after a zero step evaluates the same point
    with those arguments: the evaluation already made was with others."""
    objective = FunctionObjective(
        lambda w, scale=1.0: scale * float(w @ w),
        gradient=lambda w, scale=1.0: 2.0 * scale * w,
    )
    run = Optimizer(
        objective, step_rule=FixedStep(LinearWarmup(0.1, warmup_steps=5))
    ).start(np.ones(2))
    first = run.step()
    second = run.step(3.0)

    np.testing.assert_array_equal(second.x, first.x)  # the zero step
    assert (first.value, second.value) == (2.0, 6.0)
    assert second.evaluations == 2

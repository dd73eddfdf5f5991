"""Work buffers: built-in rules step in the run's arrays, with the same bits."""

import copy
import pickle
import weakref

import attrs
import numpy as np
import pytest

from optim import (
    AdaGrad,
    Adam,
    AdamW,
    Callback,
    FixedStep,
    History,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    StopOnZeroGradient,
)
from optim.problems import Rosenbrock, Sphere
from optim.schedules import ExponentialDecay
from optim.step_rules import BUFFERED

RULES = [
    FixedStep(1e-3),
    FixedStep(ExponentialDecay(1e-3, 0.99)),
    FixedStep(1e-3, weight_decay=0.1),
    FixedStep(ExponentialDecay(1e-3, 0.99), weight_decay=0.1),
    Momentum(1e-3),
    Momentum(1e-3, weight_decay=0.1),
    Momentum(1e-3, dampening=0.5),
    Nesterov(1e-3, beta=0.8),
    Nesterov(1e-3, weight_decay=0.01),
    AdaGrad(1e-2),
    AdaGrad(1e-2, eps=0.0, initial_accumulator=0.1, weight_decay=0.1),
    AdaGrad(1e-2, eps_in_sqrt=True),
    RMSProp(1e-3),
    RMSProp(1e-3, centered=True, momentum=0.5, weight_decay=0.1),
    RMSProp(1e-3, eps_in_sqrt=True, momentum=0.9),
    Adam(1e-2),
    Adam(1e-2, amsgrad=True),
    Adam(1e-2, amsgrad=True, amsgrad_max="corrected"),
    Adam(1e-2, weight_decay=0.1),
    AdamW(1e-2),
    AdamW(1e-2, amsgrad=True),
]


def _unbuffered(rule):
    """The same rule as a subclass: the engine steps it by its public `update`."""
    cls = type(rule)
    plain = attrs.frozen(type(f"Plain{cls.__name__}", (cls,), {}))
    assert plain not in BUFFERED
    return plain(
        **{field.name: getattr(rule, field.name) for field in attrs.fields(cls)}
    )


def _arrays(state):
    """The arrays of a (nested) rule state, in field order."""
    if isinstance(state, np.ndarray):
        return [state]
    if attrs.has(type(state)):
        return [
            a
            for f in attrs.fields(type(state))
            for a in _arrays(getattr(state, f.name))
        ]
    return []


@pytest.mark.parametrize("rule", RULES, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ulps", [0, 1, 3])
def test_buffered_steps_equal_the_public_update_bit_for_bit(rule, dtype, ulps):
    x0 = np.array([-1.2, 1.0, 0.5, 2.0], dtype=dtype)
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    runs = [
        Optimizer(Rosenbrock(4), step_rule=r, max_steps=200).run(x0)
        for r in (rule, _unbuffered(rule))
    ]
    buffered, plain = runs
    assert type(rule) in BUFFERED
    assert (buffered.status, buffered.steps) == (plain.status, plain.steps)
    np.testing.assert_array_equal(buffered.x, plain.x, strict=True)
    for ours, theirs in zip(
        _arrays(buffered.run_state.rule_state),
        _arrays(plain.run_state.rule_state),
        strict=True,
    ):
        np.testing.assert_array_equal(ours, theirs, strict=True)


@pytest.mark.parametrize("rule", [FixedStep(0.1), Momentum(0.1), Adam(0.1)], ids=repr)
def test_a_scalar_point_steps_the_same(rule):
    runs = [
        Optimizer(Sphere(), step_rule=r, max_steps=30).run(np.array(0.7))
        for r in (rule, _unbuffered(rule))
    ]
    assert runs[0].x.shape == ()
    np.testing.assert_array_equal(runs[0].x, runs[1].x, strict=True)


@pytest.mark.parametrize(
    "rule",
    [Momentum(1e-3), Nesterov(1e-3), AdaGrad(1e-3), RMSProp(1e-3), Adam(1e-3)],
    ids=repr,
)
def test_a_long_run_writes_its_state_into_the_state_before_last(rule):
    """A weak reference does not keep an array alive: a recycled state array of
    step k is the very array of step k - 2 (else it would be dead or another)."""
    seen, recycled = [], []

    class Watch(Callback):
        def on_step(self, info):
            arrays = _arrays(info.run_state.rule_state)[:2]
            if len(seen) >= 2:
                recycled.extend(
                    old() is new for old, new in zip(seen[-2], arrays, strict=True)
                )
            seen.append([weakref.ref(a) for a in arrays])

    Optimizer(Sphere(), step_rule=rule, callbacks=[Watch()], max_steps=40).run(
        np.linspace(1.0, 2.0, 50)
    )
    assert len(recycled) >= 38
    assert sum(recycled) >= len(recycled) - 4  # the first steps share the zeros


@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_states_you_keep_are_never_overwritten(rule):
    kept, copies = [], []

    def keep(info):
        kept.append(info.run_state.rule_state)
        copies.append(copy.deepcopy(info.run_state.rule_state))

    Optimizer(Sphere(), step_rule=rule, callbacks=[keep], max_steps=20).run(
        np.linspace(1.0, 2.0, 5)
    )
    for held, snapshot in zip(kept, copies, strict=True):
        for ours, theirs in zip(_arrays(held), _arrays(snapshot), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_history_keeps_scalar_points():
    history = History()
    Optimizer(
        Sphere(), step_rule=FixedStep(0.25), callbacks=[history], max_steps=2
    ).run(np.array(2.0))
    np.testing.assert_array_equal(history.x, [2.0, 1.0, 0.5])


@pytest.mark.parametrize("rule", [AdaGrad(0.1, eps=0.0), RMSProp(0.1)], ids=repr)
def test_a_coordinate_that_never_moves_steps_the_same(rule):
    """A zero gradient coordinate: AdaGrad's guarded 0/0 gives 0 both ways."""
    x0 = np.array([0.0, 1.0, -2.0])
    runs = [
        Optimizer(Sphere(), step_rule=r, max_steps=30).run(x0)
        for r in (rule, _unbuffered(rule))
    ]
    assert runs[0].x[0] == 0.0
    np.testing.assert_array_equal(runs[0].x, runs[1].x, strict=True)


def test_history_reuses_its_block_and_pickles_only_what_it_recorded():
    history = History()
    optimizer = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.25),
        callbacks=[history, StopOnZeroGradient(1e-3)],
        max_steps=10_000,
    )
    optimizer.run(np.array([2.0, 1.0]))
    first = history.x
    result = optimizer.run(np.array([2.0, 1.0]) / 1024)
    np.testing.assert_array_equal(history.x, first[: result.steps + 1] / 1024)
    assert len(first) == 14  # the first record's copy is intact
    restored = pickle.loads(pickle.dumps(history))
    np.testing.assert_array_equal(restored.x, history.x)
    assert len(pickle.dumps(history)) < 4_000  # not the 10,001 rows made
    assert len(restored) == len(history) == result.steps + 1


@pytest.mark.parametrize("rate", [1e-17, 1.1e-16, 1e-15, 1e-3, 0.5, 1e150])
@pytest.mark.parametrize("ulps", [0, 2, 5])
def test_fixed_step_ends_as_the_public_update_does(rate, ulps):
    """The engine's estimate of a FixedStep's size decides only what it clearly can:
    precision limits, divergence and convergence end the same way."""
    x0 = np.array([1.0, -3.0, 1e-300])
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    rule = FixedStep(rate)
    runs = [
        Optimizer(Sphere(), step_rule=r, max_steps=300, max_growth=None).run(x0)
        for r in (rule, _unbuffered(rule))
    ]
    ours, theirs = runs
    assert (ours.status, ours.steps, ours.message) == (
        theirs.status,
        theirs.steps,
        theirs.message.replace("PlainFixedStep", "FixedStep"),
    )
    np.testing.assert_array_equal(ours.x, theirs.x, strict=True)

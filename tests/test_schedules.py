import math

import pytest

from optim import Adam, FixedStep, Optimizer, Schedule
from optim.problems import Sphere
from optim.schedules import (
    ConstantSchedule,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    JoinSchedules,
    LinearWarmup,
    StepDecay,
    learning_rate_at,
)


def test_constant():
    """A constant schedule returns its value at every step."""
    assert [ConstantSchedule(0.3)(t) for t in (0, 1, 10**6)] == [0.3] * 3


def test_step_decay_closed_form():
    """StepDecay multiplies by factor every step_size steps."""
    schedule = StepDecay(2.0, step_size=3, factor=0.5)
    assert [schedule(t) for t in range(7)] == [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5]


def test_exponential_decay_closed_form():
    """ExponentialDecay is initial * rate ** (t / decay_steps)."""
    schedule = ExponentialDecay(0.1, 0.5, decay_steps=10)
    for t in (0, 5, 10, 23):
        assert schedule(t) == pytest.approx(0.1 * 0.5 ** (t / 10), rel=1e-15)


def test_inverse_time_decay_closed_form():
    """InverseTimeDecay is initial / (1 + k t / s)."""
    schedule = InverseTimeDecay(1.0, 0.5, decay_steps=2)
    assert [schedule(t) for t in (0, 2, 4, 6)] == pytest.approx([1.0, 2 / 3, 0.5, 0.4])


def test_cosine_decay_closed_form():
    """Cosine decay follows final + (initial - final)(1 + cos(pi t / T)) / 2."""
    schedule = CosineDecay(1.0, decay_steps=8, final=0.2)
    for t in range(12):
        progress = min(t, 8) / 8
        expected = 0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * progress))
        assert schedule(t) == pytest.approx(expected, abs=1e-15)
    assert schedule(8) == pytest.approx(0.2)


def test_linear_warmup():
    """Warm-up ramps from start to peak, then holds."""
    schedule = LinearWarmup(0.4, warmup_steps=4, start=0.2)
    assert [schedule(t) for t in range(6)] == pytest.approx(
        [0.2, 0.25, 0.3, 0.35, 0.4, 0.4]
    )


def test_join_restarts_each_schedule_at_its_boundary():
    """JoinSchedules calls schedule i with t - boundary_i."""
    schedule = JoinSchedules(
        (ConstantSchedule(1.0), ExponentialDecay(0.5, 0.5), ConstantSchedule(0.01)),
        boundaries=(2, 5),
    )
    assert [schedule(t) for t in range(7)] == pytest.approx(
        [1.0, 1.0, 0.5, 0.25, 0.125, 0.01, 0.01]
    )


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: ConstantSchedule(0.0), "value"),
        (lambda: StepDecay(1.0, step_size=0), "step_size"),
        (lambda: ExponentialDecay(1.0, -0.5), "decay_rate"),
        (lambda: InverseTimeDecay(-1.0, 0.5), "initial"),
        (lambda: CosineDecay(1.0, decay_steps=10, final=-1.0), "final"),
        (lambda: LinearWarmup(1.0, warmup_steps=0), "warmup_steps"),
        (lambda: JoinSchedules((), boundaries=()), "schedules"),
        (
            lambda: JoinSchedules(
                (ConstantSchedule(1.0), ConstantSchedule(2.0)), boundaries=()
            ),
            "boundaries",
        ),
        (
            lambda: JoinSchedules((ConstantSchedule(1.0),) * 3, boundaries=(5, 5)),
            "boundaries",
        ),
    ],
)
def test_invalid_schedules(factory, match):
    """Invalid schedule parameters raise errors naming the field."""
    with pytest.raises(ValueError, match=match):
        factory()


def test_learning_rate_at_rejects_bad_schedule_values():
    """A user schedule returning a negative or NaN rate is reported."""

    class Bad(Schedule):
        def __call__(self, step):
            return -1.0 if step else math.nan

    with pytest.raises(ValueError, match="learning_rate"):
        learning_rate_at(Bad(), 0)
    with pytest.raises(ValueError, match="learning_rate"):
        learning_rate_at(Bad(), 3)


def test_schedule_drives_fixed_step_run():
    """FixedStep with a step schedule moves exactly as the schedule says."""
    # On the sphere each step multiplies x by (1 - 2 eta_t).
    schedule = StepDecay(0.25, step_size=2, factor=0.5)
    result = Optimizer(Sphere(1), step_rule=FixedStep(schedule), max_steps=4).run([1.0])
    expected = (1 - 0.5) ** 2 * (1 - 0.25) ** 2
    assert result.x[0] == pytest.approx(expected, rel=1e-15)


def test_warmup_then_cosine_with_adam():
    """A joined warm-up + cosine schedule plugs into Adam and converges."""
    schedule = JoinSchedules(
        (LinearWarmup(0.3, warmup_steps=10), CosineDecay(0.3, decay_steps=300)),
        boundaries=(10,),
    )
    result = Optimizer(Sphere(), step_rule=Adam(schedule), max_steps=310).run(
        [-3.0, 4.0]
    )
    assert result.value < 1e-6

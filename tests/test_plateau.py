"""PlateauDecay: torch's ReduceLROnPlateau as a schedule driven by a callback."""

import math

import numpy as np
import pytest

from optim import FixedStep, Optimizer
from optim.fingerprint import fingerprint
from optim.plateau import PlateauDecay
from optim.problems import Sphere
from optim.schedules import JoinSchedules, LinearWarmup


def torch_plateau(
    lr,
    metrics,
    *,
    mode="min",
    factor=0.1,
    patience=10,
    threshold=1e-4,
    threshold_mode="rel",
    cooldown=0,
    min_lr=0.0,
    eps=1e-8,
):
    """torch.optim.lr_scheduler.ReduceLROnPlateau.step, transcribed: the rates."""
    best = math.inf if mode == "min" else -math.inf
    bad = cooldown_counter = 0
    rates = []
    for current in metrics:
        if mode == "min" and threshold_mode == "rel":
            better = current < best * (1.0 - threshold)
        elif mode == "min":
            better = current < best - threshold
        elif threshold_mode == "rel":
            better = current > best * (threshold + 1.0)
        else:
            better = current > best + threshold
        if better:
            best, bad = current, 0
        else:
            bad += 1
        if cooldown_counter > 0:
            cooldown_counter -= 1
            bad = 0
        if bad > patience:
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps:
                lr = new_lr
            cooldown_counter, bad = cooldown, 0
        rates.append(lr)
    return rates


RNG = np.random.default_rng(3)
METRICS = list(np.round(np.cumsum(RNG.normal(0.0, 1.0, 200)) / 10, 2) + 20.0)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"patience": 2, "factor": 0.5},
        {"mode": "max", "patience": 1},
        {"threshold_mode": "abs", "threshold": 0.05, "patience": 3},
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.02},
        {"cooldown": 4, "patience": 0, "factor": 0.7, "min_lr": 0.01},
        {"patience": 0, "factor": 0.9, "eps": 1e-3},
    ],
)
def test_rates_follow_torchs_rule(options):
    ours_options = dict(options)
    if "min_lr" in ours_options:
        ours_options["final"] = ours_options.pop("min_lr")
    plateau = PlateauDecay(0.1, **ours_options)
    rates = []
    for metric in METRICS:
        plateau.observe(metric)
        rates.append(plateau(len(rates)))
    expected = torch_plateau(0.1, METRICS, **options)
    assert rates == expected
    assert len(set(expected)) > 1  # the rate was cut at least once


def test_a_run_drives_it_through_the_callback():
    plateau = PlateauDecay(1.1, patience=1, factor=0.5)
    seen = []
    result = Optimizer(
        Sphere(),
        step_rule=FixedStep(plateau),
        callbacks=[plateau, lambda info: seen.append(info.value)],
        max_steps=30,
    ).run([3.0, 2.0])
    # The rate used at step k is the one after observing steps 1 .. k.
    rates = torch_plateau(1.1, seen[1:], patience=1, factor=0.5)
    assert plateau(0) == rates[-1] < 1.1
    assert result.value < seen[0]
    # A second run starts afresh.
    Optimizer(
        Sphere(), step_rule=FixedStep(plateau), callbacks=[plateau], max_steps=0
    ).run([3.0, 2.0])
    assert plateau(0) == 1.1


def test_every_and_monitor():
    plateau = PlateauDecay(
        0.1, patience=0, every=5, monitor=lambda info: float(info.x[0] ** 2)
    )
    observed = []
    original = plateau.observe

    def record(metric):
        observed.append(metric)
        original(metric)

    plateau.observe = record
    Optimizer(
        Sphere(), step_rule=FixedStep(plateau), callbacks=[plateau], max_steps=20
    ).run([3.0, 2.0])
    assert len(observed) == 4


def test_it_composes_after_a_warm_up_and_keeps_its_fingerprint():
    plateau = PlateauDecay(0.1, patience=0)
    schedule = JoinSchedules(
        (LinearWarmup(0.1, warmup_steps=5), plateau), boundaries=(5,)
    )
    before = fingerprint(Optimizer(Sphere(), step_rule=FixedStep(schedule)))
    for metric in [3.0, 3.0, 3.0]:
        plateau.observe(metric)
    assert schedule(2) == pytest.approx(0.04)
    assert schedule(7) == pytest.approx(0.001)  # cut after the 2nd and 3rd
    assert fingerprint(Optimizer(Sphere(), step_rule=FixedStep(schedule))) == before


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"factor": 1.0}, "factor"),
        ({"factor": 0.0}, "factor"),
        ({"mode": "minimum"}, "mode"),
        ({"threshold_mode": "relative"}, "threshold_mode"),
        ({"patience": -1}, "patience"),
        ({"final": 1.0}, "final"),
    ],
)
def test_bad_options_are_refused_by_name(options, field):
    with pytest.raises(ValueError, match=field):
        PlateauDecay(0.1, **options)

"""The engine's hot path: what it skips must change nothing a user can see.

Where every built-in test would say "go on" the engine does not ask them
(`Hooks.quiet`), and when nothing else was shown a step's record it rewrites that
record in place. These tests run the same problems with the shortcut and without
it (a region that is never silent) and compare everything: status, message,
steps, evaluations and the iterates to the last bit, from starts a few ulps apart.
"""

import math

import numpy as np
import pytest

from optim import (
    LBFGS,
    Adam,
    Bounds,
    CentralDifference,
    FixedStep,
    Mode,
    Optimizer,
    StopOnZeroGradient,
)
from optim import hooks as hooks_module
from optim.problems import Rosenbrock, Sphere


def _never_silent(monkeypatch):
    """Make every run ask every hook at every step (the engine before the shortcut)."""
    split = hooks_module.Quiet.split

    def loud(callbacks):
        callbacks = tuple(callbacks)
        split(callbacks)  # still validated the same way
        return hooks_module.Quiet(gradient_norm=math.inf), callbacks

    monkeypatch.setattr(hooks_module.Quiet, "split", staticmethod(loud))


def _concave(x):
    return -float(np.dot(x - 1.0, x - 1.0))


CASES = {
    # name: (optimizer keywords, start)
    "max_steps": (
        dict(objective=Sphere(), step_rule=FixedStep(0.01), max_steps=25),
        [1.0, -2.0],
    ),
    "converged": (
        dict(
            objective=Sphere(),
            step_rule=FixedStep(0.2),
            callbacks=[StopOnZeroGradient(1e-6)],
        ),
        [1.0, -2.0, 0.5],
    ),
    "zero_gradient": (dict(objective=Sphere(), step_rule=FixedStep(0.5)), [3.0, 2.0]),
    "max_evaluations": (
        dict(
            objective=Sphere(),
            step_rule=FixedStep(0.01),
            estimator=CentralDifference(),
            max_evaluations=37,
        ),
        [1.0, 2.0],
    ),
    "diverged": (dict(objective=Sphere(), step_rule=FixedStep(10.0)), [-3.0, 4.0]),
    "ascent": (
        dict(
            objective=_concave,
            step_rule=Adam(0.05),
            mode=Mode.ASCENT,
            callbacks=[StopOnZeroGradient(1e-4)],
            max_steps=2000,
        ),
        [0.0, 3.0],
    ),
    "lbfgs": (
        dict(
            objective=Rosenbrock(),
            step_rule=LBFGS(),
            callbacks=[StopOnZeroGradient(1e-8)],
        ),
        [-1.2, 1.0],
    ),
    "lbfgs_infinity_norm": (
        dict(
            objective=Rosenbrock(),
            step_rule=LBFGS(),
            callbacks=[StopOnZeroGradient(1e-8, norm=np.inf)],
        ),
        [-1.2, 1.0],
    ),
    "one_norm": (
        dict(
            objective=Sphere(),
            step_rule=FixedStep(0.2),
            callbacks=[StopOnZeroGradient(1e-6, norm=1)],
        ),
        [1.0, -2.0, 0.5],
    ),
    "box_infinity_norm": (
        dict(
            objective=Rosenbrock(),
            step_rule=LBFGS(),
            constraint=Bounds([-2.0, 1.5], [2.0, 3.0]),
            # far above the precision floor at the bound (about 5e-6): the
            # test itself ends the run, not a confirmed stall
            callbacks=[StopOnZeroGradient(1e-4, norm=np.inf)],
        ),
        [-1.2, 2.0],
    ),
    "ascent_infinity_norm": (
        dict(
            objective=_concave,
            step_rule=Adam(0.05),
            mode=Mode.ASCENT,
            callbacks=[StopOnZeroGradient(1e-4, norm=np.inf)],
            max_steps=2000,
        ),
        [0.0, 3.0],
    ),
    "loud_callback": (
        dict(
            objective=Sphere(),
            step_rule=FixedStep(0.1),
            callbacks=[lambda info: None, StopOnZeroGradient(1e-3)],
        ),
        [1.0, 2.0],
    ),
}


def _outcome(result):
    return (
        result.status,
        result.message,
        result.steps,
        result.evaluations,
        result.gradient_evaluations,
        result.x.tobytes(),
        result.best_x.tobytes(),
        result.value,
    )


@pytest.mark.parametrize("ulps", [0, 1, 4])
@pytest.mark.parametrize("case", sorted(CASES))
def test_skipping_silent_tests_changes_nothing(case, ulps, monkeypatch):
    keywords, start = CASES[case]
    x0 = np.array(start, dtype=float)
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    fast = _outcome(Optimizer(**keywords).run(x0))
    _never_silent(monkeypatch)
    slow = _outcome(Optimizer(**keywords).run(x0))
    assert fast == slow


def test_the_cases_end_as_named():
    """The cases above reach the endings they are named for (else they test less)."""
    statuses = {
        name: Optimizer(**keywords).run(start).status.name
        for name, (keywords, start) in CASES.items()
    }
    assert statuses["max_steps"] == "MAX_STEPS"
    assert statuses["converged"] == "CONVERGED"
    assert statuses["zero_gradient"] == "CONVERGED"
    assert statuses["max_evaluations"] == "MAX_EVALUATIONS"
    assert statuses["diverged"] == "DIVERGED"
    assert statuses["ascent"] == "CONVERGED"
    assert statuses["lbfgs"] == "CONVERGED"
    for name in ("lbfgs_infinity_norm", "one_norm", "ascent_infinity_norm"):
        assert statuses[name] == "CONVERGED"
    assert statuses["box_infinity_norm"] == "CONVERGED"


def test_records_you_keep_never_change():
    """`iterate` hands out each step's record: later steps never rewrite it."""
    optimizer = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=30)
    kept, snapshots = [], []
    for info in optimizer.iterate(np.linspace(1.0, 2.0, 4)):
        kept.append(info)
        snapshots.append(
            (info.step, info.value, info.x.copy(), info.gradient_norm, info.evaluations)
        )
    assert len(kept) == 31
    for info, (step, value, x, norm, evaluations) in zip(kept, snapshots, strict=True):
        assert (info.step, info.value, info.gradient_norm) == (step, value, norm)
        assert info.evaluations == evaluations
        np.testing.assert_array_equal(info.x, x)


def test_a_run_nobody_watches_rewrites_its_record_in_place():
    """The shortcut is taken (else the per-step benchmark measures the slow path)."""
    engine = Optimizer(Sphere(), step_rule=FixedStep(1e-3))._engine(
        np.ones(3), max_steps=10
    )
    engine.advance()
    engine.advance()
    first = id(engine.state)
    engine.advance()
    assert id(engine.state) == first


@pytest.mark.parametrize("size", [1, 2, 3, 10, 1000, 100_000])
def test_a_record_above_the_floor_has_every_norm_above_its_tol(size):
    """`Quiet.gradient_floor`: above it, the computed 1- and infinity norms are
    above their tests' `tol`, also for the gradient that is tightest for each (all
    components equal: its infinity norm is its 2-norm over sqrt(n); one
    component: its 1-norm is its 2-norm), scaled to just above the floor."""
    tol = 1e-6
    quiet = hooks_module.Quiet(infinity_norm=tol, one_norm=tol)
    floor = quiet.gradient_floor(size)
    rng = np.random.default_rng(size)
    single = np.zeros(size)
    single[0] = 1.0
    for g in (np.ones(size), single, rng.normal(size=size)):
        norm = math.sqrt(float(np.vdot(g, g)))
        g = g * (np.nextafter(floor, np.inf) / norm)
        for _ in range(4):  # the computed norm just above the floor
            if math.sqrt(float(np.vdot(g, g))) > floor:
                break
            g = g * (1.0 + 1e-15)
        assert math.sqrt(float(np.vdot(g, g))) > floor
        assert float(np.max(np.abs(g))) > tol
        assert float(np.linalg.norm(g, ord=1)) > tol
    # and it is the floor: the infinity test's sqrt(n) * tol, the 1-norm's tol
    assert floor == pytest.approx(max(1.0, math.sqrt(size)) * tol, rel=1e-9)

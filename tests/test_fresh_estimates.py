"""Line searches fed random estimators never freeze (issue "Stopping that is honest
and useful", item 5).

After a failed search, a rule fed a random estimator restarts from steepest descent
along a fresh estimate, with its memory cleared, instead of staying put while
every step pays for a new gradient. A deterministic estimator's rule still stays
put (every search would fail again).
"""

import numpy as np
import pytest

from optim import (
    LBFGS,
    SPSA,
    Bounds,
    ConjugateGradient,
    FunctionObjective,
    Optimizer,
    Status,
)
from optim.constrained import CompactForm, box_direction
from optim.directions import LBFGSDirectionState
from optim.problems import Rosenbrock

_X = np.array([1.0, 1.0])


class _Scripted:
    """A trial evaluator for f(x) = x @ x whose estimates at `_X` are scripted.

    Elsewhere it answers the exact gradient. `random` says whether it has a
    random stream (as the run's evaluator has for a random estimator).
    """

    constraint = None

    def __init__(self, estimates, *, random):
        self.rng = np.random.default_rng(0) if random else None
        self.estimates = [np.asarray(e, dtype=float) for e in estimates]
        self.draws = 0

    def value(self, x):
        return float(x @ x)

    def value_and_gradient(self, x):
        if np.array_equal(x, _X) and self.estimates:
            self.draws += 1
            return self.value(x), self.estimates.pop(0)
        return self.value(x), 2.0 * x


@pytest.mark.parametrize("rule", [LBFGS(), ConjugateGradient()], ids=["LBFGS", "CG"])
def test_failed_search_draws_a_fresh_estimate_and_moves(rule):
    """A wrong-signed estimate fails every search; a fresh one moves x at once."""
    evaluator = _Scripted([[2.0, 2.0]], random=True)
    state = rule.init(_X)

    delta, new_state = rule.update(
        np.array([-2.0, -2.0]), state, x=_X, value=2.0, evaluator=evaluator
    )

    assert evaluator.draws == 1
    assert float((_X + delta) @ (_X + delta)) < 2.0
    assert not new_state.stalled
    np.testing.assert_array_equal(new_state.previous_gradient, [2.0, 2.0])
    if isinstance(new_state.direction_state, LBFGSDirectionState):
        assert new_state.direction_state.count == 0  # memory cleared


def test_deterministic_estimator_stays_put_after_a_failed_search():
    """Without a random stream no fresh estimate is drawn: the rule stays put."""
    evaluator = _Scripted([], random=False)
    rule = LBFGS()

    delta, new_state = rule.update(
        np.array([-2.0, -2.0]), rule.init(_X), x=_X, value=2.0, evaluator=evaluator
    )

    np.testing.assert_array_equal(delta, [0.0, 0.0])
    assert new_state.stalled
    again, same_state = rule.update(
        np.array([-2.0, -2.0]), new_state, x=_X, value=2.0, evaluator=evaluator
    )
    np.testing.assert_array_equal(again, [0.0, 0.0])
    assert same_state is new_state


def test_a_new_gradient_at_a_stalled_point_restarts_from_steepest_descent():
    """A stalled rule handed a different gradient at the same point searches again."""
    evaluator = _Scripted([], random=False)
    rule = LBFGS()
    _, stalled = rule.update(
        np.array([-2.0, -2.0]), rule.init(_X), x=_X, value=2.0, evaluator=evaluator
    )
    assert stalled.stalled

    delta, state = rule.update(
        np.array([2.0, 2.0]), stalled, x=_X, value=2.0, evaluator=evaluator
    )

    assert float((_X + delta) @ (_X + delta)) < 2.0
    assert not state.stalled


def _longest_freeze(optimizer, x0):
    """The run's result, and its longest run of steps that left x unchanged while
    evaluations went on."""
    longest = current = 0
    previous = None
    iterator = optimizer.iterate(x0)
    while True:
        try:
            info = next(iterator)
        except StopIteration as end:
            return end.value, longest
        x, evaluations = np.array(info.x), info.evaluations
        if previous is not None and np.array_equal(x, previous[0]):
            current = current + 1 if evaluations > previous[1] else 0
        else:
            current = 0
        longest = max(longest, current)
        previous = (x, evaluations)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(
    "make_rule", [LBFGS, ConjugateGradient], ids=["LBFGS", "ConjugateGradient"]
)
def test_spsa_runs_never_freeze(make_rule, seed):
    """SPSA with a line search on Rosenbrock: x is never stuck for over 10 steps."""
    optimizer = Optimizer(
        Rosenbrock(),
        step_rule=make_rule(),
        estimator=SPSA(rng=seed),
        max_steps=300,
    )

    result, longest = _longest_freeze(optimizer, [-1.2, 1.0])

    assert longest <= 10
    assert result.value < Rosenbrock().value(np.array([-1.2, 1.0]))
    assert "learning rate" not in result.message


def test_wrong_gradient_still_ends_a_deterministic_run():
    """The stall of a deterministic run with a wrong gradient still ends it early."""
    wrong = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: -2.0 * x)

    result = Optimizer(wrong, step_rule=ConjugateGradient(), max_steps=50).run(_X)

    np.testing.assert_array_equal(result.x, _X)
    assert result.steps < 5
    assert result.diagnosis == "gradient_mismatch"


def test_box_direction_survives_a_singular_compact_form():
    """Pairs of noisy estimates may make L-BFGS-B's middle matrix singular."""
    s = np.array([1.0, -1.0])
    y = np.array([1.0, -1.0])
    steps, changes = np.stack([s, 1e-17 * s]), np.stack([y, y])
    state = LBFGSDirectionState(
        steps=steps,
        gradient_changes=changes,
        inverse=np.linalg.pinv(np.triu(steps @ changes.T)),  # R^-1, as stored
        count=2,
    )
    with pytest.raises(np.linalg.LinAlgError):
        CompactForm.of(state, 2)
    lower, upper = -np.ones(2), np.ones(2)
    g = np.array([4.0, -0.5])

    direction = box_direction(np.zeros(2), g, lower, upper, state)

    np.testing.assert_array_equal(direction, np.clip(-g, lower, upper))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "make_rule", [LBFGS, ConjugateGradient], ids=["LBFGS", "ConjugateGradient"]
)
def test_spsa_runs_in_a_box_reach_the_bound(make_rule, seed):
    """SPSA in a box: runs go on to near the constrained optimum (f = 0.25).

    Before fresh estimates were drawn, most box L-BFGS runs froze at the start.
    """
    box = Bounds([-np.inf, -np.inf], [0.5, np.inf])
    optimizer = Optimizer(
        Rosenbrock(),
        step_rule=make_rule(),
        estimator=SPSA(rng=seed),
        constraint=box,
        max_steps=300,
    )

    result = optimizer.run([-1.2, 1.0])

    assert result.status is not Status.FAILED
    assert result.best_value < 1.0

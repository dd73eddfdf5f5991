"""LBFGS with Bounds against scipy's L-BFGS-B on bounded problems (issue 13, item 1).

Every problem's box is written down here. Both solvers get the analytic gradient
and the same stopping rules: scipy's `gtol` (infinity norm of the projected
gradient, our `StopOnZeroGradient(GTOL, norm=inf)`) and `ftol` (relative
reduction of the objective, `_RelativeReduction` below). Run this file as a
script to print the table of docs/bounds.md.
"""

import math
import statistics

import numpy as np
import pytest
import scipy.optimize

from optim import LBFGS, Bounds, Callback, FunctionObjective, Optimizer, Stop
from optim import StopOnZeroGradient as _StopOnZeroGradient
from optim.problems import (
    Beale,
    Booth,
    Himmelblau,
    LogisticRegression,
    Quadratic,
    Rosenbrock,
    Sphere,
)
from optim.result import Status

GTOL = 1e-9
FTOL = 1e-13


class _RelativeReduction(Callback):
    """scipy's `ftol` test.

    Stop once (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol.
    """

    def __init__(self, ftol):
        self.ftol = ftol
        self.previous = None

    def on_start(self, context, x0):
        self.previous = None

    def on_step(self, info):
        previous, self.previous = self.previous, info.value
        if previous is None:
            return None
        scale = max(abs(previous), abs(info.value), 1.0)
        if (previous - info.value) / scale <= self.ftol:
            return Stop(Status.CONVERGED, f"relative reduction <= {self.ftol}")
        return None


def _quadratic(matrix, center):
    def value(x):
        d = x - center
        return 0.5 * float(d @ matrix @ d)

    def gradient(x):
        return matrix @ (x - center)

    return FunctionObjective(value, gradient)


def _least_squares(a, b):
    return FunctionObjective(
        lambda x: 0.5 * float(np.sum((a @ x - b) ** 2)),
        lambda x: a.T @ (a @ x - b),
    )


def _hs3():  # Hock-Schittkowski 3: x2 >= 0
    return FunctionObjective(
        lambda x: x[1] + 1e-5 * (x[1] - x[0]) ** 2,
        lambda x: np.array([-2e-5 * (x[1] - x[0]), 1.0 + 2e-5 * (x[1] - x[0])]),
    )


def _hs4():  # Hock-Schittkowski 4: x1 >= 1, x2 >= 0
    return FunctionObjective(
        lambda x: (x[0] + 1.0) ** 3 / 3.0 + x[1],
        lambda x: np.array([(x[0] + 1.0) ** 2, 1.0]),
    )


def _hs5():  # Hock-Schittkowski 5: -1.5 <= x1 <= 4, -3 <= x2 <= 3
    def value(x):
        return math.sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1] + 1

    def gradient(x):
        c = math.cos(x[0] + x[1])
        return np.array([c + 2 * (x[0] - x[1]) - 1.5, c - 2 * (x[0] - x[1]) + 2.5])

    return FunctionObjective(value, gradient)


def _hs45():  # Hock-Schittkowski 45: 0 <= x_i <= i
    def value(x):
        return 2.0 - float(np.prod(x)) / 120.0

    def gradient(x):
        return np.array(
            [-float(np.prod(np.delete(x, i))) / 120.0 for i in range(x.size)]
        )

    return FunctionObjective(value, gradient)


def _hs110():  # Hock-Schittkowski 110: 2.001 <= x_i <= 9.999
    def value(x):
        logs = np.log(x - 2.0) ** 2 + np.log(10.0 - x) ** 2
        return float(np.sum(logs) - np.prod(x) ** 0.2)

    def gradient(x):
        product = np.prod(x)
        return (
            2.0 * np.log(x - 2.0) / (x - 2.0)
            - 2.0 * np.log(10.0 - x) / (10.0 - x)
            - 0.2 * product**0.2 / x
        )

    return FunctionObjective(value, gradient)


def _problems():
    """(name, objective, x0, lower, upper): the bounded problem set."""
    rng = np.random.default_rng(13)
    spd = rng.standard_normal((30, 30))
    spd = spd @ spd.T / 30 + 0.1 * np.eye(30)
    nnls_a, nnls_b = rng.standard_normal((50, 20)), rng.standard_normal(50)
    box_a, box_b = rng.standard_normal((30, 10)), rng.standard_normal(30)
    features = rng.standard_normal((200, 5))
    labels = features @ np.array([3.0, -2.0, 1.0, 0.5, 0.0]) + rng.normal(size=200) > 0
    half = np.r_[np.full(5, 0.5), np.full(5, np.inf)]
    return [
        ("Rosenbrock 2-d, x1 <= 0.5", Rosenbrock(), [-1.2, 1.0], -2.0, [0.5, 2.0]),
        ("Rosenbrock 10-d in [-1.5, 0.8]", Rosenbrock(10), [-1.0] * 10, -1.5, 0.8),
        ("Rosenbrock 10-d, x1..5 <= 0.5", Rosenbrock(10), [2.0] * 10, -np.inf, half),
        ("Rosenbrock 4-d in [1.5, 3]", Rosenbrock(4), [2.5] * 4, 1.5, 3.0),
        ("Sphere 6-d in [1, 2]", Sphere(6), np.linspace(-3, 3, 6), 1.0, 2.0),
        (
            "Quadratic 10-d (cond. 100) in [0.1, 2]",
            Quadratic(dimension=10, condition_number=100.0),
            [1.0] * 10,
            0.1,
            2.0,
        ),
        ("Beale, x2 <= 0.4", Beale(), [1.0, 1.0], -4.5, [4.5, 0.4]),
        ("Booth, x1 <= 0.5", Booth(), [0.0, 0.0], -10.0, [0.5, 10.0]),
        (
            "Himmelblau in [0, 2.5] x [0, 1.5]",
            Himmelblau(),
            [0.0, 0.0],
            0.0,
            [2.5, 1.5],
        ),
        (
            "random SPD quadratic 30-d in [-0.2, 0.3]",
            _quadratic(spd, rng.standard_normal(30)),
            np.zeros(30),
            -0.2,
            0.3,
        ),
        (
            "non-negative least squares 50x20",
            _least_squares(nnls_a, nnls_b),
            np.ones(20),
            0.0,
            np.inf,
        ),
        (
            "least squares 30x10 in [-0.1, 0.1]",
            _least_squares(box_a, box_b),
            np.zeros(10),
            -0.1,
            0.1,
        ),
        (
            "logistic regression, w in [-0.5, 0.5]",
            LogisticRegression(features, labels, l2=0.01),
            np.zeros(6),
            -0.5,
            0.5,
        ),
        ("HS3: x2 >= 0", _hs3(), [10.0, 1.0], [-np.inf, 0.0], np.inf),
        ("HS4: x1 >= 1, x2 >= 0", _hs4(), [1.125, 0.125], [1.0, 0.0], np.inf),
        ("HS5 in [-1.5, 4] x [-3, 3]", _hs5(), [0.0, 0.0], [-1.5, -3.0], [4.0, 3.0]),
        ("HS45: 0 <= x_i <= i", _hs45(), [2.0] * 5, 0.0, np.arange(1.0, 6.0)),
        ("HS110 in [2.001, 9.999]", _hs110(), [9.0] * 10, 2.001, 9.999),
    ]


PROBLEMS = _problems()


def _ours(objective, x0, lower, upper):
    optimizer = Optimizer(
        objective,
        step_rule=LBFGS(),
        constraint=Bounds(lower, upper),
        callbacks=[_StopOnZeroGradient(GTOL, norm=np.inf), _RelativeReduction(FTOL)],
        max_steps=15000,
    )
    return optimizer.run(np.asarray(x0, dtype=float))


def _scipy(objective, x0, lower, upper):
    x0 = np.asarray(x0, dtype=float)
    lower, upper = np.broadcast_to(lower, x0.shape), np.broadcast_to(upper, x0.shape)
    return scipy.optimize.minimize(
        objective.value_and_gradient,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=scipy.optimize.Bounds(lower, upper),
        options={"gtol": GTOL, "ftol": FTOL, "maxiter": 15000},
    )


def _compare(problem):
    name, objective, x0, lower, upper = problem
    ours, theirs = (
        _ours(objective, x0, lower, upper),
        _scipy(objective, x0, lower, upper),
    )
    return name, ours, theirs


@pytest.fixture(scope="module")
def comparisons():
    return [_compare(problem) for problem in PROBLEMS]


def test_the_problem_set_has_active_bounds(comparisons):
    assert len(PROBLEMS) >= 15
    active = 0
    for (_, _, _, lower, upper), (_, ours, _) in zip(
        PROBLEMS, comparisons, strict=True
    ):
        lower = np.broadcast_to(lower, ours.x.shape)
        upper = np.broadcast_to(upper, ours.x.shape)
        assert np.all(lower <= ours.x)
        assert np.all(ours.x <= upper)
        active += bool(np.any((ours.x == lower) | (ours.x == upper)))
    assert active >= 12


@pytest.mark.parametrize("index", range(len(PROBLEMS)), ids=[p[0] for p in PROBLEMS])
def test_reaches_the_optimum_of_lbfgsb(comparisons, index):
    name, ours, theirs = comparisons[index]
    assert ours.status.name == "CONVERGED", (name, ours.message)
    tolerance = 1e-8 * max(1.0, abs(theirs.fun))
    assert ours.value <= theirs.fun + tolerance, (name, ours.value, theirs.fun)


def test_uses_no_more_gradients_than_lbfgsb_in_the_median(comparisons):
    ratios = [
        ours.gradient_evaluations / theirs.nfev for _, ours, theirs in comparisons
    ]
    assert statistics.median(ratios) <= 1.0


def table():
    """The comparison table of docs/bounds.md, as markdown."""
    lines = [
        "| Problem | optim `LBFGS` f | L-BFGS-B f | optim gradients "
        "| L-BFGS-B gradients | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    ratios = []
    for name, ours, theirs in (_compare(problem) for problem in PROBLEMS):
        ratio = ours.gradient_evaluations / theirs.nfev
        ratios.append(ratio)
        lines.append(
            f"| {name} | {ours.value:.10g} | {theirs.fun:.10g} | "
            f"{ours.gradient_evaluations} | {theirs.nfev} | {ratio:.2f} |"
        )
    lines.append(f"| **median** | | | | | **{statistics.median(ratios):.2f}** |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())

"""Make the accuracy-and-cost tables of `docs/estimators.md`.

The mkdocs hook (`docs/hooks.py`) runs this before every build and writes the
tables to `docs/generated/estimator-tables.md`, which the page includes; run
`python docs/scripts/estimator_table.py` to print them.
`tests/test_estimator_table.py` checks the claims the page makes about them.
"""

import sys
from pathlib import Path

import attrs
import numdifftools
import numpy as np
from scipy.optimize import approx_fprime
from scipy.optimize._numdiff import approx_derivative

from optim import SPSA, GradientEstimator, Objective
from optim.mgh import PROBLEMS
from optim.registry import make_estimator

N = 5
POINTS = 8
SEED = 2026


def _matrix():
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((N, N))
    return a @ a.T + N * np.eye(N), rng.standard_normal(N)


A, B = _matrix()


def quadratic(x):
    return 0.5 * x @ A @ x + B @ x


def quadratic_gradient(x):
    return A @ x + B


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def exp_trig(x):
    return np.sum(np.exp(0.5 * x) * np.sin(x)) + np.cos(x[0] * x[1])


def exp_trig_gradient(x):
    g = np.exp(0.5 * x) * (0.5 * np.sin(x) + np.cos(x))
    g[0] -= np.sin(x[0] * x[1]) * x[1]
    g[1] -= np.sin(x[0] * x[1]) * x[0]
    return g


FUNCTIONS = {
    "quadratic": (quadratic, quadratic_gradient),
    "Rosenbrock": (rosenbrock, rosenbrock_gradient),
    "exp-trig": (exp_trig, exp_trig_gradient),
}

ESTIMATORS: dict[str, tuple[GradientEstimator, str]] = {
    "`ForwardDifference()`": (make_estimator("forward"), "n + 1"),
    "`BackwardDifference()`": (make_estimator("backward"), "n + 1"),
    "`CentralDifference()`": (make_estimator("central"), "2n"),
    "`CentralDifference(step=1e-4)`": (make_estimator("central", step=1e-4), "2n"),
    "`Richardson(order=4)`": (make_estimator("richardson", order=4), "2n x levels"),
    "`Richardson()` (order 6)": (make_estimator("richardson"), "2n x levels"),
    "`ComplexStep()`": (make_estimator("complex"), "n (complex)"),
    "`SPSA(samples=100, rng=0)`": (
        make_estimator("spsa", samples=100, rng=0),
        "2 x samples",
    ),
}


class _Counting(Objective):
    """Counts evaluations, sending complex points through unchanged."""

    def __init__(self, fun):
        self.fun = fun
        self.count = 0

    def value(self, x):
        self.count += 1
        return self.fun(x)

    def __call__(self, x):
        return self.value(x)


@attrs.frozen
class Row:
    """One estimator's line of the table."""

    name: str
    formula: str
    evaluations: int
    errors: dict[str, float]
    has_error_estimate: bool
    error_estimate_bounds: bool
    covered: float
    """Fraction of coordinates (over all points and functions) whose true error
    is at most the error estimate."""


def measure() -> list[Row]:
    """Worst relative error (max-norm) over seeded random points in [-2, 2]^5."""
    points = np.random.default_rng(SEED + 1).uniform(-2.0, 2.0, size=(POINTS, N))
    rows = []
    for name, (estimator, formula) in ESTIMATORS.items():
        if isinstance(estimator, SPSA):
            estimator = attrs.evolve(estimator, rng=0)  # same draws on every run
        errors = {}
        evaluations = 0
        has_estimate = False
        bounds = True
        covered = total = 0
        for label, (fun, grad) in FUNCTIONS.items():
            worst = 0.0
            for x in points:
                counting = _Counting(fun)
                estimate, error = estimator.estimate_with_error(counting, x)
                evaluations = counting.count
                exact = grad(x)
                worst = max(
                    worst,
                    float(np.max(np.abs(estimate - exact)) / np.max(np.abs(exact))),
                )
                if error is not None:
                    has_estimate = True
                    inside = np.abs(estimate - exact) <= error
                    bounds = bounds and bool(np.all(inside))
                    covered += int(np.sum(inside))
                    total += inside.size
            errors[label] = worst
        fraction = covered / total if total else 0.0
        rows.append(
            Row(name, formula, evaluations, errors, has_estimate, bounds, fraction)
        )
    return rows


def markdown(rows: list[Row]) -> str:
    """The table as Markdown."""
    header = (
        "| Estimator | Evaluations per gradient | at n = 5 | "
        + " | ".join(FUNCTIONS)
        + " | Error estimate |\n"
    )
    header += (
        "| --- | --- | --- | " + " | ".join("---" for _ in FUNCTIONS) + " | --- |\n"
    )
    lines = []
    for row in rows:
        if not row.has_error_estimate:
            estimate = "none"
        elif row.name.startswith("`SPSA"):
            estimate = "standard error (1 sigma)"
        elif row.error_estimate_bounds:
            estimate = "bounds the error"
        else:
            estimate = f"bounds {row.covered:.0%} of the errors"
        errors = " | ".join(f"{row.errors[label]:.0e}" for label in FUNCTIONS)
        cells = [row.name, row.formula, str(row.evaluations), errors, estimate]
        lines.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(lines) + "\n"


REFERENCES = {
    "`scipy.optimize.approx_fprime`": lambda f, x: approx_fprime(x, f),
    "`scipy.optimize.approx_derivative` (3-point)": lambda f, x: approx_derivative(
        f, x, method="3-point"
    ),
    "`numdifftools.Gradient()`": lambda f, x: numdifftools.Gradient(f)(x),
}
"""Reference implementations, with their defaults."""


@attrs.frozen
class MGHRow:
    """One scheme's line of the Moré-Garbow-Hillstrom table."""

    name: str
    worst: float
    median: float
    per_coordinate: float
    """Evaluations per gradient divided by `n`, averaged over the problems."""
    errors: dict[str, float]
    """Relative error per `problem name @ point`."""


def mgh_points():
    """Every problem at its standard start and at a seeded perturbed point."""
    for problem in PROBLEMS:
        yield f"{problem.name} @ x0", problem, problem.x0.copy()
        yield f"{problem.name} @ perturbed", problem, problem.perturbed(seed=0)


def relative_error(estimate, exact):
    """Max-norm relative error, the measure of every table here."""
    return float(np.max(np.abs(estimate - exact)) / np.max(np.abs(exact)))


def _mgh_row(name, gradient_of) -> MGHRow:
    errors, ratios = {}, []
    for label, problem, x in mgh_points():
        counting = _Counting(problem.value)
        with np.errstate(all="ignore"):
            estimate = gradient_of(counting, x)
        errors[label] = relative_error(np.asarray(estimate), problem.gradient(x))
        ratios.append(counting.count / x.size)
    values = np.array(list(errors.values()))
    values = np.where(np.isfinite(values), values, np.inf)
    return MGHRow(
        name,
        float(values.max()),
        float(np.median(values)),
        float(np.mean(ratios)),
        errors,
    )


def measure_mgh() -> list[MGHRow]:
    """Relative errors and costs of every scheme on the MGH problems."""
    rows = []
    for name, (estimator, _) in ESTIMATORS.items():
        if name.startswith("`ComplexStep"):
            continue  # the reference itself: complex step through the residuals
        if isinstance(estimator, SPSA):
            estimator = attrs.evolve(estimator, rng=0)
        rows.append(_mgh_row(name, lambda f, x, e=estimator: e.estimate(f, x)))
    for name, reference in REFERENCES.items():
        rows.append(_mgh_row(name, lambda f, x, r=reference: r(f.value, x)))
    return rows


def markdown_mgh(rows: list[MGHRow]) -> str:
    """The MGH table as Markdown."""
    lines = [
        "| Scheme | Worst relative error | Median | Evaluations per gradient / n |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.worst:.0e} | {row.median:.0e} | "
            f"{row.per_coordinate:.1f} |"
        )
    return "\n".join(lines) + "\n"


def write(path: Path) -> None:
    """Write both tables, as Markdown, to `path` (the page includes it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "<!-- Generated by docs/scripts/estimator_table.py; do not edit. -->\n\n"
        + markdown(measure())
        + "\n**Moré-Garbow-Hillstrom problems** (35 problems, each at its standard "
        "start and at a seeded perturbed point; reference gradients by complex "
        "step):\n\n" + markdown_mgh(measure_mgh())
    )
    path.write_text(text)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        write(Path(sys.argv[1]))
    else:
        print(markdown(measure()) + "\n" + markdown_mgh(measure_mgh()), end="")

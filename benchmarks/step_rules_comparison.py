"""Run optim's step rules and scipy.optimize.minimize on the problem library.

Shared by `benchmarks/bench_step_rules.py` (which asserts the targets) and
`docs/scripts/step_rules_table.py` (which writes the table in docs/step-rules.md).
Every solver starts from the problem's standard start and stops once the gradient's
infinity norm is at most `GTOL` (scipy: `gtol`), or after `MAX_STEPS` iterations.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from optim import (
    LBFGS,
    Adam,
    BarzilaiBorwein,
    ConjugateGradient,
    FixedStep,
    Optimizer,
    StopOnZeroGradient,
    find_learning_rate,
)
from optim.problems import (
    Beale,
    Booth,
    Himmelblau,
    LogisticRegression,
    Problem,
    Quadratic,
    Rastrigin,
    Rosenbrock,
    Sphere,
    StyblinskiTang,
)

GTOL = 1e-5
"""Stopping tolerance on the gradient's infinity norm, for every solver."""

MAX_STEPS = 10_000
"""Iteration limit for every solver."""


def _logistic() -> LogisticRegression:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 10))
    labels = features @ rng.normal(size=10) + rng.normal(size=200) > 0
    return LogisticRegression(features, labels.astype(int), l2=1e-2)


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "sphere": Sphere,
    "quadratic (n=100, kappa=1e4)": lambda: Quadratic(100, condition_number=1e4),
    "quadratic rotated (n=100, kappa=1e4)": lambda: Quadratic(
        100, condition_number=1e4, rotation_seed=0
    ),
    "rosenbrock": Rosenbrock,
    "rosenbrock extended (n=100)": lambda: Rosenbrock(100),
    "rosenbrock chained (n=10)": lambda: Rosenbrock(10, chained=True),
    "beale": Beale,
    "booth": Booth,
    "himmelblau": Himmelblau,
    "rastrigin": Rastrigin,
    "styblinski-tang (n=10)": lambda: StyblinskiTang(10),
    "logistic regression (m=200, d=10)": _logistic,
}
"""The problems compared, by display name."""


@dataclass(frozen=True)
class Row:
    """One solver on one problem."""

    problem: str
    solver: str
    iterations: int
    evaluations: int
    gradient_evaluations: int
    gradient_norm: float
    value: float

    @property
    def solved(self) -> bool:
        """Whether the run met the gradient tolerance."""
        return self.gradient_norm <= GTOL


def run_optim(name: str, problem: Problem, solver: str) -> Row:
    """Run one of optim's rules; `solver` names it."""
    if solver in ("FixedStep (tuned)", "Adam (tuned)"):
        make = FixedStep if solver.startswith("FixedStep") else Adam
        rate = find_learning_rate(problem, problem.start, make_rule=make).suggested
        rule = make(rate)
    else:
        rule = {
            "LBFGS": LBFGS(),
            "ConjugateGradient": ConjugateGradient(),
            "BarzilaiBorwein": BarzilaiBorwein(),
        }[solver]
    result = Optimizer(
        problem,
        step_rule=rule,
        max_steps=MAX_STEPS,
        max_growth=None,
        callbacks=[StopOnZeroGradient(GTOL, norm=np.inf)],
    ).run(problem.start)
    return Row(
        name,
        solver,
        result.steps,
        result.evaluations,
        result.gradient_evaluations,
        float(np.max(np.abs(result.gradient))),
        result.value,
    )


def run_scipy(name: str, problem: Problem, method: str) -> Row:
    """Run scipy.optimize.minimize with `method` and the analytic gradient."""
    options: dict[str, float] = {"gtol": GTOL, "maxiter": MAX_STEPS}
    if method == "L-BFGS-B":
        options["ftol"] = 0.0
    result = minimize(
        problem.value,
        problem.start,
        jac=problem.gradient,
        method=method,
        options=options,
    )
    gradient = problem.gradient(result.x)
    return Row(
        name,
        f"scipy {method}",
        int(result.nit),
        int(result.nfev),
        int(result.njev),
        float(np.max(np.abs(gradient))),
        float(result.fun),
    )


OPTIM_SOLVERS = (
    "LBFGS",
    "ConjugateGradient",
    "BarzilaiBorwein",
    "Adam (tuned)",
    "FixedStep (tuned)",
)
SCIPY_SOLVERS = ("BFGS", "L-BFGS-B", "CG")


def run_all(
    solvers: tuple[str, ...] = OPTIM_SOLVERS, methods: tuple[str, ...] = SCIPY_SOLVERS
) -> list[Row]:
    """Every solver on every problem."""
    rows = []
    for name, make in PROBLEMS.items():
        problem = make()
        rows += [run_optim(name, problem, solver) for solver in solvers]
        rows += [run_scipy(name, problem, method) for method in methods]
    return rows


def median_gradient_ratio(rows: list[Row]) -> float:
    """Median over problems of LBFGS's gradient evaluations over L-BFGS-B's."""
    by = {(row.problem, row.solver): row for row in rows}
    ratios = [
        by[(name, "LBFGS")].gradient_evaluations
        / by[(name, "scipy L-BFGS-B")].gradient_evaluations
        for name in PROBLEMS
    ]
    return statistics.median(ratios)


def unsolved_by_lbfgs(rows: list[Row]) -> list[str]:
    """Problems some scipy method solves but LBFGS does not."""
    by = {(row.problem, row.solver): row for row in rows}
    return [
        name
        for name in PROBLEMS
        if any(by[(name, f"scipy {m}")].solved for m in SCIPY_SOLVERS)
        and not by[(name, "LBFGS")].solved
    ]


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| problem | solver | iterations | f evals | gradient evals "
        "| final max abs gradient | solved |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.problem} | {row.solver} | {row.iterations} | "
            f"{row.evaluations} | {row.gradient_evaluations} | "
            f"{row.gradient_norm:.1e} | {'yes' if row.solved else 'no'} |"
        )
    return "\n".join(lines)

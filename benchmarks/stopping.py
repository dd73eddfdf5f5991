"""The evaluation-count measures of issue "Stopping that is honest and useful".

Shared by `benchmarks/bench_stopping.py` and `benchmarks/report.py`. Nothing here is
timed: each measure counts statuses and evaluations, from the same starts as its
scipy reference. Only the public API is used (the command line's `main`,
`minimize`, `Optimizer`, the rules, estimators and problems), so the measures keep
working while the engine changes.

Values are compared with a relative tolerance floored at 1, the convention of
scipy's `ftol` and of `numpy.isclose` with `atol = rtol`: `a` is worse than `b` by
more than `rtol` when `a - b > rtol * max(1, |b|)`, and within `rtol` of `b` when
`|a - b| <= rtol * max(1, |b|)`. (The floor keeps "relative" meaningful for the
many problems whose minimum is 0.)
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import minimize as scipy_minimize

import optim
import optim.cli
from optim import (
    LBFGS,
    SPSA,
    Bounds,
    ConjugateGradient,
    FixedStep,
    OptimizationError,
    Optimizer,
    Result,
    Status,
    StopOnZeroGradient,
)
from optim.mgh import PROBLEMS as MGH_PROBLEMS
from optim.problems import Quadratic, Rosenbrock


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the overflow warnings the MGH problems raise far from their minima."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def worse(value: float, reference: float, rtol: float) -> bool:
    """Whether `value` exceeds `reference` by more than `rtol * max(1, |reference|)`."""
    return value - reference > rtol * max(1.0, abs(reference))


def within(value: float, reference: float, rtol: float) -> bool:
    """Whether `|value - reference| <= rtol * max(1, |reference|)`."""
    return abs(value - reference) <= rtol * max(1.0, abs(reference))


def _run(optimizer: Optimizer, x0: Any) -> Result:
    """`optimizer.run(x0)`, keeping the result of a run that raised."""
    try:
        return optimizer.run(x0)
    except OptimizationError as error:
        if error.result is None:
            raise
        return error.result


def _statuses(results: list[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in Counter(results).items())


# -- 1. the command line, from starts a few ulps apart -----------------------------

CLI_ARGS = ("run", "rosenbrock", "--rule", "lbfgs", "--estimator", "forward")
CLI_TOL = 1e-8


def ulp_starts(x0: np.ndarray, count: int = 10) -> list[np.ndarray]:
    """`x0` with every coordinate moved k ulps toward +inf, for k = 1 ... count."""
    starts, x = [], np.asarray(x0, dtype=np.float64)
    for _ in range(count):
        x = np.nextafter(x, np.inf)
        starts.append(x)
    return starts


def run_cli(x0: np.ndarray) -> dict[str, Any]:
    """`optim run rosenbrock --rule lbfgs --estimator forward --tol 1e-8 --json`."""
    argv = [*CLI_ARGS, "--tol", repr(CLI_TOL), "--json"]
    argv.append("--x0=" + ",".join(repr(float(v)) for v in x0))  # repr round-trips
    out = io.StringIO()
    with quiet(), contextlib.redirect_stdout(out):
        optim.cli.main(argv)
    return json.loads(out.getvalue())


@dataclass(frozen=True)
class CliRow:
    """One start of measure 1."""

    ulps: int
    status: str
    evaluations: int
    scipy_evaluations: int

    @property
    def ratio(self) -> float:
        return self.evaluations / self.scipy_evaluations


@dataclass(frozen=True)
class CliMeasure:
    """Measure 1: the CLI's L-BFGS with forward differences from 10 nearby starts."""

    rows: list[CliRow]

    @property
    def max_steps(self) -> int:
        return sum(row.status == Status.MAX_STEPS.name for row in self.rows)

    @property
    def max_ratio(self) -> float:
        return max(row.ratio for row in self.rows)

    @property
    def median_ratio(self) -> float:
        return statistics.median(row.ratio for row in self.rows)

    @property
    def statuses(self) -> str:
        return _statuses([row.status for row in self.rows])


def cli_measure(count: int = 10) -> CliMeasure:
    """Run measure 1: the CLI and scipy's L-BFGS-B (`jac="2-point"`) per start."""
    problem = Rosenbrock()
    rows = []
    for k, x0 in enumerate(ulp_starts(problem.start, count), start=1):
        data = run_cli(x0)
        with quiet():
            reference = scipy_minimize(
                problem.value,
                x0,
                method="L-BFGS-B",
                jac="2-point",
                options={"gtol": CLI_TOL},
            )
        status = Status(data["status"]).name
        rows.append(CliRow(k, status, data["evaluations"], reference.nfev))
    return CliMeasure(rows)


# -- 2. minimize with finite differences, scipy's call unchanged -------------------


def small_mgh() -> list[Any]:
    """The MGH problems with at most 10 variables (33: all but Osborne 2, n = 11,
    and the extended Powell singular function, n = 12)."""
    return [problem for problem in MGH_PROBLEMS if problem.x0.size <= 10]


SCIPY_MAXFUN = 15_000
"""scipy's default `maxfun`, given to both sides (optim's `minimize` has none)."""


@dataclass(frozen=True)
class PairRow:
    """One problem of measure 2: optim's `minimize` and scipy's, the same call."""

    problem: str
    status: str
    success: bool
    value: float
    evaluations: int
    scipy_success: bool
    scipy_value: float
    scipy_evaluations: int
    ulps: int = 0
    """How many ulps above the standard start (`ulp_starts`) the run began."""

    @property
    def ratio(self) -> float:
        return self.evaluations / self.scipy_evaluations

    @property
    def worse(self) -> bool:
        return worse(self.value, self.scipy_value, 1e-8)


@dataclass(frozen=True)
class PairMeasure:
    """Measure 2 for one `jac` scheme."""

    jac: str
    rows: list[PairRow]

    @property
    def median_ratio(self) -> float:
        return statistics.median(row.ratio for row in self.rows)

    @property
    def worse(self) -> int:
        return sum(row.worse for row in self.rows)

    @property
    def successes(self) -> int:
        return sum(row.success for row in self.rows)

    @property
    def scipy_successes(self) -> int:
        return sum(row.scipy_success for row in self.rows)

    @property
    def same_evaluations(self) -> int:
        """Runs that end with scipy's evaluation count (most follow its path)."""
        return sum(row.evaluations == row.scipy_evaluations for row in self.rows)

    @property
    def worse_runs(self) -> str:
        """The runs worse than scipy's, as `problem (ulps)`, or `"0"`."""
        if not self.worse:
            return "0"
        named = [f"{r.problem} ({r.ulps})" for r in self.rows if r.worse]
        return f"{self.worse} ({', '.join(named)})"

    @property
    def statuses(self) -> str:
        return _statuses([row.status for row in self.rows])


def minimize_pair(problem: Any, jac: str, x0: Any = None, ulps: int = 0) -> PairRow:
    """`minimize(f, x0, method="L-BFGS-B", jac=jac)` in optim and in scipy.

    `x0` defaults to the problem's standard start (`ulps` labels another).
    """
    options = {"maxfun": SCIPY_MAXFUN}
    x0 = problem.x0 if x0 is None else x0
    with quiet():
        try:
            ours = optim.minimize(
                problem.value, x0, method="L-BFGS-B", jac=jac, options=options
            )
        except OptimizationError as error:
            if error.result is None:
                raise
            ours = error.result
        theirs = scipy_minimize(
            problem.value, x0, method="L-BFGS-B", jac=jac, options=options
        )
    report = ours.result if isinstance(ours, dict) else ours  # optim's Result
    return PairRow(
        problem=problem.name,
        status=report.status.name,
        success=bool(ours.success),
        value=float(report.value),
        evaluations=int(ours.nfev),
        scipy_success=bool(theirs.success),
        scipy_value=float(theirs.fun),
        scipy_evaluations=int(theirs.nfev),
        ulps=ulps,
    )


def minimize_measure(jac: str) -> PairMeasure:
    """Run measure 2 with `jac` (`"2-point"` or `"3-point"`)."""
    return PairMeasure(jac, [minimize_pair(problem, jac) for problem in small_mgh()])


ULP_STARTS = 4
"""Measure 2 is also run from the starts 1 to 4 ulps above each standard start."""


def minimize_ulp_measure(jac: str, count: int = ULP_STARTS) -> PairMeasure:
    """Measure 2 from the starts 1 ... `count` ulps above each standard start.

    Where optim's path and scipy's part (a last bit of a step, a norm or an
    L-BFGS product rounded another way), the final values of runs that stop on
    the relative-reduction test can land anywhere in the band that the test
    leaves open; these rows show how often that puts optim above scipy.
    """
    rows = [
        minimize_pair(problem, jac, x0, ulps)
        for problem in small_mgh()
        for ulps, x0 in enumerate(ulp_starts(problem.x0, count), start=1)
    ]
    return PairMeasure(jac, rows)


# -- 3. honest success with exact gradients ---------------------------------------

HONEST_TOLS = (1e-6, 1e-10)
HONEST_RULES: dict[str, Callable[[], Any]] = {
    "LBFGS": LBFGS,
    "ConjugateGradient": ConjugateGradient,
}


@dataclass(frozen=True)
class HonestRow:
    """One run of measure 3."""

    problem: str
    rule: str
    tol: float
    status: str
    success: bool
    value: float
    evaluations: int
    scipy_value: float
    best: float = field(default=np.nan)
    """The best known value: the lowest any run of measure 3 reached."""

    @property
    def at_best(self) -> bool:
        return within(self.value, self.best, 1e-8)

    @property
    def failed_at_best(self) -> bool:
        return self.at_best and not self.success

    @property
    def succeeded_worse(self) -> bool:
        return self.success and worse(self.value, self.scipy_value, 1e-6)


@dataclass(frozen=True)
class HonestMeasure:
    """Measure 3: every MGH problem, LBFGS and CG, two tolerances."""

    rows: list[HonestRow]

    @property
    def failed_at_best(self) -> int:
        return sum(row.failed_at_best for row in self.rows)

    @property
    def succeeded_worse(self) -> int:
        return sum(row.succeeded_worse for row in self.rows)

    @property
    def statuses(self) -> str:
        return _statuses([row.status for row in self.rows])


def honest_measure() -> HonestMeasure:
    """Run measure 3 (the optimizer's default step budget, 1000 steps).

    scipy's reference is L-BFGS-B from the same start with the exact gradient,
    `gtol=tol` and `ftol=0` (so that it stops on the gradient too).
    """
    rows: list[HonestRow] = []
    for tol in HONEST_TOLS:
        for problem in MGH_PROBLEMS:
            with quiet():
                reference = scipy_minimize(
                    problem.value,
                    problem.x0,
                    jac=problem.gradient,
                    method="L-BFGS-B",
                    options={"gtol": tol, "ftol": 0.0, "maxiter": 10_000},
                )
                for name, rule in HONEST_RULES.items():
                    optimizer = Optimizer(
                        problem, step_rule=rule(), callbacks=[StopOnZeroGradient(tol)]
                    )
                    result = _run(optimizer, problem.x0)
                    rows.append(
                        HonestRow(
                            problem=problem.name,
                            rule=name,
                            tol=tol,
                            status=result.status.name,
                            success=bool(result.success),
                            value=float(result.value),
                            evaluations=result.evaluations,
                            scipy_value=float(reference.fun),
                        )
                    )
    best: dict[str, float] = {}
    for row in rows:
        found = min(v for v in (row.value, row.scipy_value) if np.isfinite(v))
        best[row.problem] = min(best.get(row.problem, np.inf), found)
    return HonestMeasure([replace(row, best=best[row.problem]) for row in rows])


# -- 4. SPSA: does CONVERGED mean a small true gradient? ---------------------------

SPSA_SEEDS = range(20)
SPSA_PROBLEM = Quadratic(dimension=2, condition_number=10.0)
SPSA_LEARNING_RATE = 0.1
SPSA_CASES: dict[str, tuple[Any, float, Callable[[int], SPSA]]] = {
    "float32, SPSA(), tol 1e-3": (np.float32, 1e-3, lambda seed: SPSA(rng=seed)),
    "float64, SPSA(step=1e-2), tol 1e-6": (
        np.float64,
        1e-6,
        lambda seed: SPSA(step=1e-2, rng=seed),
    ),
}


@dataclass(frozen=True)
class SpsaMeasure:
    """Measure 4 for one case and one norm."""

    case: str
    norm: float
    statuses: str
    converged: int
    false_converged: int
    """CONVERGED runs whose true gradient norm (same order) exceeds 2 tol."""
    median_evaluations: float


def spsa_measure(case: str, norm: float) -> SpsaMeasure:
    """Run measure 4: FixedStep(0.1) + SPSA on a 2-D quadratic (kappa 10), 20 seeds."""
    dtype, tol, estimator = SPSA_CASES[case]
    problem = SPSA_PROBLEM
    statuses, converged, false_converged, evaluations = [], 0, 0, []
    for seed in SPSA_SEEDS:
        optimizer = Optimizer(
            problem,
            step_rule=FixedStep(SPSA_LEARNING_RATE),
            estimator=estimator(seed),
            callbacks=[StopOnZeroGradient(tol, norm=norm)],
        )
        with quiet():
            result = _run(optimizer, problem.start.astype(dtype))
        statuses.append(result.status.name)
        evaluations.append(result.evaluations)
        if result.status is Status.CONVERGED:
            converged += 1
            true = problem.gradient(np.asarray(result.x, dtype=np.float64))
            if np.linalg.norm(true, ord=norm) > 2 * tol:
                false_converged += 1
    return SpsaMeasure(
        case,
        norm,
        _statuses(statuses),
        converged,
        false_converged,
        statistics.median(evaluations),
    )


# -- 5. SPSA with line searches: steps that do not move ----------------------------

STALL_SEEDS = range(10)
STALL_STEPS = 300


@dataclass(frozen=True)
class StallMeasure:
    """Measure 5 for one rule: Rosenbrock, SPSA, 300 steps, 10 seeds."""

    rule: str
    longest: list[int]
    """Per seed: the longest run of consecutive steps that left x unchanged while
    evaluations went on."""
    statuses: str

    @property
    def worst(self) -> int:
        return max(self.longest)


def longest_stall(points: list[np.ndarray], evaluations: list[int]) -> int:
    """Longest run of consecutive steps with x unchanged and evaluations increasing."""
    longest = current = 0
    for i in range(1, len(points)):
        stalled = np.array_equal(points[i], points[i - 1])
        if stalled and evaluations[i] > evaluations[i - 1]:
            current += 1
            longest = max(longest, current)
        else:
            current = 0
    return longest


def stall_measure(rule: str) -> StallMeasure:
    """Run measure 5 for `rule` ("LBFGS" or "ConjugateGradient")."""
    problem = Rosenbrock()
    longest, statuses = [], []
    for seed in STALL_SEEDS:
        points: list[np.ndarray] = []
        evaluations: list[int] = []

        def record(info, points=points, evaluations=evaluations):
            points.append(np.array(info.x, copy=True))
            evaluations.append(info.evaluations)

        optimizer = Optimizer(
            problem,
            step_rule=HONEST_RULES[rule](),
            estimator=SPSA(rng=seed),
            callbacks=[record],
            max_steps=STALL_STEPS,
        )
        with quiet():
            result = _run(optimizer, problem.start)
        assert points, "the callback saw no step"
        longest.append(longest_stall(points, evaluations))
        statuses.append(result.status.name)
    return StallMeasure(rule, longest, _statuses(statuses))


# -- 6. bounds: what a box costs CG -----------------------------------------------


@dataclass(frozen=True)
class BoundsMeasure:
    """Measure 6: CG on Rosenbrock with x1 <= 0.5 against the unbounded run."""

    status: str
    evaluations: int
    gradient_evaluations: int
    unbounded_status: str
    unbounded_evaluations: int
    unbounded_gradient_evaluations: int
    x: list[float]

    @property
    def ratio(self) -> float:
        return self.evaluations / self.unbounded_evaluations

    @property
    def gradient_ratio(self) -> float:
        return self.gradient_evaluations / self.unbounded_gradient_evaluations


def bounds_measure() -> BoundsMeasure:
    """Run measure 6 (exact gradient, `StopOnZeroGradient(1e-6)`)."""
    problem = Rosenbrock()

    def solve(constraint):
        optimizer = Optimizer(
            problem,
            step_rule=ConjugateGradient(),
            callbacks=[StopOnZeroGradient(1e-6)],
            constraint=constraint,
        )
        return _run(optimizer, problem.start)

    bounded = solve(Bounds(upper=[0.5, np.inf]))
    unbounded = solve(None)
    return BoundsMeasure(
        bounded.status.name,
        bounded.evaluations,
        bounded.gradient_evaluations,
        unbounded.status.name,
        unbounded.evaluations,
        unbounded.gradient_evaluations,
        [float(v) for v in bounded.x],
    )

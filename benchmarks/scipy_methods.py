"""The evaluation counts of issue "A true scipy drop-in" (acceptance 2).

Shared by `benchmarks/bench_scipy_methods.py` and `benchmarks/report.py`. Nothing
here is timed. On the MGH problems with n <= 10, `optim.scipy.minimize` and
`scipy.optimize.minimize` run the same call, `minimize(f, x0, method=method,
jac=jac)` with each method's default options, for `method` in {BFGS, L-BFGS-B, CG,
Newton-CG, trust-ncg} and `jac` in {analytic (the problem's gradient), None,
"3-point"}. trust-ncg also gets `hessp`, a central difference of the analytic
gradient (the same callable on both sides, so its gradient calls are counted by
neither); Newton-CG gets none (both sides difference the gradient, counted in
`njev`).

Counts are compared as scipy reports them: `nfev`, `njev` and `nhev` separately.
The *evaluation ratio* of a run (the one the target of 1.1 is read on) is optim's
over scipy's of `nfev + njev + nhev` with an analytic gradient, and of `nfev` with
finite differences (there scipy's `nfev` includes the differences, and `njev`
counts the same work again as gradient estimates). A ratio with a zero denominator
is left out of its median.

Values are compared with `stopping.worse` (relative tolerance 1e-8 floored at 1):
a side *reaches* the other's value when it is not worse than it.

scipy 1.17 refuses Newton-CG and trust-ncg without a callable `jac` ("Jacobian is
required"); those combinations are recorded as refused (with whether optim
refuses them too) and not counted.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize as scipy_minimize

import optim.scipy
from benchmarks.stopping import quiet, small_mgh, worse

METHODS = ("BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg")
JACS = ("analytic", None, "3-point")
RTOL = 1e-8


def jac_name(jac: str | None) -> str:
    """How a `jac` form is written in the tables."""
    return "None" if jac is None else jac


def hessp_of(gradient: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A Hessian-vector product by a central difference of `gradient`."""

    def hessp(x: Any, v: Any) -> Any:
        size = max(float(np.linalg.norm(v)), 1e-300)
        h = 1e-6 * max(1.0, float(np.linalg.norm(x))) / size
        return (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)

    return hessp


def _ratio(ours: int, theirs: int) -> float | None:
    if theirs == 0:
        return 1.0 if ours == 0 else None
    return ours / theirs


@dataclass(frozen=True)
class Row:
    """One problem, one method and one `jac`: optim's run and scipy's."""

    problem: str
    method: str
    jac: str | None
    value: float
    counts: tuple[int, int, int]
    """optim's `nfev`, `njev`, `nhev`."""
    scipy_value: float
    scipy_counts: tuple[int, int, int]

    @property
    def nfev_ratio(self) -> float | None:
        return _ratio(self.counts[0], self.scipy_counts[0])

    @property
    def njev_ratio(self) -> float | None:
        return _ratio(self.counts[1], self.scipy_counts[1])

    @property
    def ratio(self) -> float | None:
        """The evaluation ratio: totals with `jac` analytic, `nfev` otherwise."""
        if self.jac == "analytic":
            return _ratio(sum(self.counts), sum(self.scipy_counts))
        return self.nfev_ratio

    @property
    def reaches(self) -> bool:
        """optim's value is not worse than scipy's (1e-8 relative, floored at 1)."""
        return not worse(self.value, self.scipy_value, RTOL)

    @property
    def scipy_reaches(self) -> bool:
        """scipy's value is not worse than optim's."""
        return not worse(self.scipy_value, self.value, RTOL)


def _median(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else float("nan")


@dataclass(frozen=True)
class Measure:
    """One method and `jac` on every small MGH problem."""

    method: str
    jac: str | None
    rows: list[Row]
    refused: str = ""
    """scipy's error where it refuses the combination (then `rows` is empty)."""
    optim_refuses: bool = False

    @property
    def median_nfev_ratio(self) -> float:
        return _median([row.nfev_ratio for row in self.rows])

    @property
    def median_njev_ratio(self) -> float:
        return _median([row.njev_ratio for row in self.rows])

    @property
    def median_ratio(self) -> float:
        return _median([row.ratio for row in self.rows])

    @property
    def worst(self) -> Row:
        return max(
            (row for row in self.rows if row.ratio is not None),
            key=lambda row: row.ratio or 0.0,
        )

    @property
    def reaches(self) -> int:
        return sum(row.reaches for row in self.rows)

    @property
    def scipy_reaches(self) -> int:
        return sum(row.scipy_reaches for row in self.rows)

    @property
    def met(self) -> bool:
        return self.reaches >= self.scipy_reaches and self.median_ratio <= 1.1


def _counts(result: Any) -> tuple[int, int, int]:
    return (
        int(result.get("nfev", 0)),
        int(result.get("njev", 0)),
        int(result.get("nhev", 0)),
    )


def _keywords(problem: Any, method: str, jac: str | None) -> dict[str, Any]:
    keywords: dict[str, Any] = {
        "method": method,
        "jac": problem.gradient if jac == "analytic" else jac,
    }
    if method == "trust-ncg":
        keywords["hessp"] = hessp_of(problem.gradient)
    return keywords


def pair(problem: Any, method: str, jac: str | None) -> Row:
    """The same `minimize` call in optim.scipy and in scipy."""
    keywords = _keywords(problem, method, jac)
    with quiet():
        ours = optim.scipy.minimize(problem.value, problem.x0, **keywords)
        theirs = scipy_minimize(problem.value, problem.x0, **keywords)
    return Row(
        problem=problem.name,
        method=method,
        jac=jac,
        value=float(ours.fun),
        counts=_counts(ours),
        scipy_value=float(theirs.fun),
        scipy_counts=_counts(theirs),
    )


def _refusal(problem: Any, method: str, jac: str | None) -> tuple[str, bool]:
    """scipy's error message for the combination ("" if it runs), and whether
    optim refuses it too."""
    keywords = _keywords(problem, method, jac)
    keywords["options"] = {"maxiter": 1}
    messages = []
    for function in (scipy_minimize, optim.scipy.minimize):
        try:
            with quiet():
                function(problem.value, problem.x0, **keywords)
        except ValueError as error:
            messages.append(str(error))
        else:
            messages.append("")
    return messages[0], bool(messages[1])


def measure(method: str, jac: str | None) -> Measure:
    """Every small MGH problem with `method` and `jac`."""
    problems = small_mgh()
    refused, optim_refuses = _refusal(problems[0], method, jac)
    if refused:
        return Measure(method, jac, [], refused, optim_refuses)
    return Measure(method, jac, [pair(problem, method, jac) for problem in problems])


def measures() -> list[Measure]:
    """Every method and `jac`, in the order of the table."""
    return [measure(method, jac) for method in METHODS for jac in JACS]

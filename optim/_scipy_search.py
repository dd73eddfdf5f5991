"""Scipy's `_line_search_wolfe12`, for the scipy face's BFGS, CG and Newton-CG.

[`MoreThuente`][optim.line_search.MoreThuente] first (scipy's
`line_search_wolfe1`); where it fails, or where CG's descent condition refuses
its step, scipy's `line_search_wolfe2`: a bracketing phase that doubles the step
and a `zoom` by cubic, quadratic or bisection steps, evaluating the gradient only
where the sufficient decrease holds, at most 10 steps of each. Scipy's
`ScalarFunction` keeps the value it computed last, so a gradient asked for at
that point costs a gradient only: the scipy face's objective counts the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim._arrays import ratio
from optim._types import Array, override
from optim.line_search import MoreThuente, Search, SearchResult

if TYPE_CHECKING:
    from optim.evaluation import TrialEvaluator

Condition = Callable[[Array, Array, Array], bool]
"""`condition(gradient, direction, new_gradient)`: whether a step is taken."""


def vecnorm(x: Array, order: float) -> float:
    """Scipy's `vecnorm`: the `order`-norm of `x`, with `inf` and `-inf`."""
    if order == np.inf:
        return float(np.max(np.abs(x), initial=0.0))
    if order == -np.inf:
        return float(np.min(np.abs(x)))
    return float(np.sum(np.abs(x) ** order) ** (1.0 / order))


@attrs.frozen
class DescentCondition:
    """CG's test of a step (scipy's `descent_condition`, Gilbert & Nocedal).

    The next Polak-Ribière+ direction must descend sufficiently, `p @ g <=
    -0.01 g @ g`, unless the new gradient already meets `gtol`.
    """

    gtol: float
    norm: float

    def __call__(self, gradient: Array, direction: Array, new: Array) -> bool:
        g, p, g1 = gradient.ravel(), direction.ravel(), new.ravel()
        beta = max(0.0, ratio(float(np.dot(g1 - g, g1)), float(np.dot(g, g)), 0.0))
        following = -g1 + beta * p
        if vecnorm(g1, self.norm) <= self.gtol:
            return True
        return float(np.dot(following, g1)) <= -0.01 * float(np.dot(g1, g1))


@attrs.define
class Wolfe12(Search):
    """Moré-Thuente, then scipy's strong Wolfe search if it fails.

    Scipy's BFGS, CG and Newton-CG end at the first failure of both; `failures`
    counts them, and after one every later search (optim's restart along
    steepest descent) fails at once, without evaluating anything.
    """

    first: MoreThuente
    fallback: Wolfe2
    condition: Condition | None = None
    failures: int = 0

    @override
    def search(
        self,
        evaluator: TrialEvaluator,
        *,
        x: Array,
        value: float,
        gradient: Array,
        direction: Array,
        initial_step: float,
    ) -> SearchResult:
        if self.failures:
            return SearchResult(step=0.0, delta=np.zeros_like(x), success=False)
        arguments: dict[str, Any] = {
            "x": x,
            "value": value,
            "gradient": gradient,
            "direction": direction,
            "initial_step": initial_step,
        }
        result = self.first.search(evaluator, **arguments)
        if (
            result.success
            and self.condition is not None
            and result.gradient is not None
            and not self.condition(gradient, direction, result.gradient)
        ):
            result = attrs.evolve(result, success=False)
        if not result.success:
            result = self.fallback.search(
                evaluator, condition=self.condition, **arguments
            )
        if not result.success:
            self.failures += 1
        return result


@attrs.frozen
class Wolfe2:
    """Scipy's `scalar_search_wolfe2` and `_zoom` (Nocedal & Wright 3.5, 3.6).

    Not a [`Search`][optim.line_search.Search] of its own: it takes the
    condition of the step it accepts.
    """

    c1: float
    c2: float
    max_step: float | None = None
    max_iterations: int = 10

    def search(
        self,
        evaluator: TrialEvaluator,
        *,
        x: Array,
        value: float,
        gradient: Array,
        direction: Array,
        initial_step: float,
        condition: Condition | None = None,
    ) -> SearchResult:
        line = _Line(evaluator, x, gradient, direction, condition)
        slope0 = float(np.dot(gradient.ravel(), direction.ravel()))
        c1, c2, amax = self.c1, self.c2, self.max_step
        alpha0, alpha1 = 0.0, initial_step
        if amax is not None:
            alpha1 = min(alpha1, amax)
        value1 = line.value(alpha1)
        value0, slope_a0 = value, slope0
        for i in range(self.max_iterations):
            if alpha1 == 0 or (amax is not None and alpha0 > amax):
                return line.failure()
            if value1 > value + c1 * alpha1 * slope0 or (i > 0 and value1 >= value0):
                found = self._zoom(
                    line, (alpha0, value0, slope_a0), (alpha1, value1), value, slope0
                )
                return line.result(found)
            slope1 = line.slope(alpha1)
            if abs(slope1) <= -c2 * slope0 and line.accepts(alpha1):
                return line.result(alpha1)
            if slope1 >= 0:
                found = self._zoom(
                    line, (alpha1, value1, slope1), (alpha0, value0), value, slope0
                )
                return line.result(found)
            alpha2 = 2 * alpha1
            if amax is not None:
                alpha2 = min(alpha2, amax)
            alpha0, alpha1 = alpha1, alpha2
            value0, slope_a0 = value1, slope1
            value1 = line.value(alpha1)
        # Scipy takes the last step when the bracketing phase runs out.
        return line.result(alpha1, unchecked=True)

    def _zoom(
        self,
        line: _Line,
        low: tuple[float, float, float],
        high: tuple[float, float],
        value: float,
        slope0: float,
    ) -> float | None:
        """Shrink `[low, high]` (in either order) to an acceptable step."""
        a_lo, phi_lo, derphi_lo = low
        a_hi, phi_hi = high
        a_rec, phi_rec = 0.0, value
        c1, c2 = self.c1, self.c2
        for i in range(11):
            dalpha = a_hi - a_lo
            a, b = (a_hi, a_lo) if dalpha < 0 else (a_lo, a_hi)
            a_j = None
            cchk = 0.2 * dalpha
            if i > 0:
                a_j = _cubic(a_lo, phi_lo, derphi_lo, a_hi, phi_hi, a_rec, phi_rec)
            if i == 0 or a_j is None or a_j > b - cchk or a_j < a + cchk:
                qchk = 0.1 * dalpha
                a_j = _quadratic(a_lo, phi_lo, derphi_lo, a_hi, phi_hi)
                if a_j is None or a_j > b - qchk or a_j < a + qchk:
                    a_j = a_lo + 0.5 * dalpha
            phi_aj = line.value(a_j)
            if phi_aj > value + c1 * a_j * slope0 or phi_aj >= phi_lo:
                a_rec, phi_rec = a_hi, phi_hi
                a_hi, phi_hi = a_j, phi_aj
                continue
            derphi_aj = line.slope(a_j)
            if abs(derphi_aj) <= -c2 * slope0 and line.accepts(a_j):
                return a_j
            if derphi_aj * (a_hi - a_lo) >= 0:
                a_rec, phi_rec = a_hi, phi_hi
                a_hi, phi_hi = a_lo, phi_lo
            else:
                a_rec, phi_rec = a_lo, phi_lo
            a_lo, phi_lo, derphi_lo = a_j, phi_aj, derphi_aj
        return None


def _cubic(
    a: float, fa: float, fpa: float, b: float, fb: float, c: float, fc: float
) -> float | None:
    """The cubic's minimizer: through `(a, fa)`, slope `fpa`, `(b, fb)`, `(c, fc)`.

    `None` where the arithmetic fails.
    """
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            db, dc = np.float64(b - a), np.float64(c - a)
            denominator = (db * dc) ** 2 * (db - dc)
            matrix = np.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
            rhs = np.array([fb - fa - fpa * db, fc - fa - fpa * dc])
            first, second = np.dot(matrix, rhs)
            first /= denominator
            second /= denominator
            radical = second * second - 3 * first * fpa
            minimizer = a + (-second + np.sqrt(radical)) / (3 * first)
        except ArithmeticError:
            return None
    return float(minimizer) if np.isfinite(minimizer) else None


def _quadratic(a: float, fa: float, fpa: float, b: float, fb: float) -> float | None:
    """The quadratic's minimizer: through `(a, fa)`, slope `fpa`, and `(b, fb)`.

    `None` where the arithmetic fails.
    """
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            db = np.float64(b - a * 1.0)
            curvature = (fb - fa - fpa * db) / (db * db)
            minimizer = a - fpa / (2.0 * curvature)
        except ArithmeticError:
            return None
    return float(minimizer) if np.isfinite(minimizer) else None


class _Line:
    """Trials along `x + alpha * direction`: values alone, or with the gradient."""

    def __init__(
        self,
        evaluator: TrialEvaluator,
        x: Array,
        gradient: Array,
        direction: Array,
        condition: Condition | None,
    ) -> None:
        self.evaluator, self.x, self.direction = evaluator, x, direction
        self.gradient, self.condition = gradient, condition
        self.values: dict[float, float] = {}
        self.last: tuple[float, Array] | None = None  # the last gradient's step

    def value(self, alpha: float) -> float:
        value = self.evaluator.value(self.x + alpha * self.direction)
        self.values[alpha] = value
        return value

    def slope(self, alpha: float) -> float:
        _, gradient = self.evaluator.value_and_gradient(self.x + alpha * self.direction)
        self.last = (alpha, gradient)
        return float(np.dot(gradient.ravel(), self.direction.ravel()))

    def accepts(self, alpha: float) -> bool:
        if self.condition is None:
            return True
        if self.last is None or self.last[0] != alpha:
            self.slope(alpha)
        assert self.last is not None
        return self.condition(self.gradient, self.direction, self.last[1])

    def failure(self) -> SearchResult:
        return SearchResult(step=0.0, delta=np.zeros_like(self.x), success=False)

    def result(self, alpha: float | None, *, unchecked: bool = False) -> SearchResult:
        if alpha is None:
            return self.failure()
        delta = alpha * self.direction
        gradient = None
        if not unchecked and self.last is not None and self.last[0] == alpha:
            gradient = self.last[1]
        return SearchResult(
            step=alpha,
            delta=delta,
            success=True,
            value=self.values.get(alpha),
            gradient=gradient,
        )

r"""The Moré-Thuente line search: scipy L-BFGS-B's search (MINPACK-2's `dcsrch`).

[`MoreThuente`][optim.more_thuente.MoreThuente] looks for a step with

$$f(x + \alpha p) \le f(x) + c_1 \alpha \nabla f(x)^\top p, \qquad
|\nabla f(x + \alpha p)^\top p| \le c_2 |\nabla f(x)^\top p| ,$$

keeping an interval of uncertainty $[\alpha_x, \alpha_y]$ and choosing each trial
by safeguarded cubic and quadratic interpolation (`_step`), on the auxiliary
function $\psi(\alpha) = f(x + \alpha p) - f(x) - c_1 \alpha \nabla f(x)^\top p$
until a trial has $\psi \le 0$ and a non-negative slope, on $f$ itself after.
scipy's L-BFGS-B calls it with $c_1 = 10^{-3}$, $c_2 = 0.9$, a relative interval
tolerance of $0.1$, steps in $[0, 10^{10}]$ and at most `maxls` (20) trials
(`lnsrlb` in `scipy/optimize/src/lbfgsb.c`), the defaults here.

References:
    J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed
    sufficient decrease", ACM Trans. Math. Softw. 20 (1994), 286-307.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from optim import _validators
from optim._arrays import displacement, moved
from optim._types import Array, override
from optim.evaluation import TrialEvaluator, constraint_of
from optim.line_search import Search, SearchResult

__all__ = ["MoreThuente"]

_EXTRAPOLATE_LOW = 1.1
_EXTRAPOLATE_HIGH = 4.0


@attrs.frozen
class MoreThuente(Search):
    r"""Moré and Thuente's line search for the strong Wolfe conditions.

    The search scipy's L-BFGS-B uses, with its constants. A search that ends
    on one of the algorithm's warnings (rounding errors prevent progress, the
    interval is below `xtol`, or a step bound is reached) returns the last
    trial as scipy does, as a success if it is a positive step that did not
    raise $f$; a search that runs out of trials fails, reporting the best trial
    with sufficient decrease. A direction that does not descend is refused
    before any evaluation.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
        >>> result = MoreThuente().search(
        ...     evaluator,
        ...     x=np.array([1.0]),
        ...     value=1.0,
        ...     gradient=np.array([2.0]),
        ...     direction=np.array([-1.0]),
        ...     initial_step=1.0,
        ... )
        >>> result.success, result.step, result.value
        (True, 1.0, 0.0)
    """

    c1: float = attrs.field(default=1e-3, validator=_validators.open_unit_interval)
    """Sufficient-decrease constant (MINPACK-2's `ftol`)."""

    c2: float = attrs.field(default=0.9, validator=_validators.open_unit_interval)
    """Curvature constant (MINPACK-2's `gtol`), greater than `c1`."""

    xtol: float = attrs.field(default=0.1, validator=_validators.open_unit_interval)
    """Relative width of the interval of uncertainty at which the search ends."""

    max_iterations: int = attrs.field(
        default=20, kw_only=True, validator=_validators.positive_count
    )
    """Most trial points per search (scipy's `maxls`)."""

    max_step: float = attrs.field(
        default=1e10, kw_only=True, validator=_validators.positive
    )
    """Largest step length tried."""

    @c2.validator
    def _check_c2(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value <= self.c1:
            raise ValueError(f"c2 must be > c1 ({self.c1!r}), got {value!r}")

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
        constraint = constraint_of(evaluator)
        slope0 = float(np.vdot(gradient, direction))
        zero = np.zeros(np.shape(x), dtype=np.result_type(x, direction))
        if not slope0 < 0.0:  # not a descent direction (lnsrlb: info = -4)
            return SearchResult(step=0.0, delta=zero, success=False)
        test = self.c1 * slope0
        step = min(max(initial_step, 0.0), self.max_step)
        interval = _Interval(
            value=value, slope=slope0, step=step, xtol=self.xtol, span=self.max_step
        )
        best: tuple[float, Array, float, Array] | None = None
        for _ in range(self.max_iterations):
            delta = displacement(x, step, direction)
            point = moved(x, delta, constraint)
            trial_value, trial_gradient = evaluator.value_and_gradient(point)
            slope = float(np.vdot(trial_gradient, direction))
            if not (math.isfinite(trial_value) and math.isfinite(slope)):
                step = interval.overshot(step)  # f is not finite there: shrink
                continue
            armijo = trial_value <= value + step * test
            if armijo and (best is None or trial_value < best[2]):
                best = (step, delta, trial_value, trial_gradient)
            converged = armijo and abs(slope) <= -self.c2 * slope0
            warning = interval.warning(step, armijo, slope, test, self.max_step)
            if converged or warning:
                return SearchResult(
                    step=step,
                    delta=delta,
                    success=converged or (step > 0.0 and trial_value <= value),
                    value=trial_value,
                    gradient=trial_gradient,
                )
            step = interval.next_step(step, trial_value, slope, test, armijo)
            step = interval.safeguarded(min(max(step, 0.0), self.max_step))
        if best is not None:
            step, delta, trial_value, trial_gradient = best
            return SearchResult(
                step=step,
                delta=delta,
                success=False,
                value=trial_value,
                gradient=trial_gradient,
            )
        return SearchResult(step=0.0, delta=zero, success=False)


@attrs.define
class _Interval:
    """The interval of uncertainty of one search and its bookkeeping (`dcsrch`)."""

    value: float
    """f at the start."""
    slope: float
    """The slope at the start."""
    step: float
    """The first trial step."""
    xtol: float
    """The relative width at which the search ends."""
    span: float
    """The range of steps allowed (`max_step`)."""
    bracketed: bool = False
    stage: int = 1
    """1 while the auxiliary function psi is searched, 2 after."""
    x: tuple[float, float, float] = attrs.field(init=False)
    """The end with the lowest value: step, value, slope."""
    y: tuple[float, float, float] = attrs.field(init=False)
    """The other end."""
    low: float = 0.0
    high: float = attrs.field(init=False)
    width: float = attrs.field(init=False)
    previous_width: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.x = self.y = (0.0, self.value, self.slope)
        self.high = self.step + _EXTRAPOLATE_HIGH * self.step
        self.width = self.span
        self.previous_width = 2.0 * self.width

    def overshot(self, step: float) -> float:
        """The next step after a trial where f is not finite: halfway back."""
        self.bracketed, self.y = True, (step, math.inf, math.nan)
        return self.x[0] + 0.5 * (step - self.x[0])

    def warning(
        self, step: float, armijo: bool, slope: float, test: float, largest: float
    ) -> bool:
        """Note the trial's stage; whether dcsrch would stop with a warning."""
        if self.stage == 1 and armijo and slope >= 0.0:
            self.stage = 2
        bracketed, low, high = self.bracketed, self.low, self.high
        return (
            (bracketed and (step <= low or step >= high))
            or (bracketed and high - low <= self.xtol * high)
            or (step == largest and armijo and slope <= test)
            or (step == 0.0 and (not armijo or slope >= test))
        )

    def next_step(
        self, step: float, value: float, slope: float, test: float, armijo: bool
    ) -> float:
        """Update the interval with a trial and return the next step (unclipped)."""
        (sx, fx, gx), (sy, fy, gy) = self.x, self.y
        if self.stage == 1 and value <= fx and not armijo:
            # The auxiliary function psi, whose minimizers have sufficient
            # decrease, until a trial with psi <= 0 and slope >= 0.
            (sx, fxm, gxm), (sy, fym, gym), step, self.bracketed = _step(
                (sx, fx - sx * test, gx - test),
                (sy, fy - sy * test, gy - test),
                (step, value - step * test, slope - test),
                self.bracketed,
                self.low,
                self.high,
            )
            self.x = (sx, fxm + sx * test, gxm + test)
            self.y = (sy, fym + sy * test, gym + test)
        else:
            trial = (step, value, slope)
            self.x, self.y, step, self.bracketed = _step(
                self.x, self.y, trial, self.bracketed, self.low, self.high
            )
        sx, sy = self.x[0], self.y[0]
        if self.bracketed:
            if abs(sy - sx) >= 0.66 * self.previous_width:
                step = sx + 0.5 * (sy - sx)
            self.previous_width, self.width = self.width, abs(sy - sx)
            self.low, self.high = min(sx, sy), max(sx, sy)
        else:
            self.low = step + _EXTRAPOLATE_LOW * (step - sx)
            self.high = step + _EXTRAPOLATE_HIGH * (step - sx)
        return step

    def safeguarded(self, step: float) -> float:
        """The best point so far when rounding leaves no room in the interval."""
        low, high = self.low, self.high
        if self.bracketed and (
            step <= low or step >= high or high - low <= self.xtol * high
        ):
            return self.x[0]
        return step


_Trial = tuple[float, float, float]
"""A point on the line: step, value and slope."""


def _step(
    x: _Trial,
    y: _Trial,
    trial: _Trial,
    bracketed: bool,
    low: float,
    high: float,
) -> tuple[_Trial, _Trial, float, bool]:
    """One update of the interval of uncertainty and the next trial (`dcstep`).

    Args:
        x: The end with the lowest value so far.
        y: The other end.
        trial: The step just evaluated.
        bracketed: Whether the interval brackets a minimizer.
        low: The smallest next step allowed.
        high: The largest next step allowed.

    Returns:
        The new ends `x` and `y`, the next step and whether it is bracketed.
    """
    sx, fx, dx = x
    sy, fy, dy = y
    stp, fp, dp = trial
    opposite = dp * math.copysign(1.0, dx) < 0.0
    if fp > fx:
        # Higher value: the minimizer lies between; cubic or quadratic.
        cubic = _cubic(sx, fx, dx, stp, fp, dp, toward_trial=True)
        quadratic = sx + (dx / ((fx - fp) / (stp - sx) + dx)) / 2.0 * (stp - sx)
        if abs(cubic - sx) < abs(quadratic - sx):
            new = cubic
        else:
            new = cubic + (quadratic - cubic) / 2.0
        bracketed = True
    elif opposite:
        # Slopes of opposite sign: the minimizer lies between; cubic or secant.
        cubic = _cubic(sx, fx, dx, stp, fp, dp, toward_trial=False)
        secant = stp + (dp / (dp - dx)) * (sx - stp)
        new = cubic if abs(cubic - stp) > abs(secant - stp) else secant
        bracketed = True
    elif abs(dp) < abs(dx):
        # Same sign, the slope shrinks: the cubic, if it tends to a minimum
        # beyond the trial, else the bound; or the secant.
        theta = 3.0 * (fx - fp) / (stp - sx) + dx + dp
        s = max(abs(theta), abs(dx), abs(dp))
        gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (dx / s) * (dp / s)))
        if stp > sx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0.0 and gamma != 0.0:
            cubic = stp + r * (sx - stp)
        elif stp > sx:
            cubic = high
        else:
            cubic = low
        secant = stp + (dp / (dp - dx)) * (sx - stp)
        if bracketed:
            new = cubic if abs(cubic - stp) < abs(secant - stp) else secant
            if stp > sx:
                new = min(stp + 0.66 * (sy - stp), new)
            else:
                new = max(stp + 0.66 * (sy - stp), new)
        else:
            new = cubic if abs(cubic - stp) > abs(secant - stp) else secant
            new = max(low, min(high, new))
    elif bracketed:
        # Same sign, the slope does not shrink: the cubic toward the other end.
        theta = 3.0 * (fp - fy) / (sy - stp) + dy + dp
        s = max(abs(theta), abs(dy), abs(dp))
        gamma = s * math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s))
        if stp > sy:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        new = stp + (p / q) * (sy - stp)
    else:
        new = high if stp > sx else low
    if fp > fx:
        sy, fy, dy = stp, fp, dp
    else:
        if opposite:
            sy, fy, dy = sx, fx, dx
        sx, fx, dx = stp, fp, dp
    return (sx, fx, dx), (sy, fy, dy), new, bracketed


def _cubic(
    sx: float,
    fx: float,
    dx: float,
    stp: float,
    fp: float,
    dp: float,
    *,
    toward_trial: bool,
) -> float:
    """The minimizer of the cubic through `(sx, fx, dx)` and `(stp, fp, dp)`."""
    theta = 3.0 * (fx - fp) / (stp - sx) + dx + dp
    s = max(abs(theta), abs(dx), abs(dp))
    gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (dx / s) * (dp / s)))
    if toward_trial:
        if stp < sx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        return sx + (p / q) * (stp - sx)
    if stp > sx:
        gamma = -gamma
    p = (gamma - dp) + theta
    q = ((gamma - dp) + gamma) + dx
    return stp + (p / q) * (sx - stp)

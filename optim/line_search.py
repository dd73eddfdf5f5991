r"""Line searches: choose a step length $\alpha$ along a descent direction $p$.

A [`Search`][optim.line_search.Search] is told the current point $x$, its value and
gradient, a direction $p$ with $\nabla f(x)^\top p < 0$ and a first trial step
$\alpha_0$, and looks for an acceptable $\alpha$ along $\phi(\alpha) = f(x + \alpha p)$.
It evaluates trial points only through the run's
[`TrialEvaluator`][optim.evaluation.TrialEvaluator], so every trial is counted and
the same search works in ascent (the evaluator answers for $-f$).

Under a constraint (see [`constraint_of`][optim.evaluation.constraint_of]) the
built-in searches search along the projected path: the trial point for $\alpha$
is $P(x + \alpha p)$, the displacement returned is still $\alpha p$ (the
optimizer lands on $P(x + \alpha p)$, the very trial point), and sufficient
decrease is measured against the actual displacement,
$f(P(x + \alpha p)) \le f(x) + c_1 \nabla f(x)^\top (P(x + \alpha p) - x)$ with
a negative right-hand slope (Bertsekas's Armijo rule along the projection arc).
"""

from __future__ import annotations

import abc
import logging
import math
from typing import TYPE_CHECKING

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import displacement, full_for, machine_eps, moved, ratio
from optim._types import Array, override
from optim.evaluation import TrialEvaluator, constraint_of

if TYPE_CHECKING:
    from optim.projections import Projection

__all__ = [
    "AcceptStep",
    "Backtracking",
    "MoreThuente",
    "Search",
    "SearchResult",
    "StrongWolfe",
    "quadratic_first_step",
]

_logger = logging.getLogger("optim")

_array_eq = attrs.cmp_using(eq=backend.array_equal)


@attrs.frozen(kw_only=True)
class SearchResult:
    """What a [`Search`][optim.line_search.Search] found.

    Examples:
        >>> import numpy as np
        >>> SearchResult(step=0.5, delta=np.array([-1.0]), success=True).value is None
        True
    """

    step: float
    r"""The accepted step length $\alpha$ (`0.0` if nothing was acceptable)."""

    delta: Array = attrs.field(eq=_array_eq)
    """The displacement $\\alpha p$, the very array the trial point was built from."""

    success: bool
    """Whether `step` meets the search's acceptance conditions."""

    value: float | None = None
    """The minimized function's value at `x + delta`, if it was evaluated."""

    gradient: Array | None = attrs.field(default=None, eq=_array_eq)
    """Its gradient at `x + delta`, if it was evaluated."""


class Search(abc.ABC):
    """How far to go along a descent direction.

    Subclasses implement [`search`][optim.line_search.Search.search]. A search
    is stateless configuration; it never modifies its inputs and builds every trial
    point as `x + delta` with `delta = alpha * direction`, returning that same
    `delta` so the optimizer can reuse the last trial evaluation. Trial points
    keep `x`'s dtype and shape: a float32 run's are float32, and a 0-d `x`'s are
    0-d arrays.

    Examples:
        >>> import numpy as np
        >>> class HalfStep(Search):
        ...     def search(
        ...         self, evaluator, *, x, value, gradient, direction, initial_step
        ...     ):
        ...         return SearchResult(step=0.5, delta=0.5 * direction, success=True)
        >>> HalfStep().search(
        ...     None,
        ...     x=np.zeros(1),
        ...     value=0.0,
        ...     gradient=np.ones(1),
        ...     direction=-np.ones(1),
        ...     initial_step=1.0,
        ... ).delta
        array([-0.5])
    """

    __slots__ = ()

    @abc.abstractmethod
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
        """Find a step length along `direction` from `x`.

        Args:
            evaluator: Counted access to the function being minimized.
            x: The current point.
            value: The minimized function's value at `x`.
            gradient: Its gradient at `x`.
            direction: A descent direction (`gradient @ direction < 0`).
            initial_step: The first step length to try, positive. The built-in
                searches fail at once, evaluating nothing, when it is not
                (scipy's searches fail on a zero first step: see
                [`quadratic_first_step`][optim.line_search.quadratic_first_step]).

        Returns:
            The step found, with `success=False` if none was acceptable.
        """


_dot = backend.vdot

_F64 = np.dtype(np.float64)


def _zero(x: Array) -> Array:
    """The zero displacement: an array of `x`'s shape and dtype."""
    zero: Array = full_for(x)
    return zero


@attrs.frozen
class AcceptStep(Search):
    """Take the initial step as it is, without evaluating anything.

    The search behind [`BarzilaiBorwein`][optim.line_search_rules.BarzilaiBorwein]'s
    default (pure, nonmonotone Barzilai-Borwein steps) and fixed-step rules.

    Examples:
        >>> import numpy as np
        >>> AcceptStep().search(
        ...     None,
        ...     x=np.zeros(2),
        ...     value=0.0,
        ...     gradient=np.ones(2),
        ...     direction=-np.ones(2),
        ...     initial_step=0.1,
        ... ).delta
        array([-0.1, -0.1])
    """

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
        return SearchResult(
            step=initial_step,
            delta=displacement(x, initial_step, direction),
            success=True,
        )


@attrs.frozen
class Backtracking(Search):
    r"""Armijo backtracking: shrink the step until the decrease is sufficient.

    Starting from $\alpha_0$, accept the first $\alpha = \alpha_0 \rho^k$ with

    $$f(x + \alpha p) \le f(x) + c_1 \alpha \nabla f(x)^\top p$$

    (Nocedal & Wright, Algorithm 3.1). Trial points cost one value each (no
    gradient); the optimizer then evaluates the gradient at the accepted point.
    After `max_iterations` rejections the search fails; the step rule decides what
    to do (see [`LineSearchRule`][optim.line_search_rules.LineSearchRule]).

    References:
        Armijo, "Minimization of functions having Lipschitz continuous first
        partial derivatives", Pacific J. Math. 16(1), 1966.
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., Springer 2006, §3.1.

    Examples:
        On $f(x) = x^2$ from $x = 1$ along $p = -2$, the unit step overshoots to
        $-1$ (no decrease), half a step lands on the minimizer:

        >>> import numpy as np
        >>> from optim import AnalyticGradient, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
        >>> result = Backtracking().search(
        ...     evaluator,
        ...     x=np.array([1.0]),
        ...     value=1.0,
        ...     gradient=np.array([2.0]),
        ...     direction=np.array([-2.0]),
        ...     initial_step=1.0,
        ... )
        >>> result.step, result.delta, evaluator.evaluations
        (0.5, array([-1.]), 2)
    """

    c1: float = attrs.field(default=1e-4, validator=_validators.open_unit_interval)
    """Sufficient-decrease constant $c_1 \\in (0, 1)$."""

    contraction: float = attrs.field(
        default=0.5, kw_only=True, validator=_validators.open_unit_interval
    )
    """Factor $\\rho \\in (0, 1)$ by which a rejected step is shrunk."""

    max_iterations: int = attrs.field(
        default=40, kw_only=True, validator=_validators.positive_count
    )
    """Most trial points per search."""

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
        slope = _dot(gradient, direction)
        constraint = constraint_of(evaluator)
        step = initial_step
        if not step > 0.0:
            return SearchResult(step=0.0, delta=_zero(x), success=False)
        for _ in range(self.max_iterations):
            delta = displacement(x, step, direction)
            point = moved(x, delta, constraint)
            change = step * slope
            if constraint is not None:
                change = _dot(gradient, point - x)
            trial = evaluator.value(point)
            if change < 0.0 and trial <= value + self.c1 * change:
                return SearchResult(step=step, delta=delta, success=True, value=trial)
            step *= self.contraction
        _logger.debug(
            "backtracking: no sufficient decrease in %d trials", self.max_iterations
        )
        return SearchResult(step=0.0, delta=_zero(x), success=False)


def _cubic_minimizer(
    a: float, fa: float, da: float, b: float, fb: float, db: float
) -> float | None:
    """Minimizer of the cubic interpolating `f, f'` at `a` and `b` (N&W eq. 3.59)."""
    if a == b:
        return None
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if not (math.isfinite(radicand) and radicand >= 0.0):
        return None
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = db - da + 2.0 * d2
    if denominator == 0.0 or not math.isfinite(denominator):
        return None
    result = b - (b - a) * (db + d2 - d1) / denominator
    return result if math.isfinite(result) else None


def _quadratic_minimizer(
    a: float, fa: float, da: float, b: float, fb: float
) -> float | None:
    """Minimizer of the quadratic through `f(a)`, `f'(a)` and `f(b)` (N&W eq. 3.57)."""
    width = b - a
    curvature = fb - fa - da * width
    if width == 0.0 or not (math.isfinite(curvature) and curvature > 0.0):
        return None
    return a - da * width * width / (2.0 * curvature)


@attrs.frozen
class StrongWolfe(Search):
    r"""A line search for the strong Wolfe conditions (Nocedal & Wright Alg. 3.5/3.6).

    Accepts $\alpha$ with

    $$f(x + \alpha p) \le f(x) + c_1 \alpha \nabla f(x)^\top p, \qquad
    |\nabla f(x + \alpha p)^\top p| \le c_2 |\nabla f(x)^\top p| .$$

    The bracketing phase (Algorithm 3.5) extrapolates the step (to the minimizer
    of the cubic through the last two trials, kept within 2 to 10 times the
    current step) until it brackets an acceptable one; the `zoom` phase
    (Algorithm 3.6) shrinks the bracket by safeguarded interpolation: the
    minimizer of the cubic through both ends (eq. 3.59), else of the quadratic
    (eq. 3.57), else the midpoint, kept at least a tenth of the bracket away from
    either end. Every
    trial costs one value and one gradient through
    [`Evaluator.value_and_gradient`][optim.evaluator.Evaluator.value_and_gradient].
    If no acceptable step is found in `max_iterations` trials, the search fails,
    reporting the best step with sufficient decrease seen (if any). It fails
    sooner where more trials could not tell anything: once two trials in a row
    find values within the rounding error of $f(x)$ ($10 \epsilon |f(x)|$: the
    function is flat along the line at the resolution of floating point), or
    once the bracket is too narrow to move `x` by an ulp.

    Use $c_2 = 0.9$ for quasi-Newton directions and $c_2 = 0.1$ for nonlinear
    conjugate gradients (Nocedal & Wright's recommendations).

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., Springer 2006,
        §3.5, Algorithms 3.5 and 3.6.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
        >>> result = StrongWolfe().search(
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

    c1: float = attrs.field(default=1e-4, validator=_validators.open_unit_interval)
    """Sufficient-decrease constant $c_1 \\in (0, 1)$."""

    c2: float = attrs.field(default=0.9, validator=_validators.open_unit_interval)
    """Curvature constant $c_2 \\in (c_1, 1)$."""

    max_iterations: int = attrs.field(
        default=30, kw_only=True, validator=_validators.positive_count
    )
    """Most trial points per search (bracketing and zoom together)."""

    max_step: float = attrs.field(
        default=1e10, kw_only=True, validator=_validators.positive
    )
    """Largest step length tried while bracketing."""

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
        if not initial_step > 0.0:
            return SearchResult(step=0.0, delta=_zero(x), success=False)
        constraint = constraint_of(evaluator)
        line = _Line(
            evaluator,
            x,
            value,
            gradient,
            constraint,
            direction,
            _dot(gradient, direction),
            self.c1,
            self.c2,
            self.max_iterations,
            getattr(evaluator, "exact_gradient", True),
            # Plain trial points x + alpha p: no constraint, float64 arrays.
            constraint is None
            and type(x) is np.ndarray
            and x.ndim > 0
            and x.dtype is _F64
            and type(direction) is np.ndarray
            and direction.dtype is _F64,
        )
        found = self._bracket(line, min(initial_step, self.max_step))
        if isinstance(found, SearchResult):
            return found
        if found is not None:
            zoomed = _zoom(line, *found)
            if zoomed is not None:
                return zoomed
        _logger.debug(
            "strong Wolfe search failed; best step %s", line.best and line.best[0]
        )
        if line.best is not None:
            step, delta, trial_value, trial_gradient = line.best
            return SearchResult(
                step=step,
                delta=delta,
                success=False,
                value=trial_value,
                gradient=trial_gradient,
            )
        return SearchResult(step=0.0, delta=_zero(x), success=False)

    def _bracket(self, line: _Line, step: float) -> SearchResult | _Bracket | None:
        """Algorithm 3.5: extrapolate until a step is accepted or bracketed."""
        previous = (0.0, line.value, line.slope0)
        first = True
        while line.budget > 0 and line.flat < 2:
            delta, trial_value, trial_gradient, trial_slope = line.evaluate(step)
            if not (math.isfinite(trial_value) and math.isfinite(trial_slope)):
                # Overshot into a region where the function is not finite: shrink.
                return (previous, (step, math.inf, math.nan))
            if not line.armijo(step, trial_value) or (
                not first and trial_value >= previous[1]
            ):
                return (previous, (step, trial_value, trial_slope))
            line.best = (step, delta, trial_value, trial_gradient)
            if line.curvature(trial_slope):
                return line.success(step, delta, trial_value, trial_gradient)
            if trial_slope >= 0.0:
                return ((step, trial_value, trial_slope), previous)
            # Extrapolate: the minimizer of the cubic through the last two
            # trials, kept within [2, 10] times the current step.
            guess = _cubic_minimizer(*previous, step, trial_value, trial_slope)
            previous = (step, trial_value, trial_slope)
            if step >= self.max_step:
                return None
            if guess is None or not guess > step:
                guess = 2.0 * step
            step = min(max(guess, 2.0 * step), 10.0 * step, self.max_step)
            first = False
        return None


_Point = tuple[float, float, float]
"""A trial on the line: step, value and slope."""

_Bracket = tuple[_Point, _Point]
"""The `(low, high)` ends of an interval known to hold an acceptable step."""


class _Line:
    """One strong Wolfe search along `x + alpha * direction`: data and budget."""

    __slots__ = (
        "best",
        "budget",
        "c1",
        "c2",
        "change",
        "constraint",
        "direction",
        "evaluator",
        "exact",
        "flat",
        "gradient",
        "plain",
        "rounding",
        "slope0",
        "value",
        "x",
    )

    def __init__(
        self,
        evaluator: TrialEvaluator,
        x: Array,
        value: float,
        gradient: Array,
        constraint: Projection | None,
        direction: Array,
        slope0: float,
        c1: float,
        c2: float,
        budget: int,
        exact: bool = True,
        plain: bool = False,
    ) -> None:
        self.evaluator = evaluator
        self.x = x
        self.value = value
        self.gradient = gradient
        self.constraint = constraint
        self.direction = direction
        self.slope0 = slope0
        self.c1 = c1
        self.c2 = c2
        self.budget = budget
        self.best: tuple[float, Array, float, Array] | None = None
        self.exact = exact
        """Whether the gradient is exact (the evaluator's `exact_gradient`;
        `True` for an evaluator that does not say)."""
        self.flat = 0
        """How many trials in a row found a value within the rounding error of
        `value` (`10 eps |f(x)|`): two mean the function is flat at the
        resolution of floating point along the line, where no test can tell a
        decrease."""
        self.rounding = 10.0 * machine_eps(x) * abs(value)
        """The rounding error of `value`, `10 eps |f(x)|`, once per search."""
        self.change = 0.0
        r"""The first-order change $g^\top (P(x + \alpha p) - x)$ at the last
        trial."""
        self.plain = plain
        """Whether trial points are plain `x + alpha * p`: no constraint, and `x`
        and the direction are float64 arrays of one dimension or more."""

    def evaluate(self, step: float) -> tuple[Array, float, Array, float]:
        """Spend one trial: the displacement, value, gradient and slope at `step`."""
        self.budget -= 1
        x, direction = self.x, self.direction
        if self.plain:
            # What displacement and moved compute, without their conversions
            # (float64 stays float64 whatever the type of `step`).
            delta = step * direction
            point = x + delta
        else:
            delta = displacement(x, step, direction)
            point = moved(x, delta, self.constraint)
            if self.constraint is not None:
                self.change = _dot(self.gradient, point - x)
        trial_value, trial_gradient = self.evaluator.value_and_gradient(point)
        if abs(trial_value - self.value) <= self.rounding:
            self.flat += 1
        else:
            self.flat = 0
        return delta, trial_value, trial_gradient, _dot(trial_gradient, direction)

    def armijo(self, step: float, trial_value: float) -> bool:
        """Whether the sufficient-decrease condition holds (along the projection)."""
        if self.constraint is not None:
            change = self.change
            return change < 0.0 and trial_value <= self.value + self.c1 * change
        return trial_value <= self.value + self.c1 * step * self.slope0

    def curvature(self, trial_slope: float) -> bool:
        """Whether the strong curvature condition holds."""
        return abs(trial_slope) <= -self.c2 * self.slope0

    def success(
        self, step: float, delta: Array, trial_value: float, trial_gradient: Array
    ) -> SearchResult:
        """The result for an accepted step."""
        return SearchResult(
            step=step,
            delta=delta,
            success=True,
            value=trial_value,
            gradient=trial_gradient,
        )


def _resolution(x: Array, direction: Array) -> float:
    r"""The shortest step length that moves `x` along `direction` in floating point.

    Below $\epsilon \min_i |x_i| / |p_i|$ (over the coordinates the direction
    moves) no coordinate changes by more than about an ulp, so trials closer
    together than that evaluate the same point, give or take rounding.
    """
    moving = direction != 0
    if not backend.any_true(moving):
        return 0.0
    eps = machine_eps(x)
    xp = backend.namespace_of(x)
    if xp is np:
        ratios = np.abs(x[moving]) / np.abs(direction[moving])
        return eps * float(np.minimum.reduce(ratios, axis=None))
    ratios = xp.abs(x) / xp.abs(xp.where(moving, direction, 1.0))
    return eps * float(xp.min(xp.where(moving, ratios, math.inf)))


def _zoom(line: _Line, low: _Point, high: _Point) -> SearchResult | None:
    r"""Algorithm 3.6: shrink the bracket by safeguarded interpolation.

    It gives up once the bracket is too narrow to hold two distinct points (its
    width below the step that moves `x` by an ulp, see `_resolution`): further
    trials would evaluate the same point again. It also gives up when, before any
    decrease was found, the values rise in proportion to the step: two trials at
    least 2 times apart whose secant slopes $(f(\alpha) - f(x)) / \alpha$ are
    positive and agree within 25%. For $f(x + \alpha p) = f(x) + a \alpha +
    b \alpha^2$ that happens only if the true slope $a$ is positive: the
    direction does not descend (the gradient it came from is wrong at this
    scale, typically a difference estimate at its error floor), and shorter
    steps would only confirm it. That exit is taken only when the gradient is
    estimated (`exact_gradient` false): with an exact gradient a steady rise
    means a step far outside the region where the quadratic model holds (a
    first trial into a wall), and shorter steps do descend.
    """
    resolution = _resolution(line.x, line.direction)
    secant: tuple[float, float] | None = None  # the last rise: slope and step
    while line.budget > 0 and line.flat < 2:
        lo, hi = low[0], high[0]
        width = abs(hi - lo)
        if width <= max(1e-16 * max(1.0, abs(lo)), resolution):
            return None
        candidate = None
        if math.isfinite(high[1]):
            candidate = _cubic_minimizer(*low, *high)
            if candidate is None:
                candidate = _quadratic_minimizer(*low, hi, high[1])
        left, right = min(lo, hi), max(lo, hi)
        margin = 0.1 * width
        if candidate is None:
            candidate = 0.5 * (lo + hi)
        step = min(max(candidate, left + margin), right - margin)
        delta, trial_value, trial_gradient, trial_slope = line.evaluate(step)
        finite = math.isfinite(trial_value) and math.isfinite(trial_slope)
        if (
            finite
            and not line.exact
            and low[0] == 0.0
            and trial_value > line.value
            and step > 0.0
        ):
            rise = (trial_value - line.value) / step
            if secant is not None and _steady_rise(secant, rise, step):
                return None
            secant = (rise, step)
        if not finite or not line.armijo(step, trial_value) or trial_value >= low[1]:
            high = (step, trial_value if finite else math.inf, trial_slope)
            continue
        line.best = (step, delta, trial_value, trial_gradient)
        if line.curvature(trial_slope):
            return line.success(step, delta, trial_value, trial_gradient)
        if trial_slope * (hi - lo) >= 0.0:
            high = low
        low = (step, trial_value, trial_slope)
    return None


def _steady_rise(previous: tuple[float, float], rise: float, step: float) -> bool:
    """Whether two rises, at steps at least 2 times apart, agree within 25%."""
    before, at = previous
    return step <= 0.5 * at and 0.8 <= rise / before <= 1.25


def quadratic_first_step(value: float, previous_value: float, slope: float) -> float:
    r"""Scipy's first trial step: the last decrease, interpolated, at most 1.

    $$\alpha_0 = \min\Bigl(1, \frac{1.01 \cdot 2 (f_k - f_{k-1})}
    {\nabla f_k^\top p_k}\Bigr),$$

    the minimizer of the quadratic with $f$'s value and slope at $x_k$ whose
    decrease equals the last one (Nocedal & Wright eq. 3.61), enlarged by 1%
    and capped at the unit step; 1 after a rise or at a zero slope, and 0 where
    the value did not change at all (scipy's searches then fail at once: the
    run is at the limit of precision). This is how scipy's BFGS, CG and
    Newton-CG start each line search (`scalar_search_wolfe1`), with
    $f_{-1} = f_0 + \|g_0\| / 2$ at BFGS's and CG's first step (a first
    displacement of length about 1).

    Args:
        value: $f_k$, the value at the current point.
        previous_value: $f_{k-1}$, the value at the previous point.
        slope: $\nabla f_k^\top p_k$ along the new direction.

    Returns:
        The first step length to try, in $[0, 1]$.

    Examples:
        >>> quadratic_first_step(1.0, 1.5, -2.0)
        0.505
        >>> quadratic_first_step(1.0, 0.5, -2.0), quadratic_first_step(1.0, 9.0, -2.0)
        (1.0, 1.0)
        >>> quadratic_first_step(1.0, 1.0, -2.0)
        0.0
    """
    step = ratio(1.01 * 2.0 * (value - previous_value), slope, 1.0)
    if step == 0.0:
        return 0.0
    return min(1.0, step) if step > 0.0 else 1.0


@attrs.frozen
class MoreThuente(Search):
    r"""Moré and Thuente's line search for the strong Wolfe conditions (MINPACK-2).

    Accepts $\alpha$ with

    $$f(x + \alpha p) \le f(x) + c_1 \alpha \nabla f(x)^\top p, \qquad
    |\nabla f(x + \alpha p)^\top p| \le c_2 |\nabla f(x)^\top p|,$$

    the conditions of [`StrongWolfe`][optim.line_search.StrongWolfe], by another
    sequence of trials: MINPACK-2's `dcsrch` and `dcstep`, the search behind
    scipy's BFGS, CG and Newton-CG (`scipy.optimize.line_search_wolfe1`). Each
    trial costs one value and one gradient. Until a trial lowers
    $\psi(\alpha) = f(x + \alpha p) - f(x) - c_1 \alpha \nabla f(x)^\top p$
    with a nonnegative slope, the steps come from a safeguarded cubic or
    quadratic model of $\psi$, after it from one of $f$; an interval known to
    hold an acceptable step shrinks, by bisection when the models shrink it too
    slowly, and before one is found the step grows by 1.1 to 4 times its
    distance from the best step. Run with the same first trial, it tries the
    same steps as scipy's and accepts the same one.

    The search fails (returning the best step with a decrease seen, if any)
    where `dcsrch` warns: when the interval is narrower than `xtol` relative to
    its upper end, when rounding keeps the trial outside it, at `max_step` or
    `min_step`, after `max_iterations` trials, or at a value or slope that is not
    finite; at once, without evaluating, when the first trial step is not
    positive or the direction does not descend. It searches straight lines
    only: under a constraint it raises a
    `ValueError` (use `StrongWolfe` or `Backtracking` there).

    References:
        Moré & Thuente, "Line search algorithms with guaranteed sufficient
        decrease", ACM Trans. Math. Software 20(3), 1994.

    Examples:
        On $f(x) = x^2$ from $x = 1$ along $p = -1$ the unit step lands on the
        minimizer; from a first trial of 0.1 the search extrapolates to 0.5 and
        then interpolates to the minimizer:

        >>> import numpy as np
        >>> from optim import AnalyticGradient, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> def search(initial_step):
        ...     evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
        ...     result = MoreThuente(c2=0.1).search(
        ...         evaluator,
        ...         x=np.array([1.0]),
        ...         value=1.0,
        ...         gradient=np.array([2.0]),
        ...         direction=np.array([-1.0]),
        ...         initial_step=initial_step,
        ...     )
        ...     return result.success, result.step, evaluator.evaluations
        >>> search(1.0)
        (True, 1.0, 1)
        >>> search(0.1)
        (True, 1.0, 3)
    """

    c1: float = attrs.field(default=1e-4, validator=_validators.open_unit_interval)
    """Sufficient-decrease constant $c_1 \\in (0, 1)$ (MINPACK's `ftol`)."""

    c2: float = attrs.field(default=0.9, validator=_validators.open_unit_interval)
    """Curvature constant $c_2 \\in (c_1, 1)$ (MINPACK's `gtol`)."""

    xtol: float = attrs.field(
        default=1e-14, kw_only=True, validator=_validators.non_negative
    )
    """Relative width below which the interval of acceptable steps is given up."""

    min_step: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """Smallest step length tried."""

    max_step: float = attrs.field(
        default=1e10, kw_only=True, validator=_validators.positive
    )
    """Largest step length tried."""

    max_iterations: int = attrs.field(
        default=100, kw_only=True, validator=_validators.positive_count
    )
    """Most trial points per search."""

    @c2.validator
    def _check_c2(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value <= self.c1:
            raise ValueError(f"c2 must be > c1 ({self.c1!r}), got {value!r}")

    @max_step.validator
    def _check_max_step(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.min_step:
            raise ValueError(
                f"max_step must be >= min_step ({self.min_step!r}), got {value!r}"
            )

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
        if constraint_of(evaluator) is not None:
            raise ValueError(
                "MoreThuente searches straight lines and cannot follow a "
                "constraint's projected path: use StrongWolfe or Backtracking"
            )
        slope0 = _dot(gradient, direction)
        if not (slope0 < 0.0 and initial_step > 0.0):
            _logger.debug("More-Thuente search: no descent or no first step")
            return SearchResult(step=0.0, delta=_zero(x), success=False)
        plain = x.ndim > 0 and x.dtype is _F64 and direction.dtype is _F64
        lowest, highest = self.min_step, self.max_step
        step = min(max(float(initial_step), lowest), highest)
        first = step
        gtest = self.c1 * slope0  # `_Dcsrch.gtest`, the same product
        search: _Dcsrch | None = None  # made once the first trial is refused
        best: tuple[float, Array, float, Array] | None = None
        for _ in range(self.max_iterations):
            if plain:
                delta = step * direction
                point = x + delta
            else:
                delta = displacement(x, step, direction)
                point = moved(x, delta)
            trial_value, trial_gradient = evaluator.value_and_gradient(point)
            trial_slope = _dot(trial_gradient, direction)
            if not (math.isfinite(trial_value) and math.isfinite(trial_slope)):
                break
            test = value + step * gtest
            if trial_value <= test and abs(trial_slope) <= -self.c2 * slope0:
                return SearchResult(
                    step=step,
                    delta=delta,
                    success=True,
                    value=trial_value,
                    gradient=trial_gradient,
                )
            if search is None:
                search = _Dcsrch(
                    value, slope0, self.c1, self.xtol, first, lowest, highest
                )
            if search.warns(step, trial_value, trial_slope):
                break
            step = search.next(step, trial_value, trial_slope)
            if search.stx == search.last and trial_value < value:
                best = (search.stx, delta, trial_value, trial_gradient)
            if not math.isfinite(step):
                break
        _logger.debug("More-Thuente search failed; best step %s", best and best[0])
        if best is not None:
            step, delta, trial_value, trial_gradient = best
            return SearchResult(
                step=step,
                delta=delta,
                success=False,
                value=trial_value,
                gradient=trial_gradient,
            )
        return SearchResult(step=0.0, delta=_zero(x), success=False)


@attrs.define
class _Dcsrch:
    """The state of one `dcsrch` search (MINPACK-2), between two trials.

    `stx` is the step with the least value of the modified function so far and
    `sty` the other end of the interval; `fx`, `gx`, `fy`, `gy` their values and
    slopes.
    """

    finit: float
    ginit: float
    ftol: float
    xtol: float
    first: float
    lowest: float
    highest: float
    gtest: float = attrs.field(init=False)
    stx: float = 0.0
    fx: float = attrs.field(init=False)
    gx: float = attrs.field(init=False)
    sty: float = 0.0
    fy: float = attrs.field(init=False)
    gy: float = attrs.field(init=False)
    stmin: float = 0.0
    stmax: float = attrs.field(init=False)
    width: float = attrs.field(init=False)
    width1: float = attrs.field(init=False)
    bracketed: bool = False
    stage: int = 1
    last: float = math.nan
    """The step of the last trial."""

    def __attrs_post_init__(self) -> None:
        self.gtest = self.ftol * self.ginit
        self.fx = self.fy = self.finit
        self.gx = self.gy = self.ginit
        self.stmax = self.first + 4.0 * self.first
        self.width = self.highest - self.lowest
        self.width1 = self.width / 0.5

    def warns(self, step: float, value: float, slope: float) -> bool:
        """Whether `dcsrch` gives up at this trial (it did not converge)."""
        test = self.finit + step * self.gtest
        if self.stage == 1 and value <= test and slope >= 0.0:
            self.stage = 2
        return bool(
            (self.bracketed and (step <= self.stmin or step >= self.stmax))
            or (self.bracketed and self.stmax - self.stmin <= self.xtol * self.stmax)
            or (step == self.highest and value <= test and slope <= self.gtest)
            or (step == self.lowest and (value > test or slope >= self.gtest))
        )

    def next(self, step: float, value: float, slope: float) -> float:
        """The next trial step (`dcsrch` after an `FG` return)."""
        self.last = step
        test = self.finit + step * self.gtest
        with np.errstate(all="ignore"):
            if self.stage == 1 and self.fx >= value > test:
                # The modified function psi, to find a step with a decrease.
                gtest = self.gtest
                (stx, fxm, gxm, sty, fym, gym, step, self.bracketed) = _dcstep(
                    self.stx,
                    self.fx - self.stx * gtest,
                    self.gx - gtest,
                    self.sty,
                    self.fy - self.sty * gtest,
                    self.gy - gtest,
                    step,
                    value - step * gtest,
                    slope - gtest,
                    self.bracketed,
                    self.stmin,
                    self.stmax,
                )
                self.stx, self.sty = stx, sty
                self.fx, self.fy = fxm + stx * gtest, fym + sty * gtest
                self.gx, self.gy = gxm + gtest, gym + gtest
            else:
                (
                    self.stx,
                    self.fx,
                    self.gx,
                    self.sty,
                    self.fy,
                    self.gy,
                    step,
                    self.bracketed,
                ) = _dcstep(
                    self.stx,
                    self.fx,
                    self.gx,
                    self.sty,
                    self.fy,
                    self.gy,
                    step,
                    value,
                    slope,
                    self.bracketed,
                    self.stmin,
                    self.stmax,
                )
        if self.bracketed:
            if abs(self.sty - self.stx) >= 0.66 * self.width1:
                step = self.stx + 0.5 * (self.sty - self.stx)
            self.width1 = self.width
            self.width = abs(self.sty - self.stx)
            self.stmin = min(self.stx, self.sty)
            self.stmax = max(self.stx, self.sty)
        else:
            self.stmin = step + 1.1 * (step - self.stx)
            self.stmax = step + 4.0 * (step - self.stx)
        step = min(max(step, self.lowest), self.highest)
        if self.bracketed and (
            step <= self.stmin
            or step >= self.stmax
            or self.stmax - self.stmin <= self.xtol * self.stmax
        ):
            step = self.stx  # no further progress: the best step so far
        return step


def _gamma(
    theta: np.float64,
    d1: np.float64,
    d2: np.float64,
    *,
    negate: bool | np.bool_,
    clamp: bool = False,
) -> np.float64:
    """`dcstep`'s root term of the cubic interpolant, scaled against overflow."""
    s = max(abs(theta), abs(d1), abs(d2))
    radicand = (theta / s) ** 2 - (d1 / s) * (d2 / s)
    gamma: np.float64 = s * np.sqrt(max(0.0, radicand) if clamp else radicand)
    return -gamma if negate else gamma


def _dcstep(
    stx: float,
    fx: float,
    dx: float,
    sty: float,
    fy: float,
    dy: float,
    stp: float,
    fp: float,
    dp: float,
    bracketed: bool,
    stpmin: float,
    stpmax: float,
) -> tuple[float, float, float, float, float, float, float, bool]:
    """MINPACK-2's `dcstep`: the next step and the updated interval.

    In numpy float64 arithmetic (infinities and NaNs rather than exceptions),
    as scipy's port computes it.
    """
    stx, fx, dx = np.float64(stx), np.float64(fx), np.float64(dx)
    sty, fy, dy = np.float64(sty), np.float64(fy), np.float64(dy)
    stp, fp, dp = np.float64(stp), np.float64(fp), np.float64(dp)
    sgnd = np.sign(dp) * np.sign(dx)
    if fp > fx:
        # A higher value: the minimum is bracketed. The cubic step if it is
        # closer to stx than the quadratic one, else their average.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _gamma(theta, dx, dp, negate=stp < stx)
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + (p / q) * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) <= abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        bracketed = True
    elif sgnd < 0.0:
        # A lower value, slopes of opposite signs: bracketed. The cubic step if
        # it is farther from stp than the secant step, else the secant step.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _gamma(theta, dx, dp, negate=stp > stx)
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + (p / q) * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        bracketed = True
    elif abs(dp) < abs(dx):
        # A lower value, slopes of one sign, the slope's magnitude decreasing.
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _gamma(theta, dx, dp, negate=stp > stx, clamp=True)
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = np.float64(stpmax)
        else:
            stpc = np.float64(stpmin)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if bracketed:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = min(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = max(stp + 0.66 * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = np.clip(stpf, stpmin, stpmax)
    elif bracketed:
        # A lower value, slopes of one sign, not decreasing: the cubic step
        # within the interval.
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        gamma = _gamma(theta, dy, dp, negate=stp > sty)
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dy
        stpf = stp + (p / q) * (sty - stp)
    else:
        stpf = np.float64(stpmax if stp > stx else stpmin)
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return (
        float(stx),
        float(fx),
        float(dx),
        float(sty),
        float(fy),
        float(dy),
        float(stpf),
        bracketed,
    )

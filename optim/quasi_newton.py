r"""Rules that choose their own step length: line-search descent, L-BFGS, CG, BB.

Each rule here combines a [`Direction`][optim.directions.Direction] (where to go)
with a [`Search`][optim.line_search.Search] (how far), optimistix-style; the
generic combination is [`LineSearchRule`][optim.quasi_newton.LineSearchRule], and
[`LBFGS`][optim.quasi_newton.LBFGS],
[`ConjugateGradient`][optim.quasi_newton.ConjugateGradient] and
[`BarzilaiBorwein`][optim.quasi_newton.BarzilaiBorwein] are presets with the
customary defaults.

When a search finds no acceptable step, the rule restarts from the steepest-descent
direction and searches again; if that fails too (typically at the limit of
floating-point precision, or because the gradient is inaccurate), it keeps the best
trial point that lowered the function, and otherwise stays put (a zero step) and
stops searching at that point, so the run ends at `max_steps` without wasting
evaluations.
"""

from __future__ import annotations

import abc
import logging
import math
from typing import Any

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override
from optim.directions import (
    Direction,
    LBFGSDirection,
    PolakRibiere,
    SteepestDescent,
)
from optim.evaluation import TrialEvaluator
from optim.line_search import AcceptStep, Backtracking, Search, StrongWolfe
from optim.step_rules import StepRule

__all__ = [
    "LBFGS",
    "BarzilaiBorwein",
    "ConjugateGradient",
    "LineSearchRule",
    "LineSearchState",
]

_logger = logging.getLogger("optim")

_array_eq = attrs.cmp_using(eq=np.array_equal)


def _dot(a: Array, b: Array) -> float:
    return float(np.vdot(a, b))


@attrs.frozen(kw_only=True)
class LineSearchState:
    """State of the line-search rules in [`optim.quasi_newton`][optim.quasi_newton].

    Examples:
        >>> import numpy as np
        >>> state = LBFGS().init(np.zeros(2))
        >>> state.direction_state, state.step
        (LBFGSState(steps=(), gradient_changes=()), 0)
    """

    direction_state: Any
    """The direction's own state (for example the L-BFGS pairs)."""

    previous_x: Array | None = attrs.field(default=None, eq=_array_eq)
    """The point of the previous update, `None` at the start."""

    previous_gradient: Array | None = attrs.field(default=None, eq=_array_eq)
    """The gradient at `previous_x`."""

    previous_step: float = 0.0
    r"""The step length $\alpha$ accepted at the previous update."""

    previous_slope: float = 0.0
    r"""The directional derivative $g^\top p$ at the previous update."""

    previous_value: float | None = None
    """The minimized function's value at `previous_x`."""

    stalled: bool = False
    """Whether the last search failed completely (the rule then stays put)."""

    step: int = 0
    """Updates applied so far."""


class _SearchRule(StepRule[LineSearchState]):
    """Shared update of the rules that search along a direction."""

    __slots__ = ()

    @property
    @abc.abstractmethod
    def _direction(self) -> Direction[Any]: ...

    @property
    @abc.abstractmethod
    def _search(self) -> Search: ...

    def _initial_step(
        self,
        x: Array,
        value: float,
        gradient: Array,
        direction: Array,
        slope: float,
        state: LineSearchState,
    ) -> float:
        if state.previous_step > 0.0 and state.previous_slope < 0.0:
            if self._direction.scaled:
                return 1.0
            if state.previous_value is not None and state.previous_value > value:
                # Nocedal & Wright eq. 3.61 (scaled by 1.01): the step that the
                # quadratic through f(x), its slope and the last decrease minimizes.
                return 1.01 * 2.0 * (value - state.previous_value) / slope
            # Nocedal & Wright eq. 3.60: same first-order change as last time.
            return state.previous_step * state.previous_slope / slope
        norm = float(np.linalg.norm(direction))
        return min(1.0, 1.0 / norm) if self._direction.scaled else 1.0 / norm

    @override
    def init(self, x0: Array) -> LineSearchState:
        return LineSearchState(direction_state=self._direction.init(x0))

    @override
    def update(
        self,
        gradient: Array,
        state: LineSearchState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, LineSearchState]:
        if (
            state.stalled
            and state.previous_x is not None
            and np.array_equal(x, state.previous_x)
        ):
            return np.zeros_like(x), attrs.evolve(state, step=state.step + 1)
        direction_part = self._direction
        direction_state = state.direction_state
        if state.previous_x is not None and state.previous_gradient is not None:
            direction_state = direction_part.observe(
                direction_state,
                step=x - state.previous_x,
                gradient_change=gradient - state.previous_gradient,
            )
        direction, direction_state = direction_part.direction(gradient, direction_state)
        slope = _dot(gradient, direction)
        steepest = isinstance(direction_part, SteepestDescent)
        if not slope < 0.0:
            if not np.any(gradient):
                # A stationary point: nothing to do.
                return np.zeros_like(x), attrs.evolve(state, step=state.step + 1)
            direction_state = direction_part.init(x)
            direction, slope, steepest = -gradient, -_dot(gradient, gradient), True
        initial = self._initial_step(x, value, gradient, direction, slope, state)
        if not (math.isfinite(initial) and initial > 0.0):
            initial = 1.0 / math.sqrt(-slope)
        result = self._search.search(
            evaluator,
            x=x,
            value=value,
            gradient=gradient,
            direction=direction,
            initial_step=initial,
        )
        if not result.success and not steepest:
            _logger.debug("line search failed; restarting with steepest descent")
            direction_state = direction_part.init(x)
            direction, slope = -gradient, -_dot(gradient, gradient)
            result = self._search.search(
                evaluator,
                x=x,
                value=value,
                gradient=gradient,
                direction=direction,
                initial_step=1.0 / math.sqrt(-slope),
            )
        stalled = False
        if not result.success and not (
            result.value is not None and result.value < value and result.step > 0.0
        ):
            _logger.debug("line search failed from steepest descent; staying put")
            stalled = True
        new_state = LineSearchState(
            direction_state=direction_state,
            previous_x=x,
            previous_gradient=gradient,
            previous_step=0.0 if stalled else result.step,
            previous_slope=slope,
            previous_value=value,
            stalled=stalled,
            step=state.step + 1,
        )
        if stalled:
            return np.zeros_like(x), new_state
        return result.delta, new_state


def _is_direction(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if not isinstance(value, Direction):
        raise TypeError(f"{attribute.name} must be a Direction, got {value!r}")


def _is_search(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Search):
        raise TypeError(f"{attribute.name} must be a Search, got {value!r}")


@attrs.frozen
class LineSearchRule(_SearchRule):
    r"""Any direction with any line search: $x \leftarrow x + \alpha_k p_k$.

    The direction $p_k$ comes from `direction`, the step length $\alpha_k$ from
    `search`, started at $\alpha_0 = 1$ for scaled (quasi-Newton) directions and
    otherwise at $\alpha_{k-1} \, g_{k-1}^\top p_{k-1} / g_k^\top p_k$ (Nocedal &
    Wright eq. 3.60; $1/\|p_0\|$ at the first step). A direction that is not a
    descent direction is replaced by $-g$. For search failures, see
    [`optim.quasi_newton`][optim.quasi_newton].

    Examples:
        Steepest descent with Armijo backtracking on the Rosenbrock valley:

        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.directions import SteepestDescent
        >>> from optim.line_search import Backtracking
        >>> from optim.problems import Booth
        >>> rule = LineSearchRule(SteepestDescent(), Backtracking())
        >>> result = Optimizer(
        ...     Booth(), step_rule=rule, callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run(Booth().start)
        >>> result.status.name, np.round(result.x, 6)
        ('CONVERGED', array([1., 3.]))
    """

    direction: Direction[Any] = attrs.field(
        factory=SteepestDescent, validator=_is_direction
    )
    """Where to go."""

    search: Search = attrs.field(factory=Backtracking, validator=_is_search)
    """How far to go."""

    @property
    @override
    def _direction(self) -> Direction[Any]:
        return self.direction

    @property
    @override
    def _search(self) -> Search:
        return self.search


@attrs.frozen
class LBFGS(_SearchRule):
    r"""Limited-memory BFGS with a strong Wolfe line search.

    $p_k = -H_k g_k$ by the two-loop recursion over the last `memory` pairs
    ([`LBFGSDirection`][optim.directions.LBFGSDirection]); the step length comes
    from `search` (default [`StrongWolfe`][optim.line_search.StrongWolfe] with
    $c_1 = 10^{-4}$, $c_2 = 0.9$), trying $\alpha = 1$ first. Nocedal & Wright,
    Algorithm 7.5.

    References:
        Liu & Nocedal, "On the limited memory BFGS method for large scale
        optimization", Math. Prog. 45, 1989.
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §7.2.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Rosenbrock
        >>> result = Optimizer(
        ...     Rosenbrock(), step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run([-1.2, 1.0])
        >>> result.status.name, np.round(result.x, 8), result.gradient_norm < 1e-8
        ('CONVERGED', array([1., 1.]), True)
    """

    memory: int = attrs.field(default=10, validator=_validators.positive_count)
    """Number of $(s, y)$ pairs kept."""

    search: Search = attrs.field(
        factory=StrongWolfe, kw_only=True, validator=_is_search
    )
    """The line search."""

    @property
    @override
    def _direction(self) -> Direction[Any]:
        return LBFGSDirection(self.memory)

    @property
    @override
    def _search(self) -> Search:
        return self.search


def _cg_search() -> Search:
    return StrongWolfe(c2=0.1)


@attrs.frozen
class ConjugateGradient(_SearchRule):
    r"""Nonlinear conjugate gradients, Polak-Ribière+ with restarts.

    Directions from [`PolakRibiere`][optim.directions.PolakRibiere] (restarting
    every `restart` steps, by default every $n$), step lengths from `search`
    (default strong Wolfe with $c_2 = 0.1$, as Nocedal & Wright recommend for CG),
    first trial step by their eq. 3.60.

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §5.2.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Quadratic
        >>> problem = Quadratic(dimension=10, condition_number=100.0)
        >>> result = Optimizer(
        ...     problem,
        ...     step_rule=ConjugateGradient(),
        ...     callbacks=[StopOnZeroGradient(1e-8)],
        ... ).run(problem.start)
        >>> result.status.name
        'CONVERGED'
    """

    restart: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_validators.positive_count)
    )
    """Restart period; `None` restarts every $n$ directions."""

    search: Search = attrs.field(factory=_cg_search, kw_only=True, validator=_is_search)
    """The line search."""

    @property
    @override
    def _direction(self) -> Direction[Any]:
        return PolakRibiere(self.restart)

    @property
    @override
    def _search(self) -> Search:
        return self.search


@attrs.frozen
class BarzilaiBorwein(_SearchRule):
    r"""Barzilai-Borwein (spectral) gradient steps: $x \leftarrow x - \alpha_k g_k$.

    With $s = x_k - x_{k-1}$ and $y = g_k - g_{k-1}$, the "long" step is
    $\alpha_k = s^\top s / s^\top y$ (BB1) and the "short" one
    $\alpha_k = s^\top y / y^\top y$ (BB2); the first step is `initial_step`, or
    $1/\|g_0\|$. When $s^\top y \le 0$ (negative curvature) the previous step is
    kept; steps are clipped to `[min_step, max_step]`.

    By default the step is taken as is (`search=AcceptStep()`): the classic,
    nonmonotone method, which converges on strictly convex quadratics but may not
    elsewhere. Pass `search=Backtracking()` to require sufficient decrease from
    the BB step (a monotone globalization).

    References:
        Barzilai & Borwein, "Two-point step size gradient methods", IMA J. Numer.
        Anal. 8, 1988.
        Raydan, "On the Barzilai and Borwein choice of steplength for the gradient
        method", IMA J. Numer. Anal. 13, 1993.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Quadratic
        >>> problem = Quadratic(dimension=10, condition_number=100.0)
        >>> result = Optimizer(
        ...     problem,
        ...     step_rule=BarzilaiBorwein(),
        ...     callbacks=[StopOnZeroGradient(1e-8)],
        ... ).run(problem.start)
        >>> result.status.name
        'CONVERGED'
    """

    variant: str = attrs.field(
        default="long", validator=attrs.validators.in_(("long", "short"))
    )
    """`"long"` (BB1, $s^\\top s / s^\\top y$) or `"short"` (BB2)."""

    initial_step: float | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_positive
    )
    """The first step length; `None` uses $1 / \\|g_0\\|$."""

    min_step: float = attrs.field(
        default=1e-10, kw_only=True, validator=_validators.positive
    )
    """Smallest step length."""

    max_step: float = attrs.field(
        default=1e10, kw_only=True, validator=_validators.positive
    )
    """Largest step length."""

    search: Search = attrs.field(factory=AcceptStep, kw_only=True, validator=_is_search)
    """What to do with the BB step: accept it, or backtrack from it."""

    @max_step.validator
    def _check_max_step(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.min_step:
            raise ValueError(
                f"max_step must be >= min_step ({self.min_step!r}), got {value!r}"
            )

    @property
    @override
    def _direction(self) -> Direction[Any]:
        return SteepestDescent()

    @property
    @override
    def _search(self) -> Search:
        return self.search

    @override
    def _initial_step(
        self,
        x: Array,
        value: float,
        gradient: Array,
        direction: Array,
        slope: float,
        state: LineSearchState,
    ) -> float:
        if state.previous_x is None or state.previous_gradient is None:
            if self.initial_step is not None:
                step = self.initial_step
            else:
                step = 1.0 / float(np.linalg.norm(gradient))
        else:
            s = x - state.previous_x
            y = gradient - state.previous_gradient
            sy = _dot(s, y)
            if not sy > 0.0:
                step = state.previous_step if state.previous_step > 0 else 1.0
            elif self.variant == "long":
                step = _dot(s, s) / sy
            else:
                step = sy / _dot(y, y)
        return min(max(step, self.min_step), self.max_step)

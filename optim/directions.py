r"""Descent directions: steepest descent, L-BFGS, nonlinear conjugate gradients.

A [`Direction`][optim.directions.Direction] turns the gradient (and what it
remembers of earlier steps) into a direction $p$ along which a
[`Search`][optim.line_search.Search] then picks the step length; the two parts are
combined by [`LineSearchRule`][optim.quasi_newton.LineSearchRule]. Like step rules,
directions are functional: their state is an explicit, immutable value.
"""

from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override

__all__ = [
    "ConjugateGradientState",
    "Direction",
    "LBFGSDirection",
    "LBFGSState",
    "PolakRibiere",
    "SteepestDescent",
]

D = TypeVar("D")

_array_eq = attrs.cmp_using(eq=np.array_equal)


def _dot(a: Array, b: Array) -> float:
    return float(np.vdot(a, b))


class Direction(abc.ABC, Generic[D]):
    """How a gradient (and past steps) become a descent direction, with state `D`.

    Implement [`init`][optim.directions.Direction.init] and
    [`direction`][optim.directions.Direction.direction]; directions that learn
    curvature also override [`observe`][optim.directions.Direction.observe].

    Examples:
        >>> import numpy as np
        >>> class Scaled(Direction[None]):
        ...     def init(self, x0):
        ...         return None
        ...
        ...     def direction(self, gradient, state):
        ...         return -0.5 * gradient, state
        >>> Scaled().direction(np.array([2.0]), None)
        (array([-1.]), None)
    """

    __slots__ = ()

    @abc.abstractmethod
    def init(self, x0: Array) -> D:
        """Return the state for a run from `x0` (also used to restart)."""

    @abc.abstractmethod
    def direction(self, gradient: Array, state: D) -> tuple[Array, D]:
        """Return a direction at a point with this gradient, and the new state."""

    def observe(self, state: D, *, step: Array, gradient_change: Array) -> D:
        """Learn from the last step $s = x_{k+1} - x_k$ and $y = g_{k+1} - g_k$.

        The default ignores them.

        Args:
            state: The current state.
            step: The displacement $s$ just taken.
            gradient_change: The change $y$ of the gradient over it.

        Returns:
            The new state.
        """
        return state

    @property
    def scaled(self) -> bool:
        r"""Whether the direction carries its own scale, so the unit step is natural.

        True for quasi-Newton directions (try $\alpha = 1$ first); false for
        gradient-like ones, whose first trial step is extrapolated from the last.
        """
        return False


@attrs.frozen
class SteepestDescent(Direction[None]):
    """The negative gradient, $p = -g$.

    Examples:
        >>> import numpy as np
        >>> SteepestDescent().direction(np.array([1.0, -2.0]), None)
        (array([-1.,  2.]), None)
    """

    @override
    def init(self, x0: Array) -> None:
        return None

    @override
    def direction(self, gradient: Array, state: None) -> tuple[Array, None]:
        return -gradient, None


@attrs.frozen
class LBFGSState:
    """State of [`LBFGSDirection`][optim.directions.LBFGSDirection].

    Examples:
        >>> LBFGSDirection().init(None)
        LBFGSState(steps=(), gradient_changes=())
    """

    steps: tuple[Array, ...] = ()
    """The last steps $s_i$, oldest first."""

    gradient_changes: tuple[Array, ...] = ()
    """The matching gradient changes $y_i$, oldest first."""


@attrs.frozen
class LBFGSDirection(Direction[LBFGSState]):
    r"""The L-BFGS direction $p = -H g$ by the two-loop recursion.

    $H$ is the BFGS inverse-Hessian approximation built from the last `memory`
    pairs $(s_i, y_i)$ on top of $H_0 = \gamma I$ with
    $\gamma = s^\top y / y^\top y$ of the newest pair (Nocedal & Wright,
    Algorithm 7.4 and eq. 7.20). A pair is stored only if it satisfies the
    curvature condition $s^\top y > 10^{-10} \|s\| \|y\|$ (always true after a
    strong Wolfe step), which keeps $H$ positive definite.

    References:
        Nocedal, "Updating quasi-Newton matrices with limited storage", Math.
        Comp. 35, 1980.
        Liu & Nocedal, "On the limited memory BFGS method for large scale
        optimization", Math. Prog. 45, 1989.

    Examples:
        On $f(x) = \tfrac12 (x_1^2 + 4 x_2^2)$ one pair of each coordinate is
        enough to recover the Newton direction:

        >>> import numpy as np
        >>> direction = LBFGSDirection(memory=2)
        >>> state = direction.init(np.zeros(2))
        >>> state = direction.observe(
        ...     state, step=np.array([1.0, 0.0]), gradient_change=np.array([1.0, 0.0])
        ... )
        >>> state = direction.observe(
        ...     state, step=np.array([0.0, 1.0]), gradient_change=np.array([0.0, 4.0])
        ... )
        >>> p, _ = direction.direction(np.array([2.0, 4.0]), state)
        >>> p
        array([-2., -1.])
    """

    memory: int = attrs.field(default=10, validator=_validators.positive_count)
    """Number of pairs $(s, y)$ kept."""

    @property
    @override
    def scaled(self) -> bool:
        return True

    @override
    def init(self, x0: Array) -> LBFGSState:
        return LBFGSState()

    @override
    def observe(
        self, state: LBFGSState, *, step: Array, gradient_change: Array
    ) -> LBFGSState:
        curvature = _dot(step, gradient_change)
        scale = float(np.linalg.norm(step) * np.linalg.norm(gradient_change))
        if not curvature > 1e-10 * scale:
            return state
        keep = self.memory - 1
        steps = state.steps[len(state.steps) - keep :] if keep else ()
        changes = state.gradient_changes[len(state.steps) - keep :] if keep else ()
        return LBFGSState((*steps, step), (*changes, gradient_change))

    @override
    def direction(self, gradient: Array, state: LBFGSState) -> tuple[Array, LBFGSState]:
        q = np.array(gradient, dtype=np.float64, copy=True)
        if not state.steps:
            return -q, state
        rhos = [
            1.0 / _dot(s, y)
            for s, y in zip(state.steps, state.gradient_changes, strict=True)
        ]
        alphas = []
        for s, y, rho in zip(
            reversed(state.steps),
            reversed(state.gradient_changes),
            reversed(rhos),
            strict=True,
        ):
            alpha = rho * _dot(s, q)
            alphas.append(alpha)
            q = q - alpha * y
        newest_s, newest_y = state.steps[-1], state.gradient_changes[-1]
        r = (_dot(newest_s, newest_y) / _dot(newest_y, newest_y)) * q
        for s, y, rho, alpha in zip(
            state.steps, state.gradient_changes, rhos, reversed(alphas), strict=True
        ):
            beta = rho * _dot(y, r)
            r = r + (alpha - beta) * s
        return -r, state


@attrs.frozen
class ConjugateGradientState:
    """State of [`PolakRibiere`][optim.directions.PolakRibiere].

    Examples:
        >>> PolakRibiere().init(None)
        ConjugateGradientState(gradient=None, direction=None, since_restart=0)
    """

    gradient: Array | None = attrs.field(default=None, eq=_array_eq)
    """The previous gradient $g_{k-1}$ (`None` right after a restart)."""

    direction: Array | None = attrs.field(default=None, eq=_array_eq)
    """The previous direction $p_{k-1}$."""

    since_restart: int = 0
    """Directions computed since the last steepest-descent restart."""


@attrs.frozen
class PolakRibiere(Direction[ConjugateGradientState]):
    r"""Nonlinear conjugate gradients, Polak-Ribière+ with restarts.

    $$\beta_k = \max\Bigl(0, \frac{g_k^\top (g_k - g_{k-1})}{g_{k-1}^\top g_{k-1}}
    \Bigr), \qquad p_k = -g_k + \beta_k p_{k-1}$$

    (Nocedal & Wright eq. 5.45, the "PR+" choice of Gilbert & Nocedal 1992). It
    restarts with $p_k = -g_k$ every `restart` directions (default: every $n$,
    the dimension) and whenever $p_k$ is not a descent direction.

    References:
        Polak & Ribière, "Note sur la convergence de méthodes de directions
        conjuguées", 1969.
        Gilbert & Nocedal, "Global convergence properties of conjugate gradient
        methods for optimization", SIAM J. Optim. 2(1), 1992.

    Examples:
        >>> import numpy as np
        >>> direction = PolakRibiere()
        >>> p, state = direction.direction(np.array([1.0, 0.0]), direction.init(None))
        >>> p, state.since_restart
        (array([-1., -0.]), 1)
    """

    restart: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_validators.positive_count)
    )
    """Restart period; `None` restarts every `n` directions ($n$ = `x0.size`)."""

    @override
    def init(self, x0: Any) -> ConjugateGradientState:
        return ConjugateGradientState()

    @override
    def direction(
        self, gradient: Array, state: ConjugateGradientState
    ) -> tuple[Array, ConjugateGradientState]:
        period = gradient.size if self.restart is None else self.restart
        direction = -gradient
        count = 0
        if (
            state.gradient is not None
            and state.direction is not None
            and state.since_restart < period
        ):
            previous = state.gradient
            beta = max(
                0.0, _dot(gradient, gradient - previous) / _dot(previous, previous)
            )
            candidate = -gradient + beta * state.direction
            if _dot(candidate, gradient) < 0.0:
                direction, count = candidate, state.since_restart
        return direction, ConjugateGradientState(gradient, direction, count + 1)

r"""Descent directions: steepest descent, L-BFGS, nonlinear CG, Barzilai-Borwein.

A [`Direction`][optim.directions.Direction] turns the gradient (and what it
remembers of earlier steps) into a direction $p$ along which a
[`Search`][optim.line_search.Search] then picks the step length; the two parts are
combined by [`LineSearchRule`][optim.line_search_rules.LineSearchRule]. Like step
rules, directions are functional: their state is an explicit, immutable value.
A *scaled* direction (L-BFGS, Barzilai-Borwein) carries its own length, so the
search tries $\alpha = 1$ first.
"""

from __future__ import annotations

import abc
import functools
import math
import sys
from typing import Any, Generic, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from optim import _validators, backend
from optim._arrays import RUN_DTYPES as _RUN_DTYPES
from optim._arrays import float_dtype, ratio, run_dtype
from optim._references import ONE_TUPLE_ITEM as _HELD_ONCE
from optim._types import Array, override

__all__ = [
    "BarzilaiBorweinDirection",
    "BarzilaiBorweinDirectionState",
    "Direction",
    "LBFGSDirection",
    "LBFGSDirectionState",
    "PolakRibiere",
    "PolakRibiereState",
    "SteepestDescent",
]

D = TypeVar("D")

_array_eq = attrs.cmp_using(eq=backend.array_equal)

_FLOAT32_MAX = float(np.finfo(np.float32).max)


_dot = backend.vdot


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

        True for quasi-Newton and spectral directions (the search tries
        $\alpha = 1$ first); false for gradient-like ones, whose first trial step
        is extrapolated from the last.
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


@attrs.frozen(kw_only=True)
class LBFGSDirectionState:
    r"""State of [`LBFGSDirection`][optim.directions.LBFGSDirection].

    The pairs live in preallocated `(memory, n)` arrays (flattened points), the
    newest in the last row and the `count` stored pairs in the last `count`
    rows; the rows above them are zero. [`observe`][optim.directions.Direction.observe]
    never writes into these arrays: it returns a state with other ones (one copy
    of $2 m n$ numbers, cheaper than a Python loop over the pairs), so an older
    state (a checkpoint's, say) stays valid. The other arrays are those of the
    state before this one when nothing but this state refers to them any more
    (a run's usual case: it keeps only its current state), else new ones: a long
    run allocates no $m \times n$ arrays per step.

    Examples:
        >>> import numpy as np
        >>> state = LBFGSDirection(memory=2).init(np.zeros(3))
        >>> state.steps.shape, state.count
        ((2, 3), 0)
    """

    steps: Array = attrs.field(factory=lambda: np.zeros((0, 0)), eq=_array_eq)
    """The last steps $s_i$ as rows, oldest first, newest last."""

    gradient_changes: Array = attrs.field(
        factory=lambda: np.zeros((0, 0)), eq=_array_eq
    )
    """The matching gradient changes $y_i$, as rows."""

    inverse: Array = attrs.field(factory=lambda: np.zeros((0, 0)), eq=_array_eq)
    r"""The inverse of the upper triangular $R$ with $R_{ij} = s_i^\top y_j$ for
    $i \le j$ (the identity in the rows and columns of unused pairs). It turns
    the two loops of the recursion into matrix-vector products, and its diagonal
    holds $\rho_i = 1 / s_i^\top y_i$, computed once per stored pair."""

    scale: float = 1.0
    r"""The scaling $\gamma = s^\top y / y^\top y$ of the newest pair
    ($H_0 = \gamma I$)."""

    count: int = attrs.field(default=0)
    """How many pairs are stored (the last `count` rows)."""

    _spare: tuple[Array, Array, Array] | None = attrs.field(
        default=None, init=False, eq=False, repr=False, metadata={"scratch": True}
    )
    """The `steps`, `gradient_changes` and `inverse` of the state this one was
    made from: the next `observe` writes into them if nothing else refers to
    them then."""

    def __getstate__(self) -> dict[str, Any]:
        """What pickling and `copy.deepcopy` keep: the fields, not the spare arrays."""
        return {
            field.name: getattr(self, field.name)
            for field in attrs.fields(LBFGSDirectionState)
            if not field.metadata.get("scratch")
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore what `__getstate__` kept, with no spare arrays."""
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_spare", None)

    @count.validator
    def _check_count(self, attribute: attrs.Attribute[int], value: int) -> None:
        memory = self.inverse.shape[0]
        if not 0 <= value <= memory:
            raise ValueError(f"count must be in [0, {memory}], got {value!r}")

    @property
    def rhos(self) -> Array:
        r"""The $\rho_i = 1 / s_i^\top y_i$ of the stored pairs, oldest first."""
        inverse = self.inverse
        xp = backend.namespace_of(inverse)
        diagonal = inverse.diagonal() if xp is np else xp.linalg.diagonal(inverse)
        rhos: Array = diagonal[inverse.shape[0] - self.count :]
        return rhos


@attrs.frozen
class LBFGSDirection(Direction[LBFGSDirectionState]):
    r"""The L-BFGS direction $p = -H g$ by the two-loop recursion.

    $H$ is the BFGS inverse-Hessian approximation built from the last `memory`
    pairs $(s_i, y_i)$ on top of $H_0 = \gamma I$ with
    $\gamma = s^\top y / y^\top y$ of the newest pair (Nocedal & Wright,
    Algorithm 7.4 and eq. 7.20). With no pair stored yet, $p = -g$ shortened to
    length at most 1, so that a first unit step is not absurdly long. A pair is
    stored only if it satisfies the curvature condition
    $s^\top y > 10^{-10} \|s\| \|y\|$ (always true after a strong Wolfe step),
    which keeps $H$ positive definite.

    The recursion is computed on the stored matrices, not pair by pair: its
    first loop solves $R \alpha = S q$ and its second
    $R^\top (\alpha - \beta) = D \alpha - Y r$, with $R$ the upper triangle of
    $S Y^\top$ and $D$ its diagonal (Byrd, Nocedal & Schnabel 1994), through
    $R^{-1}$, which [`observe`][optim.directions.Direction.observe] updates in
    $O(m^2)$. The direction takes four matrix-vector products with the
    $m \times n$ matrices $S$ and $Y$ and no Python loop over the pairs; it
    equals the pair-by-pair recursion up to rounding.

    References:
        Nocedal, "Updating quasi-Newton matrices with limited storage", Math.
        Comp. 35, 1980.
        Liu & Nocedal, "On the limited memory BFGS method for large scale
        optimization", Math. Prog. 45, 1989.
        Byrd, Nocedal & Schnabel, "Representations of quasi-Newton matrices
        and their use in limited memory methods", Math. Prog. 63, 1994.

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
    def init(self, x0: Array | None) -> LBFGSDirectionState:
        if x0 is None:
            return LBFGSDirectionState()
        return self._empty(backend.size(x0), float_dtype(x0), like=x0)

    def _empty(self, size: int, dtype: Any, *, like: Any) -> LBFGSDirectionState:
        memory = self.memory
        xp = backend.namespace_of(like)
        if xp is not np:  # another library's arrays, on the point's device
            where = backend.device(like)
            return LBFGSDirectionState(
                steps=xp.zeros((memory, size), dtype=dtype, device=where),
                gradient_changes=xp.zeros((memory, size), dtype=dtype, device=where),
                inverse=xp.eye(memory, dtype=dtype, device=where),
            )
        return LBFGSDirectionState(
            steps=np.zeros((memory, size), dtype=dtype),
            gradient_changes=np.zeros((memory, size), dtype=dtype),
            inverse=np.eye(memory, dtype=dtype),
        )

    @override
    def observe(
        self, state: LBFGSDirectionState, *, step: Array, gradient_change: Array
    ) -> LBFGSDirectionState:
        if type(step) is not np.ndarray:
            xp = backend.namespace_of(step)
            if xp is not np:
                return self._observe(state, xp.reshape(step, (-1,)), gradient_change)
        s = step if step.ndim == 1 else step.reshape(-1)
        y = gradient_change if gradient_change.ndim == 1 else gradient_change.ravel()
        # `numpy.vdot`'s products (the same BLAS dot of 1-d arrays), and
        # numpy.linalg.norm's product for the size (the same in float64),
        # without their overhead.
        curvature, squared = float(s.dot(y)), float(y.dot(y))
        size = math.sqrt(s.dot(s)) * math.sqrt(squared)
        rho = 1.0 / curvature if curvature else 0.0  # `ratio(1.0, curvature, 0.0)`
        if not (curvature > 1e-10 * size and 0.0 < rho < math.inf):
            return state  # no curvature, or so little that 1/curvature overflows
        if rho > _FLOAT32_MAX and s.dtype != np.float64:
            return state  # rho is stored in the points' dtype
        old, memory = state, self.memory
        steps = old.steps
        if steps.shape != (memory, s.size) or steps.dtype != s.dtype:
            old = self._empty(s.size, run_dtype(s.dtype), like=s)
            steps = old.steps
        # The rows shifted up by one and the new pair last, in other arrays than
        # the old state's: those of the state before it when nothing else refers
        # to them (see LBFGSDirectionState), else new ones.
        gradient_changes, previous = old.gradient_changes, old.inverse
        spare = old._spare
        if (
            spare is not None
            and sys.getrefcount(spare[0]) == _HELD_ONCE
            and sys.getrefcount(spare[1]) == _HELD_ONCE
            and sys.getrefcount(spare[2]) == _HELD_ONCE
            and spare[0].shape == steps.shape
            and spare[0].dtype == steps.dtype
        ):
            new_steps, changes, inverse = spare  # its last row is zero but for
            new_steps[:-1] = steps[1:]  # its last entry, as in any inverse
            changes[:-1] = gradient_changes[1:]
        else:
            shift = _shift(memory)
            new_steps = steps.take(shift, axis=0)
            changes = gradient_changes.take(shift, axis=0)
            inverse = np.zeros((memory, memory), dtype=s.dtype)
        new_steps[-1] = s
        changes[-1] = y
        # R without its first row and column has the trailing block of R^-1 as
        # its inverse; the new last column b (s_i.y for the older pairs) and
        # diagonal 1/rho give [[R^-1, -rho R^-1 b], [0, rho]].
        # As R^-1 is upper triangular, (R^-1 [s_0, s_1, ...]^T y)[1:] is the
        # trailing block times b, in products of contiguous arrays.
        inverse[:-1, :-1] = previous[1:, 1:]
        np.multiply(previous.dot(steps.dot(y))[1:], -rho, out=inverse[:-1, -1])
        inverse[-1, -1] = rho
        scale = curvature / squared if squared else 1.0  # `ratio(..., 1.0)`
        count = old.count
        new = LBFGSDirectionState(
            steps=new_steps,
            gradient_changes=changes,
            inverse=inverse,
            scale=scale if math.isfinite(scale) else 1.0,
            count=count + 1 if count < memory else memory,
        )
        _set(new, "_spare", (steps, gradient_changes, previous))
        return new

    def _observe(
        self, state: LBFGSDirectionState, s: Any, gradient_change: Any
    ) -> LBFGSDirectionState:
        """`observe` on another library's arrays: the same algebra, no writes.

        The numpy path writes into new arrays; arrays that take no writes (JAX)
        are built from slices and concatenations instead, on the point's device.
        """
        xp = backend.namespace(s)
        y = xp.reshape(gradient_change, (-1,))
        curvature, squared = _dot(s, y), _dot(y, y)
        size = math.sqrt(_dot(s, s)) * math.sqrt(squared)
        rho = ratio(1.0, curvature, 0.0)
        if not (curvature > 1e-10 * size and rho > 0.0):
            return state
        if rho > _FLOAT32_MAX and s.dtype != xp.float64:
            return state
        old, memory, n = state, self.memory, s.shape[0]
        if tuple(old.steps.shape) != (memory, n) or old.steps.dtype != s.dtype:
            old = self._empty(n, s.dtype, like=s)
        steps = xp.concat([old.steps[1:, :], s[None, :]], axis=0)
        changes = xp.concat([old.gradient_changes[1:, :], y[None, :]], axis=0)
        column = (old.inverse @ (old.steps @ y))[1:] * -rho
        where = backend.device(s)
        last = xp.concat(
            [
                xp.zeros((1, memory - 1), dtype=s.dtype, device=where),
                xp.full((1, 1), rho, dtype=s.dtype, device=where),
            ],
            axis=1,
        )
        inverse = xp.concat(
            [xp.concat([old.inverse[1:, 1:], column[:, None]], axis=1), last], axis=0
        )
        return LBFGSDirectionState(
            steps=steps,
            gradient_changes=changes,
            inverse=inverse,
            scale=ratio(curvature, squared, 1.0),
            count=min(old.count + 1, memory),
        )

    @override
    def direction(
        self, gradient: Array, state: LBFGSDirectionState
    ) -> tuple[Array, LBFGSDirectionState]:
        if type(gradient) is np.ndarray and (
            gradient.dtype is _RUN_DTYPES[0] or gradient.dtype is _RUN_DTYPES[1]
        ):
            q = -gradient  # the hot path: the gradient is in the run's dtype
        else:
            xp = backend.namespace_of(gradient)
            if xp is not np:
                return self._direction(gradient, state, xp), state
            q = -np.asarray(gradient, dtype=run_dtype(np.result_type(gradient)))
        count = state.count
        if not count:
            norm = float(np.linalg.norm(q))
            return (q * (1.0 / norm) if norm > 1.0 else q), state
        # The two loops as triangular systems (Byrd, Nocedal & Schnabel 1994):
        # alpha_i = rho_i s_i.(q - sum_{j>i} alpha_j y_j) is R alpha = S q, and
        # beta_i = rho_i y_i.(r + sum_{j<i} (alpha_j - beta_j) s_j) is
        # R^T (alpha - beta) = D alpha - Y r with D = diag(R) = 1 / rho.
        steps, changes, inverse = state.steps, state.gradient_changes, state.inverse
        first = len(inverse) - count
        if first:  # not yet full: the stored pairs only
            steps, changes = steps[first:], changes[first:]
            inverse = inverse[first:, first:]
        flat = q.ndim == 1
        r = q if flat else q.reshape(-1)  # q is new (a 0-d one too): updated in place
        alphas = inverse.dot(steps.dot(r))
        r -= alphas.dot(changes)
        r *= state.scale
        differences = (alphas / inverse.diagonal() - changes.dot(r)).dot(inverse)
        r += differences.dot(steps)
        return (r if flat else r.reshape(q.shape)), state

    @staticmethod
    def _direction(gradient: Any, state: LBFGSDirectionState, xp: Any) -> Any:
        """`direction` on another library's arrays: the two loops, no writes."""
        q = -backend.astype(gradient, float_dtype(gradient), copy=False)
        count = state.count
        if not count:
            norm = backend.norm(q)
            return q * (1.0 / norm) if norm > 1.0 else q
        first = state.inverse.shape[0] - count
        steps = state.steps[first:, :]
        changes = state.gradient_changes[first:, :]
        inverse = state.inverse[first:, first:]
        r = xp.reshape(q, (-1,))
        alphas = inverse @ (steps @ r)
        r = (r - alphas @ changes) * state.scale
        diagonal = xp.linalg.diagonal(inverse)
        differences = (alphas / diagonal - changes @ r) @ inverse
        return xp.reshape(r + differences @ steps, tuple(q.shape))


_set = object.__setattr__  # a new state's spare arrays (a frozen class)


@functools.cache
def _shift(memory: int) -> npt.NDArray[np.intp]:
    """The row order that moves the first of `memory` rows to the end."""
    order = np.roll(np.arange(memory, dtype=np.intp), -1)
    order.flags.writeable = False
    return order


@attrs.frozen
class PolakRibiereState:
    """State of [`PolakRibiere`][optim.directions.PolakRibiere].

    Examples:
        >>> PolakRibiere().init(None)
        PolakRibiereState(gradient=None, direction=None, since_restart=0)
    """

    gradient: Array | None = attrs.field(default=None, eq=_array_eq)
    """The previous gradient $g_{k-1}$ (`None` right after a restart)."""

    direction: Array | None = attrs.field(default=None, eq=_array_eq)
    """The previous direction $p_{k-1}$."""

    since_restart: int = 0
    """Directions computed since the last steepest-descent restart."""


@attrs.frozen
class PolakRibiere(Direction[PolakRibiereState]):
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
    def init(self, x0: Any) -> PolakRibiereState:
        return PolakRibiereState()

    @override
    def direction(
        self, gradient: Array, state: PolakRibiereState
    ) -> tuple[Array, PolakRibiereState]:
        period = backend.size(gradient) if self.restart is None else self.restart
        direction = -gradient
        count = 0
        if (
            state.gradient is not None
            and state.direction is not None
            and state.since_restart < period
        ):
            previous = state.gradient
            beta = max(
                0.0,
                ratio(
                    _dot(gradient, gradient - previous), _dot(previous, previous), 0.0
                ),
            )
            candidate = -gradient + beta * state.direction
            if _dot(candidate, gradient) < 0.0:
                direction, count = candidate, state.since_restart
        return direction, PolakRibiereState(gradient, direction, count + 1)


@attrs.frozen
class BarzilaiBorweinDirectionState:
    """State of [`BarzilaiBorweinDirection`][optim.directions.BarzilaiBorweinDirection].

    Examples:
        >>> BarzilaiBorweinDirection().init(None)
        BarzilaiBorweinDirectionState(step_length=None)
    """

    step_length: float | None = None
    r"""The current spectral step length $\alpha_k$ (`None` before the first step)."""


@attrs.frozen
class BarzilaiBorweinDirection(Direction[BarzilaiBorweinDirectionState]):
    r"""The Barzilai-Borwein (spectral) direction $p_k = -\alpha_k g_k$.

    The step length lives here, in the direction's state: from the last step
    $s = x_k - x_{k-1}$ and gradient change $y = g_k - g_{k-1}$
    ([`observe`][optim.directions.Direction.observe]), the "long" length is
    $\alpha_k = s^\top s / s^\top y$ (BB1) and the "short" one
    $\alpha_k = s^\top y / y^\top y$ (BB2). The first length is `initial_step`,
    or $1/\|g_0\|$. When $s^\top y \le 0$ (negative curvature) the previous length
    is kept; lengths are clipped to `[min_step, max_step]`. The direction is
    *scaled*: a search tries $\alpha = 1$ first, that is the BB step itself.

    References:
        Barzilai & Borwein, "Two-point step size gradient methods", IMA J. Numer.
        Anal. 8, 1988.

    Examples:
        >>> import numpy as np
        >>> direction = BarzilaiBorweinDirection("long", initial_step=0.5)
        >>> p, state = direction.direction(np.array([2.0, 0.0]), direction.init(None))
        >>> p, state.step_length
        (array([-1., -0.]), 0.5)
        >>> state = direction.observe(
        ...     state, step=np.array([-1.0, 0.0]), gradient_change=np.array([-4.0, 0.0])
        ... )
        >>> state.step_length  # s.s / s.y = 1 / 4
        0.25
    """

    variant: str = attrs.field(
        default="long", validator=_validators.one_of("long", "short")
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

    @max_step.validator
    def _check_max_step(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.min_step:
            raise ValueError(
                f"max_step must be >= min_step ({self.min_step!r}), got {value!r}"
            )

    @property
    @override
    def scaled(self) -> bool:
        return True

    def _clip(self, length: float) -> float:
        return min(max(length, self.min_step), self.max_step)

    @override
    def init(self, x0: Any) -> BarzilaiBorweinDirectionState:
        return BarzilaiBorweinDirectionState()

    @override
    def observe(
        self,
        state: BarzilaiBorweinDirectionState,
        *,
        step: Array,
        gradient_change: Array,
    ) -> BarzilaiBorweinDirectionState:
        sy = _dot(step, gradient_change)
        if not sy > 0.0:
            return state
        if self.variant == "long":
            length = ratio(_dot(step, step), sy, math.inf)
        else:
            length = ratio(sy, _dot(gradient_change, gradient_change), math.inf)
        return BarzilaiBorweinDirectionState(self._clip(length))

    @override
    def direction(
        self, gradient: Array, state: BarzilaiBorweinDirectionState
    ) -> tuple[Array, BarzilaiBorweinDirectionState]:
        length = state.step_length
        if length is None:
            if self.initial_step is not None:
                length = self._clip(self.initial_step)
            else:
                norm = backend.norm(gradient)
                length = self._clip(ratio(1.0, norm, 1.0))
            state = BarzilaiBorweinDirectionState(length)
        return length * -gradient, state

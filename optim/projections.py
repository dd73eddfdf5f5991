r"""Projections onto closed convex sets: the constraints of a run.

A [`Projection`][optim.projections.Projection] is the fourth plug-in family beside
the objective, the gradient estimator and the step rule. Given to
[`Optimizer(constraint=...)`][optim.optimizer.Optimizer.constraint], it keeps
every iterate (and every trial point of a line search) in its set $C$: rules that
know nothing of constraints are projected after each step,
$x_{k+1} = P_C(x_k + \delta_k)$ (projected gradient methods), and line-search
rules search along the projected path $P_C(x_k + \alpha p_k)$.

Stationarity under a constraint is measured by the projected gradient
$x - P_C(x - \nabla f(x))$ (scipy's `pgtol` measure for boxes), which is zero
exactly at the constrained stationary points: a run that ends on a bound with a
non-zero gradient converges.

`Bounds`, `Ball` and `Simplex` also project arrays of other array-API libraries
(PyTorch, CuPy, JAX, array-api-strict; through [`optim.backend`][optim.backend]),
on their device and in their library; the optimizer itself computes in numpy.

Examples:
    >>> import numpy as np
    >>> box = Bounds(0.0, [1.0, 2.0])
    >>> box.project(np.array([-1.0, 3.0]))
    array([0., 2.])
    >>> box.projected_gradient(np.array([0.0, 1.0]), np.array([5.0, -1.0]))
    array([ 0., -1.])
"""

from __future__ import annotations

import abc
import contextlib
import math
import numbers
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from optim import backend
from optim._arrays import clip_as, run_dtype
from optim._types import Array, ArrayLike, override

__all__ = ["Ball", "Bounds", "Projection", "Simplex", "as_constraint"]

_array_eq = attrs.cmp_using(eq=np.array_equal)


class Projection(abc.ABC):
    r"""The Euclidean projection onto a closed convex set $C$.

    Implement [`project`][optim.projections.Projection.project]; the stationarity
    measure [`projected_gradient`][optim.projections.Projection.projected_gradient]
    the shape check [`check`][optim.projections.Projection.check] and the
    membership test [`contains`][optim.projections.Projection.contains] have
    defaults. A projection must be idempotent, non-expansive and land in $C$
    after rounding, in float32 as in float64 (its output passes its own
    membership test exactly);
    [`optim.testing.check_projection`][optim.testing.check_projection] checks it.

    Examples:
        The non-negative orthant, written from scratch:

        >>> import numpy as np
        >>> class NonNegative(Projection):
        ...     def project(self, x):
        ...         return np.maximum(x, 0.0)
        >>> NonNegative().project(np.array([-1.0, 2.0]))
        array([0., 2.])
        >>> NonNegative().projected_gradient(np.array([0.0, 2.0]), np.array([3.0, 1.0]))
        array([0., 1.])
    """

    __slots__ = ()

    @abc.abstractmethod
    def project(self, x: Array) -> Array:
        """Return the point of the set nearest to `x` (a new array).

        Args:
            x: Any point, shaped like the run's `x`; never modified.

        Returns:
            The projection, an array shaped like `x`, of `x`'s dtype (float32 for
                a float32 `x`, float64 otherwise).
        """

    def contains(self, x: Array) -> bool:
        """Whether `x` is in the set, as this projection's arithmetic sees it.

        The membership test that [`project`][optim.projections.Projection.project]
        guarantees for its output, in the output's own dtype (float32 or
        float64): `contains(project(y))` holds, and `project(x)` returns `x`
        unchanged (bit for bit) whenever `contains(x)`. The default asks exactly
        that: whether `x` is a fixed point of `project`. Override it with a cheaper
        test of the same set.

        Args:
            x: A point shaped like the run's `x`; never modified.

        Returns:
            `True` if `x` is in the set.

        Examples:
            >>> import numpy as np
            >>> class NonNegative(Projection):
            ...     def project(self, x):
            ...         return np.maximum(x, 0.0)
            >>> NonNegative().contains(np.array([0.0, 2.0]))
            True
            >>> NonNegative().contains(np.array([-1e-300, 2.0]))
            False
        """
        xp = _namespace(x)
        if xp is np:
            return bool(np.array_equal(self.project(x), x))
        projected = self.project(x)
        return projected.shape == x.shape and bool(xp.all(projected == x))

    def projected_gradient(self, x: Array, gradient: Array) -> Array:
        r"""The projected gradient $x - P(x - g)$ at a feasible `x`.

        Zero exactly at the stationary points of $f$ on the set, equal to $g$
        inside it; its norm is the run's stationarity measure.

        Args:
            x: A feasible point.
            gradient: The gradient of the function being minimized at `x`.

        Returns:
            The projected gradient, shaped like `x`.
        """
        projected: Array = x - self.project(x - gradient)
        return projected

    def check(self, x: Array) -> None:
        """Refuse a set that does not fit points shaped like `x`.

        Called once, before any evaluation. The default accepts every shape.

        Args:
            x: The starting point.

        Raises:
            ValueError: If the set's arrays do not broadcast to `x`'s shape.
        """
        return None


def _bound(value: ArrayLike) -> Array:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"a bound must be a real number or array, got dtype {array.dtype}"
        )
    return np.array(array, dtype=np.float64)  # a private copy


def _no_nan(instance: object, attribute: attrs.Attribute[Any], value: Array) -> None:
    if np.isnan(value).any():
        raise ValueError(f"{attribute.name} must not contain NaN, got {value!r}")


def _fits(name: str, array: Array, x: Array) -> None:
    try:
        shape = np.broadcast_shapes(array.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(
            f"{name} has shape {array.shape}, which does not broadcast to the shape "
            f"{x.shape} of x"
        )


@attrs.frozen
class Bounds(Projection):
    r"""A box $\{x : \ell \le x \le u\}$: clip each coordinate to its interval.

    `lower` and `upper` are scalars or arrays broadcastable to `x`; `-inf` and
    `inf` leave a side unbounded. A float32 projection is moved one float32 ulp
    inside where rounding a bound to float32 would leave the box (unless the
    interval holds no float32 number at all). With a `Bounds` constraint,
    [`LBFGS`][optim.line_search_rules.LBFGS] is a box-constrained quasi-Newton
    method in the manner of L-BFGS-B, and the finite-difference estimators never
    evaluate outside the box.

    Raises:
        ValueError: If a bound contains NaN or `lower > upper` anywhere (naming
            the first offending index), or if they do not broadcast together.

    Examples:
        >>> import numpy as np
        >>> Bounds([0.0, -np.inf], [1.0, 0.0]).project(np.array([2.0, 3.0]))
        array([1., 0.])
        >>> Bounds(1.0, 0.0)
        Traceback (most recent call last):
        ...
        ValueError: lower must be <= upper, but lower[()] = 1.0 > upper[()] = 0.0
    """

    lower: Array = attrs.field(
        default=np.array(-math.inf), converter=_bound, validator=_no_nan, eq=_array_eq
    )
    """Lower bounds (`-inf` for none)."""

    upper: Array = attrs.field(
        default=np.array(math.inf), converter=_bound, validator=_no_nan, eq=_array_eq
    )
    """Upper bounds (`inf` for none)."""

    def __attrs_post_init__(self) -> None:
        try:
            lower, upper = np.broadcast_arrays(self.lower, self.upper)
        except ValueError:
            raise ValueError(
                f"lower (shape {self.lower.shape}) and upper (shape "
                f"{self.upper.shape}) do not broadcast together"
            ) from None
        wrong = lower > upper
        if wrong.any():
            index = tuple(int(i) for i in np.argwhere(wrong)[0]) if wrong.ndim else ()
            where, low, high = _index(index), float(lower[index]), float(upper[index])
            raise ValueError(
                f"lower must be <= upper, but lower[{where}] = {low!r} > "
                f"upper[{where}] = {high!r}"
            )

    @override
    def project(self, x: Array) -> Array:
        xp = _namespace(x)
        if xp is np:
            return clip_as(x, self.lower, self.upper, run_dtype(np.result_type(x)))
        # The bounds as clip_as rounds them into x's dtype (inward), then one
        # clip on x's device: the same points as clip_as gives for numpy.
        dtype = _host_dtype(x, xp)
        lower = clip_as(self.lower, self.lower, self.upper, dtype)
        upper = clip_as(self.upper, self.lower, self.upper, dtype)
        point = backend.astype(x, _run_dtype(x, xp), copy=False)
        low, high = backend.from_host(lower, like=x), backend.from_host(upper, like=x)
        clipped: Array = xp.clip(point, low, high)
        return clipped

    @override
    def contains(self, x: Array) -> bool:
        xp = _namespace(x)
        if xp is np:
            return bool(np.all((self.lower <= x) & (x <= self.upper)))
        point = _lift(x, xp)
        lower = backend.from_host(self.lower, like=x)
        upper = backend.from_host(self.upper, like=x)
        return bool(xp.all((lower <= point) & (point <= upper)))

    @override
    def check(self, x: Array) -> None:
        _fits("lower", self.lower, x)
        _fits("upper", self.upper, x)

    def broadcast(self, x: Array) -> tuple[Array, Array]:
        """The bounds as two float64 arrays shaped like `x` (read-only views).

        Args:
            x: A point.

        Returns:
            The pair `(lower, upper)`, what the estimators' `bounds` keyword takes.

        Examples:
            >>> import numpy as np
            >>> Bounds(0.0, 1.0).broadcast(np.zeros(2))[1]
            array([1., 1.])
        """
        return np.broadcast_to(self.lower, x.shape), np.broadcast_to(
            self.upper, x.shape
        )


def _namespace(x: Any) -> Any:
    """`x`'s array namespace: numpy for numpy arrays, numbers and lists."""
    if type(x) is np.ndarray:  # the hot path: one identity test
        return np
    return backend.namespace(x) if backend.is_foreign(x) else np


def _run_dtype(x: Any, xp: Any) -> Any:
    """The dtype a projection returns for `x`: float32 stays, else float64."""
    if xp is np:
        return run_dtype(np.result_type(x))
    return xp.float32 if x.dtype == xp.float32 else xp.float64


def _host_dtype(x: Any, xp: Any) -> np.dtype[Any]:
    """The numpy dtype matching `_run_dtype(x, xp)`."""
    return np.dtype(np.float32 if x.dtype == xp.float32 else np.float64)


def _lift(x: Any, xp: Any) -> Any:
    """`x` for numpy; another library's `x` in float64, as numpy promotes it.

    numpy computes `x - center` of a float32 (or integer) `x` and a float64
    `center` in float64; the array API refuses mixing integers and floats.
    """
    return x if xp is np else xp.astype(x, xp.float64)


def _index(index: tuple[int, ...]) -> str:
    return ", ".join(map(str, index)) if index else "()"


def _finite_non_negative(
    instance: object, attribute: attrs.Attribute[Any], value: float
) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{attribute.name} must be finite and >= 0, got {value!r}")


def _finite_array(
    instance: object, attribute: attrs.Attribute[Any], value: Array
) -> None:
    if not np.isfinite(value).all():
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def _real(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"expected a real number, got {type(value).__name__}")
    return float(value)


@attrs.frozen
class Ball(Projection):
    r"""The Euclidean ball $\{x : \|x - c\|_2 \le r\}$.

    A point outside is moved radially onto the sphere:
    $P(x) = c + r (x - c) / \|x - c\|$, rounded to `x`'s dtype, and moved
    toward the center by as many ulps as it takes for the rounded point to be
    inside: $\|P(x) - c\| \le r$ holds as computed (in float64, for float32
    points too), so projecting again changes nothing. (A center that is not
    representable in float32, with a radius below its rounding error, leaves no
    float32 point in the ball; the rounded center is returned then.)

    Examples:
        >>> import numpy as np
        >>> Ball(0.0, 1.0).project(np.array([3.0, 4.0]))
        array([0.6, 0.8])
        >>> Ball(0.0, -1.0)
        Traceback (most recent call last):
        ...
        ValueError: radius must be finite and >= 0, got -1.0
    """

    center: Array = attrs.field(
        default=np.array(0.0), converter=_bound, validator=_finite_array, eq=_array_eq
    )
    """The center $c$ (a scalar or an array broadcastable to `x`)."""

    radius: float = attrs.field(
        default=1.0, converter=_real, validator=_finite_non_negative
    )
    """The radius $r \\ge 0$."""

    @override
    def project(self, x: Array) -> Array:
        xp = _namespace(x)
        dtype = _run_dtype(x, xp)
        center = self._center(x, xp)
        offset = _lift(x, xp) - center
        norm = _norm(offset, xp)
        if not norm > self.radius:  # inside (or NaN: handed back as it is)
            inside: Array = backend.astype(x, dtype)
            return inside
        # Rounding may leave c + r (x - c) / |x - c| an ulp outside: shrink the
        # scale by 1, 2, 4, ... ulps of the dtype until the point is inside (at
        # worst the scale reaches 0, the center).
        scale = self.radius / norm
        eps = float(xp.finfo(dtype).eps)
        for attempt in range(_MAX_SHRINKS):
            projected: Array = backend.astype(center + offset * scale, dtype)
            if _norm(projected - center, xp) <= self.radius:
                break
            scale *= max(0.0, 1.0 - eps * 2.0**attempt)
        return projected

    @override
    def contains(self, x: Array) -> bool:
        xp = _namespace(x)
        return _norm(_lift(x, xp) - self._center(x, xp), xp) <= self.radius

    def _center(self, x: Array, xp: Any) -> Any:
        """The center, on `x`'s device (float64)."""
        return self.center if xp is np else backend.from_host(self.center, like=x)

    @override
    def check(self, x: Array) -> None:
        _fits("center", self.center, x)


_MAX_SHRINKS = 64
"""More than enough doublings of the shrink step for the scale to reach 0 (53 in
float64, 24 in float32)."""


def _norm(offset: Array, xp: Any = np) -> float:
    """The Euclidean norm in float64, without overflow for huge entries.

    The one formula behind `Ball`'s projection and its membership test, in
    `offset`'s namespace `xp` (one scalar crosses to the host).
    """
    squares = _squares(offset, xp)
    if math.isfinite(squares) or math.isnan(squares):
        return math.sqrt(squares)
    largest = float(xp.max(xp.abs(offset)))
    if not math.isfinite(largest):
        return largest
    scaled = offset / largest
    return largest * math.sqrt(_squares(scaled, xp))


def _squares(offset: Array, xp: Any) -> float:
    """The sum of squares of `offset` (numpy: its BLAS dot product)."""
    if xp is np:
        return float(np.vdot(offset, offset))
    return float(xp.sum(offset * offset))


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{attribute.name} must be finite and > 0, got {value!r}")


@attrs.frozen
class Simplex(Projection):
    r"""The simplex $\{x : x \ge 0, \sum_i x_i = t\}$ (all coordinates of `x`).

    Projected by sorting (Held, Wolfe and Crowder 1974; Duchi et al. 2008):
    $P(x)_i = \max(x_i - \tau, 0)$ with the threshold $\tau$ that makes the sum
    $t$. Probability vectors are the case $t = 1$.

    An equality cannot hold exactly in floating point: a point is in the simplex
    (see [`contains`][optim.projections.Projection.contains]) when its entries
    are non-negative and their float64 sum is within $n \varepsilon t$ of $t$,
    for $n$ entries and the machine epsilon $\varepsilon$ of the point's dtype
    (float32 or float64). Such a point is returned unchanged, and every
    projection is one.

    References:
        Duchi, Shalev-Shwartz, Singer and Chandra, "Efficient projections onto
        the l1-ball for learning in high dimensions", ICML 2008.

    Examples:
        >>> import numpy as np
        >>> Simplex().project(np.array([0.5, 2.0, -1.0]))
        array([0., 1., 0.])
        >>> Simplex(total=2.0).project(np.array([1.0, 2.0]))
        array([0.5, 1.5])
    """

    total: float = attrs.field(default=1.0, converter=_real, validator=_positive)
    """The sum $t > 0$ of the coordinates."""

    @override
    def project(self, x: Array) -> Array:
        xp = _namespace(x)
        dtype = _run_dtype(x, xp)
        if self.contains(x) or not bool(xp.all(xp.isfinite(x))):  # NaN, inf: as is
            inside: Array = backend.astype(x, dtype)
            return inside
        flat = _reshape(backend.astype(x, xp.float64, copy=False), (-1,), xp)
        # Shifted by the largest entry: the entries that stay positive are within
        # `total` of it, so their differences are exact however large x is.
        # Entries `total` or more below it are never positive: clipping them to
        # -2 total changes nothing but spares the sums an overflow.
        quiet = np.errstate(over="ignore") if xp is np else contextlib.nullcontext()
        with quiet:
            shifted = _at_least(flat - xp.max(flat), -2.0 * self.total, xp)
        ordered = xp.sort(shifted)
        ordered = ordered[::-1] if xp is np else xp.flip(ordered)  # torch: no [::-1]
        sums = _cumulative_sum(ordered, xp) - self.total
        on = {} if xp is np else {"device": backend.device(x)}  # numpy 1.26: no device
        ranks = xp.arange(1, flat.shape[0] + 1, dtype=xp.float64, **on)
        last = int(xp.nonzero(ordered - sums / ranks > 0.0)[0][-1])
        threshold = sums[last] / (last + 1)
        projected = _at_least(shifted - threshold, 0.0, xp)
        shape = np.shape(x) if xp is np else x.shape
        result: Array = backend.astype(_reshape(projected, shape, xp), dtype)
        for _ in range(_MAX_RESCALES):  # rounding: rescale the sum onto `total`
            if self.contains(result):
                break
            projected = projected * (self.total / float(xp.sum(projected)))
            result = backend.astype(_reshape(projected, shape, xp), dtype)
        return result

    @override
    def contains(self, x: Array) -> bool:
        xp = _namespace(x)
        array = np.asarray(x) if xp is np else _lift(x, xp)
        if math.prod(array.shape) == 0 or not bool(xp.all(array >= 0.0)):
            return False
        total = float(xp.sum(array, dtype=xp.float64))
        return abs(total - self.total) <= self._tolerance(x)

    def _tolerance(self, x: Array) -> float:
        """How far from `total` a member's sum may be: n ulps of `total`."""
        xp = _namespace(x)
        eps = float(xp.finfo(_run_dtype(x, xp)).eps)
        return math.prod(np.shape(x) if xp is np else x.shape) * eps * self.total


def _reshape(array: Array, shape: tuple[int, ...], xp: Any) -> Array:
    """`array` reshaped (numpy: the method, the fast spelling)."""
    if xp is np:
        return array.reshape(shape)
    reshaped: Array = xp.reshape(array, shape)
    return reshaped


def _at_least(array: Array, floor: float, xp: Any) -> Array:
    """`maximum(array, floor)` (numpy: `numpy.maximum`, as always)."""
    if xp is np:
        return np.maximum(array, floor)
    clipped: Array = xp.clip(array, min=floor)
    return clipped


def _cumulative_sum(array: Array, xp: Any) -> Array:
    """The running sums of a vector (numpy 1.26 has only `cumsum`)."""
    if xp is np:
        return np.cumsum(array)
    sums: Array = xp.cumulative_sum(array)
    return sums


_MAX_RESCALES = 4


def as_constraint(bounds: Any, x0: ArrayLike | None = None) -> Projection | None:
    """Turn bounds in any of scipy's forms into a projection.

    Accepted: `None`; a [`Projection`][optim.projections.Projection] (returned as
    is); an object with `lb` and `ub` attributes (such as
    `scipy.optimize.Bounds`, which is not imported); a sequence of `(low, high)`
    pairs, one per coordinate, with `None` for an unbounded side; or a single
    `(low, high)` pair of scalars for every coordinate.

    Args:
        bounds: The bounds.
        x0: The starting point, to check a sequence of pairs against (one pair
            per coordinate of the flattened point).

    Returns:
        `None` or a projection (a [`Bounds`][optim.projections.Bounds] for scipy
            forms).

    Raises:
        ValueError: If a pair does not have two entries, the number of pairs does
            not match `x0`, or the bounds are invalid.
        TypeError: If `bounds` is none of the accepted forms.

    Examples:
        >>> as_constraint([(0, None), (None, 1)])
        Bounds(lower=array([  0., -inf]), upper=array([inf,  1.]))
        >>> class ScipyLike:
        ...     lb, ub = 0.0, 2.0
        >>> as_constraint(ScipyLike()).upper
        array(2.)
    """
    if bounds is None or isinstance(bounds, Projection):
        return bounds
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        return Bounds(_side(bounds.lb, -math.inf), _side(bounds.ub, math.inf))
    if isinstance(bounds, str) or not isinstance(bounds, Sequence | np.ndarray):
        raise TypeError(
            "bounds must be a Projection, an object with lb and ub, or a sequence "
            f"of (low, high) pairs, got {type(bounds).__name__}"
        )
    pairs = list(bounds)
    if len(pairs) == 2 and all(_scalar_like(p) for p in pairs):
        return Bounds(_side(pairs[0], -math.inf), _side(pairs[1], math.inf))
    for i, pair in enumerate(pairs):
        if _scalar_like(pair) or len(pair) != 2:
            raise ValueError(f"bounds[{i}] must be a (low, high) pair, got {pair!r}")
    size = None if x0 is None else np.size(x0)
    if size is not None and len(pairs) != size:
        raise ValueError(
            f"bounds has {len(pairs)} (low, high) pairs but x0 has {size} coordinates"
        )
    lower = np.array([_side(low, -math.inf) for low, _ in pairs], dtype=np.float64)
    upper = np.array([_side(high, math.inf) for _, high in pairs], dtype=np.float64)
    if x0 is not None:
        lower, upper = lower.reshape(np.shape(x0)), upper.reshape(np.shape(x0))
    return Bounds(lower, upper)


def _scalar_like(value: Any) -> bool:
    return value is None or np.ndim(value) == 0


def _side(value: Any, default: float) -> Any:
    if value is None:
        return default
    array = np.array(value, dtype=object)
    if array.ndim and any(item is None for item in array.reshape(-1)):
        array = np.where(array == None, default, array)  # noqa: E711  # elementwise
    return np.asarray(array, dtype=np.float64)

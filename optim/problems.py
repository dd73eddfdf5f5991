"""Reference objectives with known gradients, starts, minimizers and minima."""

from __future__ import annotations

import abc
import functools
import math
from typing import ClassVar

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, ArrayLike, override
from optim.objective import Objective

__all__ = [
    "Beale",
    "Booth",
    "Himmelblau",
    "LogisticRegression",
    "Problem",
    "Quadratic",
    "Rastrigin",
    "Rosenbrock",
    "Sphere",
    "StyblinskiTang",
]


class Problem(Objective):
    """A test objective on flat points `(n,)` with a standard start and known answer.

    Every problem has an analytic [`gradient`][optim.objective.Objective.gradient],
    a vectorized [`values`][optim.objective.Objective.values] (a stack of points
    `(k, n)` in one call), a standard starting point
    [`start`][optim.problems.Problem.start], and, where known, a global
    [`minimizer`][optim.problems.Problem.minimizer] and its value
    [`minimum`][optim.problems.Problem.minimum].

    Examples:
        >>> import numpy as np
        >>> problem = Rosenbrock()
        >>> problem.start, problem.minimizer, problem.minimum
        (array([-1.2,  1. ]), array([1., 1.]), 0.0)
        >>> problem.value(problem.minimizer)
        0.0
    """

    __slots__ = ()

    _start: ClassVar[tuple[float, ...]] = (0.0,)
    """The standard start, repeated (`numpy.resize`) to the dimension."""
    _minimizer: ClassVar[tuple[float, ...] | None] = None
    """A global minimizer, repeated to the dimension, or `None` if not known."""
    _minimum: ClassVar[float | None] = None
    """The global minimum value, or `None` if not known."""

    @property
    def start(self) -> Array:
        """The standard starting point, a new array each time."""
        return np.resize(np.array(self._start, dtype=np.float64), self.dimension)

    @property
    def minimizer(self) -> Array | None:
        """A global minimizer (a new array each time), or `None` if not known."""
        if self._minimizer is None:
            return None
        return np.resize(np.array(self._minimizer, dtype=np.float64), self.dimension)

    @property
    def minimum(self) -> float | None:
        """The global minimum value, or `None` if not known in closed form."""
        return self._minimum

    @property
    def dimension(self) -> int:
        """Number of variables."""
        return len(self._start)

    @abc.abstractmethod
    def values(self, xs: Array) -> Array:
        """Evaluate the objective at a stack of points `(k, n)` in one call."""

    @override
    def value(self, x: Array) -> float:
        return float(self.values(np.asarray(x, dtype=np.float64)[np.newaxis])[0])


def _stack(xs: Array, dimension: int | None = None) -> Array:
    stack = np.asarray(xs, dtype=np.float64)
    if stack.ndim != 2 or (dimension is not None and stack.shape[1] != dimension):
        expected = "(k, n)" if dimension is None else f"(k, {dimension})"
        raise ValueError(f"points must have shape {expected}, got {stack.shape}")
    return stack


def _check_dimension(dimension: int, minimum: int = 1) -> None:
    if dimension < minimum:
        raise ValueError(f"dimension must be >= {minimum}, got {dimension}")


@attrs.frozen
class Sphere(Problem):
    r"""The textbook's sphere $f(x) = \sum_i x_i^2$, minimized at the origin.

    Its gradient is $2x$; it works for points of any shape (not only vectors) and
    evaluates stacks of points in one vectorized call. The standard start is the
    textbook's $(-3, 4)$, repeated for more dimensions.

    Examples:
        >>> import numpy as np
        >>> Sphere().value(np.array([3.0, 2.0]))
        13.0
        >>> Sphere().gradient(np.array([3.0, 2.0]))
        array([6., 4.])
        >>> Sphere(dimension=3).start
        array([-3.,  4., -3.])
    """

    dimension: int = attrs.field(default=2, validator=_validators.positive_count)
    """Dimension of [`start`][optim.problems.Problem.start] and the minimizer; points
    of any shape can still be evaluated."""

    _start = (-3.0, 4.0)
    _minimizer = (0.0,)
    _minimum = 0.0

    @override
    def value(self, x: Array) -> float:
        return float(np.vdot(x, x))

    @override
    def gradient(self, x: Array) -> Array:
        return 2.0 * np.asarray(x, dtype=np.float64)

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        return float(np.vdot(x, x)), 2.0 * np.asarray(x, dtype=np.float64)

    @override
    def values(self, xs: Array) -> Array:
        flat = np.reshape(xs, (len(xs), -1))
        return np.asarray(np.sum(flat**2, axis=1), dtype=np.float64)


@functools.lru_cache(maxsize=16)
def _rotation(dimension: int, seed: int) -> Array:
    """A random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    gaussian = np.random.default_rng(seed).normal(size=(dimension, dimension))
    q, r = np.linalg.qr(gaussian)
    q = q * np.sign(np.diag(r))
    q.setflags(write=False)
    return np.asarray(q, dtype=np.float64)


@attrs.frozen
class Quadratic(Problem):
    r"""An ill-conditioned convex quadratic $f(x) = \tfrac12 x^\top Q D Q^\top x$.

    The curvatures $D = \operatorname{diag}(d)$ are spaced geometrically from $1$
    to the condition number $\kappa$, so the Hessian has condition number exactly
    $\kappa$. By default $Q = I$ (axis-aligned: $\tfrac12 \sum_i d_i x_i^2$); with
    `rotation_seed` set, $Q$ is a random orthogonal matrix drawn from that seed,
    which takes away the advantage of per-coordinate rules (AdaGrad, RMSProp,
    Adam), whose diagonal scaling is exact for an axis-aligned quadratic.
    Minimizer: the origin, minimum $0$; start: all ones. Fixed-step gradient
    descent needs about $\kappa$ steps per digit here, which is what adaptive and
    quasi-Newton rules are for.

    Examples:
        >>> import numpy as np
        >>> problem = Quadratic(dimension=3, condition_number=100.0)
        >>> problem.curvatures
        array([  1.,  10., 100.])
        >>> problem.value(problem.start), problem.gradient(problem.start)
        (55.5, array([  1.,  10., 100.]))
        >>> rotated = Quadratic(dimension=3, condition_number=100.0, rotation_seed=0)
        >>> hessian = np.array([rotated.gradient(e) for e in np.eye(3)])
        >>> np.round(np.linalg.eigvalsh(hessian), 10)
        array([  1.,  10., 100.])
    """

    dimension: int = attrs.field(default=2, validator=_validators.positive_count)
    """Number of variables."""

    condition_number: float = attrs.field(
        default=10.0, kw_only=True, validator=_validators.positive
    )
    """Ratio $\\kappa$ of the largest to the smallest curvature, at least 1."""

    @condition_number.validator
    def _check_condition_number(
        self, attribute: attrs.Attribute[float], value: float
    ) -> None:
        if value < 1.0:
            raise ValueError(f"condition_number must be >= 1, got {value!r}")

    rotation_seed: int | None = attrs.field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(_validators.count),
    )
    """Seed of the random rotation $Q$, or `None` for $Q = I$."""

    @property
    def rotation(self) -> Array | None:
        """The orthogonal matrix $Q$ (read-only), or `None` when axis-aligned."""
        if self.rotation_seed is None:
            return None
        return _rotation(self.dimension, self.rotation_seed)

    @property
    def curvatures(self) -> Array:
        r"""The Hessian's diagonal $d$, from $1$ to $\kappa$."""
        if self.dimension == 1:
            return np.ones(1)
        exponents = np.linspace(0.0, 1.0, self.dimension)
        return np.asarray(self.condition_number**exponents, dtype=np.float64)

    _start = (1.0,)
    _minimizer = (0.0,)
    _minimum = 0.0

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, self.dimension)
        rotation = self.rotation
        if rotation is not None:
            xs = xs @ rotation
        return np.asarray(0.5 * (xs**2) @ self.curvatures, dtype=np.float64)

    @override
    def gradient(self, x: Array) -> Array:
        return self.value_and_gradient(x)[1]

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        x = np.asarray(x, dtype=np.float64)
        rotation = self.rotation
        if rotation is None:
            gradient = self.curvatures * x
            return float(0.5 * np.dot(gradient, x)), gradient
        y = rotation.T @ x
        scaled = self.curvatures * y
        return float(0.5 * np.dot(scaled, y)), np.asarray(rotation @ scaled)


@attrs.frozen
class Rosenbrock(Problem):
    r"""Rosenbrock's banana valley, 2-D and extended to $n$ dimensions.

    In two dimensions $f(x, y) = 100 (y - x^2)^2 + (1 - x)^2$, from the standard
    start $(-1.2, 1)$. For an even `dimension` $n$ this is the *extended*
    Rosenbrock function of Moré, Garbow & Hillstrom (1981), a sum of $n/2$
    independent 2-D valleys
    $\sum_{i=1}^{n/2} 100 (x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2$ from
    $(-1.2, 1, -1.2, 1, \dots)$. With `chained=True` it is the chained form of
    `scipy.optimize.rosen`,
    $\sum_{i=1}^{n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2$ (any $n \ge 2$; for
    $4 \le n \le 7$ it also has a local minimizer near $(-1, 1, \dots, 1)$).
    Minimizer: all ones, minimum $0$.

    References:
        Moré, Garbow & Hillstrom, "Testing unconstrained optimization software",
        ACM TOMS 7(1), 1981 (problem 21).

    Examples:
        >>> import numpy as np
        >>> Rosenbrock().gradient(np.array([-1.2, 1.0]))
        array([-215.6,  -88. ])
        >>> Rosenbrock(dimension=4).value(np.zeros(4))
        2.0
        >>> Rosenbrock(dimension=4, chained=True).value(np.zeros(4))
        3.0
    """

    dimension: int = attrs.field(default=2, validator=_validators.positive_count)
    """Number of variables, even unless `chained`."""

    chained: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    """Whether to use the chained form (`scipy.optimize.rosen`) instead of the
    extended (separable) one."""

    def __attrs_post_init__(self) -> None:
        _check_dimension(self.dimension, 2)
        if not self.chained and self.dimension % 2:
            raise ValueError(
                f"dimension must be even for the extended Rosenbrock function, got "
                f"{self.dimension} (use chained=True for odd dimensions)"
            )

    def _pairs(self) -> tuple[slice, slice]:
        if self.chained:
            return slice(None, -1), slice(1, None)
        return slice(0, None, 2), slice(1, None, 2)

    _start = (-1.2, 1.0)
    _minimizer = (1.0,)
    _minimum = 0.0

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, self.dimension)
        head, tail = self._pairs()
        u, v = xs[:, head], xs[:, tail]
        return np.asarray(
            np.sum(100.0 * (v - u**2) ** 2 + (1.0 - u) ** 2, axis=1),
            dtype=np.float64,
        )

    @override
    def gradient(self, x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        head, tail = self._pairs()
        u, v = x[head], x[tail]
        inner = v - u**2
        gradient = np.zeros_like(x)
        gradient[head] += -400.0 * u * inner - 2.0 * (1.0 - u)
        gradient[tail] += 200.0 * inner
        return gradient


@attrs.frozen
class Beale(Problem):
    r"""Beale's function, $\sum_{i=1}^{3} (c_i - x + x y^i)^2$.

    Here $c = (1.5, 2.25, 2.625)$. Minimizer $(3, 0.5)$, minimum $0$, standard
    start $(1, 1)$ (Moré, Garbow & Hillstrom 1981, problem 5).

    Examples:
        >>> import numpy as np
        >>> Beale().value(np.array([3.0, 0.5]))
        0.0
        >>> round(Beale().value(Beale().start), 6)
        14.203125
    """

    _start = (1.0, 1.0)
    _minimizer = (3.0, 0.5)
    _minimum = 0.0

    @staticmethod
    def _residuals(x: Array, y: Array) -> list[Array]:
        return [c - x + x * y**i for i, c in enumerate((1.5, 2.25, 2.625), start=1)]

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, 2)
        residuals = self._residuals(xs[:, 0], xs[:, 1])
        return np.asarray(sum(r**2 for r in residuals), dtype=np.float64)

    @override
    def gradient(self, x: Array) -> Array:
        a, b = float(x[0]), float(x[1])
        residuals = self._residuals(np.asarray(a), np.asarray(b))
        gx = sum(2.0 * r * (b**i - 1.0) for i, r in enumerate(residuals, start=1))
        gy = sum(
            2.0 * r * a * i * b ** (i - 1) for i, r in enumerate(residuals, start=1)
        )
        return np.array([gx, gy], dtype=np.float64)


@attrs.frozen
class Booth(Problem):
    r"""Booth's function, $(x + 2y - 7)^2 + (2x + y - 5)^2$.

    A convex quadratic with minimizer $(1, 3)$, minimum $0$; start $(0, 0)$.

    Examples:
        >>> import numpy as np
        >>> Booth().value(np.array([1.0, 3.0])), Booth().value(Booth().start)
        (0.0, 74.0)
    """

    _start = (0.0, 0.0)
    _minimizer = (1.0, 3.0)
    _minimum = 0.0

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, 2)
        x, y = xs[:, 0], xs[:, 1]
        return np.asarray((x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2, np.float64)

    @override
    def gradient(self, x: Array) -> Array:
        r1 = x[0] + 2 * x[1] - 7
        r2 = 2 * x[0] + x[1] - 5
        return np.array([2 * r1 + 4 * r2, 4 * r1 + 2 * r2], dtype=np.float64)


_HIMMELBLAU_MINIMIZERS = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286170),
    (3.584428340330492, -1.848126526964404),
)


@attrs.frozen
class Himmelblau(Problem):
    r"""Himmelblau's function, $(x^2 + y - 11)^2 + (x + y^2 - 7)^2$.

    It has four global minimizers, all with value $0$;
    [`minimizer`][optim.problems.Problem.minimizer] is $(3, 2)$, the one reached
    from the start $(0, 0)$, and
    [`minimizers`][optim.problems.Himmelblau.minimizers] lists all four.

    Examples:
        >>> import numpy as np
        >>> problem = Himmelblau()
        >>> [round(problem.value(m), 12) for m in problem.minimizers]
        [0.0, 0.0, 0.0, 0.0]
    """

    _start = (0.0, 0.0)
    _minimizer = _HIMMELBLAU_MINIMIZERS[0]
    _minimum = 0.0

    @property
    def minimizers(self) -> Array:
        """All four global minimizers, shape `(4, 2)`."""
        return np.array(_HIMMELBLAU_MINIMIZERS)

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, 2)
        x, y = xs[:, 0], xs[:, 1]
        return np.asarray((x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, np.float64)

    @override
    def gradient(self, x: Array) -> Array:
        r1 = x[0] ** 2 + x[1] - 11
        r2 = x[0] + x[1] ** 2 - 7
        return np.array(
            [4 * x[0] * r1 + 2 * r2, 2 * r1 + 4 * x[1] * r2], dtype=np.float64
        )


@attrs.frozen
class Rastrigin(Problem):
    r"""Rastrigin's function, $10 n + \sum_i (x_i^2 - 10 \cos 2 \pi x_i)$.

    Smooth but highly multimodal: a local minimum near every integer point, the
    global one $0$ at the origin. The start $(0.4, \dots, 0.4)$ lies in the
    origin's basin, so a local method can succeed; from farther out, gradient
    methods stop in a local minimum, which is the point of this function.

    Examples:
        >>> import numpy as np
        >>> Rastrigin(dimension=3).value(np.zeros(3))
        0.0
        >>> round(Rastrigin().value(np.ones(2)), 12)
        2.0
    """

    dimension: int = attrs.field(default=2, validator=_validators.positive_count)
    """Number of variables."""

    _start = (0.4,)
    _minimizer = (0.0,)
    _minimum = 0.0

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, self.dimension)
        terms = xs**2 - 10.0 * np.cos(2.0 * np.pi * xs) + 10.0
        return np.asarray(np.sum(terms, axis=1), dtype=np.float64)

    @override
    def gradient(self, x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(
            2.0 * x + 20.0 * np.pi * np.sin(2.0 * np.pi * x), dtype=np.float64
        )


def _styblinski_tang_root() -> float:
    """Return the smallest root of $t^3 - 8 t + 1.25$ (Viete's trigonometric form).

    It is where $2 t^3 - 16 t + 2.5$, the derivative of one term, vanishes: the
    coordinate of the global minimizer.
    """
    p, q = -8.0, 1.25
    radius = 2.0 * math.sqrt(-p / 3.0)
    angle = math.acos(1.5 * q / p * math.sqrt(-3.0 / p)) / 3.0
    return min(radius * math.cos(angle - 2.0 * math.pi * k / 3.0) for k in range(3))


_ST_ROOT = _styblinski_tang_root()


@attrs.frozen
class StyblinskiTang(Problem):
    r"""The Styblinski-Tang function, $\tfrac12 \sum_i (x_i^4 - 16 x_i^2 + 5 x_i)$.

    Its global minimizer has every coordinate equal to the smallest root
    $t^* \approx -2.903534$ of $2t^3 - 16t + 2.5 = 0$, with minimum
    $\approx -39.16617 n$; there are other local minima (coordinates near
    $2.7468$). The start is the origin, from which descent reaches the global one.

    Examples:
        >>> import numpy as np
        >>> problem = StyblinskiTang()
        >>> np.round(problem.minimizer, 6), round(problem.minimum, 5)
        (array([-2.903534, -2.903534]), -78.33233)
    """

    dimension: int = attrs.field(default=2, validator=_validators.positive_count)
    """Number of variables."""

    _minimizer = (_ST_ROOT,)

    @property
    @override
    def minimum(self) -> float:
        t = _ST_ROOT
        return self.dimension * 0.5 * (t**4 - 16.0 * t**2 + 5.0 * t)

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, self.dimension)
        return np.asarray(
            0.5 * np.sum(xs**4 - 16.0 * xs**2 + 5.0 * xs, axis=1), dtype=np.float64
        )

    @override
    def gradient(self, x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(2.0 * x**3 - 16.0 * x + 2.5, dtype=np.float64)


def _as_matrix(features: ArrayLike) -> Array:
    matrix = np.array(features, dtype=np.float64, copy=True)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(
            f"features must be a non-empty 2-D array (samples, features), got shape "
            f"{matrix.shape}"
        )
    if not np.isfinite(matrix).all():
        raise ValueError("features must be finite")
    matrix.setflags(write=False)
    return matrix


def _as_signs(labels: ArrayLike) -> Array:
    raw = np.asarray(labels)
    classes = np.unique(raw)
    if raw.ndim != 1 or len(classes) != 2:
        raise ValueError(
            f"labels must be a 1-D array with exactly two classes, got shape "
            f"{raw.shape} and classes {classes.tolist()}"
        )
    signs = np.where(raw == classes[1], 1.0, -1.0)
    signs.setflags(write=False)
    return signs


@attrs.frozen(eq=False)
class LogisticRegression(Problem):
    r"""L2-regularized logistic regression on data you pass in.

    With samples $a_i$ (rows of `features`), labels $y_i \in \{-1, +1\}$ (any two
    classes; the larger one is $+1$), weights $w$ and intercept $b$,

    $$f(w, b) = \frac1m \sum_{i=1}^m \log\bigl(1 + e^{-y_i (a_i^\top w + b)}\bigr)
    + \frac{\lambda}{2} \|w\|^2 .$$

    The intercept is not penalized. The point is `concatenate([w, [b]])` (just `w`
    when `fit_intercept=False`); the start is zero. scikit-learn's
    `LogisticRegression(C=C)` minimizes $C m$ times this objective with
    $\lambda = 1 / (C m)$: build the matching problem with
    [`from_sklearn_c`][optim.problems.LogisticRegression.from_sklearn_c].
    Minimizer and minimum are not known in closed form (`None`).

    Examples:
        >>> import numpy as np
        >>> problem = LogisticRegression([[1.0], [-1.0]], [1, 0], l2=0.5)
        >>> round(problem.value(problem.start), 6)  # log 2
        0.693147
        >>> problem.gradient(problem.start)
        array([-0.5,  0. ])
    """

    features: Array = attrs.field(converter=_as_matrix, repr=False)
    """Samples as rows, shape `(m, d)` (copied and made read-only)."""

    labels: Array = attrs.field(converter=_as_signs, repr=False)
    """Labels, shape `(m,)`, two classes, stored as $\\pm 1$."""

    l2: float = attrs.field(
        default=1.0, kw_only=True, validator=_validators.non_negative
    )
    """Regularization strength $\\lambda \\ge 0$ on the weights."""

    fit_intercept: bool = attrs.field(
        default=True, kw_only=True, validator=_validators.boolean
    )
    """Whether the last coordinate of the point is an unpenalized intercept."""

    @labels.validator
    def _check_labels(self, attribute: attrs.Attribute[Array], value: Array) -> None:
        if len(value) != len(self.features):
            raise ValueError(
                f"labels must have one entry per sample ({len(self.features)}), got "
                f"{len(value)}"
            )

    @classmethod
    def from_sklearn_c(
        cls,
        features: ArrayLike,
        labels: ArrayLike,
        c: float,
        *,
        fit_intercept: bool = True,
    ) -> LogisticRegression:
        r"""Build the problem scikit-learn's `LogisticRegression(C=c)` solves.

        scikit-learn minimizes $C \sum_i \ell_i + \tfrac12 \|w\|^2$, which is
        $C m$ times this objective with $\lambda = 1 / (C m)$: same minimizer.

        Args:
            features: Samples as rows, shape `(m, d)`.
            labels: Two-class labels, shape `(m,)`.
            c: scikit-learn's inverse regularization strength `C`, positive.
            fit_intercept: Whether to fit an (unpenalized) intercept.

        Returns:
            The matching problem.

        Examples:
            >>> problem = LogisticRegression.from_sklearn_c(
            ...     [[1.0], [2.0], [3.0], [4.0]], [0, 0, 1, 1], c=0.5
            ... )
            >>> problem.l2
            0.5
        """
        if not (isinstance(c, int | float) and math.isfinite(c) and c > 0):
            raise ValueError(f"c must be a finite number > 0, got {c!r}")
        m = np.shape(features)[0]
        return cls(features, labels, l2=1.0 / (c * m), fit_intercept=fit_intercept)

    @property
    @override
    def dimension(self) -> int:
        return int(self.features.shape[1] + int(self.fit_intercept))

    def _split(self, xs: Array) -> tuple[Array, Array]:
        d = self.features.shape[1]
        weights = xs[..., :d]
        intercept = xs[..., d] if self.fit_intercept else np.zeros(xs.shape[:-1])
        return weights, intercept

    @override
    def values(self, xs: Array) -> Array:
        xs = _stack(xs, self.dimension)
        weights, intercept = self._split(xs)
        margins = self.labels * (weights @ self.features.T + intercept[:, None])
        loss = np.mean(np.logaddexp(0.0, -margins), axis=1)
        penalty = 0.5 * self.l2 * np.sum(weights**2, axis=1)
        return np.asarray(loss + penalty, dtype=np.float64)

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        x = np.asarray(x, dtype=np.float64)
        weights, intercept = self._split(x)
        margins = self.labels * (self.features @ weights + intercept)
        m = len(self.labels)
        value = float(np.mean(np.logaddexp(0.0, -margins)))
        value += 0.5 * self.l2 * float(weights @ weights)
        # d/dmargin log(1 + e^{-margin}) = -sigmoid(-margin), computed stably.
        coefficients = -self.labels * np.exp(-np.logaddexp(0.0, margins)) / m
        gradient = np.empty_like(x)
        d = self.features.shape[1]
        gradient[:d] = self.features.T @ coefficients + self.l2 * weights
        if self.fit_intercept:
            gradient[d] = np.sum(coefficients)
        return value, gradient

    @override
    def gradient(self, x: Array) -> Array:
        return self.value_and_gradient(x)[1]

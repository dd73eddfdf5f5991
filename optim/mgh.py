r"""The Moré-Garbow-Hillstrom test problems, for testing gradient estimators.

The 35 unconstrained least-squares problems of Moré, Garbow and Hillstrom,
"Testing unconstrained optimization software", *ACM Transactions on Mathematical
Software* 7(1), 1981, pages 17-41: $f(x) = \sum_{i=1}^m r_i(x)^2$ with the
paper's residuals $r_i$ and standard starting points. Problems of variable size
use the dimensions listed in [`PROBLEMS`][optim.mgh.PROBLEMS].

Each problem is an [`Objective`][optim.objective.Objective] whose
[`gradient`][optim.objective.Objective.gradient] is the complex-step derivative
of its value (every residual is analytic near the points used), exact to
rounding: a reference to measure finite differences against.

Examples:
    >>> import numpy as np
    >>> rosenbrock = PROBLEMS[0]
    >>> rosenbrock.name, rosenbrock.x0
    ('Rosenbrock', array([-1.2,  1. ]))
    >>> round(rosenbrock.value(rosenbrock.x0), 12)
    24.2
    >>> rosenbrock.gradient(rosenbrock.x0)
    array([-215.6,  -88. ])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import attrs
import numpy as np

from optim._types import Array, override
from optim.objective import Objective

__all__ = ["PROBLEMS", "MGHProblem", "by_name"]

_Vector: TypeAlias = Any
"""A real or complex array: complex points give the reference gradients."""


def _rosenbrock(x: _Vector) -> _Vector:
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _freudenstein_roth(x: _Vector) -> _Vector:
    return np.array(
        [
            -13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
            -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1],
        ]
    )


def _powell_badly_scaled(x: _Vector) -> _Vector:
    return np.array([1e4 * x[0] * x[1] - 1.0, np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])


def _brown_badly_scaled(x: _Vector) -> _Vector:
    return np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])


def _beale(x: _Vector) -> _Vector:
    y = np.array([1.5, 2.25, 2.625])
    i = np.arange(1, 4)
    return y - x[0] * (1.0 - x[1] ** i)


def _jennrich_sampson(x: _Vector) -> _Vector:
    i = np.arange(1, 11)
    return 2.0 + 2.0 * i - (np.exp(i * x[0]) + np.exp(i * x[1]))


def _helical_valley(x: _Vector) -> _Vector:
    theta = np.arctan(x[1] / x[0]) / (2.0 * np.pi)
    if np.real(x[0]) < 0.0:
        theta = theta + 0.5
    radius = np.sqrt(x[0] ** 2 + x[1] ** 2)
    return np.array([10.0 * (x[2] - 10.0 * theta), 10.0 * (radius - 1.0), x[2]])


_BARD_Y = np.array(
    [
        0.14,
        0.18,
        0.22,
        0.25,
        0.29,
        0.32,
        0.35,
        0.39,
        0.37,
        0.58,
        0.73,
        0.96,
        1.34,
        2.10,
        4.39,
    ]
)


def _bard(x: _Vector) -> _Vector:
    u = np.arange(1.0, 16.0)
    v = 16.0 - u
    w = np.minimum(u, v)
    return _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


_GAUSSIAN_Y = np.array(
    [
        0.0009,
        0.0044,
        0.0175,
        0.0540,
        0.1295,
        0.2420,
        0.3521,
        0.3989,
        0.3521,
        0.2420,
        0.1295,
        0.0540,
        0.0175,
        0.0044,
        0.0009,
    ]
)


def _gaussian(x: _Vector) -> _Vector:
    t = (8.0 - np.arange(1.0, 16.0)) / 2.0
    return x[0] * np.exp(-x[1] * (t - x[2]) ** 2 / 2.0) - _GAUSSIAN_Y


_MEYER_Y = np.array(
    [
        34780.0,
        28610.0,
        23650.0,
        19630.0,
        16370.0,
        13720.0,
        11540.0,
        9744.0,
        8261.0,
        7030.0,
        6005.0,
        5147.0,
        4427.0,
        3820.0,
        3307.0,
        2872.0,
    ]
)


def _meyer(x: _Vector) -> _Vector:
    t = 45.0 + 5.0 * np.arange(1.0, 17.0)
    return x[0] * np.exp(x[1] / (t + x[2])) - _MEYER_Y


def _gulf(x: _Vector) -> _Vector:
    t = np.arange(1.0, 100.0) / 100.0
    y = 25.0 + (-50.0 * np.log(t)) ** (2.0 / 3.0)
    d = y - x[1]
    magnitude = np.where(np.real(d) < 0.0, -d, d)  # |d|, analytic near x
    return np.exp(-(magnitude ** x[2]) / x[0]) - t


def _box_3d(x: _Vector) -> _Vector:
    t = 0.1 * np.arange(1.0, 11.0)
    return (
        np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10.0 * t))
    )


def _powell_singular(x: _Vector) -> _Vector:
    return np.array(
        [
            x[0] + 10.0 * x[1],
            np.sqrt(5.0) * (x[2] - x[3]),
            (x[1] - 2.0 * x[2]) ** 2,
            np.sqrt(10.0) * (x[0] - x[3]) ** 2,
        ]
    )


def _wood(x: _Vector) -> _Vector:
    return np.array(
        [
            10.0 * (x[1] - x[0] ** 2),
            1.0 - x[0],
            np.sqrt(90.0) * (x[3] - x[2] ** 2),
            1.0 - x[2],
            np.sqrt(10.0) * (x[1] + x[3] - 2.0),
            (x[1] - x[3]) / np.sqrt(10.0),
        ]
    )


_KOWALIK_Y = np.array(
    [
        0.1957,
        0.1947,
        0.1735,
        0.1600,
        0.0844,
        0.0627,
        0.0456,
        0.0342,
        0.0323,
        0.0235,
        0.0246,
    ]
)
_KOWALIK_U = np.array(
    [4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]
)


def _kowalik_osborne(x: _Vector) -> _Vector:
    u = _KOWALIK_U
    return _KOWALIK_Y - x[0] * (u**2 + u * x[1]) / (u**2 + u * x[2] + x[3])


def _brown_dennis(x: _Vector) -> _Vector:
    t = np.arange(1.0, 21.0) / 5.0
    return (x[0] + t * x[1] - np.exp(t)) ** 2 + (
        x[2] + x[3] * np.sin(t) - np.cos(t)
    ) ** 2


_OSBORNE1_Y = np.array(
    [
        0.844,
        0.908,
        0.932,
        0.936,
        0.925,
        0.908,
        0.881,
        0.850,
        0.818,
        0.784,
        0.751,
        0.718,
        0.685,
        0.658,
        0.628,
        0.603,
        0.580,
        0.558,
        0.538,
        0.522,
        0.506,
        0.490,
        0.478,
        0.467,
        0.457,
        0.448,
        0.438,
        0.431,
        0.424,
        0.420,
        0.414,
        0.411,
        0.406,
    ]
)


def _osborne1(x: _Vector) -> _Vector:
    t = 10.0 * np.arange(33.0)
    return _OSBORNE1_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))


def _biggs_exp6(x: _Vector) -> _Vector:
    t = 0.1 * np.arange(1.0, 14.0)
    y = np.exp(-t) - 5.0 * np.exp(-10.0 * t) + 3.0 * np.exp(-4.0 * t)
    return (
        x[2] * np.exp(-t * x[0])
        - x[3] * np.exp(-t * x[1])
        + x[5] * np.exp(-t * x[4])
        - y
    )


_OSBORNE2_Y = np.array(
    [
        1.366,
        1.191,
        1.112,
        1.013,
        0.991,
        0.885,
        0.831,
        0.847,
        0.786,
        0.725,
        0.746,
        0.679,
        0.608,
        0.655,
        0.616,
        0.606,
        0.602,
        0.626,
        0.651,
        0.724,
        0.649,
        0.649,
        0.694,
        0.644,
        0.624,
        0.661,
        0.612,
        0.558,
        0.533,
        0.495,
        0.500,
        0.423,
        0.395,
        0.375,
        0.372,
        0.391,
        0.396,
        0.405,
        0.428,
        0.429,
        0.523,
        0.562,
        0.607,
        0.653,
        0.672,
        0.708,
        0.633,
        0.668,
        0.645,
        0.632,
        0.591,
        0.559,
        0.597,
        0.625,
        0.739,
        0.710,
        0.729,
        0.720,
        0.636,
        0.581,
        0.428,
        0.292,
        0.162,
        0.098,
        0.054,
    ]
)


def _osborne2(x: _Vector) -> _Vector:
    t = np.arange(65.0) / 10.0
    return _OSBORNE2_Y - (
        x[0] * np.exp(-t * x[4])
        + x[1] * np.exp(-((t - x[8]) ** 2) * x[5])
        + x[2] * np.exp(-((t - x[9]) ** 2) * x[6])
        + x[3] * np.exp(-((t - x[10]) ** 2) * x[7])
    )


def _watson(x: _Vector) -> _Vector:
    n = len(x)
    t = np.arange(1.0, 30.0)[:, None] / 29.0
    j = np.arange(n)
    slope = ((j[1:] * t ** (j[1:] - 1)) * x[1:]).sum(axis=1)
    level = (t**j * x).sum(axis=1)
    return np.concatenate(
        [slope - level**2 - 1.0, np.array([x[0], x[1] - x[0] ** 2 - 1.0])]
    )


def _extended_rosenbrock(x: _Vector) -> _Vector:
    odd, even = x[0::2], x[1::2]
    return np.stack([10.0 * (even - odd**2), 1.0 - odd], axis=1).reshape(-1)


def _extended_powell(x: _Vector) -> _Vector:
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    return np.stack(
        [
            a + 10.0 * b,
            np.sqrt(5.0) * (c - d),
            (b - 2.0 * c) ** 2,
            np.sqrt(10.0) * (a - d) ** 2,
        ],
        axis=1,
    ).reshape(-1)


def _penalty1(x: _Vector) -> _Vector:
    return np.concatenate([np.sqrt(1e-5) * (x - 1.0), np.array([np.sum(x**2) - 0.25])])


def _penalty2(x: _Vector) -> _Vector:
    n = len(x)
    a = np.sqrt(1e-5)
    i = np.arange(2.0, n + 1.0)
    y = np.exp(i / 10.0) + np.exp((i - 1.0) / 10.0)
    middle = a * (np.exp(x[1:] / 10.0) + np.exp(x[:-1] / 10.0) - y)
    tail = a * (np.exp(x[1:] / 10.0) - np.exp(-0.1))
    weights = np.arange(n, 0.0, -1.0)
    return np.concatenate(
        [
            np.array([x[0] - 0.2]),
            middle,
            tail,
            np.array([np.sum(weights * x**2) - 1.0]),
        ]
    )


def _variably_dimensioned(x: _Vector) -> _Vector:
    s = np.sum(np.arange(1.0, len(x) + 1.0) * (x - 1.0))
    return np.concatenate([x - 1.0, np.array([s, s**2])])


def _trigonometric(x: _Vector) -> _Vector:
    n = len(x)
    i = np.arange(1.0, n + 1.0)
    return n - np.sum(np.cos(x)) + i * (1.0 - np.cos(x)) - np.sin(x)


def _brown_almost_linear(x: _Vector) -> _Vector:
    n = len(x)
    return np.concatenate(
        [x[:-1] + np.sum(x) - (n + 1.0), np.array([np.prod(x) - 1.0])]
    )


def _boundary_grid(n: int) -> tuple[float, Array]:
    h = 1.0 / (n + 1.0)
    return h, h * np.arange(1.0, n + 1.0)


def _discrete_boundary(x: _Vector) -> _Vector:
    h, t = _boundary_grid(len(x))
    padded = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return 2.0 * x - padded[:-2] - padded[2:] + h**2 * (x + t + 1.0) ** 3 / 2.0


def _discrete_integral(x: _Vector) -> _Vector:
    h, t = _boundary_grid(len(x))
    cube = (x + t + 1.0) ** 3
    below = np.cumsum(t * cube)
    above = np.concatenate([np.cumsum(((1.0 - t) * cube)[::-1])[::-1][1:], [0.0]])
    return x + h * ((1.0 - t) * below + t * above) / 2.0


def _broyden_tridiagonal(x: _Vector) -> _Vector:
    padded = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return (3.0 - 2.0 * x) * x - padded[:-2] - 2.0 * padded[2:] + 1.0


def _broyden_banded(x: _Vector) -> _Vector:
    n = len(x)
    out = []
    for i in range(n):
        band = [j for j in range(max(0, i - 5), min(n, i + 2)) if j != i]
        out.append(
            x[i] * (2.0 + 5.0 * x[i] ** 2) + 1.0 - np.sum(x[band] * (1.0 + x[band]))
        )
    return np.array(out)


def _linear_full_rank(x: _Vector) -> _Vector:
    m = 2 * len(x)
    s = 2.0 / m * np.sum(x)
    return np.concatenate([x - s - 1.0, np.full(m - len(x), -s - 1.0)])


def _linear_rank1(x: _Vector) -> _Vector:
    m = 2 * len(x)
    s = np.sum(np.arange(1.0, len(x) + 1.0) * x)
    return np.arange(1.0, m + 1.0) * s - 1.0


def _linear_rank1_zeros(x: _Vector) -> _Vector:
    n = len(x)
    m = 2 * n
    s = np.sum(np.arange(2.0, n) * x[1:-1])
    middle = np.arange(1.0, m - 1.0) * s - 1.0
    return np.concatenate([np.array([-1.0]), middle, np.array([-1.0])])


def _chebyquad(x: _Vector) -> _Vector:
    n = len(x)
    y = 2.0 * x - 1.0
    previous, current = np.ones_like(y), y
    out = []
    for i in range(1, n + 1):
        integral = -1.0 / (i * i - 1.0) if i % 2 == 0 else 0.0
        out.append(np.mean(current) - integral)
        previous, current = current, 2.0 * y * current - previous
    return np.array(out)


def _as_x0(value: Any) -> Array:
    array = np.array(value, dtype=np.float64)
    array.setflags(write=False)
    return array


@attrs.frozen
class MGHProblem(Objective):
    r"""One Moré-Garbow-Hillstrom problem: $f(x) = \sum_i r_i(x)^2$.

    Examples:
        >>> import numpy as np
        >>> problem = by_name("Brown badly scaled")
        >>> problem.number, problem.x0.size, problem.value(np.array([1e6, 2e-6]))
        (4, 2, 0.0)
    """

    number: int
    """The problem's number in the paper (1 to 35)."""

    name: str
    """The paper's name of the problem."""

    residuals: Callable[[_Vector], _Vector] = attrs.field(repr=False)
    """The residuals $r(x)$, a module-level function (so problems pickle)."""

    x0: Array = attrs.field(converter=_as_x0, eq=attrs.cmp_using(eq=np.array_equal))
    """The standard starting point (read-only)."""

    @override
    def value(self, x: Array) -> float:
        r = self.residuals(np.asarray(x))
        return float(np.sum(r * r))

    @override
    def gradient(self, x: Array) -> Array:
        flat = np.asarray(x, dtype=np.float64).reshape(-1)
        h = 1e-20 * np.maximum(1.0, np.abs(flat))
        gradient = np.empty(flat.size)
        for i in range(flat.size):
            point = flat.astype(np.complex128)
            point[i] += 1j * h[i]
            r = self.residuals(point.reshape(np.shape(x)))
            gradient[i] = np.sum(r * r).imag / h[i]
        return gradient.reshape(np.shape(x))

    def perturbed(self, seed: int = 0, scale: float = 0.1) -> Array:
        """Return a seeded random point near the standard start.

        Args:
            seed: The seed of the perturbation.
            scale: Relative size: each coordinate moves by `scale * max(1, |x0_i|)`
                times a standard normal number.

        Returns:
            The point `x0 + scale * max(1, |x0|) * z`.

        Examples:
            >>> x = by_name("Rosenbrock").perturbed(seed=1)
            >>> bool(np.all(np.abs(x - [-1.2, 1.0]) < 0.5))
            True
        """
        z = np.random.default_rng(seed).standard_normal(self.x0.shape)
        return self.x0 + scale * np.maximum(1.0, np.abs(self.x0)) * z


def _table() -> tuple[MGHProblem, ...]:
    n = 10
    grid = _boundary_grid(n)[1]
    rows: list[tuple[str, Callable[[_Vector], _Vector], Any]] = [
        ("Rosenbrock", _rosenbrock, [-1.2, 1.0]),
        ("Freudenstein and Roth", _freudenstein_roth, [0.5, -2.0]),
        ("Powell badly scaled", _powell_badly_scaled, [0.0, 1.0]),
        ("Brown badly scaled", _brown_badly_scaled, [1.0, 1.0]),
        ("Beale", _beale, [1.0, 1.0]),
        ("Jennrich and Sampson", _jennrich_sampson, [0.3, 0.4]),
        ("Helical valley", _helical_valley, [-1.0, 0.0, 0.0]),
        ("Bard", _bard, [1.0, 1.0, 1.0]),
        ("Gaussian", _gaussian, [0.4, 1.0, 0.0]),
        ("Meyer", _meyer, [0.02, 4000.0, 250.0]),
        ("Gulf research and development", _gulf, [5.0, 2.5, 0.15]),
        ("Box three-dimensional", _box_3d, [0.0, 10.0, 20.0]),
        ("Powell singular", _powell_singular, [3.0, -1.0, 0.0, 1.0]),
        ("Wood", _wood, [-3.0, -1.0, -3.0, -1.0]),
        ("Kowalik and Osborne", _kowalik_osborne, [0.25, 0.39, 0.415, 0.39]),
        ("Brown and Dennis", _brown_dennis, [25.0, 5.0, -5.0, -1.0]),
        ("Osborne 1", _osborne1, [0.5, 1.5, -1.0, 0.01, 0.02]),
        ("Biggs EXP6", _biggs_exp6, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]),
        (
            "Osborne 2",
            _osborne2,
            [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5],
        ),
        ("Watson", _watson, np.zeros(9)),
        ("Extended Rosenbrock", _extended_rosenbrock, np.tile([-1.2, 1.0], n // 2)),
        ("Extended Powell singular", _extended_powell, np.tile([3.0, -1, 0, 1], 3)),
        ("Penalty I", _penalty1, np.arange(1.0, n + 1.0)),
        ("Penalty II", _penalty2, np.full(n, 0.5)),
        ("Variably dimensioned", _variably_dimensioned, 1.0 - np.arange(1, n + 1) / n),
        ("Trigonometric", _trigonometric, np.full(n, 1.0 / n)),
        ("Brown almost-linear", _brown_almost_linear, np.full(n, 0.5)),
        ("Discrete boundary value", _discrete_boundary, grid * (grid - 1.0)),
        ("Discrete integral equation", _discrete_integral, grid * (grid - 1.0)),
        ("Broyden tridiagonal", _broyden_tridiagonal, np.full(n, -1.0)),
        ("Broyden banded", _broyden_banded, np.full(n, -1.0)),
        ("Linear function - full rank", _linear_full_rank, np.ones(n)),
        ("Linear function - rank 1", _linear_rank1, np.ones(n)),
        (
            "Linear function - rank 1 with zero columns and rows",
            _linear_rank1_zeros,
            np.ones(n),
        ),
        ("Chebyquad", _chebyquad, np.arange(1.0, 9.0) / 9.0),
    ]
    return tuple(
        MGHProblem(number, name, residuals, x0)
        for number, (name, residuals, x0) in enumerate(rows, start=1)
    )


PROBLEMS: tuple[MGHProblem, ...] = _table()
"""All 35 problems, in the paper's order. Sizes: the paper's fixed ones for
problems 1-19; `n = 9` for Watson, `n = 8` for Chebyquad, `n = 10` (`m = 20` for
the linear functions, `m = 99` for Gulf) for the others."""


def by_name(name: str) -> MGHProblem:
    """Return the problem called `name` (the paper's name, case-insensitive).

    Args:
        name: For example `"Osborne 1"`.

    Returns:
        The problem.

    Raises:
        KeyError: If no problem has that name.

    Examples:
        >>> by_name("osborne 1").number
        17
    """
    for problem in PROBLEMS:
        if problem.name.lower() == name.lower():
            return problem
    raise KeyError(f"no Moré-Garbow-Hillstrom problem is called {name!r}")

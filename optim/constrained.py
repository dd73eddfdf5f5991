r"""The steps of the constrained line-search rules: L-BFGS-B and SPG.

With a [`Bounds`][optim.projections.Bounds] constraint,
[`LBFGS`][optim.line_search_rules.LBFGS] takes the step of Byrd, Lu, Nocedal and
Zhu's L-BFGS-B: [`cauchy_point`][optim.constrained.cauchy_point] follows the
projected steepest-descent path to the first minimizer of the quadratic model
(the generalized Cauchy point), and
[`subspace_step`][optim.constrained.subspace_step] minimizes the model over the
variables that are free there (the direct primal method, with the projection of
version 3.0 by Morales and Nocedal). [`box_direction`][optim.constrained.box_direction]
combines them. The quasi-Newton matrix is the compact form
$B = \theta I - W M W^\top$ of the L-BFGS pairs
([`LBFGSDirectionState`][optim.directions.LBFGSDirectionState]).

With any constraint, [`BarzilaiBorwein`][optim.line_search_rules.BarzilaiBorwein]
takes the spectral projected gradient step of Birgin, Martínez and Raydan
([`spectral_search`][optim.constrained.spectral_search]).

References:
    Byrd, Lu, Nocedal and Zhu, "A limited memory algorithm for bound constrained
    optimization", SIAM J. Sci. Comput. 16(5), 1995.
    Morales and Nocedal, "Remark on 'Algorithm 778: L-BFGS-B'", ACM TOMS 38(1),
    2011.
    Birgin, Martínez and Raydan, "Nonmonotone spectral projected gradient
    methods on convex sets", SIAM J. Optim. 10(4), 2000.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from optim._arrays import clip_as, displacement, moved
from optim._types import Array
from optim.directions import LBFGSDirectionState
from optim.evaluation import TrialEvaluator
from optim.projections import Projection

__all__ = [
    "CompactForm",
    "box_direction",
    "cauchy_point",
    "max_step",
    "spectral_search",
    "subspace_step",
]

_EPS = float(np.finfo(np.float64).eps)


@attrs.frozen
class CompactForm:
    r"""The L-BFGS matrix $B = \theta I - W M W^\top$ (Byrd, Nocedal, Schnabel 1994).

    Examples:
        >>> import numpy as np
        >>> from optim.directions import LBFGSDirection
        >>> direction = LBFGSDirection()
        >>> state = direction.observe(
        ...     direction.init(np.zeros(2)),
        ...     step=np.array([1.0, 0.0]),
        ...     gradient_change=np.array([2.0, 0.0]),
        ... )
        >>> form = CompactForm.of(state, 2)
        >>> form.theta, form.times(np.array([1.0, 1.0]))
        (2.0, array([2., 2.]))
    """

    theta: float
    r"""The scaling $\theta = y^\top y / s^\top y$ of the newest pair (1 without)."""

    w: Array
    r"""$W = [Y, \theta S]$, shape `(n, 2m)` (flattened points)."""

    m: Array
    """The middle matrix $M$, shape `(2m, 2m)`."""

    @classmethod
    def of(cls, state: LBFGSDirectionState, size: int) -> CompactForm:
        """The compact form of the pairs in an L-BFGS state.

        Args:
            state: The pairs.
            size: The number of variables.

        Returns:
            theta, W and M (empty for no pairs).
        """
        count = state.count
        if not count:
            return cls(1.0, np.zeros((size, 0)), np.zeros((0, 0)))
        first = len(state.inverse) - count
        # (n, count) in C order, the layout (and so the rounding) of a stack of
        # the pairs as columns.
        s = np.ascontiguousarray(state.steps[first:].T)
        y = np.ascontiguousarray(state.gradient_changes[first:].T)
        theta = float(y[:, -1] @ y[:, -1]) / float(s[:, -1] @ y[:, -1])
        sy = s.T @ y
        lower = np.tril(sy, -1)
        middle = np.block([[-np.diag(np.diag(sy)), lower.T], [lower, theta * s.T @ s]])
        return cls(theta, np.hstack([y, theta * s]), np.linalg.inv(middle))

    def times(self, v: Array) -> Array:
        """$B v$ for a flat vector `v`."""
        product: Array = self.theta * v - self.w @ (self.m @ (self.w.T @ v))
        return product


def max_step(x: Array, d: Array, lower: Array, upper: Array) -> float:
    r"""The largest $\alpha$ with $\ell \le x + \alpha d \le u$ (`inf` if none).

    Examples:
        >>> import numpy as np
        >>> max_step(np.zeros(2), np.array([1.0, -4.0]), -np.ones(2), np.ones(2))
        0.25
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(
            d > 0, (upper - x) / d, np.where(d < 0, (lower - x) / d, np.inf)
        )
    return float(np.maximum(np.min(room, initial=math.inf), 0.0))


def cauchy_point(
    x: Array, g: Array, lower: Array, upper: Array, form: CompactForm
) -> tuple[Array, Array]:
    r"""The generalized Cauchy point: the first local minimizer of the model.

    Along the projected path $x(t) = P(x - t g)$ the quadratic model
    $g^\top (z - x) + \tfrac12 (z - x)^\top B (z - x)$ is piecewise quadratic;
    its segments are examined in order of their breakpoints (Byrd et al. 1995,
    Algorithm CP). All arrays are flat.

    Args:
        x: A feasible point.
        g: The gradient at `x`.
        lower: Lower bounds, shaped like `x`.
        upper: Upper bounds.
        form: The quasi-Newton matrix.

    Returns:
        The Cauchy point and $c = W^\top (x^c - x)$.

    Examples:
        With $B = I$ the Cauchy point is $P(x - g)$:

        >>> import numpy as np
        >>> from optim.directions import LBFGSDirectionState
        >>> point, _ = cauchy_point(
        ...     np.zeros(2),
        ...     np.array([-2.0, 1.0]),
        ...     -np.ones(2),
        ...     np.ones(2),
        ...     CompactForm.of(LBFGSDirectionState(), 2),
        ... )
        >>> point
        array([ 1., -1.])
    """
    theta, w, m = form.theta, form.w, form.m
    with np.errstate(divide="ignore", invalid="ignore"):
        breaks = np.where(
            g < 0, (x - upper) / g, np.where(g > 0, (x - lower) / g, np.inf)
        )
    breaks = np.where(np.isnan(breaks), np.inf, breaks)
    d = np.where(breaks > 0, -g, 0.0)
    point = x.copy()
    p = w.T @ d
    c = np.zeros_like(p)
    slope = -float(d @ d)
    curvature = -theta * slope - float(p @ (m @ p))
    floor = _EPS * -theta * slope
    if slope >= 0.0:
        return point, c
    dt_min = -slope / max(curvature, floor)
    t_old = 0.0
    finite = np.nonzero((breaks > 0) & np.isfinite(breaks))[0]
    for b in finite[np.argsort(breaks[finite], kind="stable")]:
        dt = breaks[b] - t_old
        if dt_min < dt:
            break
        point[b] = upper[b] if d[b] > 0 else lower[b]
        z = point[b] - x[b]
        c = c + dt * p
        gb, wb = g[b], w[b]
        slope += dt * curvature + gb * gb + theta * gb * z - gb * float(wb @ (m @ c))
        curvature -= theta * gb * gb + 2.0 * gb * float(wb @ (m @ p))
        curvature -= gb * gb * float(wb @ (m @ wb))
        curvature = max(curvature, floor)
        p = p + gb * wb
        d[b] = 0.0
        t_old = breaks[b]
        if slope >= 0.0:
            dt_min = 0.0
            break
        dt_min = -slope / curvature
    dt_min = max(dt_min, 0.0)
    moving = d != 0.0
    point[moving] = x[moving] + (t_old + dt_min) * d[moving]
    return np.clip(point, lower, upper), c + dt_min * p


def subspace_step(
    x: Array,
    g: Array,
    lower: Array,
    upper: Array,
    form: CompactForm,
    cauchy: tuple[Array, Array],
) -> Array:
    r"""Minimize the model over the variables free at the Cauchy point.

    The direct primal method of Byrd et al. (1995, §5.1): the Newton step of the
    model restricted to the free variables, by the Sherman-Morrison-Woodbury
    formula; then, as in L-BFGS-B 3.0, projected onto the box, or (if that is
    not a descent direction) truncated to stay in it.

    Args:
        x: A feasible point (flat).
        g: Its gradient.
        lower: Lower bounds.
        upper: Upper bounds.
        form: The quasi-Newton matrix.
        cauchy: The Cauchy point and its $c$, from
            [`cauchy_point`][optim.constrained.cauchy_point].

    Returns:
        The end point $\bar x$ of the search direction $\bar x - x$.

    Examples:
        Without pairs ($B = I$) the free variables take the full step $-g$:

        >>> import numpy as np
        >>> from optim.directions import LBFGSDirectionState
        >>> form = CompactForm.of(LBFGSDirectionState(), 2)
        >>> x, g = np.zeros(2), np.array([-0.5, 3.0])
        >>> box = (-np.ones(2), np.ones(2))
        >>> subspace_step(x, g, *box, form, cauchy_point(x, g, *box, form))
        array([ 0.5, -1. ])
    """
    point, c = cauchy
    free = (point > lower) & (point < upper)
    if not free.any():
        return point
    theta, w, m = form.theta, form.w, form.m
    reduced = (g + theta * (point - x) - w @ (m @ c))[free]
    if w.size:
        wz = w[free]
        v = m @ (wz.T @ reduced)
        n = np.eye(len(v)) - (m @ (wz.T @ wz)) / theta
        try:
            v = np.asarray(np.linalg.solve(n, v), dtype=np.float64)
        except np.linalg.LinAlgError:
            return point
        step = -reduced / theta - (wz @ v) / theta**2
    else:
        step = -reduced / theta
    if not np.isfinite(step).all():
        return point
    target = point.copy()
    target[free] = np.clip(point[free] + step, lower[free], upper[free])
    if float(g @ (target - x)) < 0.0:
        return target
    alpha = min(1.0, max_step(point[free], step, lower[free], upper[free]))
    target[free] = np.clip(point[free] + alpha * step, lower[free], upper[free])
    return target


def box_direction(
    x: Array, g: Array, lower: Array, upper: Array, state: LBFGSDirectionState
) -> Array:
    r"""The L-BFGS-B search direction $\bar x - x$ (flat arrays).

    Args:
        x: A feasible point.
        g: The gradient of the function minimized at `x`.
        lower: Lower bounds, shaped like `x`.
        upper: Upper bounds.
        state: The L-BFGS pairs.

    Returns:
        The direction, of `x`'s dtype; $P(x - g) - x$ when no pair is stored.

    Examples:
        >>> import numpy as np
        >>> from optim.directions import LBFGSDirectionState
        >>> box_direction(
        ...     np.zeros(2),
        ...     np.array([4.0, -0.5]),
        ...     -np.ones(2),
        ...     np.ones(2),
        ...     LBFGSDirectionState(),
        ... )
        array([-1. ,  0.5])
    """
    try:  # pairs of a random estimator's noisy gradients may make M singular
        form = CompactForm.of(state, x.size)
        cauchy = cauchy_point(x, g, lower, upper, form)
        target = subspace_step(x, g, lower, upper, form, cauchy)
    except np.linalg.LinAlgError:
        target = np.clip(x - g, lower, upper)
    # The float64 bounds would make a float32 run's trial points float64.
    direction: Array = clip_as(target, lower, upper, x.dtype) - x
    return direction


def spectral_search(
    evaluator: TrialEvaluator,
    constraint: Projection,
    *,
    x: Array,
    value: float,
    direction: Array,
    slope: float,
    reference: float,
    max_iterations: int = 40,
) -> tuple[float, float] | None:
    r"""The non-monotone line search of SPG2 (Birgin, Martínez and Raydan 2000).

    From $\alpha = 1$, accept the first $\alpha$ with
    $f(x + \alpha d) \le f_{\max} + \gamma \alpha g^\top d$, $\gamma = 10^{-4}$,
    where $f_{\max}$ (`reference`) is the largest of the last values (Grippo,
    Lampariello and Lucidi's rule); otherwise take the minimizer of the
    one-dimensional quadratic model, safeguarded to $[0.1 \alpha, 0.9 \alpha]$
    (else $\alpha / 2$). The trial points $P(x + \alpha d)$ are feasible ($d$
    joins two feasible points; the projection only removes rounding).

    Args:
        evaluator: Counted access to the function being minimized.
        constraint: The set.
        x: A feasible point.
        value: The value at `x`.
        direction: $d = P(x - \lambda g) - x$.
        slope: $g^\top d < 0$.
        reference: $f_{\max}$.
        max_iterations: Most trial points.

    Returns:
        The accepted $(\alpha, f)$, or `None` if no trial was acceptable.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Bounds, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
        >>> spectral_search(
        ...     evaluator,
        ...     Bounds(-1.0, 1.0),
        ...     x=np.array([1.0]),
        ...     value=1.0,
        ...     direction=np.array([-2.0]),
        ...     slope=-4.0,
        ...     reference=1.0,
        ... )
        (0.5, 0.0)
    """
    alpha = 1.0
    for _ in range(max_iterations):
        trial = evaluator.value(moved(x, displacement(x, alpha, direction), constraint))
        if trial <= reference + 1e-4 * alpha * slope:
            return alpha, trial
        curvature = trial - value - alpha * slope
        guess = -0.5 * alpha * alpha * slope / curvature if curvature > 0 else -1.0
        if not (math.isfinite(guess) and 0.1 * alpha <= guess <= 0.9 * alpha):
            guess = 0.5 * alpha
        alpha = guess
    return None

r"""What a Newton step could still gain: the end-of-run test of a stalled run.

A run that stalls (no trial point lowers $f$, or $f$ stops improving) with a
gradient larger than its tolerance may still be at a minimum as good as can be
had. The measure of that is the decrease the local quadratic model predicts for
a Newton step,

$$ \Delta = \tfrac12 g^\top H^{-1} g , $$

the most any step can gain where the model holds: if $\Delta$ is below the
rounding noise of $f$, no step can lower $f$ measurably; if it is below the
value accuracy the run was asked for, the value is as good as asked. The
steepest-descent bound $\|g\|^2 / (2L)$, with $L$ the curvature along $g$, is
no such measure: on an ill-conditioned problem a Newton step gains far more.

[`newton_decrease`][optim.curvature.newton_decrease] measures $H$ by central
differences of the gradient ($2n$ gradient evaluations; or $n$ products with
the objective's own Hessian-vector product) and bounds $\Delta$ from above
with the error of $H$ that the asymmetry of the measured matrix shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import numpy as np
import numpy.typing as npt

from optim._types import Array

__all__ = ["NewtonDecrease", "newton_decrease"]

MAX_SIZE = 500
"""The largest `x` whose Hessian is measured (a dense `n` by `n` matrix)."""


@attrs.frozen(kw_only=True)
class NewtonDecrease:
    """The decrease the local quadratic model predicts for a Newton step.

    Examples:
        >>> import numpy as np
        >>> a = np.diag([1.0, 100.0])  # f(x) = x @ a @ x / 2
        >>> x = np.array([1e-3, 1e-3])
        >>> found = newton_decrease(lambda p: a @ p, x, a @ x)
        >>> round(float(found.bound / (0.5 * x @ a @ x)), 6), found.evaluations
        (1.0, 4)
    """

    bound: float
    r"""An upper bound on $\tfrac12 g^\top H^{-1} g$, given the error of $H$."""
    step: Array = attrs.field(eq=False)
    """The Newton step $-H^{-1} g$ with the measured $H$."""
    error: float
    """The error of the measured Hessian (spectral norm), as estimated."""
    smallest: float
    """The smallest eigenvalue of the measured Hessian."""
    evaluations: int
    """Gradient (or Hessian-vector product) evaluations spent."""
    unseen: int = 0
    """Directions whose curvature is not positive by more than `error` (flat, or
    negative: a saddle) and along which the gradient has no component that can
    be told from zero (a symmetry of the problem, typically). The bound and the
    step leave them out: no gradient step moves along them."""


def newton_decrease(
    gradient_at: Callable[[Array], Array],
    x: Array,
    gradient: Array,
    *,
    hessian_vector_product: Callable[[Array, Array], Array] | None = None,
) -> NewtonDecrease | None:
    r"""Measure the Hessian at `x` and bound the decrease of a Newton step.

    The Hessian is measured by central differences of the gradient, column $i$
    with the step $h_i = \epsilon^{1/3} \max(1, |x_i|)$ (rounded so that
    $x_i \pm h_i$ are exact), or taken from `hessian_vector_product`. Its
    symmetric part $H$ is used; the asymmetric part, which the true Hessian
    lacks, measures its error $e$ (the Frobenius norm of $H_c - H_c^\top$, plus
    $\epsilon \|H\|$). With the eigenpairs $(\lambda_i, v_i)$ of $H$, the bound is
    $\tfrac12 \sum_i (v_i^\top g)^2 / (\lambda_i - e)$: the largest decrease any
    symmetric matrix within $e$ of $H$ predicts. A direction whose $\lambda_i$
    is not above $e$ (flat, or negative: a saddle) bounds nothing, unless the
    gradient has no component along it that can be told from zero (as where a
    symmetry of the problem keeps every gradient step off it): it is then left
    out of the bound and the step, and counted in `unseen`.

    Args:
        gradient_at: The gradient of the function minimized, at a point.
        x: The point; never modified.
        gradient: The gradient at `x`.
        hessian_vector_product: The objective's own $\nabla^2 f(x) v$, if any.

    Returns:
        The bound and the Newton step; `None` when the model has no minimum to
            bound (the measured Hessian is not positive definite by more than its
            error along a direction the gradient has a component in, or is not
            finite), or `x` has more than `MAX_SIZE` coordinates.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Rosenbrock
        >>> problem = Rosenbrock()
        >>> found = newton_decrease(problem.gradient, np.ones(2), np.zeros(2))
        >>> found.bound, found.smallest > 0.3
        (0.0, True)
        >>> saddle = lambda x: np.array([x[0], -x[1]])  # f = (x0^2 - x1^2) / 2
        >>> newton_decrease(saddle, np.full(2, 0.5), saddle(np.full(2, 0.5))) is None
        True
        >>> on_axis = newton_decrease(
        ...     saddle, np.array([0.5, 0.0]), np.array([0.5, 0.0])
        ... )
        >>> round(on_axis.bound, 9), on_axis.unseen, on_axis.smallest
        (0.125, 1, -1.0)
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(gradient, dtype=np.float64).ravel()
    n = x.size
    if n > MAX_SIZE:
        return None
    flat = x.ravel()
    columns = np.empty((n, n))
    eps = float(np.finfo(np.float64).eps)
    for i in range(n):
        if hessian_vector_product is not None:
            unit = np.zeros(n)
            unit[i] = 1.0
            product = hessian_vector_product(x, unit.reshape(x.shape))
            columns[:, i] = np.asarray(product, dtype=np.float64).ravel()
            continue
        h = eps ** (1 / 3) * max(1.0, abs(flat[i]))
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        span = up[i] - down[i]  # the exact distance the two points lie apart
        # Copies: the gradient may come back in a buffer the next call reuses.
        forward = np.array(gradient_at(up.reshape(x.shape)), dtype=np.float64)
        backward = np.array(gradient_at(down.reshape(x.shape)), dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            columns[:, i] = (forward.ravel() - backward.ravel()) / span
    evaluations = n if hessian_vector_product is not None else 2 * n
    if not np.isfinite(columns).all() or not np.isfinite(g).all():
        return None
    hessian = 0.5 * (columns + columns.T)
    values, vectors = np.linalg.eigh(hessian)
    smallest = float(values[0])
    scale = float(np.max(np.abs(values))) if n else 0.0
    error = float(np.linalg.norm(columns - columns.T)) + eps * scale
    weights = vectors.T @ g
    seen = values > error
    unseen = int(n - np.count_nonzero(seen))
    if unseen and not _invisible(values, weights, seen, error + eps * scale):
        return None
    values, kept, vectors = values[seen], weights[seen], vectors[:, seen]
    bound = 0.5 * float(np.sum(kept**2 / (values - error)))
    step = -(vectors @ (kept / values)).reshape(x.shape)
    if not math.isfinite(bound):
        return None
    return NewtonDecrease(
        bound=bound,
        step=step,
        error=error,
        smallest=smallest,
        evaluations=evaluations,
        unseen=unseen,
    )


def _invisible(
    values: Array, weights: Array, seen: npt.NDArray[np.bool_], error: float
) -> bool:
    """Whether the gradient has no component along the eigenvectors not `seen`.

    An eigenvector is known to within about `error / gap` (Davis-Kahan), `gap` the
    distance of its eigenvalue to the nearest other, so a component of the
    gradient below 8 times that share of its norm (and at most `sqrt(eps)` of
    it) is no component that can be told from zero.
    """
    norm = float(np.linalg.norm(weights))
    others = np.abs(values[:, np.newaxis] - values[np.newaxis, :])
    np.fill_diagonal(others, np.inf)
    gaps = others.min(axis=1) if len(values) > 1 else np.full(1, np.inf)
    with np.errstate(divide="ignore"):
        share = np.minimum(error / gaps, np.finfo(np.float64).eps ** 0.5)
    return bool(np.all(np.abs(weights[~seen]) <= 8.0 * share[~seen] * norm))

r"""Truncated Newton (Newton-CG): Hessian-vector products, no Hessian matrix.

[`NewtonCG`][optim.newton.NewtonCG] solves $H p = -g$ approximately by
conjugate gradients, using only products $H v$: a function's own
(`hessian_vector_product`), or finite differences of two gradients,
$H v \approx (\nabla f(x + \epsilon v) - \nabla f(x)) / \epsilon$; then it
searches along $p$ with a strong Wolfe line search. This is scipy's
`minimize(method="Newton-CG")` (Nocedal & Wright, Algorithm 7.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override
from optim.evaluation import constraint_of
from optim.line_search import Search, StrongWolfe
from optim.step_rules import StepRule

if TYPE_CHECKING:
    from optim.evaluation import TrialEvaluator

__all__ = ["NewtonCG", "NewtonCGState"]

_EPS = float(np.finfo(np.float64).eps)


def _is_search(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Search):
        raise TypeError(f"search must be a Search, got {type(value).__name__}")


@attrs.frozen
class NewtonCGState:
    """State of [`NewtonCG`][optim.newton.NewtonCG].

    Examples:
        >>> NewtonCG().init(np.zeros(2))
        NewtonCGState(products=0, search_failed=False, indefinite=False)
    """

    products: int = 0
    """Hessian-vector products computed so far."""
    search_failed: bool = False
    """Whether the last line search failed (the rule then stays put)."""
    indefinite: bool = False
    """Whether the last inner CG ran out of iterations with growing curvature
    (scipy's "the Hessian is not positive definite")."""


@attrs.frozen
class NewtonCG(StepRule[NewtonCGState]):
    r"""Newton-CG: inner conjugate gradients on $H p = -g$, then a line search.

    The inner loop stops when $\|r\|_1 \le \min(0.5, \sqrt{\|g\|_1}) \|g\|_1$
    (a superlinear forcing sequence), at nonpositive curvature (taking the
    steepest-descent step scaled by the curvature if that happens at once), or
    after `cg_maxiter` iterations (default $20 n$), as in scipy.

    Examples:
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Rosenbrock
        >>> result = Optimizer(
        ...     Rosenbrock(), step_rule=NewtonCG(), callbacks=[StopOnZeroGradient(1e-6)]
        ... ).run([-1.2, 1.0])
        >>> result.status.name, np.round(result.x, 5)
        ('CONVERGED', array([1., 1.]))
    """

    hessian_vector_product: Callable[[Array, Array], Any] | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.is_callable()),
    )
    """`hessian_vector_product(x, v)` returning $H(x) v$, or `None` for finite
    differences of the gradient (two gradient evaluations per product, through
    the run's counted evaluator)."""
    eps: float = attrs.field(default=math.sqrt(_EPS), validator=_validators.positive)
    """The finite-difference step $\\epsilon$ for products."""
    cg_maxiter: int | None = attrs.field(
        default=None, validator=_validators.optional_positive_count
    )
    """Most inner iterations; `None` for $20 n$."""
    search: Search = attrs.field(default=StrongWolfe(), validator=_is_search)
    """The line search along the Newton-CG direction (unit step first)."""

    @property
    @override
    def evaluates_trial_points(self) -> bool:
        return True

    @override
    def init(self, x0: Array) -> NewtonCGState:
        return NewtonCGState()

    @override
    def update(
        self,
        gradient: Array,
        state: NewtonCGState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, NewtonCGState]:
        if constraint_of(evaluator) is not None:
            raise ValueError(
                "NewtonCG does not support a constraint (its Hessian-vector products "
                "and steps leave the set): use LBFGS or a projected rule, or no "
                "constraint"
            )
        g = np.asarray(gradient, dtype=np.float64).ravel()
        shape, dtype = np.shape(x), np.result_type(x)
        flat_x = np.asarray(x, dtype=np.float64).ravel()
        # A product's step must move a point of the run's dtype (float32 too).
        eps = max(self.eps, math.sqrt(float(np.finfo(dtype).eps)))
        products = state.products

        def product(v: Array) -> Array:
            nonlocal products
            products += 1
            if self.hessian_vector_product is not None:
                answer = self.hessian_vector_product(x, v.reshape(shape))
                return np.asarray(answer, dtype=np.float64).ravel()
            trial = (flat_x + eps * v).reshape(shape).astype(dtype)
            _, moved = evaluator.value_and_gradient(trial)
            travelled = np.asarray(trial, dtype=np.float64).ravel() - flat_x
            scale = float(np.linalg.norm(travelled)) / max(
                float(np.linalg.norm(v)), np.finfo(np.float64).tiny
            )
            return (np.asarray(moved, dtype=np.float64).ravel() - g) / scale

        direction, indefinite = _truncated_cg(
            g, product, self.cg_maxiter or 20 * g.size
        )
        if indefinite:
            return np.zeros_like(x), NewtonCGState(products, indefinite=True)
        result = self.search.search(
            evaluator,
            x=x,
            value=value,
            gradient=gradient,
            direction=direction.reshape(shape).astype(np.result_type(x), copy=False),
            initial_step=1.0,
        )
        if not result.success:
            return np.zeros_like(x), NewtonCGState(products, search_failed=True)
        return result.delta, NewtonCGState(products)


def _truncated_cg(
    g: Array, product: Callable[[Array], Array], maxiter: int
) -> tuple[Array, bool]:
    """Scipy's inner loop: the direction, and whether CG failed to converge."""
    b = -g
    magnitude = float(np.sum(np.abs(b)))
    tolerance = min(0.5, math.sqrt(magnitude)) * magnitude
    p_sum = np.zeros_like(g)
    r = g.copy()
    d = -r
    r_dot = float(r @ r)
    for i in range(maxiter):
        if float(np.sum(np.abs(r))) <= tolerance:
            return p_sum, False
        hd = product(d)
        curvature = float(d @ hd)
        if 0 <= curvature <= 3 * _EPS:
            return p_sum, False
        if curvature < 0:
            return (p_sum if i > 0 else r_dot / -curvature * b), False
        alpha = r_dot / curvature
        p_sum = p_sum + alpha * d
        r = r + alpha * hd
        r_dot_new = float(r @ r)
        d = -r + (r_dot_new / r_dot) * d
        r_dot = r_dot_new
    return p_sum, True

r"""Second-order rules from Hessian-vector products: Newton-CG and trust-ncg.

[`NewtonCG`][optim.newton.NewtonCG] solves $H p = -g$ approximately by
conjugate gradients, using only products $H v$: a function's own
(`hessian_vector_product`), or finite differences of two gradients,
$H v \approx (\nabla f(x + \epsilon v) - \nabla f(x)) / \epsilon$; then it
searches along $p$ with a strong Wolfe line search. This is scipy's
`minimize(method="Newton-CG")` (Nocedal & Wright, Algorithm 7.1).

[`TrustNCG`][optim.newton.TrustNCG] minimizes the quadratic model
$m(p) = f + g^\top p + \tfrac12 p^\top H p$ inside a ball of radius $\Delta$
by Steihaug's truncated conjugate gradients, evaluates the trial point, and
accepts it or shrinks the ball: scipy's `minimize(method="trust-ncg")`
(Nocedal & Wright, Algorithms 4.1 and 7.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim import _validators, backend
from optim._types import Array, override
from optim.evaluation import constraint_of, hessian_vector_product_of
from optim.line_search import Search, StrongWolfe, quadratic_first_step
from optim.step_rules import StepRule

if TYPE_CHECKING:
    from optim.evaluation import TrialEvaluator

__all__ = ["NewtonCG", "NewtonCGState", "TrustNCG", "TrustNCGState"]

_EPS = float(np.finfo(np.float64).eps)


def _is_search(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Search):
        raise TypeError(f"search must be a Search, got {type(value).__name__}")


@attrs.frozen
class NewtonCGState:
    """State of [`NewtonCG`][optim.newton.NewtonCG].

    Examples:
        >>> state = NewtonCG().init(np.zeros(2))
        >>> state.products, state.search_failed, state.previous_value
        (0, False, None)
    """

    products: int = 0
    """Hessian-vector products computed so far."""
    search_failed: bool = False
    """Whether the last line search failed (the rule then stays put)."""
    indefinite: bool = False
    """Whether the last inner CG ran out of iterations with growing curvature
    (scipy's "the Hessian is not positive definite")."""
    previous_value: float | None = None
    """The minimized function's value at the previous point (`None` at the
    start), for `scipy_like`."""


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
    """`hessian_vector_product(x, v)` returning $H(x) v$ of the function
    minimized, or `None` (the default) for the objective's own
    [`hessian_vector_product`][optim.objective.Objective.hessian_vector_product]
    (negated in ascent) or, without one, finite differences of the gradient (one
    more gradient evaluation per product, through the run's counted evaluator)."""
    eps: float = attrs.field(default=math.sqrt(_EPS), validator=_validators.positive)
    """The finite-difference step $\\epsilon$ for products."""
    cg_maxiter: int | None = attrs.field(
        default=None, validator=_validators.optional_positive_count
    )
    """Most inner iterations; `None` for $20 n$."""
    search: Search = attrs.field(default=StrongWolfe(), validator=_is_search)
    """The line search along the Newton-CG direction."""
    scipy_like: bool = attrs.field(default=False, kw_only=True)
    """Whether each search after the first starts from
    [`quadratic_first_step`][optim.line_search.quadratic_first_step] of the last
    two values, as scipy's Newton-CG does, rather than from the unit step."""

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
        backend.numpy_only(x, "NewtonCG", instead="LBFGS or BFGS")
        g = np.asarray(gradient, dtype=np.float64).ravel()
        shape = np.shape(x)
        products = state.products

        hvp = _products(self.hessian_vector_product, evaluator, x, g, self.eps)

        def product(v: Array) -> Array:
            nonlocal products
            products += 1
            return hvp(v)

        direction, indefinite = _truncated_cg(
            g, product, self.cg_maxiter or 20 * g.size
        )
        if indefinite:
            return np.zeros_like(x), NewtonCGState(products, indefinite=True)
        initial = 1.0
        if self.scipy_like and state.previous_value is not None:
            slope = float(g @ direction)
            initial = quadratic_first_step(value, state.previous_value, slope)
        result = self.search.search(
            evaluator,
            x=x,
            value=value,
            gradient=gradient,
            direction=direction.reshape(shape).astype(np.result_type(x), copy=False),
            initial_step=initial,
        )
        if not result.success:
            return np.zeros_like(x), NewtonCGState(products, search_failed=True)
        return result.delta, NewtonCGState(products, previous_value=value)


def _products(
    own: Callable[[Array, Array], Any] | None,
    evaluator: TrialEvaluator,
    x: Array,
    g: Array,
    eps: float,
) -> Callable[[Array], Array]:
    r"""$v \mapsto H v$ on flat float64 vectors, for the function minimized.

    A rule's own `hessian_vector_product` field first, then the objective's (the
    evaluator's seam, in the minimization convention), else the difference of
    two gradients, $(\nabla f(x + \epsilon v) - g) / \epsilon$, with the moved
    gradient evaluated through the counted evaluator.
    """
    shape, dtype = np.shape(x), np.result_type(x)
    exact = own if own is not None else hessian_vector_product_of(evaluator)
    if exact is not None:
        function = exact

        def known(v: Array) -> Array:
            answer = function(x, v.reshape(shape).astype(dtype, copy=False))
            return np.asarray(answer, dtype=np.float64).ravel()

        return known
    flat_x = np.asarray(x, dtype=np.float64).ravel()
    # A product's step must move a point of the run's dtype (float32 too).
    step = max(eps, math.sqrt(float(np.finfo(dtype).eps)))

    def differenced(v: Array) -> Array:
        size = float(np.linalg.norm(v))
        if size == 0.0:
            return np.zeros_like(v)
        h = step
        if float(np.linalg.norm(flat_x + h * v - flat_x)) == 0.0:
            h = step * max(1.0, float(np.linalg.norm(flat_x))) / size  # v too short
        trial = (flat_x + h * v).reshape(shape).astype(dtype)
        travelled = np.asarray(trial, dtype=np.float64).ravel() - flat_x
        scale = float(np.linalg.norm(travelled)) / size
        if scale == 0.0:
            return np.zeros_like(v)
        _, moved = evaluator.value_and_gradient(trial)
        return (np.asarray(moved, dtype=np.float64).ravel() - g) / scale

    return differenced


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


def _positive_below(bound: str) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        _validators.positive(instance, attribute, value)
        limit = getattr(instance, bound)
        if value >= limit:
            raise ValueError(
                f"{attribute.name} must be less than {bound} ({limit!r}), got {value!r}"
            )

    return check


def _acceptance(
    instance: object, attribute: attrs.Attribute[Any], value: float
) -> None:
    _validators.non_negative(instance, attribute, value)
    if value >= 0.25:
        raise ValueError(f"eta must be in [0, 0.25), got {value!r}")


@attrs.frozen
class TrustNCGState:
    """State of [`TrustNCG`][optim.newton.TrustNCG].

    Examples:
        >>> TrustNCG().init(np.zeros(2))
        TrustNCGState(radius=1.0, products=0, rejected=0, failed=False)
    """

    radius: float
    r"""The trust radius $\Delta$ for the next step."""
    products: int = 0
    """Hessian-vector products computed so far."""
    rejected: int = 0
    """Trial steps rejected so far (each cost one evaluation)."""
    failed: bool = False
    """Whether the last step failed: the model predicted no decrease (scipy's
    "A bad approximation caused failure to predict improvement"), or the radius
    shrank until the trial point equalled `x`. The rule then stays put."""


@attrs.frozen
class TrustNCG(StepRule[TrustNCGState]):
    r"""Newton-CG trust region: Steihaug CG on the model, then accept or shrink.

    Each update minimizes $m(p) = f + g^\top p + \tfrac12 p^\top H p$ over
    $\|p\| \le \Delta$ by conjugate gradients (stopping at the boundary, at
    nonpositive curvature, or when $\|r\| < \min(0.5, \sqrt{\|g\|})\|g\|$),
    evaluates $f(x + p)$ through the run's counted evaluator, and compares the
    actual with the predicted decrease, $\rho = (f(x) - f(x + p)) / (m(0) -
    m(p))$. It shrinks $\Delta$ by 4 when $\rho < 1/4$, doubles it (up to
    `max_trust_radius`) when $\rho > 3/4$ and the step reached the boundary,
    and accepts the step when $\rho > \eta$; a rejected trial is retried with
    the smaller ball inside the same update, so the engine only ever sees
    accepted steps. This is scipy's `minimize(method="trust-ncg")`, except that
    scipy counts a rejected trial as an iteration and optim does not (the
    evaluation counts are the same).

    $H v$ is the rule's `hessian_vector_product`, else the objective's
    [`hessian_vector_product`][optim.objective.Objective.hessian_vector_product]
    (negated in ascent, so the rule maximizes too), else a finite difference
    of two gradients. A constraint is refused: the ball is not the box.

    Examples:
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Rosenbrock
        >>> result = Optimizer(
        ...     Rosenbrock(), step_rule=TrustNCG(), callbacks=[StopOnZeroGradient(1e-6)]
        ... ).run([-1.2, 1.0])
        >>> result.status.name, np.round(result.x, 5)
        ('CONVERGED', array([1., 1.]))

    References:
        Steihaug, T. (1983). The conjugate gradient method and trust regions in
        large scale optimization. SIAM J. Numer. Anal. 20(3), 626-637.
        Nocedal, J., Wright, S. J. (2006). Numerical Optimization, 2nd ed.,
        Algorithms 4.1 and 7.2.
    """

    max_trust_radius: float = attrs.field(
        default=1000.0, converter=float, validator=_validators.positive
    )
    """The largest radius a step may have."""
    initial_trust_radius: float = attrs.field(
        default=1.0,
        converter=float,
        validator=_positive_below("max_trust_radius"),
    )
    """The first radius (less than `max_trust_radius`)."""
    eta: float = attrs.field(default=0.15, converter=float, validator=_acceptance)
    r"""A step is accepted when $\rho > \eta$, in $[0, 1/4)$."""
    hessian_vector_product: Callable[[Array, Array], Any] | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.is_callable()),
    )
    """`hessian_vector_product(x, v)` of the function minimized, or `None` for
    the objective's own (or finite differences of the gradient)."""
    eps: float = attrs.field(default=math.sqrt(_EPS), validator=_validators.positive)
    """The finite-difference step of products without a Hessian."""
    cg_maxiter: int | None = attrs.field(
        default=None, validator=_validators.optional_positive_count
    )
    """Most inner iterations; `None` for $20 n$ (exact arithmetic needs $n$)."""

    @property
    @override
    def evaluates_trial_points(self) -> bool:
        return True

    @override
    def init(self, x0: Array) -> TrustNCGState:
        return TrustNCGState(radius=self.initial_trust_radius)

    @override
    def update(
        self,
        gradient: Array,
        state: TrustNCGState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, TrustNCGState]:
        if constraint_of(evaluator) is not None:
            raise ValueError(
                "TrustNCG does not support a constraint (its trust region is a "
                "ball, not the constraint set): use LBFGS or a projected rule, or "
                "no constraint"
            )
        backend.numpy_only(x, "TrustNCG", instead="LBFGS or BFGS")
        g = np.asarray(gradient, dtype=np.float64).ravel()
        if not np.any(g):
            return np.zeros_like(x), state
        shape, dtype = np.shape(x), np.result_type(x)
        hvp = _products(self.hessian_vector_product, evaluator, x, g, self.eps)
        products, rejected, radius = state.products, state.rejected, state.radius

        def product(v: Array) -> Array:
            nonlocal products
            products += 1
            return hvp(v)

        def model(p: Array) -> float:
            return value + float(g @ p) + 0.5 * float(p @ product(p))

        maxiter = self.cg_maxiter or 20 * g.size
        while True:
            p, on_boundary = _steihaug(g, product, model, radius, maxiter)
            predicted = value - model(p)
            trial = np.asarray(x + p.reshape(shape), dtype=dtype)
            if not predicted > 0.0 or np.array_equal(trial, x):
                failed = TrustNCGState(radius, state.products, rejected, failed=True)
                return np.zeros_like(x), failed
            actual = value - evaluator.value(trial)
            rho = actual / predicted if math.isfinite(actual) else -math.inf
            if rho < 0.25:
                radius *= 0.25
            elif rho > 0.75 and on_boundary:
                radius = min(2.0 * radius, self.max_trust_radius)
            if rho > self.eta:
                delta = np.asarray(trial - x, dtype=dtype)
                return delta, TrustNCGState(radius, products, rejected)
            rejected += 1


def _boundary(z: Array, d: Array, radius: float) -> tuple[float, float]:
    """The two `t` with `|z + t d| = radius`, smaller first (scipy's formula)."""
    a = float(d @ d)
    b = 2.0 * float(z @ d)
    c = float(z @ z) - radius**2
    root = math.sqrt(max(b * b - 4.0 * a * c, 0.0))
    aux = b + math.copysign(root, b)
    first, second = -aux / (2.0 * a), -2.0 * c / aux
    return (first, second) if first <= second else (second, first)


def _steihaug(
    g: Array,
    product: Callable[[Array], Array],
    model: Callable[[Array], float],
    radius: float,
    maxiter: int,
) -> tuple[Array, bool]:
    """Scipy's `CGSteihaugSubproblem.solve`: the step, and whether it is on the ball."""
    magnitude = float(np.linalg.norm(g))
    tolerance = min(0.5, math.sqrt(magnitude)) * magnitude
    z = np.zeros_like(g)
    r = g
    d = -g
    for _ in range(maxiter):
        bd = product(d)
        curvature = float(d @ bd)
        if curvature <= 0.0:
            ta, tb = _boundary(z, d, radius)
            pa, pb = z + ta * d, z + tb * d
            return (pa if model(pa) < model(pb) else pb), True
        r_squared = float(r @ r)
        alpha = r_squared / curvature
        z_next = z + alpha * d
        if float(np.linalg.norm(z_next)) >= radius:
            _, tb = _boundary(z, d, radius)
            return z + tb * d, True
        r_next = r + alpha * bd
        r_next_squared = float(r_next @ r_next)
        if math.sqrt(r_next_squared) < tolerance:
            return z_next, False
        d = -r_next + (r_next_squared / r_squared) * d
        z, r = z_next, r_next
    return z, False

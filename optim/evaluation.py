"""The evaluation protocol: what step rules and line searches may ask of a run.

A rule or a search never sees the objective, the gradient estimator or the mode:
it sees a [`TrialEvaluator`][optim.evaluation.TrialEvaluator], which evaluates
trial points of the function being *minimized* ($f$ in descent, $-f$ in ascent),
counts every call in the run's totals, and remembers the last trial so that the
optimizer never evaluates an accepted trial point twice. The run's
[`Evaluator`][optim.evaluator.Evaluator] is the one implementation; tests may pass
any object with these methods.

A constrained run's evaluator also has a `constraint` attribute, the run's
[`Projection`][optim.projections.Projection] (or `None`); rules and searches read
it with [`constraint_of`][optim.evaluation.constraint_of], which answers `None` for
evaluators without one, so the protocol itself stays two methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from optim._types import Array

if TYPE_CHECKING:
    from optim.projections import Projection

__all__ = ["TrialEvaluator", "constraint_of", "hessian_vector_product_of"]


@runtime_checkable
class TrialEvaluator(Protocol):
    """Counted access to the function being minimized, at trial points.

    Values and gradients are those of $f$ in descent and of $-f$ in ascent, so a
    rule or a line search is written once, for minimization.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.ASCENT)
        >>> isinstance(evaluator, TrialEvaluator)
        True
        >>> evaluator.value(np.array([1.0, 2.0]))
        -5.0
    """

    def value(self, x: Array) -> float:
        """Return the value of the function being minimized at `x` (counted).

        Args:
            x: The trial point; never modified.

        Returns:
            $f(x)$ in descent, $-f(x)$ in ascent.
        """
        ...  # pragma: no cover

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        """Return the value and gradient of the function being minimized at `x`.

        Args:
            x: The trial point; never modified.

        Returns:
            The pair `(value, gradient)`, both in the minimization convention.
        """
        ...  # pragma: no cover


def constraint_of(evaluator: object) -> Projection | None:
    """The constraint a rule must keep its trial points in, or `None`.

    Args:
        evaluator: The run's evaluator (any object: a test double without a
            `constraint` attribute has none).

    Returns:
        The run's [`Projection`][optim.projections.Projection], or `None`.

    Examples:
        >>> from optim import AnalyticGradient, Bounds, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(
        ...     Sphere(), AnalyticGradient(), Mode.DESCENT, constraint=Bounds(0, 1)
        ... )
        >>> constraint_of(evaluator)
        Bounds(lower=array(0.), upper=array(1.))
        >>> constraint_of(object()) is None
        True
    """
    found: Projection | None = getattr(evaluator, "constraint", None)
    return found


def hessian_vector_product_of(
    evaluator: object,
) -> Callable[[Array, Array], Array] | None:
    r"""The run's exact Hessian-vector product $(x, v) \mapsto \nabla^2 f(x) v$.

    Second-order rules read it here: the evaluator's
    [`hessian_vector_product`][optim.evaluator.Evaluator.hessian_vector_product]
    (in the minimization convention) when the objective defines one, else
    `None`, and the rule then differences two gradients.

    Args:
        evaluator: The run's evaluator (any object: a test double without the
            method has none).

    Returns:
        The product function, or `None` when the objective has none.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Evaluator, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
        >>> hessian_vector_product_of(evaluator) is None
        True
    """
    if not getattr(evaluator, "has_hessian_vector_product", False):
        return None
    product: Callable[[Array, Array], Array] = evaluator.hessian_vector_product  # type: ignore[attr-defined]
    return product

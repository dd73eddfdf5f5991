"""The `Objective` base class and an adapter for plain callables."""

import abc
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from optim._arrays import as_scalar
from optim._types import Array, ArrayLike, override


class Objective(abc.ABC):
    """A scalar function of a point, the thing an optimizer minimizes or maximizes.

    Subclass it and implement [`value`][optim.objective.Objective.value]. If the
    gradient is known in closed form, override
    [`gradient`][optim.objective.Objective.gradient] too: the optimizer then uses it
    by default instead of finite differences. Points are float64 arrays of any shape
    (a vector, a matrix of weights, ...); the gradient has the same shape.

    Override [`values`][optim.objective.Objective.values] when the function can
    evaluate many points in one vectorized call: finite-difference estimators send
    all their perturbed points through it.

    Examples:
        >>> import numpy as np
        >>> class Sphere(Objective):
        ...     def value(self, x):
        ...         return float(np.sum(x**2))
        ...
        ...     def gradient(self, x):
        ...         return 2 * x
        >>> Sphere().value(np.array([3.0, 4.0]))
        25.0
        >>> Sphere().has_gradient
        True
        >>> Sphere().values(np.array([[1.0, 0.0], [1.0, 1.0]]))
        array([1., 2.])
    """

    __slots__ = ()

    @abc.abstractmethod
    def value(self, x: Array) -> float:
        """Evaluate the objective at `x`.

        Args:
            x: The point; never modify it.

        Returns:
            The objective's value, a real scalar.
        """

    def gradient(self, x: Array) -> Array:
        """Return the exact gradient at `x`, if the objective knows it.

        Args:
            x: The point; never modify it.

        Returns:
            The gradient, an array shaped like `x`.

        Raises:
            NotImplementedError: If the objective has no closed-form gradient; use
                a finite-difference
                [`GradientEstimator`][optim.gradients.GradientEstimator].
        """
        raise NotImplementedError(f"{type(self).__name__} has no analytic gradient")

    @property
    def has_gradient(self) -> bool:
        """Whether [`gradient`][optim.objective.Objective.gradient] is implemented.

        True when a subclass overrides `gradient`; adapters such as
        [`FunctionObjective`][optim.objective.FunctionObjective] override this
        property instead.
        """
        return type(self).gradient is not Objective.gradient

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        """Return the value and the exact gradient at `x`.

        Override it when the two share work (a forward and a backward pass).

        Args:
            x: The point; never modify it.

        Returns:
            The pair `(value, gradient)`.
        """
        return self.value(x), self.gradient(x)

    def values(self, xs: Array) -> Array:
        """Evaluate the objective at a stack of points.

        The default calls [`value`][optim.objective.Objective.value] once per point;
        a vectorized objective overrides it with a single call.

        Args:
            xs: Points stacked along the first axis, shape `(k, *x.shape)`.

        Returns:
            The `k` values, shape `(k,)`.
        """
        return np.array([self.value(x) for x in xs], dtype=np.float64)


@attrs.frozen
class FunctionObjective(Objective):
    """An [`Objective`][optim.objective.Objective] made from plain functions.

    Examples:
        >>> import numpy as np
        >>> sphere = FunctionObjective(lambda x: x[0] ** 2 + x[1] ** 2)
        >>> sphere.value(np.array([3.0, 2.0]))
        13.0
        >>> sphere.has_gradient
        False

        A vectorized function evaluates a whole stack at once:

        >>> fast = FunctionObjective(lambda xs: np.sum(xs**2, axis=-1), vectorized=True)
        >>> fast.values(np.array([[3.0, 2.0], [1.0, 0.0]]))
        array([13.,  1.])
    """

    fun: Callable[[Array], Any] = attrs.field(validator=attrs.validators.is_callable())
    """The function, called with one point and returning a real scalar."""

    grad: Callable[[Array], ArrayLike] | None = attrs.field(
        default=None,
        alias="gradient",
        validator=attrs.validators.optional(attrs.validators.is_callable()),
    )
    """Its gradient, if known, returning an array shaped like the point (the
    constructor argument is `gradient`)."""

    vectorized: bool = attrs.field(default=False, kw_only=True)
    """Whether `fun` also accepts a stack of points `(k, *shape)` and returns `k`
    values, so that [`values`][optim.objective.Objective.values] is one call."""

    @property
    @override
    def has_gradient(self) -> bool:
        return self.grad is not None

    @override
    def value(self, x: Array) -> float:
        return as_scalar(self.fun(x))

    @override
    def gradient(self, x: Array) -> Array:
        if self.grad is None:
            return super().gradient(x)
        return np.asarray(self.grad(x), dtype=np.float64)

    @override
    def values(self, xs: Array) -> Array:
        if self.vectorized:
            return np.asarray(self.fun(xs), dtype=np.float64).reshape(len(xs))
        return super().values(xs)

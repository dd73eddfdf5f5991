"""Exact gradients from JAX: an objective made from a JAX function.

Needs the `jax` extra (`pip install "optim-gradient[jax]"`, CPU JAX from the package
index); JAX is imported when a [`JaxObjective`][optim.jax_objective.JaxObjective] is
made, not when `optim` is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from optim._arrays import as_scalar
from optim._types import Array, override
from optim.errors import MissingExtraError
from optim.objective import Objective

__all__ = ["JaxObjective"]


def _jax() -> Any:
    try:
        import jax
    except ImportError:
        raise MissingExtraError("jax", "JaxObjective") from None
    return jax


def _compiled(instance: JaxObjective) -> tuple[Any, Any, Any]:
    jax = _jax()
    return (
        jax.jit(instance.fun),
        jax.jit(jax.value_and_grad(instance.fun)),
        jax.jit(jax.vmap(instance.fun)),
    )


def _is_jax(x: object) -> bool:
    """Whether `x` is a JAX array (checked without importing JAX)."""
    return type(x).__module__.split(".")[0] in ("jax", "jaxlib")


@attrs.frozen
class JaxObjective(Objective):
    """An objective whose value and exact gradient come from a JAX function.

    `fun` takes a JAX array shaped like `x` and returns a scalar; the gradient is
    `jax.value_and_grad(fun)`, compiled once with `jax.jit` (when the objective is
    made), so a step costs one compiled call for the value and the gradient
    together. numpy points go in and come out as numpy float64 arrays; JAX
    points stay JAX arrays on their device, end to end (only the value crosses
    to the host, as one Python float), and a stack of JAX points is evaluated in
    one compiled, vectorized call (`jax.vmap`). JAX computes in
    float32 unless 64-bit mode is on: enable it with
    `jax.config.update("jax_enable_x64", True)` (JAX's own, global, setting; this
    class never changes it) for float64 gradients.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> jax.config.update("jax_enable_x64", True)
        >>> from optim import LBFGS, Optimizer, StopOnZeroGradient
        >>> rosenbrock = JaxObjective(
        ...     lambda x: 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2
        ... )
        >>> rosenbrock.value_and_gradient(np.array([1.0, 2.0]))
        (100.0, array([-400.,  200.]))
        >>> result = Optimizer(
        ...     rosenbrock, step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run([-1.2, 1.0])
        >>> result.status.name, np.round(result.x, 6)
        ('CONVERGED', array([1., 1.]))

        On JAX points, JAX arrays come back:

        >>> value, gradient = rosenbrock.value_and_gradient(jnp.asarray([1.0, 2.0]))
        >>> value, type(gradient) is type(jnp.zeros(1)), gradient.tolist()
        (100.0, True, [-400.0, 200.0])
    """

    fun: Callable[[Any], Any] = attrs.field(validator=attrs.validators.is_callable())
    """The JAX function of one point, returning a scalar."""

    _compiled: tuple[Any, Any, Any] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(_compiled, takes_self=True),
    )

    @property
    @override
    def has_gradient(self) -> bool:
        return True

    @override
    def value(self, x: Array) -> float:
        value = self._compiled[0](x)
        if isinstance(x, np.ndarray):
            value = np.asarray(value)
        return as_scalar(value, name="JaxObjective.fun")

    @override
    def gradient(self, x: Array) -> Array:
        return self.value_and_gradient(x)[1]

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        value, gradient = self._compiled[1](x)
        if _is_jax(x):  # JAX in, JAX out: no host round trip but the value
            return as_scalar(value, name="JaxObjective.fun"), gradient
        return (
            as_scalar(np.asarray(value), name="JaxObjective.fun"),
            np.asarray(gradient, dtype=np.float64).reshape(np.shape(x)),
        )

    @override
    def values(self, xs: Array) -> Array:
        if not _is_jax(xs):
            return super().values(xs)
        values: Array = self._compiled[2](xs)
        return values

    def fingerprint(self) -> str:
        """Identify the objective by its function's qualified name (for checkpoints).

        Returns:
            The module and qualified name of `fun`.

        Examples:
            >>> JaxObjective(abs).fingerprint()
            'builtins.abs'
        """
        module = getattr(self.fun, "__module__", "?")
        return f"{module}.{getattr(self.fun, '__qualname__', repr(self.fun))}"

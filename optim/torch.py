"""Exact gradients from PyTorch: an objective made from a torch function.

Needs PyTorch (`pip install "optim-gradient[torch]"`, or any torch build for your
hardware); torch is imported when a [`TorchObjective`][optim.torch.TorchObjective]
is made, not when `optim` is.
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

__all__ = ["TorchObjective"]


def _torch() -> Any:
    """The `torch` module, or a one-line error naming the extra."""
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch", "TorchObjective") from None
    return torch


@attrs.frozen
class TorchObjective(Objective):
    """An objective whose value and exact gradient come from a PyTorch function.

    `fun` takes a tensor shaped like `x` and returns a scalar tensor; the
    gradient is `torch.autograd.grad` of that scalar, one forward and one
    backward pass per point. Points that are torch tensors (on the CPU or a GPU)
    stay tensors on their device: the value crosses to the host as one Python
    float, the gradient is returned as a tensor of the point's device and dtype.
    numpy points are copied to CPU tensors and get numpy gradients, so
    the objective also serves a run on the host.

    Values alone (line-search trials, finite differences) are computed under
    `torch.no_grad()`.

    Examples:
        >>> import pytest
        >>> torch = pytest.importorskip("torch")
        >>> import numpy as np
        >>> objective = TorchObjective(lambda w: ((w - 1.0) ** 2).sum() + w.prod())
        >>> value, gradient = objective.value_and_gradient(
        ...     torch.tensor([0.0, 2.0], dtype=torch.float64)
        ... )
        >>> value, gradient
        (2.0, tensor([0., 2.], dtype=torch.float64))
        >>> objective.value_and_gradient(np.array([0.0, 2.0]))
        (2.0, array([0., 2.]))
    """

    fun: Callable[[Any], Any] = attrs.field(validator=attrs.validators.is_callable())
    """The torch function of one point, returning a scalar tensor."""

    def __attrs_post_init__(self) -> None:
        _torch()  # the missing extra is refused when the objective is made

    @property
    @override
    def has_gradient(self) -> bool:
        return True

    @override
    def value(self, x: Array) -> float:
        torch = _torch()
        with torch.no_grad():
            value = self.fun(self._tensor(x))
        return as_scalar(value, name="TorchObjective.fun")

    @override
    def gradient(self, x: Array) -> Array:
        return self.value_and_gradient(x)[1]

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        torch = _torch()
        point = self._tensor(x).detach().requires_grad_(True)
        with torch.enable_grad():
            value = self.fun(point)
            (gradient,) = torch.autograd.grad(value, point)
        scalar = as_scalar(value.detach(), name="TorchObjective.fun")
        if isinstance(x, np.ndarray):
            return scalar, gradient.numpy()
        return scalar, gradient

    @staticmethod
    def _tensor(x: Any) -> Any:
        """`x` as a tensor: a tensor as it is, a numpy array as a CPU copy."""
        torch = _torch()
        if isinstance(x, torch.Tensor):
            return x
        return torch.tensor(np.asarray(x))

    def fingerprint(self) -> str:
        """Identify the objective by its function's qualified name (for checkpoints).

        Returns:
            The module and qualified name of `fun`.

        Examples:
            >>> import pytest
            >>> _ = pytest.importorskip("torch")
            >>> TorchObjective(abs).fingerprint()
            'builtins.abs'
        """
        module = getattr(self.fun, "__module__", "?")
        return f"{module}.{getattr(self.fun, '__qualname__', repr(self.fun))}"

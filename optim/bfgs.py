r"""Dense BFGS: the quasi-Newton direction with a full inverse-Hessian matrix.

[`BFGSDirection`][optim.bfgs.BFGSDirection] keeps the whole $n \times n$
inverse-Hessian approximation $H$, as scipy's `minimize(method="BFGS")` does;
[`BFGS`][optim.bfgs.BFGS] pairs it with a strong Wolfe line search. For large
`n` prefer [`LBFGS`][optim.line_search_rules.LBFGS], which needs $O(n)$ memory.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from optim import backend
from optim._arrays import float_dtype, host_dtype, run_dtype
from optim._types import Array, override
from optim.directions import Direction
from optim.line_search import Search, StrongWolfe
from optim.line_search_rules import LineSearchRule

__all__ = ["BFGS", "BFGSDirection", "BFGSDirectionState"]

_array_eq = attrs.cmp_using(eq=backend.array_equal)


def _to_matrix(value: Any) -> Array | None:
    if value is None:
        return None
    matrix = np.array(value, dtype=np.float64)  # a copy: never the caller's array
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"hess_inv0 must be a square matrix, got shape {matrix.shape}")
    if not np.allclose(matrix, matrix.T):
        raise ValueError("hess_inv0 must be symmetric")
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError("hess_inv0 must be positive definite") from None
    return matrix


@attrs.frozen
class BFGSDirectionState:
    """State of [`BFGSDirection`][optim.bfgs.BFGSDirection].

    Examples:
        >>> import numpy as np
        >>> BFGSDirection().init(np.zeros(2)).hess_inv
        array([[1., 0.],
               [0., 1.]])
    """

    hess_inv: Array = attrs.field(eq=_array_eq)
    """The current inverse-Hessian approximation $H$ (never modified in place)."""

    updates: int = 0
    """How many steps have updated $H$ so far."""


@attrs.frozen
class BFGSDirection(Direction[BFGSDirectionState]):
    r"""The BFGS direction $p = -H g$ with a dense inverse-Hessian approximation.

    $H_0$ is `hess_inv0` (the identity by default). After each step
    $s = x_{k+1} - x_k$ with gradient change $y$,

    $$H \leftarrow (I - \rho s y^\top) H (I - \rho y s^\top) + \rho s s^\top,
    \qquad \rho = 1 / y^\top s,$$

    (Nocedal & Wright, eq. 6.17), with scipy's rule $\rho = 1000$ when
    $y^\top s = 0$. The first step of a run is the steepest-descent direction
    $-H_0 g$ shortened to length at most 1 (unless `scale_first` is false), about
    the step scipy's first line search tries ("dx ~ 1").

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §6.1.

    Examples:
        Two steps along the axes of $f(x) = \tfrac12 (x_1^2 + 4 x_2^2)$ recover
        the inverse Hessian:

        >>> import numpy as np
        >>> direction = BFGSDirection()
        >>> state = direction.init(np.zeros(2))
        >>> state = direction.observe(
        ...     state, step=np.array([1.0, 0.0]), gradient_change=np.array([1.0, 0.0])
        ... )
        >>> state = direction.observe(
        ...     state, step=np.array([0.0, 1.0]), gradient_change=np.array([0.0, 4.0])
        ... )
        >>> state.hess_inv
        array([[1.  , 0.  ],
               [0.  , 0.25]])
    """

    hess_inv0: Array | None = attrs.field(
        default=None, converter=_to_matrix, eq=attrs.cmp_using(eq=np.array_equal)
    )
    """The starting inverse Hessian (symmetric positive definite), or `None` for
    the identity."""

    scale_first: bool = attrs.field(default=True, kw_only=True)
    """Whether the first direction of a run is shortened to length at most 1
    (leave it to the search's first trial with `False`, as scipy's BFGS does
    through [`quadratic_first_step`][optim.line_search.quadratic_first_step])."""

    @property
    @override
    def scaled(self) -> bool:
        return True

    @override
    def init(self, x0: Array) -> BFGSDirectionState:
        xp = backend.namespace_of(x0)
        if xp is not np:  # another library's point: the matrix on its device
            n, dtype = backend.size(x0), float_dtype(x0)
            if self.hess_inv0 is None:
                eye = xp.eye(n, dtype=dtype, device=backend.device(x0))
                return BFGSDirectionState(eye)
            self._check_shape(n)
            start = self.hess_inv0.astype(host_dtype(x0))
            return BFGSDirectionState(backend.from_host(start, like=x0))
        n = np.size(x0)
        dtype = run_dtype(np.result_type(x0))  # the run's: float32 stays float32
        if self.hess_inv0 is None:
            return BFGSDirectionState(np.eye(n, dtype=dtype))
        self._check_shape(n)
        return BFGSDirectionState(self.hess_inv0.astype(dtype, copy=True))

    def _check_shape(self, n: int) -> None:
        """Refuse a `hess_inv0` that is not `n` by `n`."""
        assert self.hess_inv0 is not None
        if self.hess_inv0.shape != (n, n):
            raise ValueError(
                f"hess_inv0 has shape {self.hess_inv0.shape}, expected {(n, n)}"
            )

    @override
    def observe(
        self, state: BFGSDirectionState, *, step: Array, gradient_change: Array
    ) -> BFGSDirectionState:
        dtype = state.hess_inv.dtype
        xp = backend.namespace_of(state.hess_inv)
        if xp is not np:  # the same algebra in the point's library
            s = xp.reshape(backend.astype(step, dtype, copy=False), (-1,))
            y = xp.reshape(backend.astype(gradient_change, dtype, copy=False), (-1,))
            curvature = backend.vdot(y, s)
            factor = 1000.0 if curvature == 0.0 else 1.0 / curvature
            eye = xp.eye(s.shape[0], dtype=dtype, device=backend.device(s))
            a1 = eye - factor * (s[:, None] * y[None, :])
            a2 = eye - factor * (y[:, None] * s[None, :])
            product = a1 @ state.hess_inv @ a2 + factor * (s[:, None] * s[None, :])
            return BFGSDirectionState(product, state.updates + 1)
        s = np.asarray(step, dtype=dtype).ravel()
        y = np.asarray(gradient_change, dtype=dtype).ravel()
        curvature = float(y @ s)
        rho = dtype.type(1000.0 if curvature == 0.0 else 1.0 / curvature)
        identity = np.eye(s.size, dtype=dtype)
        # In scipy's order of operations, so that the same steps give the same
        # matrix to the last bit.
        a1 = identity - s[:, np.newaxis] * y[np.newaxis, :] * rho
        a2 = identity - y[:, np.newaxis] * s[np.newaxis, :] * rho
        updated = a1 @ (state.hess_inv @ a2) + rho * s[:, np.newaxis] * s[np.newaxis, :]
        return BFGSDirectionState(updated.astype(dtype, copy=False), state.updates + 1)

    @override
    def direction(
        self, gradient: Array, state: BFGSDirectionState
    ) -> tuple[Array, BFGSDirectionState]:
        xp = backend.namespace_of(gradient)
        if xp is np:
            g = np.asarray(gradient)
            p = (
                -(state.hess_inv @ g.ravel())
                .reshape(g.shape)
                .astype(g.dtype, copy=False)
            )
        else:
            flat = state.hess_inv @ xp.reshape(gradient, (-1,))
            p = -backend.astype(xp.reshape(flat, gradient.shape), gradient.dtype)
        norm = backend.norm(p)
        if self.scale_first and state.updates == 0 and norm > 1.0:
            p = p * (1.0 / norm)
        return p, state


def BFGS(
    hess_inv0: Any = None,
    *,
    search: Search = StrongWolfe(),  # noqa: B008  # frozen
) -> LineSearchRule:
    """Dense BFGS with a strong Wolfe line search.

    Args:
        hess_inv0: The starting inverse Hessian, or `None` for the identity.
        search: The line search (default `StrongWolfe()`, $c_1 = 10^{-4}$,
            $c_2 = 0.9$, as scipy's).

    Returns:
        `LineSearchRule(BFGSDirection(hess_inv0), search)`.

    Examples:
        >>> import numpy as np
        >>> from optim import Optimizer, StopOnZeroGradient
        >>> from optim.problems import Rosenbrock
        >>> result = Optimizer(
        ...     Rosenbrock(), step_rule=BFGS(), callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run([-1.2, 1.0])
        >>> result.status.name, np.round(result.x, 8)
        ('CONVERGED', array([1., 1.]))
    """
    return LineSearchRule(BFGSDirection(hess_inv0), search)

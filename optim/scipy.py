"""scipy.optimize's face: `import optim.scipy as optimize` runs scipy scripts.

`minimize` takes `scipy.optimize.minimize`'s full signature, keywords, options,
warnings, input rules and callback forms for the gradient methods optim has
(`"BFGS"`, `"CG"`, `"L-BFGS-B"`, `"Newton-CG"`, `"trust-ncg"`), and returns an
[`OptimizeResult`][optim.scipy.OptimizeResult]: a dict with attribute access,
scipy's integer status codes and messages, and `nfev`/`njev` counted as scipy
counts them (every call of `fun`, finite-difference points included; every
gradient, a finite-difference estimate counting one). The legacy functions
`fmin_bfgs`, `fmin_cg`, `fmin_l_bfgs_b`, `fmin_ncg`, `approx_fprime` and
`check_grad` keep their scipy signatures and return conventions.

Under the face runs optim's own [`Optimizer`][optim.optimizer.Optimizer]:
dense [`BFGS`][optim.bfgs.BFGS] for `"BFGS"`,
[`ConjugateGradient`][optim.line_search_rules.ConjugateGradient] (Polak-Ribiere+)
for `"CG"`, box-constrained [`LBFGS`][optim.line_search_rules.LBFGS] for
`"L-BFGS-B"` and [`NewtonCG`][optim.newton.NewtonCG] for `"Newton-CG"`, each with
a strong Wolfe line search, and [`TrustNCG`][optim.newton.TrustNCG] for
`"trust-ncg"`; the stopping tests are
scipy's (see each option). The iterates therefore differ from scipy's in the
last digits and in counts, never in the meaning of a field.

Examples:
    >>> import numpy as np
    >>> import optim.scipy as optimize
    >>> res = optimize.minimize(optimize.rosen, [-1.2, 1.0], method="BFGS")
    >>> res.success, res.status, np.round(res["x"], 4)
    (True, 0, array([1., 1.]))
    >>> sorted(res)  # doctest: +NORMALIZE_WHITESPACE
    ['diagnosis', 'fun', 'hess_inv', 'jac', 'message', 'nfev', 'nit', 'njev',
     'outcome', 'result', 'status', 'success', 'x']

`optim.minimize` is this module's `minimize`; the keys `outcome`, `diagnosis`
and `result` are optim's report (the run's [`Result`][optim.result.Result]):

    >>> res.outcome, res.result.status.name, res.steps == res.nit
    ('converged', 'CONVERGED', True)
"""

from __future__ import annotations

import inspect
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim._scipy_search import DescentCondition, Wolfe2, Wolfe12, vecnorm
from optim._types import Array, override
from optim.backend import refuse_foreign
from optim.bfgs import BFGSDirection
from optim.callbacks import Callback, CallbackLike, StopOnZeroGradient
from optim.directions import Direction, LBFGSDirection, PolakRibiere
from optim.errors import OptimizationError
from optim.gradients import GradientEstimator, _one_sided_fit
from optim.line_search import MoreThuente, Search, StrongWolfe
from optim.line_search_rules import LineSearchRule
from optim.mode import Mode
from optim.newton import NewtonCG, TrustNCG
from optim.objective import Objective
from optim.optimizer import Optimizer
from optim.projections import as_constraint
from optim.result import Result, Status, StepInfo, Stop
from optim.step_rules import FixedStep, StepRule

if TYPE_CHECKING:
    pass

__all__ = [
    "Bounds",
    "LbfgsInvHessProduct",
    "OptimizeResult",
    "OptimizeWarning",
    "approx_fprime",
    "check_grad",
    "fmin_bfgs",
    "fmin_cg",
    "fmin_l_bfgs_b",
    "fmin_ncg",
    "maximize",
    "minimize",
    "rosen",
    "rosen_der",
]

if TYPE_CHECKING:
    _ResultBase = dict[str, Any]
    _WarningBase = UserWarning
else:
    try:  # scipy's own classes, when installed: isinstance checks in scipy pass
        from scipy.optimize import OptimizeResult as _ResultBase
        from scipy.optimize import OptimizeWarning as _WarningBase
    except ImportError:  # pragma: no cover - scipy is optional
        _ResultBase = dict
        _WarningBase = UserWarning

_EPS = float(np.finfo(np.float64).eps)
_EPSILON = math.sqrt(_EPS)
"""Scipy's default absolute finite-difference step, `sqrt(eps)`."""

_SUCCESS = "Optimization terminated successfully."
_MAXITER = "Maximum number of iterations has been exceeded."
_PR_LOSS = "Desired error not necessarily achieved due to precision loss."
_NAN = "NaN result encountered."
_CALLBACK = "`callback` raised `StopIteration`."
_BAD_MODEL = "A bad approximation caused failure to predict improvement."
_INDEFINITE = (
    "Warning: CG iterations didn't converge. The Hessian is not positive definite."
)

_OPTIONS: Mapping[str, frozenset[str]] = {
    "bfgs": frozenset(
        [
            "gtol",
            "norm",
            "eps",
            "maxiter",
            "disp",
            "return_all",
            "finite_diff_rel_step",
            "xrtol",
            "c1",
            "c2",
            "hess_inv0",
            "workers",
        ]
    ),
    "cg": frozenset(
        [
            "gtol",
            "norm",
            "eps",
            "maxiter",
            "disp",
            "return_all",
            "finite_diff_rel_step",
            "c1",
            "c2",
            "workers",
        ]
    ),
    "newton-cg": frozenset(
        ["xtol", "eps", "maxiter", "disp", "return_all", "c1", "c2", "workers"]
    ),
    "trust-ncg": frozenset(
        [
            "initial_trust_radius",
            "max_trust_radius",
            "eta",
            "gtol",
            "maxiter",
            "disp",
            "return_all",
            "inexact",
            "subproblem_maxiter",
            "workers",
        ]
    ),
    "gradient-descent": frozenset(
        ["learning_rate", "gtol", "norm", "maxiter", "disp", "return_all"]
    ),
    "rule": frozenset(["gtol", "norm", "maxiter", "disp", "return_all"]),
    "l-bfgs-b": frozenset(
        [
            "disp",
            "maxcor",
            "ftol",
            "gtol",
            "eps",
            "maxfun",
            "maxiter",
            "iprint",
            "maxls",
            "finite_diff_rel_step",
            "workers",
        ]
    ),
}

_SCIPY_ONLY = frozenset(
    [
        "nelder-mead",
        "powell",
        "tnc",
        "cobyla",
        "cobyqa",
        "slsqp",
        "trust-constr",
        "dogleg",
        "trust-exact",
        "trust-krylov",
    ]
)


class OptimizeWarning(_WarningBase):
    """Scipy's `OptimizeWarning`: unknown options, non-convergence with `disp`.

    A subclass of `scipy.optimize.OptimizeWarning` when scipy is installed (of
    `UserWarning` otherwise), so scipy's warning filters catch it.

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     res = minimize(rosen, [0.0, 0.0], options={"bogus": 1})
        >>> str(caught[0].message)
        'Unknown solver options: bogus'
    """


class OptimizeResult(_ResultBase):
    """Scipy's `OptimizeResult`: a dict whose keys are attributes too.

    A subclass of `scipy.optimize.OptimizeResult` when scipy is installed (so
    `scipy.optimize.brute(finish=optim.scipy.minimize)` and other scipy code that
    checks the type accept it), of `dict` otherwise.

    The fields of a `minimize` result are `x`, `fun`, `jac`, `nit`, `nfev`,
    `njev`, `status` (scipy's integer code), `success`, `message`, `hess_inv`
    (BFGS and L-BFGS-B) and `allvecs` (with `return_all`).

    Examples:
        >>> res = OptimizeResult(x=1.0, fun=2.0)
        >>> res.x, res["fun"], sorted(res.keys())
        (1.0, 2.0, ['fun', 'x'])
        >>> res.nit = 3
        >>> res["nit"]
        3
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            report = dict.get(self, "result")
            if report is not None and not name.startswith("_"):
                try:
                    return getattr(report, name)
                except AttributeError:
                    pass
            raise AttributeError(name) from error

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError as error:
            raise AttributeError(name) from error

    def __dir__(self) -> list[str]:
        return list(self.keys())

    def __repr__(self) -> str:
        shown = {key: value for key, value in self.items() if key != "result"}
        if type(self).__mro__[1] is not dict:  # scipy's layout, by scipy
            return repr(_ResultBase(shown))
        if not shown:
            return f"{type(self).__name__}()"
        order = ["message", "success", "status", "fun", "x", "nit"]

        def rank(key: str) -> tuple[int, str]:
            return (order.index(key) if key in order else len(order), key)

        width = max(len(key) for key in shown) + 1
        lines = []
        for key in sorted(shown, key=rank):
            text = repr(shown[key]).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)


@attrs.frozen(init=False)
class Bounds:
    """Scipy's `Bounds(lb, ub, keep_feasible)`: a box `lb <= x <= ub`.

    Accepted by `minimize(bounds=...)` (as are `(low, high)` pairs and
    `scipy.optimize.Bounds` itself). `keep_feasible` is accepted and stored:
    optim never evaluates `fun` outside the box.

    Examples:
        >>> Bounds([0, 0], [1, np.inf]).ub
        array([ 1., inf])
    """

    lb: Array = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    """Lower bounds (`-inf` for none)."""
    ub: Array = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    """Upper bounds (`inf` for none)."""
    keep_feasible: Any = False
    """Scipy's flag; every iterate here is feasible anyway."""

    def __init__(
        self, lb: Any = -np.inf, ub: Any = np.inf, keep_feasible: Any = False
    ) -> None:
        self.__attrs_init__(
            np.array(lb, dtype=np.float64),
            np.array(ub, dtype=np.float64),
            keep_feasible,
        )


class LbfgsInvHessProduct:
    """Scipy's L-BFGS inverse-Hessian operator: `matvec`, `dot`, `@`, `todense`.

    Built from the stored pairs `sk`, `yk` (oldest first) on top of the identity,
    as scipy's `LbfgsInvHessProduct` is; `res.hess_inv` of an `"L-BFGS-B"` run.

    Examples:
        >>> h = LbfgsInvHessProduct(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]]))
        >>> h.todense()
        array([[0.5, 0. ],
               [0. , 1. ]])
        >>> h.matvec(np.array([2.0, 2.0]))
        array([1., 2.])
    """

    def __init__(self, sk: Any, yk: Any) -> None:
        sk_array = np.array(sk, dtype=np.float64, ndmin=2)
        yk_array = np.array(yk, dtype=np.float64, ndmin=2)
        if sk_array.shape != yk_array.shape or sk_array.ndim != 2:
            raise ValueError("sk and yk must have matching shapes, (n_corrs, n)")
        self.sk = sk_array
        """The steps, one per row."""
        self.yk = yk_array
        """The gradient changes, one per row."""
        self.n_corrs = sk_array.shape[0]
        """The number of pairs."""
        self.rho = 1.0 / np.einsum("ij,ij->i", sk_array, yk_array)
        """`1 / (s_i . y_i)`."""
        n = sk_array.shape[1]
        self.shape = (n, n)
        """`(n, n)`."""
        self.dtype = np.dtype(np.float64)
        """`float64`."""

    def matvec(self, x: Any) -> Array:
        """Return `H @ x` by the two-loop recursion.

        Args:
            x: A vector of length `n` (or shape `(n, 1)`).

        Returns:
            The product, shaped like `x`.
        """
        q = np.array(x, dtype=np.float64)
        shape = q.shape
        q = q.reshape(-1)
        alpha = np.empty(self.n_corrs)
        for i in range(self.n_corrs - 1, -1, -1):
            alpha[i] = self.rho[i] * (self.sk[i] @ q)
            q = q - alpha[i] * self.yk[i]
        for i in range(self.n_corrs):
            beta = self.rho[i] * (self.yk[i] @ q)
            q = q + self.sk[i] * (alpha[i] - beta)
        return q.reshape(shape)

    def matmat(self, x: Any) -> Array:
        """Return `H @ X` for a matrix `X`, column by column.

        Args:
            x: An `(n, k)` array.

        Returns:
            The `(n, k)` product.
        """
        columns = np.asarray(x, dtype=np.float64)
        return np.column_stack([self.matvec(column) for column in columns.T])

    def dot(self, x: Any) -> Array:
        """Return `H @ x` for a vector or a matrix.

        Args:
            x: An `(n,)` or `(n, k)` array.

        Returns:
            The product.
        """
        array = np.asarray(x)
        return (
            self.matmat(array)
            if array.ndim == 2 and array.shape[1] != 1
            else (self.matvec(array))
        )

    def __matmul__(self, x: Any) -> Array:
        return self.dot(x)

    def todense(self) -> Array:
        """Return `H` as a dense `(n, n)` array.

        Returns:
            The matrix.
        """
        return self.matmat(np.eye(self.shape[0]))

    def __repr__(self) -> str:
        return (
            f"<{self.shape[0]}x{self.shape[1]} LbfgsInvHessProduct with dtype=float64>"
        )


def rosen(x: Any) -> Any:
    """The Rosenbrock function, as `scipy.optimize.rosen`.

    Args:
        x: A point (along the first axis).

    Returns:
        `sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)`.

    Examples:
        >>> float(rosen([1.0, 1.0]))
        0.0
    """
    x = np.asarray(x)
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0, axis=0)


def rosen_der(x: Any) -> Array:
    """The gradient of [`rosen`][optim.scipy.rosen], as `scipy.optimize.rosen_der`.

    Args:
        x: A point.

    Returns:
        The gradient.

    Examples:
        >>> rosen_der([0.0, 0.0])
        array([-2.,  0.])
    """
    x = np.asarray(x, dtype=np.float64)
    xm, xm_m1, xm_p1 = x[1:-1], x[:-2], x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200 * (xm - xm_m1**2) - 400 * (xm_p1 - xm**2) * xm - 2 * (1 - xm)
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    der[-1] = 200 * (x[-1] - x[-2] ** 2)
    result: Array = der
    return result


def _scalar(value: Any) -> float:
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(
            "The user-provided objective function must return a scalar value."
        )
    return float(np.real(array.reshape(())))


@attrs.define
class _Counted(Objective):
    """`fun` and its gradient as scipy's `ScalarFunction` sees them, counted.

    Every call receives a copy of `x`; the gradient is the user's `jac`, the
    second item of `fun`'s pair (`jac=True`), or scipy's finite differences.
    """

    fun: Callable[..., Any]
    args: tuple[Any, ...]
    jac: Any
    """A function, `True`, `"2-point"`, `"3-point"`, `"cs"` or `None`."""
    abs_step: Any = None
    rel_step: Any = None
    lower: Array | None = None
    upper: Array | None = None
    workers: Any = None
    hess: Any = None
    """A Hessian function `hess(x, *args)` (Newton-CG), or `None`."""
    hessp: Any = None
    """A Hessian-vector product `hessp(x, p, *args)` (Newton-CG), or `None`."""
    estimator: GradientEstimator | None = None
    """optim's estimator for the gradient (`estimator=`), or `None`."""
    stream: np.random.Generator | None = None
    """The random stream of a random estimator."""
    nfev: int = 0
    njev: int = 0
    nhev: int = 0
    hessian: tuple[Array, Any] | None = None
    nonfinite: bool = False
    """Whether a value or gradient computed so far was not finite."""
    memo: tuple[Array, float, Array] | None = None
    last_value: tuple[Array, float] | None = None
    """The point and value of the last evaluation of `fun` (not `jac=True`)."""
    last_gradient: tuple[Array, Array] | None = None
    """The point and gradient of the last gradient evaluation (a copy)."""

    @property
    def has_gradient(self) -> bool:
        return True

    def _call(self, x: Array) -> Any:
        self.nfev += 1
        return self.fun(np.copy(x), *self.args)

    def _pair(self, x: Array) -> tuple[float, Array]:
        value, gradient = self.fun(np.copy(x), *self.args)
        pair = (_scalar(value), np.atleast_1d(np.asarray(gradient, np.float64)))
        self.memo = (np.copy(x), pair[0], pair[1].copy())
        return self._check(pair[0], pair[1])

    def _check(self, value: float, gradient: Array | None) -> tuple[float, Array]:
        finite = math.isfinite(value) and (
            gradient is None or bool(np.all(np.isfinite(gradient)))
        )
        self.nonfinite = self.nonfinite or not finite
        return value, np.empty(0) if gradient is None else gradient

    def value(self, x: Array) -> float:
        if self.jac is True:
            self.nfev += 1
            return self._pair(x)[0]
        last = self.last_value
        if last is not None and np.array_equal(last[0], x):
            return last[1]  # scipy's ScalarFunction keeps the last value
        value = self._check(_scalar(self._call(x)), None)[0]
        self.last_value = (np.copy(x), value)
        return value

    def gradient(self, x: Array) -> Array:
        last = self.last_gradient
        if self.estimator is None and last is not None and np.array_equal(last[0], x):
            return last[1].copy()  # scipy's ScalarFunction keeps the last gradient
        gradient = self._gradient(x)
        self.last_gradient = (np.copy(x), gradient.copy())
        return gradient

    def _gradient(self, x: Array) -> Array:
        self.njev += 1
        if self.jac is True:
            if self.memo is not None and np.array_equal(self.memo[0], x):
                return self.memo[2].copy()
            return self._pair(x)[1]
        if callable(self.jac):
            gradient = self.jac(np.copy(x), *self.args)
            return self._check(0.0, np.atleast_1d(np.asarray(gradient, np.float64)))[1]
        if self.estimator is not None:
            return self._check(0.0, self._estimate(x))[1]
        return self._check(0.0, self._differences(x, None))[1]

    def _estimate(self, x: Array) -> Array:
        """The gradient by optim's `estimator`, its points counted in `nfev`."""
        assert self.estimator is not None
        extra: dict[str, Any] = {} if self.stream is None else {"rng": self.stream}
        if self.lower is not None and self.upper is not None:
            extra["bounds"] = (self.lower, self.upper)
        gradient, _ = self.estimator.estimate_with_error(_Values(self), x, **extra)
        return np.atleast_1d(np.asarray(gradient, dtype=np.float64))

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        if callable(self.jac) or self.estimator is not None:
            return self.value(x), self.gradient(x)
        if self.jac is True:
            self.nfev += 1
            self.njev += 1
            value, gradient = self._pair(x)
        else:
            value = self.value(x)
            last = self.last_gradient
            if last is not None and np.array_equal(last[0], x):
                return value, last[1].copy()
            self.njev += 1
            gradient = self._check(0.0, self._differences(x, value))[1]
        self.last_gradient = (np.copy(x), gradient.copy())
        return value, gradient

    @property
    def has_hessian_vector_product(self) -> bool:
        return True

    def hessian_vector_product(self, x: Array, v: Array) -> Array:
        """$H(x) v$: `hessp`, `hess` (evaluated once per point), or differences.

        The differences are scipy's `approx_fhess_p`: two gradient calls, each
        counted in `njev`.
        """
        if callable(self.hessp):
            self.nhev += 1
            return np.asarray(self.hessp(np.copy(x), v, *self.args), np.float64)
        if callable(self.hess):
            if self.hessian is None or not np.array_equal(self.hessian[0], x):
                self.nhev += 1
                self.hessian = (np.copy(x), self.hess(np.copy(x), *self.args))
            return np.asarray(self.hessian[1] @ v, dtype=np.float64).ravel()
        step = self.abs_step if self.abs_step is not None else _EPSILON
        x = np.asarray(x, dtype=np.float64)
        last = self.last_gradient
        if last is not None and np.array_equal(last[0], x):
            here = last[1]  # scipy's ScalarFunction keeps the last gradient
        else:
            here = self.gradient(x)
        moved = self.gradient(np.asarray(x + step * v, dtype=np.float64))
        difference: Array = (moved - here) / step
        return difference

    def _differences(self, x: Array, f0: float | None) -> Array:
        """Scipy's `approx_derivative` (the caller counts one in `njev`).

        The same steps, fitted into the bounds as `_adjust_scheme_to_bounds`
        fits them, the same points in the same order and the same quotients, so
        the same bits.
        """
        scheme = "2-point" if self.jac is None else str(self.jac)
        x = np.asarray(x, dtype=np.float64)
        h = _step(x, scheme, self.abs_step, self.rel_step)
        box = (
            None
            if self.lower is None or self.upper is None
            else (self.lower, self.upper)
        )
        if scheme == "2-point":
            if box is not None:
                h = _fit_forward(x, h, box)
            if f0 is None:
                f0 = _scalar(self._call(x))
            values = self._values([_moved(x, i, h[i]) for i in range(x.size)])
            forward: Array = (values - f0) / ((x + h) - x)
            return forward
        if scheme == "3-point":
            h, one_sided = np.abs(h), np.zeros(x.size, dtype=bool)
            if box is not None:
                # scipy's '2-sided' fit: central where x +- h fits, else one-sided
                # three-point differences (x + h, x + 2h) on the roomier side.
                h, far = _one_sided_fit(x, h, box)
                one_sided = far != -h
            if f0 is None and bool(np.any(one_sided)):
                f0 = _scalar(self._call(x))
            points: list[Array] = []
            for i in range(x.size):
                if one_sided[i]:
                    points += [_moved(x, i, h[i]), _moved(x, i, 2 * h[i])]
                else:
                    points += [_moved(x, i, -h[i]), _moved(x, i, h[i])]
            values = self._values(points)
            near = np.array([points[2 * i][i] for i in range(x.size)])
            far = np.array([points[2 * i + 1][i] for i in range(x.size)])
            f1, f2 = values[0::2], values[1::2]
            base = 0.0 if f0 is None else f0
            with np.errstate(divide="ignore", invalid="ignore"):
                central: Array = np.where(
                    one_sided,
                    (-3.0 * base + 4 * f1 - f2) / (far - x),
                    (f2 - f1) / (far - near),
                )
            return central
        gradient = np.empty(x.size)
        for i in range(x.size):
            point = x.astype(np.complex128)
            point[i] += 1j * h[i]
            self.nfev += 1
            gradient[i] = np.imag(np.asarray(self.fun(point, *self.args)).item()) / h[i]
        return gradient

    def _values(self, points: Sequence[Array]) -> Array:
        if callable(self.workers):
            self.nfev += len(points)
            results = list(self.workers(_Bound(self.fun, self.args), points))
            return np.array([_scalar(value) for value in results])
        return np.array([_scalar(self._call(point)) for point in points])


class _Values(Objective):
    """The counted `fun` as an objective of values only, for an estimator."""

    def __init__(self, counted: _Counted) -> None:
        self.counted = counted

    @override
    def value(self, x: Array) -> float:
        return _scalar(self.counted._call(x))


@attrs.frozen
class _Bound:
    """`fun(x, *args)` as a picklable function of `x` (for a map-like `workers`)."""

    fun: Callable[..., Any]
    args: tuple[Any, ...]

    def __call__(self, x: Array) -> Any:
        return self.fun(np.copy(x), *self.args)


def _moved(x: Array, i: int, step: float) -> Array:
    """A copy of `x` with coordinate `i` moved by `step` (scipy's `x0[i] + h[i]`)."""
    point = x.copy()
    point[i] = x[i] + step
    return point


def _fit_forward(x: Array, h: Array, box: tuple[Array, Array]) -> Array:
    """Scipy's '1-sided' fit of steps `h` into the box (`_adjust_scheme_to_bounds`).

    A step that leaves the box turns back where it fits on the other side;
    one that fits on neither side goes to the bound with more room.
    """
    lower_dist, upper_dist = x - box[0], box[1] - x
    violated = ((x + h) < box[0]) | ((x + h) > box[1])
    fitting = np.abs(h) <= np.maximum(lower_dist, upper_dist)
    fitted: Array = np.where(violated & fitting, -h, h)
    fitted = np.where(~fitting & (upper_dist >= lower_dist), upper_dist, fitted)
    fitted = np.where(~fitting & (upper_dist < lower_dist), -lower_dist, fitted)
    return fitted


def _step(x: Array, scheme: str, abs_step: Any, rel_step: Any) -> Array:
    """Scipy's finite-difference step: absolute `eps`, or relative."""
    sign = np.where(x >= 0, 1.0, -1.0)
    default = {"2-point": _EPS**0.5, "3-point": _EPS ** (1 / 3), "cs": _EPS**0.5}
    relative = default[scheme] * sign * np.maximum(1.0, abs(x))
    if abs_step is None and rel_step is None:
        result: Array = relative
        return result
    if abs_step is None:  # a user's relative step scales |x| itself, as in scipy
        h = np.asarray(rel_step, dtype=np.float64) * sign * abs(x)
        return np.where((x + h) - x == 0, relative, h)
    h = np.broadcast_to(np.asarray(abs_step, dtype=np.float64), x.shape).copy()
    return np.where((x + h) - x == 0, relative, h)


def _accepts_intermediate_result(callback: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False
    return set(parameters) == {"intermediate_result"}


@attrs.define
class _Tests(Callback):
    """Scipy's per-iteration sequence: callback, budgets, then convergence tests."""

    method: str
    objective: _Counted
    callback: Callable[..., Any] | None
    maxiter: float
    gtol: float
    norm: float
    xrtol: float = 0.0
    ftol: float | None = None
    maxfun: float | None = None
    allvecs: list[Array] | None = None
    search: Wolfe12 | None = None
    ending: tuple[int, str] | None = None
    uncounted: int = 0
    """Steps that scipy does not count as iterations (a last, failed search)."""
    previous: tuple[Array, float] | None = None
    sign: float = 1.0
    """`1` for `minimize`, `-1` for `maximize` (the function minimized is `sign f`)."""

    def _stop(self, status: int, message: str) -> Stop:
        self.ending = (status, message)
        return Stop(Status.CONVERGED if status == 0 else Status.STOPPED, message)

    def on_step(self, info: StepInfo) -> Stop | None:
        step, x, value = info.step, info.x, info.value
        if self.method == "newton-cg" and step > 0:
            state = info.run_state.rule_state
            if getattr(state, "indefinite", False):
                return self._stop(3, _INDEFINITE)
            if getattr(state, "search_failed", False):
                return self._stop(2, "Warning: " + _PR_LOSS)
        # (short-circuit: the frozen RunState is made only for trust-ncg)
        if (
            self.method == "trust-ncg"
            and step > 0
            and getattr(info.run_state.rule_state, "failed", False)
        ):
            return self._stop(2, _BAD_MODEL)
        if step > 0:
            if self.allvecs is not None:
                self.allvecs.append(np.copy(x))
            if self.callback is not None:
                try:
                    if _accepts_intermediate_result(self.callback):
                        self.callback(
                            intermediate_result=OptimizeResult(x=np.copy(x), fun=value)
                        )
                    else:
                        self.callback(np.copy(x))
                except StopIteration:
                    return self._stop(99, _CALLBACK)
        if self.method == "newton-cg":
            return self._newton(info)
        if self.method == "trust-ncg":
            if float(np.linalg.norm(info.gradient)) < self.gtol:
                return self._stop(0, _SUCCESS)
            if step >= self.maxiter:
                return self._stop(1, _MAXITER)
            return None
        if self.method in ("rule", "gradient-descent"):
            if step >= self.maxiter:
                return self._stop(1, _MAXITER)
            return None  # optim's StopOnZeroGradient follows
        lbfgsb = self.method == "l-bfgs-b"
        if (step > 0 or not lbfgsb) and step >= self.maxiter:
            message = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
            return self._stop(1, message if lbfgsb else _MAXITER)
        if lbfgsb and self.maxfun is not None and self.objective.nfev > self.maxfun:
            return self._stop(1, "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT")
        if lbfgsb:
            if float(np.max(np.abs(info.projected_gradient), initial=0.0)) <= self.gtol:
                return self._stop(0, "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL")
            if self.previous is not None and self.ftol is not None:
                before = self.previous[1]
                reduction = self.sign * (before - value)
                if reduction <= self.ftol * max(abs(before), abs(value), 1.0):
                    message = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
                    return self._stop(0, message)
        else:
            if self.search is not None and self.search.failures:
                # scipy: a failed line search ends, and is not an iteration
                self.uncounted = 1
                return self._stop(2, _PR_LOSS)
            if vecnorm(info.gradient, self.norm) <= self.gtol:
                return self._stop(0, _SUCCESS)
            if self.previous is not None and self.xrtol > 0.0:
                moved = float(np.linalg.norm(x - self.previous[0]))
                if moved <= self.xrtol * (self.xrtol + float(np.linalg.norm(x))):
                    return self._stop(0, _SUCCESS)
        self.previous = (np.copy(x), value)
        return None

    def _newton(self, info: StepInfo) -> Stop | None:
        """Newton-CG: a small step (in the 1-norm) ends, then the budget."""
        if self.previous is not None:
            moved = float(np.sum(np.abs(info.x - self.previous[0])))
            if moved <= info.x.size * self.xrtol:
                return self._stop(0, _SUCCESS)
        if info.step >= self.maxiter:
            return self._stop(1, "Warning: " + _MAXITER)
        self.previous = (np.copy(info.x), info.value)
        return None


def _check_wolfe(c1: float, c2: float) -> None:
    if not 0 < c1 < c2 < 1:
        raise ValueError("'c1' and 'c2' do not satisfy'0 < c1 < c2 < 1'.")


def _hess_inv(method: str, result: Result, n: int, maxcor: int) -> Any:
    rule_state = None if result.run_state is None else result.run_state.rule_state
    direction_state = getattr(rule_state, "direction_state", None)
    if method == "bfgs":
        matrix = getattr(direction_state, "hess_inv", None)
        return np.eye(n) if matrix is None else np.array(matrix)
    count = min(int(getattr(direction_state, "count", 0)), maxcor)
    if count == 0:
        return LbfgsInvHessProduct(np.zeros((0, n)), np.zeros((0, n)))
    # The pairs are the last `count` rows of the state's (memory, n) arrays.
    steps = np.asarray(getattr(direction_state, "steps"))[-count:]  # noqa: B009
    changes = np.asarray(getattr(direction_state, "gradient_changes"))[-count:]  # noqa: B009
    steps, changes = steps.reshape(count, n), changes.reshape(count, n)
    return LbfgsInvHessProduct(steps.copy(), changes.copy())


def _method_name(method: Any, bounds: Any, constraints: Any, step_rule: Any) -> str:
    if step_rule is not None:
        if method is not None:
            raise ValueError("give method= or step_rule=, not both")
        if not isinstance(step_rule, StepRule):
            raise TypeError(f"step_rule must be a StepRule, got {step_rule!r}")
        return "rule"
    if method is None:
        if _has_constraints(constraints):
            method = "SLSQP"
        elif bounds is not None:
            method = "L-BFGS-B"
        else:
            method = "BFGS"
    if callable(method):
        raise NotImplementedError(
            "a custom method (a callable) is scipy.optimize.minimize's feature; "
            "optim.scipy.minimize runs 'BFGS', 'CG', 'L-BFGS-B', 'Newton-CG' and "
            "'trust-ncg': call it directly"
        )
    name = {"gd": "gradient-descent"}.get(str(method).lower(), str(method).lower())
    if name in _SCIPY_ONLY:
        raise NotImplementedError(
            f"method {method!r} is scipy.optimize's; optim.scipy covers the "
            "gradient methods 'BFGS', 'CG', 'L-BFGS-B', 'Newton-CG' and "
            "'trust-ncg': use scipy.optimize.minimize for it"
        )
    if name not in _OPTIONS or name == "rule":
        raise ValueError(f"Unknown solver {method}")
    return name


def _has_constraints(constraints: Any) -> bool:
    if constraints is None:
        return False
    if isinstance(constraints, Mapping):
        return True
    try:
        return len(constraints) > 0
    except TypeError:
        return True


def minimize(
    fun: Objective | Callable[..., Any],
    x0: Any,
    args: Any = (),
    method: Any = None,
    jac: Any = None,
    hess: Any = None,
    hessp: Any = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable[..., Any] | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    gradient: Callable[[Array], Any] | None = None,
    step_rule: StepRule[Any] | None = None,
    estimator: GradientEstimator | None = None,
    callbacks: Iterable[CallbackLike] = (),
    max_steps: int | None = None,
) -> OptimizeResult:
    """Scipy's `minimize` for BFGS, CG, L-BFGS-B, Newton-CG and trust-ncg, on optim.

    This is also `optim.minimize` (the same function): after scipy's parameters
    come optim's own, keyword-only: `gradient`, `step_rule`, `estimator`,
    `callbacks` and `max_steps`, and `fun` may be an
    [`Objective`][optim.objective.Objective].

    The arguments, their order, defaults, warnings and input rules are
    `scipy.optimize.minimize`'s: `x0` is made 1-d (`ValueError` for more
    dimensions), integer `x0` becomes float, a non-tuple `args` becomes
    `(args,)`, `method=None` picks `"L-BFGS-B"` with bounds and `"BFGS"` without,
    `fun` may return a size-1 array, `fun` and `jac` get copies of `x`, and their
    exceptions propagate unchanged. `hess`, `hessp` and non-empty `constraints`
    are ignored with scipy's `RuntimeWarning`s, as are bounds for BFGS and CG;
    unknown options raise scipy's `OptimizeWarning`. `tol` sets `gtol` (and
    `ftol` for L-BFGS-B) unless the options do.

    Options, with scipy's defaults and meanings:

    - BFGS: `gtol=1e-5` (on `norm(g, ord=norm)`), `norm=inf`, `eps=sqrt(eps)`
      (absolute step for `jac=None`), `maxiter=200 n` (a float is allowed),
      `disp`, `return_all` (`allvecs`), `finite_diff_rel_step`, `xrtol=0`
      (stop when a step is at most `xrtol (xrtol + |x|)`), `c1=1e-4`, `c2=0.9`,
      `hess_inv0` (symmetric positive definite), `workers` (a map-like callable
      evaluates finite-difference points).
    - CG: the same but `xrtol` and `hess_inv0`, and `c2=0.4`.
    - L-BFGS-B: `maxcor=10`, `ftol=2.22e-9` (stop when
      `(f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol`), `gtol=1e-5` (on the
      largest component of the projected gradient), `eps=1e-8`, `maxfun=15000`,
      `maxiter=15000`, `maxls=20`, `finite_diff_rel_step`, `workers`; `disp` and
      `iprint` give scipy's `DeprecationWarning` and print nothing.

    - trust-ncg ([`TrustNCG`][optim.newton.TrustNCG]): `initial_trust_radius=1`,
      `max_trust_radius=1000`, `eta=0.15`, `gtol=1e-4` (on the 2-norm),
      `maxiter=200 n`, `disp`, `return_all`; `jac` and `hess` or `hessp` are
      required (`hess` may be `"2-point"`, `"3-point"` or `"cs"`, and an
      [`Objective`][optim.objective.Objective] without a product may leave
      both out: products from two gradients, counted in `njev`); `nhev`
      counts Hessian (or product) evaluations, and `hess` holds the final
      Hessian when `hess` is a function. A rejected trial step
      is not an iteration here (scipy counts it in `nit`).
    - A `step_rule=` (any optim rule; no `method`) or
      `method="gradient-descent"` (`"GD"`, with
      `options={"learning_rate": ...}`): optim's
      [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient] with
      `gtol=1e-6` on the `norm=2` of the (projected) gradient, `maxiter`
      (default `max_steps`, else 1000), bounds through the rule's constraint,
      and optim's own progress and growth tests.

    - Newton-CG ([`NewtonCG`][optim.newton.NewtonCG]): `xtol=1e-5` (stop when
      the mean absolute step component is at most `xtol`), `eps` (the step of
      finite-difference Hessian products, two gradient calls each), `maxiter`,
      `disp`, `return_all`, `c1`, `c2`, `workers`; `jac` is required, and
      `hess` (evaluated once per iterate) or `hessp` give the products, counted
      in `nhev`.

    `jac`: a function, `True` (`fun` returns `(f, g)`), `"2-point"`, `"3-point"`
    or `"cs"` (relative steps, `finite_diff_rel_step`), or `None`: forward
    differences with the absolute step `eps`.

    `callback` is called after each iteration: with a copy of `xk`, or, if its
    only parameter is named `intermediate_result`, with an
    [`OptimizeResult`][optim.scipy.OptimizeResult] holding `x` and `fun`;
    raising `StopIteration` ends the run with status `99` and scipy's message.
    Its return value is ignored, as in scipy.

    With `options={"disp": True}` BFGS and CG print scipy's summary with
    `print` (the only output of the library; `warnings` for a failed run).

    The result also carries optim's report: `outcome` and `diagnosis` (see
    [`Result`][optim.result.Result]) and the full run's `result`, whose
    attributes the result answers as its own where scipy has no field
    (`res.steps`, `res.evaluations`, `res.gradient_norm`, `res.mode`, ...).

    Args:
        fun: `fun(x, *args)`, returning a scalar, or an
            [`Objective`][optim.objective.Objective] (its gradient and
            Hessian-vector product are used when it has them).
        x0: The starting point.
        args: Extra arguments of `fun`, `jac` (a non-tuple is one argument).
        method: `"BFGS"`, `"CG"`, `"L-BFGS-B"`, `"Newton-CG"`, `"trust-ncg"` or
            `"gradient-descent"`, any case, or `None`.
        jac: How the gradient is obtained (see above).
        hess: Newton-CG's Hessian `hess(x, *args)`; ignored by the others with
            scipy's warning.
        hessp: Newton-CG's Hessian-vector product `hessp(x, p, *args)`; ignored
            by the others with scipy's warning.
        bounds: For L-BFGS-B: `Bounds`, `(low, high)` pairs with `None` for an
            open side, or `scipy.optimize.Bounds`.
        constraints: Ignored with scipy's warning (empty: silently).
        tol: The default `gtol` (and `ftol` for L-BFGS-B).
        callback: Called after each iteration (see above).
        options: The method's options (see above).
        gradient: The gradient `gradient(x)` of a plain `fun` (as a `jac`
            function that takes no `args`).
        step_rule: Any optim step rule, instead of `method`.
        estimator: An optim gradient estimator instead of `jac` (each estimate
            counts one in `njev`, its points in `nfev`).
        callbacks: optim callbacks, run after scipy's tests each step.
        max_steps: The default `maxiter`.

    Returns:
        The result, with scipy's fields and status codes: `0` success, `1`
            iteration (or evaluation) limit, `2` precision loss or abnormal line
            search, `3` NaN (BFGS, CG) or an indefinite Hessian (Newton-CG), `99`
            callback raised `StopIteration`.

    Raises:
        ValueError: For an unknown method, `x0` of more than one dimension, a
            non-scalar `fun`, scipy's invalid option values, or optim's extras
            given with what they replace (`step_rule` with `method`, `gradient`
            or `estimator` with `jac`).
        NotImplementedError: For scipy's methods optim does not have (naming
            scipy).

    Examples:
        >>> res = minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="L-BFGS-B")
        >>> res.status, res.message, np.round(res.x, 4)
        (0, 'CONVERGENCE: ...', array([1., 1.]))

        A callback taking `intermediate_result` gets the result object:

        >>> values = []
        >>> def record(intermediate_result):
        ...     values.append(intermediate_result.fun)
        >>> res = minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=record)
        >>> len(values) == res.nit
        True
    """
    return _optimize(
        Mode.DESCENT,
        fun,
        x0,
        args,
        method,
        jac,
        hess,
        hessp,
        bounds,
        constraints,
        tol,
        callback,
        options,
        gradient=gradient,
        step_rule=step_rule,
        estimator=estimator,
        callbacks=callbacks,
        max_steps=max_steps,
    )


def maximize(
    fun: Objective | Callable[..., Any],
    x0: Any,
    args: Any = (),
    method: Any = None,
    jac: Any = None,
    hess: Any = None,
    hessp: Any = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable[..., Any] | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    gradient: Callable[[Array], Any] | None = None,
    step_rule: StepRule[Any] | None = None,
    estimator: GradientEstimator | None = None,
    callbacks: Iterable[CallbackLike] = (),
    max_steps: int | None = None,
) -> OptimizeResult:
    """Maximize `fun` from `x0`: [`minimize`][optim.scipy.minimize] in ascent.

    It takes `minimize`'s arguments, options and extras with the same meanings
    and defaults; every method climbs (`hess` and `hessp` are `fun`'s own), and
    the result's `fun` and `jac` are `fun`'s own value and gradient, not
    negated. scipy has no `maximize`: this is optim's (`optim.maximize`).

    Returns:
        The result, as `minimize`'s.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep
        >>> res = maximize(
        ...     lambda x: -((x[0] - 1) ** 2) - (x[1] + 2) ** 2,
        ...     [0, 0],
        ...     gradient=lambda x: np.array([-2 * (x[0] - 1), -2 * (x[1] + 2)]),
        ...     step_rule=FixedStep(0.1),
        ... )
        >>> np.round(res.x, 5), res.success
        (array([ 1., -2.]), True)
        >>> res = maximize(lambda x: -float((x[0] - 3) ** 2), [0.0], method="BFGS")
        >>> np.round(res.x, 4), round(res.fun, 8)
        (array([3.]), -0.0)
    """
    return _optimize(
        Mode.ASCENT,
        fun,
        x0,
        args,
        method,
        jac,
        hess,
        hessp,
        bounds,
        constraints,
        tol,
        callback,
        options,
        gradient=gradient,
        step_rule=step_rule,
        estimator=estimator,
        callbacks=callbacks,
        max_steps=max_steps,
    )


@attrs.frozen
class _IgnoringArguments:
    """`gradient(x)` called as scipy calls `jac`, `jac(x, *args)`."""

    function: Callable[[Array], Any]

    def __call__(self, x: Array, *args: Any) -> Any:
        return self.function(x)


def _plain(
    fun: Any, args: tuple[Any, ...], jac: Any, hessp: Any, extras: Mapping[str, Any]
) -> tuple[Callable[..., Any], Any, Any]:
    """`fun`, `jac` and `hessp` as scipy's callables, from optim's forms too."""
    gradient, estimator = extras["gradient"], extras["estimator"]
    if isinstance(fun, Objective):
        if args or jac is not None or gradient is not None:
            raise ValueError(
                "fun is already an Objective: args, jac and gradient must be left out"
            )
        if hessp is None and fun.has_hessian_vector_product:
            hessp = fun.hessian_vector_product
        if fun.has_gradient and estimator is None:
            jac = fun.gradient
        return fun.value, jac, hessp
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    if gradient is not None:
        if jac is not None:
            raise ValueError("give the gradient as jac= or as gradient=, not both")
        if not callable(gradient):
            raise TypeError(f"gradient must be callable, got {gradient!r}")
        jac = _IgnoringArguments(gradient)
    if estimator is not None and jac is not None:
        raise ValueError("give jac= or estimator=, not both")
    return fun, jac, hessp


def _optimize(
    mode: Mode,
    fun: Any,
    x0: Any,
    args: Any,
    method: Any,
    jac: Any,
    hess: Any,
    hessp: Any,
    bounds: Any,
    constraints: Any,
    tol: float | None,
    callback: Callable[..., Any] | None,
    options: Mapping[str, Any] | None,
    **extras: Any,
) -> OptimizeResult:
    """`minimize` (descent) and `maximize` (ascent): scipy's checks, then the run."""
    if not isinstance(args, tuple):
        args = (args,)
    from_objective = isinstance(fun, Objective)  # its products may be differences
    fun, jac, hessp = _plain(fun, args, jac, hessp, extras)
    if extras["estimator"] is not None and not isinstance(
        extras["estimator"], GradientEstimator
    ):
        raise TypeError(
            f"estimator must be a GradientEstimator, got {extras['estimator']!r}"
        )
    refuse_foreign(x0)  # a CUDA or JAX array: one line, before any work
    x0 = np.atleast_1d(np.asarray(x0))
    if x0.ndim != 1:
        raise ValueError("'x0' must only have one dimension.")
    x0 = np.asarray(x0, dtype=np.float64)
    name = _method_name(method, bounds, constraints, extras["step_rule"])
    if method is None:
        method = {"rule": "step_rule", "l-bfgs-b": "L-BFGS-B"}.get(name, "BFGS")
    options = dict(options or {})
    if name == "newton-cg" and not (callable(jac) or jac is True):
        raise ValueError("Jacobian is required for Newton-CG method")
    if name == "trust-ncg":
        if not (callable(jac) or jac is True):
            raise ValueError(
                "Jacobian is required for Newton-CG trust-region minimization"
            )
        if hess is None and hessp is None and not from_objective:
            raise ValueError(
                "Either the Hessian or the Hessian-vector product is required for "
                "Newton-CG trust-region minimization"
            )
        if isinstance(hess, str) and hess in ("2-point", "3-point", "cs"):
            hess = None  # optim differences two gradients per product instead
    _warn_unused(name, method, hess, hessp, constraints, bounds, options)
    if name not in ("l-bfgs-b", *_SIMPLE):
        bounds = None
    if tol is not None and name != "newton-cg":
        if name == "l-bfgs-b":
            options.setdefault("ftol", tol)
        options.setdefault("gtol", tol)
    unknown = [key for key in options if key not in _OPTIONS[name]]
    if unknown:
        warnings.warn(
            f"Unknown solver options: {', '.join(map(str, unknown))}",
            OptimizeWarning,
            stacklevel=3,
        )
    if name == "newton-cg" and tol is not None:
        options.setdefault("xtol", tol)
    return _minimize(
        name,
        fun,
        x0,
        args,
        jac,
        bounds,
        callback,
        options,
        hessians=(hess, hessp),
        mode=mode,
        extras=extras,
    )


def _warn_unused(
    name: str,
    method: Any,
    hess: Any,
    hessp: Any,
    constraints: Any,
    bounds: Any,
    options: Mapping[str, Any],
) -> None:
    """Scipy's `RuntimeWarning`s for what the method ignores."""
    second_order = name in ("newton-cg", "trust-ncg")
    if hess is not None and not second_order:
        warnings.warn(
            f"Method {method} does not use Hessian information (hess).",
            RuntimeWarning,
            stacklevel=4,
        )
    if hessp is not None and not second_order:
        warnings.warn(
            f"Method {method} does not use Hessian-vector product information (hessp).",
            RuntimeWarning,
            stacklevel=4,
        )
    if _has_constraints(constraints):
        warnings.warn(
            f"Method {method} cannot handle constraints.", RuntimeWarning, stacklevel=4
        )
    if name not in ("l-bfgs-b", *_SIMPLE) and bounds is not None:
        warnings.warn(
            f"Method {method} cannot handle bounds.", RuntimeWarning, stacklevel=4
        )
    if name == "l-bfgs-b" and options.get("return_all", False):
        warnings.warn(
            f"Method {method} does not support the return_all option.",
            RuntimeWarning,
            stacklevel=4,
        )


_SIMPLE = ("rule", "gradient-descent")
"""optim's own methods: a step rule with optim's gradient test."""


def _minimize(
    name: str,
    fun: Callable[..., Any],
    x0: Array,
    args: tuple[Any, ...],
    jac: Any,
    bounds: Any,
    callback: Callable[..., Any] | None,
    options: Mapping[str, Any],
    *,
    hessians: tuple[Any, Any] = (None, None),
    mode: Mode = Mode.DESCENT,
    extras: Mapping[str, Any] | None = None,
) -> OptimizeResult:
    extras = extras or {}
    lbfgsb, simple = name == "l-bfgs-b", name in _SIMPLE
    if lbfgsb and any(options.get(key) is not None for key in ("disp", "iprint")):
        warnings.warn(
            "scipy.optimize: The `disp` and `iprint` options of the L-BFGS-B "
            "solver are deprecated and will be removed in SciPy 1.18.0.",
            DeprecationWarning,
            stacklevel=3,
        )
    rule = extras["step_rule"] if name == "rule" else _rule(name, options, bounds)
    maxiter = options.get("maxiter")
    if maxiter is None:
        maxiter = extras.get("max_steps")
    if maxiter is None:
        maxiter = 15000 if lbfgsb else 1000 if simple else 200 * x0.size
    if bounds is not None:
        _check_bounds(bounds, x0.size)
    constraint = as_constraint(bounds, x0) if bounds is not None else None
    lower = upper = None
    if constraint is not None:
        lower = np.broadcast_to(getattr(constraint, "lower", -np.inf), x0.shape)
        upper = np.broadcast_to(getattr(constraint, "upper", np.inf), x0.shape)
        if np.any(lower > upper):
            raise ValueError(
                "LBFGSB - one of the lower bounds is greater than an upper bound."
            )
        x0 = np.clip(x0, lower, upper)
    objective = _objective(name, fun, args, jac, options, lower, upper)
    objective.hess, objective.hessp = hessians
    estimator = extras.get("estimator")
    if estimator is not None:
        objective.estimator, objective.stream = estimator, estimator.random_stream()
    return_all = bool(options.get("return_all", False)) and not lbfgsb
    default_gtol = {"trust-ncg": 1e-4, "rule": 1e-6, "gradient-descent": 1e-6}
    gtol = float(options.get("gtol", default_gtol.get(name, 1e-5)))
    norm = float(options.get("norm", 2.0 if simple else np.inf))
    tests = _Tests(
        name,
        objective,
        callback,
        maxiter=float(maxiter),
        gtol=gtol,
        norm=norm,
        xrtol=float(
            options.get("xtol", 1e-5)
            if name == "newton-cg"
            else options.get("xrtol", 0.0)
        ),
        ftol=float(options.get("ftol", 2.2204460492503131e-09)) if lbfgsb else None,
        maxfun=float(options.get("maxfun", 15000)) if lbfgsb else None,
        allvecs=[x0.copy()] if return_all else None,
        search=getattr(rule, "search", None) if name in ("bfgs", "cg") else None,
        sign=mode.sign,
    )
    callbacks: list[CallbackLike] = [tests]
    if simple:
        callbacks.append(StopOnZeroGradient(gtol, norm=norm))
    callbacks.extend(extras.get("callbacks", ()))
    limits: dict[str, Any] = {} if simple else {"ftol": None, "max_growth": None}
    optimizer = Optimizer(
        objective,
        step_rule=rule,
        mode=mode,
        callbacks=callbacks,
        max_steps=math.ceil(maxiter) + 1,
        constraint=constraint,
        **limits,
    )
    try:
        result = optimizer.run(x0)
    except OptimizationError as error:
        if error.__cause__ is not None:
            raise error.__cause__ from None
        raise
    except ValueError:
        if not objective.nonfinite or tests.previous is not None:
            raise
        return _nan_at_start(name, objective, x0, options)
    return _to_result(name, result, objective, tests, options)


def _check_bounds(bounds: Any, n: int) -> None:
    """Scipy's checks and messages for bounds: one pair per coordinate, lb <= ub."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lower, upper = np.asarray(bounds.lb, float), np.asarray(bounds.ub, float)
    elif isinstance(bounds, Sequence):
        if len(bounds) != n:
            raise ValueError(
                "The number of bounds is not compatible with the length of `x0`."
            )
        pairs = [tuple(pair) for pair in bounds]
        lower = np.array([-np.inf if p[0] is None else p[0] for p in pairs], float)
        upper = np.array([np.inf if p[-1] is None else p[-1] for p in pairs], float)
    else:
        return  # a projection: checked when it was made
    if np.any(lower > upper):
        raise ValueError("An upper bound is less than the corresponding lower bound.")


def _rule(name: str, options: Mapping[str, Any], bounds: Any = None) -> StepRule[Any]:
    if name == "trust-ncg":
        return TrustNCG(
            max_trust_radius=options.get("max_trust_radius", 1000.0),
            initial_trust_radius=options.get("initial_trust_radius", 1.0),
            eta=options.get("eta", 0.15),
        )
    if name == "gradient-descent":
        if "learning_rate" not in options:
            raise ValueError(
                "method 'gradient-descent' needs options={'learning_rate': ...} (the "
                "step size of the gradient method)"
            )
        return FixedStep(options["learning_rate"])
    c1 = float(options.get("c1", 1e-4))
    c2 = float(options.get("c2", 0.4 if name == "cg" else 0.9))
    if name != "l-bfgs-b":
        _check_wolfe(c1, c2)
    maxls = int(options.get("maxls", 20))
    if not maxls > 0:
        raise ValueError("maxls must be positive.")
    if name == "l-bfgs-b":
        search: Search = StrongWolfe(c1=c1, c2=c2, max_iterations=maxls)
        if bounds is None:
            # scipy's search (lnsrlb in lbfgsb.c: dcsrch with c1 = 1e-3, c2 = 0.9,
            # xtol = 0.1); in a box the rule's search along the path up to the
            # first bound.
            search = MoreThuente(1e-3, 0.9, xtol=0.1, max_iterations=maxls)
        # scipy_like: L-BFGS-B's first step (along -g from 1/||g||) and s = alpha d.
        memory = LBFGSDirection(int(options.get("maxcor", 10)))
        return LineSearchRule(memory, search, scipy_like=True)
    # scipy's line_search_wolfe12: dcsrch (at most 99 trials), steps in
    # [1e-100, 1e100] for BFGS and CG and in [1e-8, 50] for Newton-CG.
    limits = {"min_step": 1e-8, "max_step": 50.0}
    if name != "newton-cg":
        limits = {"min_step": 1e-100, "max_step": 1e100}
    first = MoreThuente(c1, c2, max_iterations=99, **limits)
    condition = None
    if name == "cg":
        gtol = float(options.get("gtol", 1e-5))
        condition = DescentCondition(gtol, float(options.get("norm", np.inf)))
    fallback = Wolfe2(c1, c2, None if name == "newton-cg" else 1e100)
    search = Wolfe12(first, fallback, condition)
    if name == "newton-cg":
        return NewtonCG(search=search, scipy_like=True)
    if name == "bfgs":
        direction: Direction[Any] = BFGSDirection(
            options.get("hess_inv0"), scale_first=False
        )
    else:  # scipy's CG never restarts: its step test keeps the directions descending
        direction = PolakRibiere(restart=sys.maxsize)
    return LineSearchRule(direction, search, scipy_like=True)


def _objective(
    name: str,
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    jac: Any,
    options: Mapping[str, Any],
    lower: Array | None,
    upper: Array | None,
) -> _Counted:
    fd_string = isinstance(jac, str) and jac in ("2-point", "3-point", "cs")
    if not callable(jac) and jac is not True and not fd_string:
        jac = None  # scipy: anything else falls back to forward differences
    default_eps = 1e-8 if name == "l-bfgs-b" else _EPSILON
    return _Counted(
        fun,
        args,
        jac,
        abs_step=None if fd_string else options.get("eps", default_eps),
        rel_step=options.get("finite_diff_rel_step"),
        lower=lower,
        upper=upper,
        workers=options.get("workers"),
    )


def _to_result(
    name: str,
    result: Result,
    objective: _Counted,
    tests: _Tests,
    options: Mapping[str, Any],
) -> OptimizeResult:
    status, message = tests.ending or _ending(name, result)
    res = OptimizeResult(
        fun=result.value,
        jac=np.array(result.gradient),
        nfev=objective.nfev,
        njev=objective.njev,
        nit=result.steps
        - (1 if name == "newton-cg" and status in (2, 3) else tests.uncounted),
        status=status,
        message=message,
        x=np.array(result.x),
        success=status == 0,
    )
    if name in ("newton-cg", "trust-ncg"):
        res["nhev"] = objective.nhev
    if name == "trust-ncg" and callable(objective.hess):
        known = objective.hessian
        if known is not None and np.array_equal(known[0], result.x):
            res["hess"] = known[1]
        else:
            res["hess"] = objective.hess(np.copy(result.x), *objective.args)
    if name in ("bfgs", "l-bfgs-b"):
        maxcor = int(options.get("maxcor", 10))
        res["hess_inv"] = _hess_inv(name, result, result.x.size, maxcor)
    if tests.allvecs is not None:
        res["allvecs"] = tests.allvecs
    res["outcome"], res["diagnosis"] = result.outcome, result.diagnosis
    res["result"] = result
    if options.get("disp") and name != "l-bfgs-b":
        _display(name, res)
    return res


def _ending(name: str, result: Result) -> tuple[int, str]:
    """Scipy's status for an end optim's own tests chose."""
    if result.status is Status.CONVERGED:
        if name == "l-bfgs-b":
            return 0, "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
        return 0, _SUCCESS
    if result.status is Status.DIVERGED and name != "l-bfgs-b":
        return 3, _NAN
    if name in _SIMPLE:
        if result.status is Status.MAX_STEPS:
            return 1, _MAXITER
        return 2, result.message
    if name == "trust-ncg":
        return 2, _BAD_MODEL
    if name == "l-bfgs-b":
        return 2, "ABNORMAL: "
    return 2, _PR_LOSS


def _nan_at_start(
    name: str, objective: _Counted, x0: Array, options: Mapping[str, Any]
) -> OptimizeResult:
    """Scipy's result when `fun` or its gradient is not finite at `x0`."""
    value = np.nan
    gradient = np.full(x0.size, np.nan)
    status, message = (2, "ABNORMAL: ") if name == "l-bfgs-b" else (3, _NAN)
    res = OptimizeResult(
        fun=value,
        jac=gradient,
        nfev=objective.nfev,
        njev=objective.njev,
        nit=0,
        status=status,
        message=message,
        x=x0.copy(),
        success=False,
    )
    if name == "bfgs":
        res["hess_inv"] = np.eye(x0.size)
    elif name == "l-bfgs-b":
        res["hess_inv"] = LbfgsInvHessProduct(
            np.zeros((0, x0.size)), np.zeros((0, x0.size))
        )
    if options.get("return_all", False) and name != "l-bfgs-b":
        res["allvecs"] = [x0.copy()]
    if options.get("disp") and name != "l-bfgs-b":
        _display(name, res)
    return res


def _display(name: str, res: OptimizeResult) -> None:
    """Scipy's `disp=True` summary: the only place optim prints.

    Newton-CG and trust-ncg add the Hessian evaluations; trust-ncg's failures
    warn with a `RuntimeWarning`, the others' with an `OptimizeWarning`.
    """
    if res.status == 0:
        print(res.message)
    else:
        category = RuntimeWarning if name == "trust-ncg" else OptimizeWarning
        warnings.warn(res.message, category, stacklevel=4)
    print(f"         Current function value: {res.fun:f}")
    print(f"         Iterations: {res.nit:d}")
    print(f"         Function evaluations: {res.nfev:d}")
    print(f"         Gradient evaluations: {res.njev:d}")
    if "nhev" in res:
        print(f"         Hessian evaluations: {res.nhev:d}")


def _legacy_status(res: OptimizeResult) -> OptimizeResult:
    """The legacy functions' ending for a `StopIteration` (scipy's, not 99)."""
    if res.status == 99:
        res.status, res.success = 0, True
        res.message = _SUCCESS
    return res


def fmin_bfgs(
    f: Callable[..., Any],
    x0: Any,
    fprime: Callable[..., Any] | None = None,
    args: tuple[Any, ...] = (),
    gtol: float = 1e-05,
    norm: float = np.inf,
    epsilon: Any = _EPSILON,
    maxiter: float | None = None,
    full_output: Any = 0,
    disp: Any = 1,
    retall: Any = 0,
    callback: Callable[..., Any] | None = None,
    xrtol: float = 0,
    c1: float = 1e-4,
    c2: float = 0.9,
    hess_inv0: Any = None,
) -> Any:
    """Scipy's legacy `fmin_bfgs`: BFGS, returning `xopt` or a tuple.

    As in scipy, `disp=1` (the default) prints a summary with `print`.

    Args:
        f: `f(x, *args)`.
        x0: The starting point.
        fprime: The gradient `fprime(x, *args)`, or `None` for forward
            differences with step `epsilon`.
        args: Extra arguments.
        gtol: Stop when `norm(g, ord=norm) <= gtol`.
        norm: The order of that norm.
        epsilon: The finite-difference step.
        maxiter: Most iterations (default `200 * len(x0)`).
        full_output: Return the tuple below instead of `xopt`.
        disp: Print the summary.
        retall: Also return the list of iterates.
        callback: `callback(xk)` after each iteration.
        xrtol: Relative step tolerance.
        c1: Armijo constant of the line search.
        c2: Curvature constant of the line search.
        hess_inv0: The starting inverse Hessian.

    Returns:
        `xopt`; with `full_output`, `(xopt, fopt, gopt, Bopt, func_calls,
            grad_calls, warnflag)`; with `retall`, `allvecs` appended (or
            `(xopt, allvecs)` without `full_output`).

    Examples:
        >>> np.round(fmin_bfgs(rosen, [-1.2, 1.0], rosen_der, disp=0), 4)
        array([1., 1.])
    """
    options = {
        "gtol": gtol,
        "norm": norm,
        "eps": epsilon,
        "maxiter": maxiter,
        "disp": disp,
        "return_all": retall,
        "xrtol": xrtol,
        "c1": c1,
        "c2": c2,
        "hess_inv0": hess_inv0,
    }
    res = _legacy_status(_legacy(f, x0, args, "bfgs", fprime, None, callback, options))
    if full_output:
        output: tuple[Any, ...] = (
            res.x,
            res.fun,
            res.jac,
            res.hess_inv,
            res.nfev,
            res.njev,
            res.status,
        )
        return (*output, res.allvecs) if retall else output
    return (res.x, res.allvecs) if retall else res.x


def fmin_cg(
    f: Callable[..., Any],
    x0: Any,
    fprime: Callable[..., Any] | None = None,
    args: tuple[Any, ...] = (),
    gtol: float = 1e-5,
    norm: float = np.inf,
    epsilon: Any = _EPSILON,
    maxiter: float | None = None,
    full_output: Any = 0,
    disp: Any = 1,
    retall: Any = 0,
    callback: Callable[..., Any] | None = None,
    c1: float = 1e-4,
    c2: float = 0.4,
) -> Any:
    """Scipy's legacy `fmin_cg`: nonlinear conjugate gradients.

    As in scipy, `disp=1` (the default) prints a summary with `print`.

    Args:
        f: `f(x, *args)`.
        x0: The starting point.
        fprime: The gradient, or `None` for forward differences.
        args: Extra arguments.
        gtol: Stop when `norm(g, ord=norm) <= gtol`.
        norm: The order of that norm.
        epsilon: The finite-difference step.
        maxiter: Most iterations (default `200 * len(x0)`).
        full_output: Return the tuple below instead of `xopt`.
        disp: Print the summary.
        retall: Also return the list of iterates.
        callback: `callback(xk)` after each iteration.
        c1: Armijo constant of the line search.
        c2: Curvature constant of the line search.

    Returns:
        `xopt`; with `full_output`, `(xopt, fopt, func_calls, grad_calls,
            warnflag)`; with `retall`, `allvecs` appended (or `(xopt, allvecs)`).

    Examples:
        >>> np.round(fmin_cg(rosen, [-1.2, 1.0], rosen_der, disp=0), 4)
        array([1., 1.])
    """
    options = {
        "gtol": gtol,
        "norm": norm,
        "eps": epsilon,
        "maxiter": maxiter,
        "disp": disp,
        "return_all": retall,
        "c1": c1,
        "c2": c2,
    }
    res = _legacy_status(_legacy(f, x0, args, "cg", fprime, None, callback, options))
    if full_output:
        output: tuple[Any, ...] = (res.x, res.fun, res.nfev, res.njev, res.status)
        return (*output, res.allvecs) if retall else output
    return (res.x, res.allvecs) if retall else res.x


def fmin_l_bfgs_b(
    func: Callable[..., Any],
    x0: Any,
    fprime: Callable[..., Any] | None = None,
    args: tuple[Any, ...] = (),
    approx_grad: Any = 0,
    bounds: Any = None,
    m: int = 10,
    factr: float = 1e7,
    pgtol: float = 1e-5,
    epsilon: Any = 1e-8,
    iprint: Any = None,
    maxfun: int = 15000,
    maxiter: int = 15000,
    disp: Any = None,
    callback: Callable[..., Any] | None = None,
    maxls: int = 20,
) -> tuple[Array, float, dict[str, Any]]:
    """Scipy's legacy `fmin_l_bfgs_b`: returns `(x, f, d)`.

    Args:
        func: `func(x, *args)`, returning `(f, g)` unless `fprime` is given or
            `approx_grad` is true.
        x0: The starting point.
        fprime: The gradient.
        args: Extra arguments.
        approx_grad: Use forward differences with step `epsilon`.
        bounds: `(low, high)` pairs, `None` for an open side.
        m: The number of stored pairs (`maxcor`).
        factr: Stop when the relative reduction of `f` is at most
            `factr * eps`.
        pgtol: Stop when the largest projected-gradient component is at most
            `pgtol`.
        epsilon: The finite-difference step.
        iprint: Deprecated in scipy (a `DeprecationWarning`); prints nothing.
        maxfun: Most function evaluations.
        maxiter: Most iterations.
        disp: Deprecated in scipy (a `DeprecationWarning`); prints nothing.
        callback: `callback(xk)` after each iteration.
        maxls: Most line-search steps per iteration.

    Returns:
        `(x, f, d)` with `d` holding `grad`, `task`, `funcalls`, `nit` and
            `warnflag` (`0` converged, `1` limits, `2` other, such as a
            callback's `StopIteration`: task `"STOP: CALLBACK REQUESTED HALT"`).

    Examples:
        >>> def both(x):
        ...     return rosen(x), rosen_der(x)
        >>> x, f, d = fmin_l_bfgs_b(both, [-1.2, 1.0])
        >>> np.round(x, 4), d["warnflag"], d["task"][:11]
        (array([1., 1.]), 0, 'CONVERGENCE')
    """
    if approx_grad:
        jac: Any = None
    elif fprime is None:
        jac = True
    else:
        jac = fprime
    options = {
        "disp": disp,
        "iprint": iprint,
        "maxcor": m,
        "ftol": factr * _EPS,
        "gtol": pgtol,
        "eps": epsilon,
        "maxfun": maxfun,
        "maxiter": maxiter,
        "maxls": maxls,
    }
    res = _legacy(func, x0, args, "l-bfgs-b", jac, bounds, callback, options)
    if res.status == 99:
        res.status, res.message = 2, "STOP: CALLBACK REQUESTED HALT"
    d = {
        "grad": res.jac,
        "task": res.message,
        "funcalls": res.nfev,
        "nit": res.nit,
        "warnflag": res.status,
    }
    return res.x, res.fun, d


def _legacy(
    f: Callable[..., Any],
    x0: Any,
    args: Any,
    name: str,
    jac: Any,
    bounds: Any,
    callback: Callable[..., Any] | None,
    options: dict[str, Any],
) -> OptimizeResult:
    x = np.asarray(x0, dtype=np.float64).ravel()
    if not isinstance(args, tuple):
        args = (args,)
    if options.get("maxiter") is None:
        options.pop("maxiter")
    return _minimize(name, f, x, args, jac, bounds, callback, options)


def fmin_ncg(
    f: Callable[..., Any],
    x0: Any,
    fprime: Callable[..., Any],
    fhess_p: Callable[..., Any] | None = None,
    fhess: Callable[..., Any] | None = None,
    args: tuple[Any, ...] = (),
    avextol: float = 1e-5,
    epsilon: Any = _EPSILON,
    maxiter: float | None = None,
    full_output: Any = 0,
    disp: Any = 1,
    retall: Any = 0,
    callback: Callable[..., Any] | None = None,
    c1: float = 1e-4,
    c2: float = 0.9,
) -> Any:
    """Scipy's legacy `fmin_ncg`: Newton-CG with `fprime` and Hessian products.

    As in scipy, `disp=1` (the default) prints a summary with `print`.

    Args:
        f: `f(x, *args)`.
        x0: The starting point.
        fprime: The gradient (required).
        fhess_p: `fhess_p(x, p, *args)`, the Hessian times `p`.
        fhess: `fhess(x, *args)`, the Hessian (used when `fhess_p` is not given).
        args: Extra arguments.
        avextol: Stop when the average step component is at most `avextol`.
        epsilon: The step of finite-difference Hessian products.
        maxiter: Most iterations (default `200 * len(x0)`).
        full_output: Return the tuple below instead of `xopt`.
        disp: Print the summary.
        retall: Also return the list of iterates.
        callback: `callback(xk)` after each iteration.
        c1: Armijo constant of the line search.
        c2: Curvature constant of the line search.

    Returns:
        `xopt`; with `full_output`, `(xopt, fopt, fcalls, gcalls, hcalls,
            warnflag)`; with `retall`, `allvecs` appended (or `(xopt, allvecs)`).

    Examples:
        >>> np.round(fmin_ncg(rosen, [-1.2, 1.0], rosen_der, disp=0), 4)
        array([1., 1.])
    """
    options = {
        "xtol": avextol,
        "eps": epsilon,
        "maxiter": maxiter,
        "disp": disp,
        "return_all": retall,
        "c1": c1,
        "c2": c2,
    }
    x = np.asarray(x0, dtype=np.float64).ravel()
    if options["maxiter"] is None:
        options.pop("maxiter")
    if not isinstance(args, tuple):
        args = (args,)
    res = _minimize(
        "newton-cg",
        f,
        x,
        args,
        fprime,
        None,
        callback,
        options,
        hessians=(fhess, fhess_p),
    )
    if res.status == 99:  # scipy's fmin_ncg: a halting callback is warnflag 5
        res.status, res.message = 5, ""
    if full_output:
        output: tuple[Any, ...] = (
            res.x,
            res.fun,
            res.nfev,
            res.njev,
            res.nhev,
            res.status,
        )
        return (*output, res.allvecs) if retall else output
    return (res.x, res.allvecs) if retall else res.x


def approx_fprime(
    xk: Any, f: Callable[..., Any], epsilon: Any = _EPSILON, *args: Any
) -> Array:
    """Scipy's `approx_fprime`: forward differences with the absolute step `epsilon`.

    Args:
        xk: The point.
        f: `f(x, *args)`, a scalar or a vector.
        epsilon: The step, a scalar or one per coordinate.
        *args: Extra arguments of `f`.

    Returns:
        The gradient `(n,)` of a scalar `f`, or the Jacobian `(m, n)` of a
            vector one.

    Examples:
        >>> np.round(approx_fprime([1.0, 2.0], lambda x: x[0] ** 2 + x[1]), 5)
        array([2., 1.])
    """
    x = np.asarray(xk, dtype=np.float64)
    f0 = np.atleast_1d(np.asarray(f(x, *args), dtype=np.float64))
    h = _step(np.atleast_1d(x), "2-point", epsilon, None)
    flat = np.atleast_1d(x)
    columns = []
    for i in range(flat.size):
        point = flat.copy()
        point[i] += h[i]
        dx = point[i] - flat[i]
        value = np.atleast_1d(np.asarray(f(point.reshape(x.shape), *args), np.float64))
        columns.append((value - f0) / dx)
    jacobian = np.array(columns).T
    if f0.size == 1:
        return jacobian.ravel()
    return jacobian


def check_grad(
    func: Callable[..., Any],
    grad: Callable[..., Any],
    x0: Any,
    *args: Any,
    epsilon: Any = _EPSILON,
    direction: str = "all",
    rng: Any = None,
    seed: Any = None,
) -> float:
    """Scipy's `check_grad`: the 2-norm of `grad(x0)` minus a forward difference.

    Args:
        func: `func(x, *args)`.
        grad: Its claimed gradient.
        x0: The point.
        *args: Extra arguments.
        epsilon: The forward-difference step.
        direction: `"all"` (every coordinate) or `"random"` (one random
            direction, for a scalar `func`).
        rng: Seed or `numpy.random.Generator` for `"random"` (as
            `numpy.random.default_rng(rng)`).
        seed: scipy's legacy keyword: a `RandomState` seed.

    Returns:
        The error norm.

    Raises:
        ValueError: For another `direction`, or `"random"` with a vector `grad`.

    Examples:
        >>> error = check_grad(rosen, rosen_der, [-1.2, 1.0])
        >>> bool(error < 1e-4)
        True
    """
    x = np.asarray(x0)
    if direction == "random":
        analytic = np.asanyarray(grad(x, *args))
        if analytic.ndim > 1:
            raise ValueError("'random' can only be used with scalar valued func")
        generator: Any
        if seed is not None:
            generator = (
                seed
                if isinstance(seed, np.random.RandomState | np.random.Generator)
                else np.random.RandomState(seed)
            )
        else:
            generator = np.random.default_rng(rng)
        v = generator.standard_normal(size=x.shape)

        def along(w: Array) -> Any:
            return func(x + w * v, *args)

        estimate = approx_fprime(np.zeros((1,)), along, epsilon)
        return float(np.sqrt(np.sum(np.abs(np.dot(analytic, v) - estimate) ** 2)))
    if direction != "all":
        raise ValueError(
            f"{direction} is not a valid string for ``direction`` argument"
        )
    estimate = approx_fprime(x, func, epsilon, *args)
    return float(np.sqrt(np.sum(np.abs(np.asarray(grad(x, *args)) - estimate) ** 2)))

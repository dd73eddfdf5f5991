"""One-call helpers: `minimize` and `maximize`, with scipy's spellings too."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from optim._types import Array, ArrayLike
from optim.callbacks import Callback, CallbackLike, StopOnZeroGradient
from optim.gradients import (
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    GradientEstimator,
)
from optim.line_search_rules import LBFGS, ConjugateGradient
from optim.mode import Mode
from optim.objective import FunctionObjective, Objective, WithArguments
from optim.optimizer import Optimizer
from optim.projections import as_constraint
from optim.result import Result, Status, StepInfo, Stop
from optim.step_rules import FixedStep, StepRule

__all__ = ["METHODS", "maximize", "minimize"]

METHODS: Mapping[str, str] = {
    "l-bfgs-b": "L-BFGS with a strong Wolfe line search (LBFGS)",
    "bfgs": "L-BFGS (LBFGS): optim has no dense BFGS; L-BFGS with memory 10 agrees "
    "with it on smooth problems and needs O(n) memory",
    "cg": "nonlinear conjugate gradients, Polak-Ribiere+ (ConjugateGradient)",
    "gradient-descent": "the gradient method (FixedStep): needs "
    "options={'learning_rate': ...}",
    "gd": "the same as 'gradient-descent'",
}
"""The `method=` names `minimize` accepts (any case), and what each one runs."""

_JAC_SCHEMES: Mapping[str, Callable[[], GradientEstimator]] = {
    "2-point": ForwardDifference,
    "3-point": CentralDifference,
    "cs": ComplexStep,
}

_OPTIONS = ("maxiter", "gtol", "maxfun", "maxcor", "learning_rate", "disp")


def _rule(method: str | None, options: Mapping[str, Any]) -> StepRule[Any]:
    name = "l-bfgs-b" if method is None else method.lower()
    if name not in METHODS:
        names = ("L-BFGS-B", "BFGS", "CG", "gradient-descent", "GD")
        raise ValueError(
            f"method {method!r} is not one optim has; choose from "
            f"{', '.join(repr(name) for name in names)}"
        )
    if name in ("l-bfgs-b", "bfgs"):
        return LBFGS(memory=options.get("maxcor", 10))
    if name == "cg":
        return ConjugateGradient()
    if "learning_rate" not in options:
        raise ValueError(
            f"method {method!r} needs options={{'learning_rate': ...}} (the step size "
            "of the gradient method)"
        )
    return FixedStep(options["learning_rate"])


@attrs.frozen
class _ValueAndGradient(Objective):
    """An objective from a function returning `(value, gradient)` (`jac=True`)."""

    function: Callable[[Array], tuple[Any, Any]]

    @property
    def has_gradient(self) -> bool:
        return True

    def value(self, x: Array) -> float:
        return float(self.function(x)[0])

    def gradient(self, x: Array) -> Array:
        return np.asarray(self.function(x)[1], dtype=np.float64)

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        value, gradient = self.function(x)
        return value, gradient


def _objective(
    fun: Objective | Callable[..., Any],
    args: tuple[Any, ...],
    jac: Callable[..., Any] | bool | str | None,
    gradient: Callable[[Array], ArrayLike] | None,
) -> tuple[Objective | Callable[..., Any], GradientEstimator | None]:
    """The objective, and the estimator `jac` asks for (`None`: the default)."""
    if jac is not None and gradient is not None:
        raise ValueError("give the gradient as jac= or as gradient=, not both")
    if isinstance(fun, Objective):
        if args or jac not in (None, False) or gradient is not None:
            raise ValueError(
                "fun is already an Objective: args, jac and gradient must be left out"
            )
        return fun, None
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    function = WithArguments(fun, args) if args else fun
    if jac is True:
        return _ValueAndGradient(function), None
    if isinstance(jac, str):
        if jac not in _JAC_SCHEMES:
            raise ValueError(
                f"jac must be True, a function or one of {', '.join(_JAC_SCHEMES)}; "
                f"got {jac!r}"
            )
        return FunctionObjective(function), _JAC_SCHEMES[jac]()
    if jac is not None and jac is not False and not callable(jac):
        raise TypeError(f"jac must be True, a function or a string, got {jac!r}")
    if gradient is not None:
        return FunctionObjective(function, gradient), None
    if callable(jac):
        return FunctionObjective(
            function, WithArguments(jac, args) if args else jac
        ), None
    return FunctionObjective(function), None


@attrs.frozen
class _Intermediate:
    """What a scipy-style `callback(intermediate_result)` is given."""

    x: Array
    fun: float
    jac: Array
    nit: int


@attrs.define
class _ScipyCallback(Callback):
    """scipy's `callback`: `callback(xk)` or `callback(intermediate_result)`.

    It stops the run when it returns `True` or raises `StopIteration`, as in scipy.
    """

    function: Callable[..., Any]
    by_name: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        try:
            parameters = inspect.signature(self.function).parameters
        except (TypeError, ValueError):  # builtins without a signature
            parameters = {}  # type: ignore[assignment]
        self.by_name = set(parameters) == {"intermediate_result"}  # scipy's rule

    def on_step(self, info: StepInfo) -> Stop | None:
        if info.step == 0:
            return None  # scipy calls it after each iteration
        try:
            if self.by_name:
                answer = self.function(
                    intermediate_result=_Intermediate(
                        info.x.copy(), info.value, info.gradient.copy(), info.step
                    )
                )
            else:
                answer = self.function(info.x.copy())
        except StopIteration:
            answer = True
        if answer is True:
            return Stop(Status.STOPPED, f"stopped by callback at step {info.step}")
        return None


def _scipy_warnings(method: str | None, keywords: Mapping[str, Any]) -> None:
    """Scipy's warnings for what a gradient method ignores: Hessians, constraints."""
    if keywords["hess"] is not None:
        warnings.warn(
            f"Method {method} does not use Hessian information (hess).",
            RuntimeWarning,
            stacklevel=4,
        )
    if keywords["hessp"] is not None:
        warnings.warn(
            f"Method {method} does not use Hessian-vector product information (hessp).",
            RuntimeWarning,
            stacklevel=4,
        )
    constraints = keywords["constraints"]
    if constraints is not None and (
        isinstance(constraints, Mapping) or len(constraints) > 0
    ):
        warnings.warn(
            f"Method {method} cannot handle constraints.", RuntimeWarning, stacklevel=4
        )


def _optimize(
    mode: Mode,
    fun: Objective | Callable[..., Any],
    x0: ArrayLike,
    args: Any,
    method: str | None,
    jac: Callable[..., Any] | bool | str | None,
    **keywords: Any,
) -> Result:
    _scipy_warnings(method, keywords)
    if not isinstance(args, tuple):
        args = (args,)  # scipy: a non-tuple is one argument
    options = dict(keywords.pop("options") or {})
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(
            f"options {unknown} are not ones optim has; it takes {', '.join(_OPTIONS)}"
        )
    if options.get("disp"):
        raise ValueError("options={'disp': True}: optim never prints; use LogProgress")
    step_rule = keywords["step_rule"]
    if step_rule is not None and method is not None:
        raise ValueError("give method= or step_rule=, not both")
    objective, estimator = _objective(fun, tuple(args), jac, keywords["gradient"])
    if keywords["estimator"] is not None:
        if estimator is not None:
            raise ValueError("give jac='2-point'-style schemes or estimator=, not both")
        estimator = keywords["estimator"]
    tol = keywords["tol"]
    callbacks: list[CallbackLike] = [
        StopOnZeroGradient(options.get("gtol", 1e-6 if tol is None else tol)),
        *keywords["callbacks"],
    ]
    if keywords["callback"] is not None:
        callbacks.append(_ScipyCallback(keywords["callback"]))
    optimizer = Optimizer(
        objective,
        step_rule=_rule(method, options) if step_rule is None else step_rule,
        estimator=estimator,
        mode=mode,
        callbacks=callbacks,
        max_steps=math.ceil(options.get("maxiter", keywords["max_steps"])),
        max_evaluations=options.get("maxfun"),
        constraint=as_constraint(keywords["bounds"], x0),
    )
    return optimizer.run(x0)


def minimize(
    fun: Objective | Callable[..., Any],
    x0: ArrayLike,
    args: Any = (),
    method: str | None = None,
    jac: Callable[..., Any] | bool | str | None = None,
    hess: Any = None,
    hessp: Any = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable[[Any], Any] | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    gradient: Callable[[Array], ArrayLike] | None = None,
    step_rule: StepRule[Any] | None = None,
    estimator: GradientEstimator | None = None,
    callbacks: Iterable[CallbackLike] = (),
    max_steps: int = 1000,
) -> Result:
    """Minimize `fun` from `x0`, stopping when the gradient norm is at most `tol`.

    A shortcut for [`Optimizer`][optim.optimizer.Optimizer] with a
    [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient] test, that also
    takes `scipy.optimize.minimize`'s spellings and argument order for what optim
    has, so a scipy call runs unchanged (for scipy's result type and status codes
    too, use [`optim.scipy.minimize`][optim.scipy.minimize]): `args`, `method` (see
    [`METHODS`][optim.convenience.METHODS]), `jac`, `tol`, `callback` and
    `options` (`maxiter`, `gtol`, `maxfun`, `maxcor`, `learning_rate`). The
    [`Result`][optim.result.Result] answers scipy's field names too (`fun`, `jac`,
    `nit`, `nfev`, `njev`, `success`, `message`). See "Coming from scipy" in the
    docs.

    Args:
        fun: An [`Objective`][optim.objective.Objective] or a function
            `fun(x, *args)`.
        x0: Starting point; never modified.
        args: Extra arguments passed to `fun` and `jac` (a non-tuple is one
            argument, as in scipy).
        method: `"L-BFGS-B"` (the default), `"BFGS"`, `"CG"` or
            `"gradient-descent"` (`"GD"`), any case; others are refused with the
            list of names.
        jac: The gradient: a function `jac(x, *args)`; `True` if `fun` returns
            `(value, gradient)`; `"2-point"`, `"3-point"` or `"cs"` for forward,
            central or complex-step differences; `None` for the default (central
            differences).
        hess: Ignored with scipy's `RuntimeWarning` (a gradient method).
        hessp: Ignored with scipy's `RuntimeWarning`.
        bounds: A [`Projection`][optim.projections.Projection] (such as
            [`Bounds`][optim.projections.Bounds]), or bounds in scipy's forms: a
            sequence of `(low, high)` pairs with `None` for an unbounded side, or
            an object with `lb` and `ub` such as `scipy.optimize.Bounds` (see
            [`as_constraint`][optim.projections.as_constraint]). With a box, the
            default `LBFGS` is box-constrained L-BFGS, like scipy's L-BFGS-B.
        constraints: Ignored with scipy's `RuntimeWarning` unless empty (`()`,
            `[]` or `None`); use `bounds` or a projection.
        tol: Gradient-norm tolerance for convergence (default `1e-6`; of the
            projected gradient, with bounds).
        callback: Called after each step with a copy of `x` (`callback(xk)`), or
            with an object holding `x`, `fun`, `jac` and `nit` if its only
            parameter is named `intermediate_result` (scipy's rule); returning
            `True` or raising `StopIteration` stops the run (status `STOPPED`).
        options: scipy's options that optim has: `maxiter` (most steps), `gtol`
            (as `tol`), `maxfun` (most objective evaluations), `maxcor` (L-BFGS
            memory), `learning_rate` (for the gradient method).
        gradient: The gradient of a plain `fun` (the same as a function `jac`).
        step_rule: A step rule instead of `method`.
        estimator: A gradient estimator instead of `jac`'s schemes.
        callbacks: Extra optim callbacks, run after the gradient test.
        max_steps: Most updates (`options["maxiter"]` wins).

    Returns:
        The run's [`Result`][optim.result.Result].

    Raises:
        ValueError: For a method, `jac` string or option optim does not have
            (listing the ones it has), or conflicting arguments.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep
        >>> result = minimize(
        ...     lambda x: (x[0] - 1) ** 2 + 4 * x[1] ** 2,
        ...     [0.0, 1.0],
        ...     step_rule=FixedStep(0.1),
        ... )
        >>> result.status.name, np.round(result.x, 5)
        ('CONVERGED', array([1., 0.]))

        A scipy call, unchanged:

        >>> def f(x, a):
        ...     return (x[0] - a) ** 2 + (x[1] + 1) ** 2
        >>> def df(x, a):
        ...     return np.array([2 * (x[0] - a), 2 * (x[1] + 1)])
        >>> result = minimize(f, [0.0, 0.0], args=(3.0,), method="BFGS", jac=df)
        >>> result.success, np.round(result.x, 6), result.nit > 0
        (True, array([ 3., -1.]), True)

        With bounds, in scipy's form:

        >>> result = minimize(
        ...     f, [0.0, 0.0], args=(3.0,), jac=df, bounds=[(None, 0.5), (0.25, None)]
        ... )
        >>> result.status.name, result.x
        ('CONVERGED', array([0.5 , 0.25]))
    """
    return _optimize(
        Mode.DESCENT,
        fun,
        x0,
        args,
        method,
        jac,
        hess=hess,
        hessp=hessp,
        constraints=constraints,
        bounds=bounds,
        tol=tol,
        callback=callback,
        options=options,
        gradient=gradient,
        step_rule=step_rule,
        estimator=estimator,
        callbacks=callbacks,
        max_steps=max_steps,
    )


def maximize(
    fun: Objective | Callable[..., Any],
    x0: ArrayLike,
    args: Any = (),
    method: str | None = None,
    jac: Callable[..., Any] | bool | str | None = None,
    hess: Any = None,
    hessp: Any = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable[[Any], Any] | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    gradient: Callable[[Array], ArrayLike] | None = None,
    step_rule: StepRule[Any] | None = None,
    estimator: GradientEstimator | None = None,
    callbacks: Iterable[CallbackLike] = (),
    max_steps: int = 1000,
) -> Result:
    """Maximize `fun` from `x0`, stopping when the gradient norm is at most `tol`.

    The same as [`minimize`][optim.convenience.minimize], whose arguments it takes,
    with `mode="ascent"`: the result's values are `fun`'s own, not negated.

    Returns:
        The run's [`Result`][optim.result.Result].

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep
        >>> result = maximize(
        ...     lambda x: -((x[0] - 1) ** 2) - (x[1] + 2) ** 2,
        ...     [0, 0],
        ...     gradient=lambda x: np.array([-2 * (x[0] - 1), -2 * (x[1] + 2)]),
        ...     step_rule=FixedStep(0.1),
        ... )
        >>> np.round(result.x, 5)
        array([ 1., -2.])
    """
    return _optimize(
        Mode.ASCENT,
        fun,
        x0,
        args,
        method,
        jac,
        hess=hess,
        hessp=hessp,
        constraints=constraints,
        bounds=bounds,
        tol=tol,
        callback=callback,
        options=options,
        gradient=gradient,
        step_rule=step_rule,
        estimator=estimator,
        callbacks=callbacks,
        max_steps=max_steps,
    )

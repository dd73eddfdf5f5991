"""One-call helpers: `minimize` and `maximize`."""

from collections.abc import Callable, Iterable
from typing import Any

from optim._types import Array, ArrayLike
from optim.callbacks import CallbackLike, StopOnZeroGradient
from optim.gradients import GradientEstimator
from optim.line_search_rules import LBFGS
from optim.mode import Mode
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer
from optim.result import Result
from optim.step_rules import StepRule


def _optimize(
    fun: Objective | Callable[[Array], Any],
    x0: ArrayLike,
    mode: Mode,
    gradient: Callable[[Array], ArrayLike] | None,
    step_rule: StepRule[Any] | None,
    estimator: GradientEstimator | None,
    callbacks: Iterable[CallbackLike],
    max_steps: int,
    tol: float,
) -> Result:
    if gradient is not None:
        if isinstance(fun, Objective):
            raise ValueError("gradient must be None when fun is already an Objective")
        fun = FunctionObjective(fun, gradient)
    optimizer = Optimizer(
        fun,
        step_rule=LBFGS() if step_rule is None else step_rule,
        estimator=estimator,
        mode=mode,
        callbacks=(StopOnZeroGradient(tol), *callbacks),
        max_steps=max_steps,
    )
    return optimizer.run(x0)


def minimize(
    fun: Objective | Callable[[Array], Any],
    x0: ArrayLike,
    *,
    gradient: Callable[[Array], ArrayLike] | None = None,
    step_rule: StepRule[Any] | None = None,
    estimator: GradientEstimator | None = None,
    callbacks: Iterable[CallbackLike] = (),
    max_steps: int = 1000,
    tol: float = 1e-6,
) -> Result:
    """Minimize `fun` from `x0`, stopping when the gradient norm is at most `tol`.

    A shortcut for [`Optimizer`][optim.optimizer.Optimizer] with a
    [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient] callback.

    Args:
        fun: An [`Objective`][optim.objective.Objective] or a plain function.
        x0: Starting point; never modified.
        gradient: The gradient of a plain `fun`, if known.
        step_rule: Defaults to [`LBFGS`][optim.line_search_rules.LBFGS], which needs
            no learning rate (like scipy's `minimize`).
        estimator: Defaults to the analytic gradient if there is one, else
            central differences.
        callbacks: Extra callbacks, run after the gradient test.
        max_steps: Most updates.
        tol: Gradient-norm tolerance for convergence.

    Returns:
        The run's [`Result`][optim.result.Result].

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
    """
    return _optimize(
        fun, x0, Mode.DESCENT, gradient, step_rule, estimator, callbacks, max_steps, tol
    )


def maximize(
    fun: Objective | Callable[[Array], Any],
    x0: ArrayLike,
    *,
    gradient: Callable[[Array], ArrayLike] | None = None,
    step_rule: StepRule[Any] | None = None,
    estimator: GradientEstimator | None = None,
    callbacks: Iterable[CallbackLike] = (),
    max_steps: int = 1000,
    tol: float = 1e-6,
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
        fun, x0, Mode.ASCENT, gradient, step_rule, estimator, callbacks, max_steps, tol
    )

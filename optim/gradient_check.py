"""`check_gradient`: compare an analytic gradient with a numerical estimate."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from optim._arrays import as_start_point, check_gradient_shape
from optim._types import Array, ArrayLike
from optim.gradients import GradientEstimator, Richardson
from optim.objective import FunctionObjective, Objective

_array_eq = attrs.cmp_using(eq=np.array_equal)


def _optional_array_eq(a: Array | None, b: Array | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.array_equal(a, b))


@attrs.frozen(kw_only=True)
class GradientCheck:
    """What [`check_gradient`][optim.gradient_check.check_gradient] found.

    Every array is shaped like `x`, so `worst` indexes all of them.

    Examples:
        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> wrong = FunctionObjective(
        ...     lambda x: x[0] ** 2 + 3 * x[1], gradient=lambda x: [2 * x[0], 2.0]
        ... )
        >>> check = check_gradient(wrong, [1.0, 1.0])
        >>> check.passed, check.worst
        (False, (1,))
        >>> np.round(check.absolute_error, 6)
        array([0., 1.])
    """

    x: Array = attrs.field(eq=_array_eq)
    """The point checked."""
    gradient: Array = attrs.field(eq=_array_eq)
    """The analytic gradient under test."""
    estimate: Array = attrs.field(eq=_array_eq)
    """The finite-difference (or other numerical) estimate."""
    estimate_error: Array | None = attrs.field(
        eq=attrs.cmp_using(eq=_optional_array_eq)
    )
    """The estimator's own error estimate, or `None` if it gives none."""
    absolute_error: Array = attrs.field(eq=_array_eq)
    """`|gradient - estimate|` per coordinate."""
    relative_error: Array = attrs.field(eq=_array_eq)
    """`absolute_error / max(|gradient|, |estimate|)` per coordinate (`0` where
    both are zero)."""
    tolerance: Array = attrs.field(eq=_array_eq)
    """Allowed absolute error per coordinate:
    `atol + rtol * |estimate| + estimate_error`."""
    worst: tuple[int, ...]
    """Index of the coordinate with the largest `absolute_error / tolerance`."""
    passed: bool
    """Whether every coordinate is within its tolerance."""

    def summary(self, rows: int = 10) -> str:
        """Describe the verdict and the worst coordinates, for people.

        Args:
            rows: How many coordinates to list, worst first.

        Returns:
            A multi-line text.

        Examples:
            >>> from optim.problems import Sphere
            >>> print(check_gradient(Sphere(), [1.0, 2.0]).summary())
            passed: largest error 0 ... at index (0,)
            index   gradient   estimate  abs error  rel error
            (0,)           2          2        ...
            (1,)           4          4        ...
        """
        ratio = _ratio(self.absolute_error, self.tolerance).reshape(-1)
        order = np.argsort(-ratio, kind="stable")[:rows]
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"{verdict}: largest error {self.absolute_error[self.worst]:.3g} "
            f"(tolerance {self.tolerance[self.worst]:.3g}) at index {self.worst}",
            f"{'index':<7}{'gradient':>11}{'estimate':>11}{'abs error':>11}"
            f"{'rel error':>11}",
        ]
        for flat_index in order:
            index = tuple(int(i) for i in np.unravel_index(flat_index, self.x.shape))
            lines.append(
                f"{index!s:<7}{self.gradient[index]:>11.6g}"
                f"{self.estimate[index]:>11.6g}{self.absolute_error[index]:>11.3g}"
                f"{self.relative_error[index]:>11.3g}"
            )
        return "\n".join(lines)


def _ratio(error: Array, tolerance: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error == 0.0, 0.0, error / tolerance)
    return np.asarray(ratio, dtype=np.float64)


def check_gradient(
    objective: Objective | Callable[[Array], Any],
    x: ArrayLike,
    *,
    gradient: Callable[[Array], ArrayLike] | None = None,
    estimator: GradientEstimator | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> GradientCheck:
    """Compare an objective's analytic gradient with a numerical estimate at `x`.

    Like `scipy.optimize.check_grad`, but instead of one norm it reports each
    coordinate's absolute and relative error, the worst coordinate and a verdict,
    so a wrong component can be found. A coordinate passes when
    `|gradient - estimate| <= atol + rtol * |estimate| + estimate_error`, where
    `estimate_error` is the estimator's own error estimate (zero if it has none).

    Args:
        objective: An [`Objective`][optim.objective.Objective] with a gradient, or
            a plain function together with `gradient`.
        x: The point, an array of any shape; never modified.
        gradient: The gradient function to check, if `objective` is a plain
            function (or to check it instead of the objective's own).
        estimator: How to estimate the reference gradient; default
            [`Richardson()`][optim.gradients.Richardson], accurate to about
            `1e-11` on smooth functions and with an error estimate.
        rtol: Relative tolerance.
        atol: Absolute tolerance.

    Returns:
        The per-coordinate report.

    Raises:
        ValueError: If there is no gradient to check, `x` is empty or not finite,
            or a tolerance is negative.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> check_gradient(Sphere(), np.array([3.0, 2.0])).passed
        True
        >>> check = check_gradient(
        ...     lambda x: np.sum(x**3), [1.0, 2.0], gradient=lambda x: 3 * x
        ... )
        >>> check.passed, check.worst, np.round(check.relative_error, 3)
        (False, (1,), array([0. , 0.5]))
    """
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (math.isfinite(tol) and tol >= 0.0):
            raise ValueError(f"{name} must be finite and >= 0, got {tol!r}")
    point = as_start_point(x, name="x")
    if gradient is not None:
        fun = objective.value if isinstance(objective, Objective) else objective
        objective = FunctionObjective(fun, gradient)
    elif not isinstance(objective, Objective):
        objective = FunctionObjective(objective)
    if not objective.has_gradient:
        raise ValueError(
            f"the objective {type(objective).__name__} has no analytic gradient to "
            "check; pass gradient=..."
        )
    analytic = check_gradient_shape(objective.gradient(point), point, name="gradient")
    if estimator is None:
        estimator = Richardson()
    estimate, estimate_error = estimator.estimate_with_error(objective, point)
    absolute = np.abs(analytic - estimate)
    scale = np.maximum(np.abs(analytic), np.abs(estimate))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(scale == 0.0, 0.0, absolute / scale)
    tolerance = atol + rtol * np.abs(estimate)
    if estimate_error is not None:
        tolerance = tolerance + estimate_error
    ratio = _ratio(absolute, tolerance)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(ratio), point.shape))
    return GradientCheck(
        x=point,
        gradient=analytic,
        estimate=estimate,
        estimate_error=estimate_error,
        absolute_error=absolute,
        relative_error=np.asarray(relative, dtype=np.float64),
        tolerance=tolerance,
        worst=worst,
        passed=bool(np.all(absolute <= tolerance)),
    )

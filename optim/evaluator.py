"""Counted access to the objective, in the minimization convention, for step rules."""

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import numpy.typing as npt

from optim._arrays import (
    as_float_array,
    as_scalar,
    check_gradient_shape,
    checked_values,
)
from optim._types import Array, override
from optim.gradients import GradientEstimator
from optim.mode import Mode
from optim.objective import Objective


class _Counted(Objective):
    """Forward to an objective, counting calls and checking what comes back."""

    __slots__ = ("evaluations", "gradient_evaluations", "objective")

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.evaluations = 0
        self.gradient_evaluations = 0

    @property
    @override
    def has_gradient(self) -> bool:
        return self.objective.has_gradient

    @override
    def value(self, x: Array) -> float:
        self.evaluations += 1
        return as_scalar(self.objective.value(x))

    @override
    def values(self, xs: Array) -> Array:
        self.evaluations += len(xs)
        values: Array = checked_values(
            self.objective.values(xs), xs, name="objective values"
        )
        return values

    @override
    def map_values(
        self,
        batches: Sequence[npt.NDArray[Any]],
        executor: Executor | None = None,
    ) -> list[npt.NDArray[Any]]:
        # Count here, in the optimizer's process, then let the wrapped objective
        # dispatch: a pickled copy of this wrapper would count on the workers.
        self.evaluations += sum(len(batch) for batch in batches)
        results = self.objective.map_values(batches, executor)
        if len(results) != len(batches):
            raise ValueError(
                f"map_values must return one array per batch ({len(batches)}), "
                f"got {len(results)}"
            )
        return [
            checked_values(values, batch, name="objective values")
            for batch, values in zip(batches, results, strict=True)
        ]

    @override
    def gradient(self, x: Array) -> Array:
        self.gradient_evaluations += 1
        return check_gradient_shape(self.objective.gradient(x), x, name="gradient")

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        self.evaluations += 1
        self.gradient_evaluations += 1
        value, gradient = self.objective.value_and_gradient(x)
        return as_scalar(value), check_gradient_shape(gradient, x, name="gradient")


class Evaluator:
    """What a step rule uses to evaluate trial points: counted, and always minimizing.

    The optimizer hands one to [`StepRule.update`][optim.step_rules.StepRule.update].
    Values and gradients come back in the *descent* convention: in
    [`Mode.ASCENT`][optim.mode.Mode.ASCENT] they are those of $-f$, so a rule (a line
    search, say) is written once, for minimization. Gradients come from the
    optimizer's [`GradientEstimator`][optim.gradients.GradientEstimator], and every
    call is counted in the run's [`Result`][optim.result.Result].

    This class is the only place where the mode's sign is applied.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.ASCENT)
        >>> evaluator.value_and_gradient(np.array([1.0, 2.0]))
        (-5.0, array([-2., -4.]))
        >>> evaluator.evaluations, evaluator.gradient_evaluations
        (1, 1)
    """

    __slots__ = ("_counted", "_estimator", "_memo", "_sign")

    def __init__(
        self, objective: Objective, estimator: GradientEstimator, mode: Mode
    ) -> None:
        self._counted = _Counted(objective)
        self._estimator = estimator
        self._sign = mode.sign
        self._memo: tuple[Array, float, Array, Array | None] | None = None

    @property
    def evaluations(self) -> int:
        """Objective value calls so far (finite-difference points included)."""
        return self._counted.evaluations

    @property
    def gradient_evaluations(self) -> int:
        """Analytic gradient calls so far."""
        return self._counted.gradient_evaluations

    def value(self, x: Array) -> float:
        """Return the value to minimize at `x`: $f(x)$, or $-f(x)$ in ascent."""
        return self._sign * self._counted.value(as_float_array(x))

    def gradient(self, x: Array) -> Array:
        """Return the gradient of the function being minimized at `x`."""
        gradient, _ = self._estimator.estimate_with_error(
            self._counted, as_float_array(x)
        )
        return self._orient_gradient(gradient)

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        """Return the value and gradient of the function being minimized at `x`.

        The optimizer reuses this evaluation if the rule's update moves to `x`.
        """
        x = as_float_array(x)
        value, gradient, error = self._estimator.value_and_estimate(self._counted, x)
        self._memo = (x, value, gradient, error)
        return self._sign * value, self._orient_gradient(gradient)

    def _orient_gradient(self, gradient: Array) -> Array:
        return gradient if self._sign == 1.0 else -gradient

    def _orient_value(self, value: float) -> float:
        """Turn the user's value into that of the function minimized."""
        return self._sign * value

    def _orient(self, value: float, gradient: Array) -> tuple[float, Array]:
        """Turn the user's value and gradient into those of the function minimized."""
        return self._sign * value, self._orient_gradient(gradient)

    def _evaluate(self, x: Array) -> tuple[float, Array, Array | None]:
        """Value, gradient and error at an iterate, in the user's sign (optimizer only).

        Reuses the rule's last trial evaluation when it was at exactly this point.
        """
        memo, self._memo = self._memo, None
        if memo is not None and np.array_equal(memo[0], x):
            return memo[1], memo[2], memo[3]
        return self._estimator.value_and_estimate(self._counted, x)

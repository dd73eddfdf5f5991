"""The evaluation protocol: what step rules and line searches may ask of a run.

A rule or a search never sees the objective, the gradient estimator or the mode:
it sees a [`TrialEvaluator`][optim.evaluation.TrialEvaluator], which evaluates
trial points of the function being *minimized* ($f$ in descent, $-f$ in ascent),
counts every call in the run's totals, and remembers the last trial so that the
optimizer never evaluates an accepted trial point twice. The run's
[`Evaluator`][optim.evaluator.Evaluator] is the one implementation; tests may pass
any object with these methods.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from optim._types import Array

__all__ = ["TrialEvaluator"]


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

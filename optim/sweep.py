"""Learning-rate sweeps: the same problem and rule at several learning rates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from optim._types import ArrayLike
from optim.callbacks import StopOnZeroGradient
from optim.gradients import GradientEstimator
from optim.history import History
from optim.objective import Objective
from optim.optimizer import Optimizer
from optim.result import Result
from optim.step_rules import FixedStep, StepRule


@attrs.frozen
class SweepRun:
    """One learning rate of a sweep: the rate, the result and the path.

    Examples:
        >>> from optim.problems import Sphere
        >>> run = sweep_learning_rates(Sphere(), [3.0, 2.0], [0.1])[0]
        >>> run.learning_rate, run.result.outcome, len(run.history)
        (0.1, 'converged', 93)
    """

    learning_rate: float
    """The learning rate."""
    result: Result
    """How the run ended."""
    history: History = attrs.field(eq=False)
    """Its path, for plots."""


def sweep_learning_rates(
    objective: Objective | Callable[..., Any],
    x0: ArrayLike,
    learning_rates: Iterable[float],
    *,
    rule: Callable[[float], StepRule[Any]] = FixedStep,
    estimator: GradientEstimator | None = None,
    max_steps: int = 100,
    tol: float = 1e-8,
    mode: str = "descent",
) -> list[SweepRun]:
    """Run the same problem from the same start at each learning rate.

    The textbook's lesson in one call: tabulate each run's
    [`outcome`][optim.result.Result.outcome] (converged, oscillating, stalled or
    diverged) or plot the paths with [`optim.plot.plot_sweep`][optim.plot.plot_sweep].

    Args:
        objective: What to optimize.
        x0: The common starting point.
        learning_rates: The rates to try.
        rule: Makes a step rule from a learning rate (default
            [`FixedStep`][optim.step_rules.FixedStep]).
        estimator: The gradient estimator (default: as in
            [`Optimizer`][optim.optimizer.Optimizer]).
        max_steps: Most steps per run.
        tol: Gradient-norm tolerance for convergence.
        mode: `"descent"` or `"ascent"`.

    Returns:
        One [`SweepRun`][optim.sweep.SweepRun] per rate, in the given order.

    Examples:
        >>> from optim.problems import Sphere
        >>> runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])
        >>> [(run.learning_rate, run.result.outcome) for run in runs]
        [(1.0, 'oscillating'), (0.1, 'converged'), (1e-06, 'stalled')]
    """
    runs = []
    for rate in learning_rates:
        history = History()
        optimizer = Optimizer(
            objective,
            step_rule=rule(rate),
            estimator=estimator,
            mode=mode,
            callbacks=[StopOnZeroGradient(tol), history],
            max_steps=max_steps,
        )
        runs.append(SweepRun(float(rate), optimizer.run(x0), history))
    return runs


def format_sweep(runs: Sequence[SweepRun]) -> str:
    """Format a sweep as a table: rate, outcome, steps, final value, gradient norm.

    Args:
        runs: What [`sweep_learning_rates`][optim.sweep.sweep_learning_rates] returns.

    Returns:
        The table, ready to print.

    Examples:
        >>> from optim.problems import Sphere
        >>> print(format_sweep(sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0])))
        rate      outcome        steps         value  gradient norm
        1         oscillating      100            13           7.21
    """
    lines = [f"{'rate':<9} {'outcome':<12} {'steps':>7} {'value':>13}  gradient norm"]
    for run in runs:
        result = run.result
        lines.append(
            f"{run.learning_rate:<9g} {result.outcome:<12} {result.steps:>7} "
            f"{result.value:>13.6g} {result.gradient_norm:>14.3g}"
        )
    return "\n".join(lines)

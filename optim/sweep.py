"""Learning-rate sweeps: the same problem and rule at several learning rates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

import attrs

from optim._arrays import as_start_point
from optim._types import Array, ArrayLike
from optim.callbacks import StopOnZeroGradient
from optim.errors import OptimizationError
from optim.gradients import GradientEstimator
from optim.history import History
from optim.multistart import _failed, map_runs
from optim.objective import Objective, _check_sendable
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
    executor: Executor | None = None,
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
        executor: Where to run the rates (any `concurrent.futures.Executor`, Dask's
            included; `None`: here, one after another). The runs are the same bit
            for bit wherever they run; one that fails is reported in its result.

    Returns:
        One [`SweepRun`][optim.sweep.SweepRun] per rate, in the given order.

    Examples:
        >>> from optim.problems import Sphere
        >>> runs = sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])
        >>> [(run.learning_rate, run.result.outcome) for run in runs]
        [(1.0, 'oscillating'), (0.1, 'converged'), (1e-06, 'stalled')]
    """
    start = as_start_point(x0)
    learning_rates = list(learning_rates)
    optimizers = [
        Optimizer(
            objective,
            step_rule=rule(rate),
            estimator=estimator,
            mode=mode,
            callbacks=[StopOnZeroGradient(tol), History()],
            max_steps=max_steps,
        )
        for rate in learning_rates
    ]
    if executor is not None and optimizers:
        _check_sendable(optimizers[0].objective, executor)
    pairs = map_runs(
        _RunWithHistory(start),
        optimizers,
        executor=executor,
        failed=lambda optimizer, error: (_failed(optimizer.mode, start, error), None),
    )
    return [
        SweepRun(
            float(rate),
            result,
            optimizer.callbacks[-1] if history is None else history,  # type: ignore[arg-type]
        )
        for rate, optimizer, (result, history) in zip(
            learning_rates, optimizers, pairs, strict=True
        )
    ]


class _RunWithHistory:
    """Run an optimizer from `start`; return its result and its History.

    A worker in another process records into its own copy of the History, so the
    copy travels back with the result.
    """

    def __init__(self, start: Array) -> None:
        self.start = start

    def __call__(self, optimizer: Optimizer) -> tuple[Result, History | None]:
        history = optimizer.callbacks[-1]
        assert isinstance(history, History)
        try:
            return optimizer.run(self.start), history
        except OptimizationError as error:
            return error.result, history


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
        1         oscillating       20            13           7.21
    """
    lines = [f"{'rate':<9} {'outcome':<12} {'steps':>7} {'value':>13}  gradient norm"]
    for run in runs:
        result = run.result
        lines.append(
            f"{run.learning_rate:<9g} {result.outcome:<12} {result.steps:>7} "
            f"{result.value:>13.6g} {result.gradient_norm:>14.3g}"
        )
    return "\n".join(lines)

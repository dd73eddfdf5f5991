"""A learning-rate range test: try rates on a log grid, suggest one that works."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from optim._arrays import as_start_point
from optim._types import Array, ArrayLike
from optim.gradients import GradientEstimator
from optim.mode import Mode, to_mode
from optim.objective import Objective
from optim.optimizer import Optimizer
from optim.result import Status
from optim.step_rules import FixedStep, StepRule

__all__ = ["LearningRateFinderResult", "find_learning_rate"]

_logger = logging.getLogger("optim")

_array_eq = attrs.cmp_using(eq=np.array_equal)


@attrs.frozen(kw_only=True)
class LearningRateFinderResult:
    """The curve a learning-rate range test measured, and the rate it suggests.

    Examples:
        >>> from optim.problems import Sphere
        >>> found = find_learning_rate(Sphere(), [-3.0, 4.0], num=5)
        >>> found.rates.shape, found.losses.shape
        ((5,), (5,))
    """

    rates: Array = attrs.field(eq=_array_eq)
    """The learning rates tried, increasing."""

    losses: Array = attrs.field(eq=_array_eq)
    """The value of the minimized function after `steps` updates at each rate
    (the objective in descent, its negative in ascent; `inf` if the run
    diverged)."""

    start_loss: float
    """The minimized function's value at `x0`."""

    best_rate: float
    """The rate with the lowest loss."""

    suggested: float
    """The suggestion: `best_rate / safety`, a rate comfortably below the edge of
    instability."""


def find_learning_rate(
    objective: Objective | Callable[[Array], Any],
    x0: ArrayLike,
    *,
    min_rate: float = 1e-6,
    max_rate: float = 10.0,
    num: int = 29,
    steps: int = 5,
    safety: float = 2.0,
    make_rule: Callable[[float], StepRule[Any]] = FixedStep,
    estimator: GradientEstimator | None = None,
    mode: Mode | str = Mode.DESCENT,
) -> LearningRateFinderResult:
    r"""Run a learning-rate range test and suggest a rate.

    For each of `num` rates spaced geometrically from `min_rate` to `max_rate`,
    run `steps` updates of `make_rule(rate)` from `x0` (each run starts afresh:
    on a deterministic objective this is Smith's range test without the noise)
    and record the final value of the minimized function. Too small a rate barely
    moves, too large a one oscillates or diverges; the rate with the lowest final
    value (`best_rate`) sits just below the edge of instability, and the
    suggestion is `best_rate / safety`. If no rate improves on `x0`, a warning is
    logged to the `"optim"` logger. Costs at most `num * (steps + 1)`
    evaluations.

    Args:
        objective: The function to minimize (or maximize, with `mode="ascent"`);
            a plain function is accepted, as by
            [`Optimizer`][optim.optimizer.Optimizer].
        x0: The starting point (copied, never modified).
        min_rate: The smallest rate tried, positive.
        max_rate: The largest rate tried, above `min_rate`.
        num: Number of rates, at least 2.
        steps: Updates per rate, at least 1.
        safety: Divisor from the best rate to the suggestion, at least 1.
        make_rule: Builds the step rule for a rate (default
            [`FixedStep`][optim.step_rules.FixedStep]).
        estimator: Gradient estimator, as in
            [`Optimizer`][optim.optimizer.Optimizer].
        mode: `"descent"` or `"ascent"`.

    Returns:
        The measured curve and the suggested rate.

    Raises:
        ValueError: If an argument is out of range (the message names it).

    References:
        Smith, "Cyclical learning rates for training neural networks", WACV 2017.

    Examples:
        On the textbook's sphere, $\eta = 1$ oscillates between $\pm x$ and
        $\eta = 10^{-6}$ stalls; the range test suggests a rate that works:

        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> found = find_learning_rate(Sphere(), [-3.0, 4.0])
        >>> 0.01 < found.suggested < 1.0
        True
        >>> round(found.suggested, 3)
        0.281
        >>> for rate in (1.0, 1e-6, found.suggested):
        ...     optimizer = Optimizer(
        ...         Sphere(), step_rule=FixedStep(rate), max_steps=100
        ...     )
        ...     print(f"{rate:.3g}: f = {optimizer.run([-3.0, 4.0]).value:.3g}")
        1: f = 25
        1e-06: f = 25
        0.281: f = 4.22e-71
    """
    if not (math.isfinite(min_rate) and min_rate > 0):
        raise ValueError(f"min_rate must be finite and > 0, got {min_rate!r}")
    if not (math.isfinite(max_rate) and max_rate > min_rate):
        raise ValueError(f"max_rate must be finite and > min_rate, got {max_rate!r}")
    if num < 2:
        raise ValueError(f"num must be >= 2, got {num!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps!r}")
    if not (math.isfinite(safety) and safety >= 1.0):
        raise ValueError(f"safety must be finite and >= 1, got {safety!r}")
    mode = to_mode(mode)
    start = as_start_point(x0)
    rates = np.geomspace(min_rate, max_rate, num)
    losses = np.empty(num)
    for i, rate in enumerate(rates):
        optimizer = Optimizer(
            objective,
            step_rule=make_rule(float(rate)),
            estimator=estimator,
            mode=mode,
            max_steps=steps,
        )
        result = optimizer.run(start)
        loss = mode.sign * result.value
        losses[i] = math.inf if result.status is Status.DIVERGED else loss
    start_loss = mode.sign * optimizer.objective.value(start)
    best = int(np.argmin(losses))
    best_rate = float(rates[best])
    if not losses[best] < start_loss:
        _logger.warning(
            "find_learning_rate: no rate in [%g, %g] improved the objective in %d "
            "steps; the suggestion is meaningless",
            min_rate,
            max_rate,
            steps,
        )
    return LearningRateFinderResult(
        rates=rates,
        losses=losses,
        start_loss=start_loss,
        best_rate=best_rate,
        suggested=best_rate / safety,
    )

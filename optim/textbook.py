"""The textbook's two functions, with its names and defaults, done right."""

from collections.abc import Callable
from typing import Any

from optim._arrays import as_float_array
from optim._types import Array, ArrayLike
from optim.gradients import CentralDifference
from optim.objective import FunctionObjective
from optim.optimizer import Optimizer
from optim.step_rules import FixedStep

TEXTBOOK_STEP = 1e-4
"""The textbook's finite-difference step `h`."""


def numerical_gradient(f: Callable[[Array], Any], x: ArrayLike) -> Array:
    """Return the central-difference gradient of `f` at `x` with `h = 1e-4`.

    The textbook's `numerical_gradient`, minus its two bugs: an integer `x` is
    treated as float (the original truncated `x + h` to an integer and returned
    gradients like 25000 instead of 6), and `x` is never modified (the original
    wrote the perturbations into the caller's array). It is
    `CentralDifference(step=1e-4)` under the textbook's name.

    Args:
        f: A function of a point, returning a real scalar.
        x: The point, an array of any shape.

    Returns:
        The gradient estimate, a float array shaped like `x`.

    Examples:
        >>> import numpy as np
        >>> x = np.array([3, 2])
        >>> numerical_gradient(lambda x: x[0] ** 2 + x[1] ** 2, x).round(8)
        array([6., 4.])
        >>> x
        array([3, 2])
    """
    return CentralDifference(step=TEXTBOOK_STEP).estimate(
        FunctionObjective(f), as_float_array(x)
    )


def gradient_descent(
    f: Callable[[Array], Any], init_x: ArrayLike, lr: float = 0.01, step_num: int = 100
) -> Array:
    """Take exactly `step_num` steps of `x = x - lr * numerical_gradient(f, x)`.

    The textbook's `gradient_descent`, run by [`Optimizer`][optim.optimizer.Optimizer]
    with [`FixedStep`][optim.step_rules.FixedStep] and
    `CentralDifference(step=1e-4)`. `init_x` is never modified and may be an
    integer array. Divergence detection is off, as in the textbook, except that a
    run whose values become non-finite ends at its last finite point; use
    `Optimizer` directly to get the status and message.

    Args:
        f: A function of a point, returning a real scalar.
        init_x: The starting point.
        lr: The learning rate.
        step_num: The number of steps.

    Returns:
        The final point.

    Examples:
        >>> import numpy as np
        >>> sphere = lambda x: x[0] ** 2 + x[1] ** 2
        >>> gradient_descent(sphere, init_x=np.array([-3.0, 4.0]), lr=0.1)
        array([-6.11110793e-10,  8.14814391e-10])
    """
    optimizer = Optimizer(
        FunctionObjective(f),
        step_rule=FixedStep(learning_rate=lr),
        estimator=CentralDifference(step=TEXTBOOK_STEP),
        max_steps=step_num,
        max_growth=None,
        ftol=None,  # the book's loop takes exactly step_num steps
    )
    return optimizer.run(init_x).x

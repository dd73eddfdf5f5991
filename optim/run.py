"""What a run is made of: its configuration and, step by step, its state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np

from optim import backend
from optim._types import Array
from optim.mode import Mode

if TYPE_CHECKING:
    from optim.gradients import GradientEstimator
    from optim.objective import Objective
    from optim.projections import Projection
    from optim.step_rules import StepRule

__all__ = ["Configuration", "RunContext", "RunRecord", "RunState"]

_array_eq = attrs.cmp_using(eq=np.array_equal)


@attrs.frozen(kw_only=True)
class RunContext:
    """The configuration of one run, as callbacks see it when the run starts.

    [`Callback.on_start`][optim.callbacks.Callback.on_start] receives it instead of
    the optimizer: what runs, how, and for how long.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> context = Optimizer(Sphere(), step_rule=FixedStep(0.1)).run_context()
        >>> context.mode.value, context.max_steps
        ('descent', 1000)
    """

    objective: Objective
    """What is optimized (in the user's sign)."""

    step_rule: StepRule[Any]
    """How a gradient becomes a step."""

    gradient_estimator: GradientEstimator
    """How gradients are obtained (resolved: never `None`)."""

    mode: Mode
    """Descent or ascent."""

    max_steps: int | None
    """The run's step budget, or `None` for none (a loop the user owns)."""

    constraint: Projection | None = None
    """The set the iterates are kept in (see
    [`Optimizer.constraint`][optim.optimizer.Optimizer.constraint]), or `None`."""

    rank_best: bool = True
    """Whether `best_x` is the best point so far (else the latest)."""

    ftol: float = 0.0
    """The relative improvement that counts as progress (see
    [`Optimizer.ftol`][optim.optimizer.Optimizer.ftol]; `0.0` when the progress
    stop is off)."""

    patience: int | None = None
    """How many steps without progress end the run, or `None` (the progress stop
    is off)."""

    errors: str = "raise"
    """What an exception in the middle of the run does: `"raise"` or `"diverge"`
    (see [`Optimizer.errors`][optim.optimizer.Optimizer.errors])."""

    dtype: np.dtype[Any] = attrs.field(default=np.dtype(np.float64), converter=np.dtype)
    """The dtype the run computes in: `float32` for a float32 `x0`, else `float64`
    (see [`Result.dtype`][optim.result.Result.dtype])."""


class Configuration(Protocol):
    """What identifies a run's computation: an `Optimizer` or a `RunContext`.

    Checkpoints record and compare it (see
    [`fingerprint`][optim.checkpoint.fingerprint]).

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> configuration: Configuration = Optimizer(Sphere(), step_rule=FixedStep(1))
        >>> configuration.mode.value
        'descent'
    """

    @property
    def objective(self) -> Objective:
        """What is optimized."""
        ...  # pragma: no cover

    @property
    def step_rule(self) -> StepRule[Any]:
        """The step rule."""
        ...  # pragma: no cover

    @property
    def gradient_estimator(self) -> GradientEstimator:
        """The resolved gradient estimator."""
        ...  # pragma: no cover

    @property
    def mode(self) -> Mode:
        """Descent or ascent."""
        ...  # pragma: no cover

    @property
    def constraint(self) -> Projection | None:
        """The constraint, or `None`."""
        ...  # pragma: no cover


@attrs.define(eq=False)
class RunRecord:
    """The engine's record of one step: the fields of a `RunState`, not frozen.

    The engine makes one per step (an ordinary slotted class, cheap to build:
    setting the fields of a frozen class costs more than the rest of a step's
    bookkeeping) and never changes one it has handed out;
    [`StepInfo.run_state`][optim.result.StepInfo.run_state] and the result turn it
    into the frozen `RunState` when asked. `RunState` has exactly these fields.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=1)
        >>> *_, info = optimizer.iterate([8.0])
        >>> info.run_state.frozen() is info.run_state
        True
    """

    step: int
    """Number of updates applied so far."""

    x: Array = attrs.field(eq=_array_eq)
    """The current point."""

    value: float
    """The objective at `x`."""

    gradient: Array = attrs.field(eq=_array_eq)
    """The gradient (or its estimate) at `x`."""

    gradient_norm: float
    """Euclidean norm of `gradient`; under a constraint, of the projected gradient
    (the stationarity measure the stop tests use)."""

    gradient_error: float | None
    """Euclidean norm of the estimator's error estimate, or `None` if it has none."""

    evaluations: int
    """Objective value calls so far, finite-difference and trial points included."""

    gradient_evaluations: int
    """Analytic gradient calls so far."""

    rule_state: Any = attrs.field(eq=False)
    """The step rule's state (see [`StepRule.init`][optim.step_rules.StepRule.init])."""

    random_state: dict[str, Any] | None = attrs.field(eq=False)
    """Where the run's random stream stands (the `bit_generator.state` of the
    generator a random estimator draws from), or `None` for a deterministic one."""

    best_x: Array = attrs.field(eq=_array_eq)
    """The best point so far."""

    best_value: float
    """The objective at `best_x`."""

    best_step: int
    """The step at which `best_x` was reached."""

    non_improving_steps: int
    """How many steps so far failed to improve on the best value."""

    start_value: float
    """The objective at the starting point (the divergence test's reference)."""

    progress_value: float
    """The best value at the last step that improved on the one before it by more
    than `ftol` relative (the progress stop's reference; see
    [`Optimizer.ftol`][optim.optimizer.Optimizer.ftol])."""

    progress_step: int
    """The step at which `progress_value` was reached."""

    progress_evaluations: int
    """The evaluations spent when `progress_value` was reached."""

    progress_gradient_norm: float
    """The gradient norm at `progress_step`: a gradient norm below half of it is
    progress too (a converging run whose value barely changes relative to its
    size)."""

    def frozen(self) -> RunState:
        """This record as a frozen [`RunState`][optim.run.RunState] (itself if one).

        Returns:
            The state, field for field.

        Examples:
            >>> from optim import FixedStep, Optimizer
            >>> from optim.problems import Sphere
            >>> state = Optimizer(Sphere(), step_rule=FixedStep(0.25)).run([8.0])
            >>> state.run_state.frozen().step == state.steps
            True
        """
        if type(self) is RunState:
            return self
        return RunState(**{name: getattr(self, name) for name in _FIELDS})

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype the run computes in (that of `x`): float32 or float64."""
        return self.x.dtype


_FIELDS = tuple(field.name for field in attrs.fields(RunRecord))


def _an_array(like: Any) -> Any:
    """`like` if it is an array, else the first array in its dicts, lists, tuples."""
    if isinstance(like, np.ndarray) or backend.is_foreign(like):
        return like
    items = like.values() if isinstance(like, dict) else like
    if isinstance(like, dict | list | tuple):
        for item in items:
            found = _an_array(item)
            if found is not None:
                return found
    return None


@attrs.frozen(kw_only=True)
class RunState(RunRecord):
    """Everything needed to continue a run from one step, and nothing else.

    The fields of a [`RunRecord`][optim.run.RunRecord], frozen: the engine keeps
    a record per step and makes it a `RunState` when asked (a callback's
    [`StepInfo.run_state`][optim.result.StepInfo.run_state], the result's). A
    [`Checkpoint`][optim.checkpoint.Checkpoint] saves it field by field, and
    [`Optimizer.resume_from`][optim.optimizer.Optimizer.resume_from] continues from
    it, taking exactly the steps the uninterrupted run would have taken. Values and
    gradients are in the user's sign; `rule_state` is in the minimization
    convention. Do not modify its arrays.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=2)
        >>> state = optimizer.run([8.0]).run_state
        >>> state.step, state.x, state.rule_state.step, state.best_step
        (2, array([2.]), 2, 2)
    """

    def moved_to(self, like: Any, step_rule: StepRule[Any]) -> RunState:
        """This state with its arrays in the library and on the device of `like`.

        A checkpoint holds host copies, so a state read from a file is numpy's;
        the run continued from it computes where its arrays are. Moving them to
        the library and device of the run's `x0` (a CUDA tensor, a JAX array)
        makes the continued run compute there, as the uninterrupted one did:
        `x`, `gradient`, `best_x` and every array of `rule_state` move (keeping
        their dtypes); arrays already there are kept, and so is the random
        stream's state, which lives on the host, and any array the step rule
        keeps in numpy on every library (its `init` at the moved point says
        which: a plateau schedule's running average, say). What
        [`Optimizer.resume_from`][optim.optimizer.Optimizer.resume_from],
        [`Optimizer.resume`][optim.optimizer.Optimizer.resume] and
        [`load_checkpoint`][optim.checkpoint.load_checkpoint] do with `like=x0`.

        Args:
            like: An array (of numpy or another array library), or a structure
                of arrays (a dict of tensors: its first array leaf); for
                anything else (`None`, a list of numbers) the state is
                returned as it is.
            step_rule: The run's step rule.

        Returns:
            The state, moved (itself when nothing moves).

        Examples:
            >>> import array_api_strict as xps
            >>> from optim import Adam, Optimizer
            >>> from optim.problems import Sphere
            >>> optimizer = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=2)
            >>> state = optimizer.run([8.0]).run_state
            >>> there = state.moved_to(xps.asarray([8.0]), optimizer.step_rule)
            >>> moment = there.rule_state.direction_state.first_moment
            >>> backend.library(there.x), backend.library(moment)
            ('array_api_strict', 'array_api_strict')
            >>> state.moved_to(None, optimizer.step_rule) is state
            True
        """
        like = _an_array(like)
        if like is None:
            return self
        x = backend.moved(self.x, like=like)
        changes = {
            "x": x,
            "gradient": backend.moved(self.gradient, like=like),
            "best_x": backend.moved(self.best_x, like=like),
            "rule_state": backend.moved(
                self.rule_state, like=like, start=step_rule.init(x)
            ),
        }
        if all(new is getattr(self, name) for name, new in changes.items()):
            return self
        return attrs.evolve(self, **changes)

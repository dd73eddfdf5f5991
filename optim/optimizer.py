"""The `Optimizer`: the one loop that combines objective, estimator and step rule."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from optim import _validators
from optim._arrays import as_start_point, check_like_x
from optim._compare import same
from optim._types import Array, ArrayLike
from optim.callbacks import Callback, CallbackLike, StopOnZeroGradient
from optim.errors import OptimizationError
from optim.evaluator import Evaluator
from optim.gradients import AnalyticGradient, CentralDifference, GradientEstimator
from optim.mode import Mode, to_mode
from optim.objective import FunctionObjective, Objective, _check_sendable
from optim.projections import Projection
from optim.result import Result, Status, StepInfo, Stop
from optim.run import RunContext, RunState
from optim.step_rules import StepRule
from optim.stopping import (
    MaxEvaluations,
    MaxGrowth,
    MaxSteps,
    MaxTime,
    ZeroGradient,
    advice,
    confirming_estimator,
    diagnose,
)
from optim.tree import StructuredObjective, flatten, is_structured


def _to_objective(objective: Objective | Callable[[Array], Any]) -> Objective:
    if isinstance(objective, Objective):
        return objective
    if callable(objective):
        return FunctionObjective(objective)
    raise TypeError(
        f"objective must be an Objective or a callable, got {type(objective).__name__}"
    )


def _to_callbacks(callbacks: Iterable[CallbackLike]) -> tuple[CallbackLike, ...]:
    if isinstance(callbacks, Callback) or callable(callbacks):
        return (callbacks,)
    result = tuple(callbacks)
    for callback in result:
        if not isinstance(callback, Callback) and not callable(callback):
            raise TypeError(
                "callbacks must be Callback instances or functions, got "
                f"{type(callback).__name__}"
            )
    return result


def _instance_of(kind: type, *, optional: bool = False) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (value is None and optional) or isinstance(value, kind):
            return
        raise TypeError(
            f"{attribute.name} must be a {kind.__name__} instance, got "
            f"{type(value).__name__}"
        )

    return check


_logger = logging.getLogger("optim")


def _norm(array: Array) -> float:
    return math.sqrt(np.vdot(array, array))


def _error_norm(error: Array | None) -> float | None:
    return None if error is None else _norm(error)


@attrs.frozen
class Optimizer:
    """Minimize or maximize an objective with a gradient estimator and a step rule.

    The optimizer is immutable configuration; each
    [`run`][optim.optimizer.Optimizer.run] (or
    [`iterate`][optim.optimizer.Optimizer.iterate]) starts from a private copy of
    `x0`. At each step it evaluates the value and gradient, hands a record to the
    callbacks, asks the step rule for a displacement and moves. It stops when a
    callback says so, after `max_steps` updates, when a budget runs out, or when the
    run diverges: a non-finite value or gradient (the result then holds the last
    finite iterate), or an objective that has worsened by more than `max_growth`
    times its starting magnitude.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer, StopOnZeroGradient
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[StopOnZeroGradient(1e-8)]
        ... )
        >>> result = optimizer.run(np.array([3.0, 2.0]))
        >>> result.status.name, np.round(result.x, 8)
        ('CONVERGED', array([0., 0.]))

        Ascent maximizes; values stay in the user's sign:

        >>> hill = lambda x: -((x[0] - 1) ** 2) - (x[1] + 2) ** 2
        >>> result = Optimizer(hill, step_rule=FixedStep(0.1), mode="ascent").run(
        ...     [0, 0]
        ... )
        >>> np.round(result.x, 6), float(round(result.value, 12))
        (array([ 1., -2.]), -0.0)
    """

    objective: Objective = attrs.field(converter=_to_objective)
    """What to optimize; a plain function is wrapped in a
    [`FunctionObjective`][optim.objective.FunctionObjective]."""

    step_rule: StepRule[Any] = attrs.field(
        kw_only=True, validator=_instance_of(StepRule)
    )
    """How a gradient becomes a step."""

    estimator: GradientEstimator | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_instance_of(GradientEstimator, optional=True),
    )
    """How gradients are obtained; `None` picks
    [`AnalyticGradient`][optim.gradients.AnalyticGradient] when the objective has a
    gradient and [`CentralDifference`][optim.gradients.CentralDifference] otherwise."""

    mode: Mode = attrs.field(default=Mode.DESCENT, kw_only=True, converter=to_mode)
    """`"descent"` minimizes, `"ascent"` maximizes."""

    callbacks: tuple[CallbackLike, ...] = attrs.field(
        default=(), kw_only=True, converter=_to_callbacks
    )
    """Called in order at every step; see [`Callback`][optim.callbacks.Callback]."""

    max_steps: int = attrs.field(
        default=1000, kw_only=True, validator=_validators.count
    )
    """Most updates a run applies (status `MAX_STEPS`)."""

    max_evaluations: int | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_count
    )
    """Objective-evaluation budget (status `MAX_EVALUATIONS`), checked between
    steps; `None` for no budget."""

    max_time: float | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_positive
    )
    """Wall-time budget in seconds for one call of `run` or `resume` (status
    `MAX_TIME`), checked between steps; `None` for no budget."""

    max_growth: float | None = attrs.field(
        default=1e6, kw_only=True, validator=_validators.optional_positive
    )
    """Divergence test: the run ends `DIVERGED` once the objective is worse than at
    the start by more than `max_growth * (1 + |f(x0)|)`. `None` switches it off."""

    constraint: Projection | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_instance_of(Projection, optional=True),
    )
    r"""The closed convex set the iterates are kept in
    ([`Bounds`][optim.projections.Bounds], [`Ball`][optim.projections.Ball],
    [`Simplex`][optim.projections.Simplex], ...), or `None`. A starting point
    outside it is projected (the result's message says so); each step lands on
    $P(x + \delta)$; line-search rules search along the projected path, and
    `LBFGS` with `Bounds` is box-constrained L-BFGS. The stop tests see the norm
    of the projected gradient."""

    rank_best: bool = attrs.field(
        default=True, kw_only=True, validator=_validators.boolean
    )
    """Whether `best_x` is the point with the best objective value so far. Switch it
    off (`False`: `best_x` is then the latest point) when the values are noisy,
    such as minibatch losses, whose ranking means little; rank on a validation
    loss in a callback instead."""

    errors: str = attrs.field(
        default="raise",
        kw_only=True,
        validator=_validators.one_of("raise", "diverge"),
    )
    """What an exception from the objective, estimator or step rule does in the
    middle of a run: `"raise"` raises an
    [`OptimizationError`][optim.errors.OptimizationError] carrying the step and a
    result with the last good iterate; `"diverge"` ends the run `DIVERGED` with that
    iterate instead."""

    @estimator.validator
    def _check_estimator(
        self, attribute: attrs.Attribute[Any], value: GradientEstimator | None
    ) -> None:
        executor = getattr(value, "executor", None)
        if executor is not None:  # refuse what cannot reach the workers, up front
            _check_sendable(self.objective, executor)
        if isinstance(value, AnalyticGradient) and not self.objective.has_gradient:
            raise ValueError(
                "estimator is AnalyticGradient() but the objective "
                f"{type(self.objective).__name__} has no analytic gradient; use "
                "estimator=None or a finite-difference estimator"
            )

    @property
    def gradient_estimator(self) -> GradientEstimator:
        """The estimator a run uses (resolves `estimator=None`)."""
        if self.estimator is not None:
            return self.estimator
        if self.objective.has_gradient:
            return AnalyticGradient()
        return CentralDifference()

    def run_context(self) -> RunContext:
        """Return the configuration a run hands to its callbacks' `on_start`.

        Returns:
            The objective, step rule, resolved estimator, mode and `max_steps`.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=FixedStep(0.1)).run_context().step_rule
            FixedStep(learning_rate=0.1)
        """
        return RunContext(
            objective=self.objective,
            step_rule=self.step_rule,
            gradient_estimator=self.gradient_estimator,
            mode=self.mode,
            max_steps=self.max_steps,
            constraint=self.constraint,
        )

    def run(
        self,
        x0: ArrayLike | Any,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Result:
        """Optimize from `x0` and return the result.

        Ctrl-C (`KeyboardInterrupt`) ends the run cleanly with status `INTERRUPTED`
        and the best point so far. numpy's overflow and invalid-value warnings are
        silenced during the run: what they would say is in the status and message.

        Args:
            x0: Starting point, an array of any shape (integers are treated as
                floats), or a structure of arrays (a dict, list or tuple of them,
                see [`optim.tree`][optim.tree]: the objective, the callbacks'
                `StepInfo.params` and `Result.params` then see that structure);
                copied, never modified.
            args: Extra arguments passed after the point to the objective's
                `value`, `gradient` and `values` (scipy's `args=`): fixed data.
            kwargs: Extra keyword arguments passed the same way.

        Returns:
            The final point and value, counters, status and message.

        Raises:
            TypeError: If `x0` is not a real numeric array.
            ValueError: If `x0` is empty or non-finite, or the objective's value or
                gradient at `x0` is not finite.
            OptimizationError: If something raised in the middle of the run (with
                `errors="raise"`); it holds the result so far.

        Examples:
            >>> import numpy as np
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=3).run(
            ...     [3.0, 2.0]
            ... ).x
            array([-3., -2.])
        """
        return _drain(self.iterate(x0, args=args, kwargs=kwargs))

    def iterate(
        self,
        x0: ArrayLike | Any,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Generator[StepInfo, None, Result]:
        """Optimize step by step, yielding a [`StepInfo`][optim.result.StepInfo] a step.

        This is the loop behind [`run`][optim.optimizer.Optimizer.run]: callbacks run
        before each record is yielded, and the generator returns the
        [`Result`][optim.result.Result] (as `StopIteration.value`). Stop early by
        leaving the loop.

        Args:
            x0: Starting point (an array or a structure of arrays, as for
                [`run`][optim.optimizer.Optimizer.run]); copied, never modified.
            args: Extra arguments passed after the point to the objective.
            kwargs: Extra keyword arguments passed the same way.

        Yields:
            One record per step, the starting point (step 0) first.

        Returns:
            The result, when the run ends by itself.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25))
            >>> for info in optimizer.iterate([1.0, 0.0]):
            ...     if info.value < 0.01:
            ...         break
            >>> info.step, info.value
            (4, 0.00390625)
        """
        optimizer, x, evaluator, hooks, note = self._begin(x0, args, kwargs)
        # No local keeps the start alive: the loop owns the state.
        start = optimizer._start(x, evaluator, hooks)
        del x
        return (
            yield from optimizer._loop(
                start.pop(), evaluator, hooks, announce=True, note=note
            )
        )

    def start(
        self,
        x0: ArrayLike | Any,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        like: Any = None,
    ) -> Run:
        """Start a run that you step yourself, one `Run.step` at a time.

        The loop then belongs to your program: each `run.step(*args, **kwargs)`
        evaluates the objective at the current point with those extra arguments
        (a minibatch, say), runs the callbacks and stop tests, and moves to the next
        point, exactly as [`run`][optim.optimizer.Optimizer.run] does.

        Args:
            x0: Starting point (an array or a structure of arrays); or a
                [`RunState`][optim.run.RunState] (or `StepInfo`) to continue from.
            args: Arguments passed to the objective at every step, before those
                given to `step`.
            kwargs: Keyword arguments passed the same way.
            like: When continuing a structured run from a state, the structure of
                its `x0` (the state holds the flat vector).

        Returns:
            The [`Run`][optim.optimizer.Run].

        Examples:
            >>> import numpy as np
            >>> from optim import Adam
            >>> def loss(w, batch):
            ...     return float(np.mean((batch @ w - 1.0) ** 2))
            >>> run = Optimizer(loss, step_rule=Adam(0.1)).start(np.zeros(2))
            >>> rng = np.random.default_rng(0)
            >>> for _ in range(200):
            ...     info = run.step(rng.normal(size=(8, 2)))
            >>> run.done, bool(info.value < 1.5)
            (False, True)
        """
        if isinstance(x0, StepInfo | RunState):
            state = x0.run_state if isinstance(x0, StepInfo) else x0
            begun = self._structured_like(like)._begin(
                state.x, args, kwargs, state=state
            )
        else:
            state = None
            begun = self._begin(x0, args, kwargs)
        optimizer, x, evaluator, hooks, note = begun
        return Run(optimizer, x, evaluator, hooks, note=note, state=state)

    def _begin(
        self,
        x0: Any,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any] | None,
        *,
        state: RunState | None = None,
    ) -> tuple[Optimizer, Array, Evaluator, _Hooks, str]:
        """What a run needs: the optimizer it runs, x0, its evaluator and hooks."""
        optimizer = self._structured_like(x0)
        if optimizer is not self:
            x0 = flatten(x0)[0]
        x, note = (
            (x0, "") if state is not None else optimizer._feasible(as_start_point(x0))
        )
        estimator = optimizer.gradient_estimator
        if state is None:
            rng = estimator.random_stream()
        else:
            rng = optimizer._restored_stream(state.random_state)
        evaluator = Evaluator(
            optimizer.objective,
            estimator,
            optimizer.mode,
            rng=rng,
            constraint=optimizer.constraint,
            evaluations=0 if state is None else state.evaluations,
            gradient_evaluations=0 if state is None else state.gradient_evaluations,
        )
        evaluator.bind(tuple(args), dict(kwargs or {}))
        return optimizer, x, evaluator, optimizer._hooks(), note

    def _feasible(self, x: Array) -> tuple[Array, str]:
        """Check the constraint against `x0` and project it; say if it moved."""
        if self.constraint is None:
            return x, ""
        self.constraint.check(x)
        projected = np.asarray(self.constraint.project(x), dtype=x.dtype)
        if projected.shape != x.shape or not np.isfinite(projected).all():
            raise ValueError(
                f"{type(self.constraint).__name__}.project returned a "
                f"{projected.shape} array with non-finite entries or the wrong shape "
                f"for x0 of shape {x.shape}"
            )
        if np.array_equal(projected, x):
            return x, ""
        return projected, (
            "x0 was outside the constraint and was projected onto it (moved by "
            f"{_norm(projected - x):.3g})"
        )

    def _info(self, state: RunState) -> StepInfo:
        """What the callbacks see of `state`."""
        spec = getattr(self.objective, "spec", None)
        return StepInfo(
            state, constraint=self.constraint, sign=self.mode.sign, spec=spec
        )

    def _stationarity(self, x: Array, gradient: Array, gradient_norm: float) -> float:
        """The norm of the projected gradient (`gradient_norm`, unconstrained)."""
        if self.constraint is None:
            return gradient_norm
        sign = self.mode.sign
        return _norm(self.constraint.projected_gradient(x, sign * gradient))

    def _start(self, x: Array, evaluator: Evaluator, hooks: _Hooks) -> list[RunState]:
        """Announce the start to the callbacks and evaluate it: the step-0 state."""
        hooks.start(self.run_context(), x)
        try:
            value, gradient, error = evaluator.evaluate(x)
        except Exception as failure:
            failure.add_note(
                f"optim: raised while evaluating the objective at x0 (shape {x.shape})"
            )
            raise
        gradient_norm = _norm(gradient)
        if not (math.isfinite(value) and math.isfinite(gradient_norm)):
            raise ValueError(
                f"the objective's value ({value}) and gradient norm ({gradient_norm}) "
                "at x0 must be finite"
            )
        state = _state(
            None,
            x,
            value,
            gradient,
            self._stationarity(x, gradient, gradient_norm),
            error,
            self.step_rule.init(x),
            evaluator,
            rank_best=self.rank_best,
        )
        return [state]

    def resume_from(
        self, state: RunState | StepInfo
    ) -> Generator[StepInfo, None, Result]:
        """Continue a run from a saved state, step by step.

        The state's step is not announced again: the first record yielded is the
        next step. Counters and the random stream continue from the state's. With
        the same configuration, the continued run takes exactly the steps the
        uninterrupted run would have taken. [`Checkpoint`][optim.checkpoint.Checkpoint]
        files are loaded with [`Optimizer.resume`][optim.optimizer.Optimizer.resume].

        Args:
            state: The [`RunState`][optim.run.RunState] to continue from (a
                [`StepInfo`][optim.result.StepInfo] stands for its `run_state`).

        Yields:
            One record per step after `state.step`.

        Returns:
            The result, when the run ends by itself.

        Raises:
            ValueError: If the state has a random stream and the estimator has none,
                or the other way round.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=3)
            >>> for info in optimizer.iterate([8.0]):
            ...     if info.step == 1:
            ...         break
            >>> [float(later.x[0]) for later in optimizer.resume_from(info)]
            [2.0, 1.0]
        """
        if isinstance(state, StepInfo):
            state = state.run_state
        optimizer, x, evaluator, hooks, _ = self._begin(state.x, (), None, state=state)
        hooks.start(optimizer.run_context(), x)
        return (yield from optimizer._loop(state, evaluator, hooks, announce=False))

    def resume(self, path: str | os.PathLike[str], *, like: Any = None) -> Result:
        """Continue a run from a checkpoint file and return the result.

        The optimizer's configuration (objective and its parameters, step rule,
        estimator, mode, constraint) must match the checkpoint's; the budgets and
        callbacks may differ (raise `max_steps` to continue a run that used them
        up).

        Args:
            path: A file written by [`Checkpoint`][optim.checkpoint.Checkpoint] or
                [`save_checkpoint`][optim.checkpoint.save_checkpoint].
            like: For a run started from a structure of arrays, that structure
                (or one of the same layout): the file holds the flat vector, and
                the result's `params` get the structure back.

        Returns:
            The result, as if the run had never stopped.

        Raises:
            CheckpointError: If the file is unreadable or from another
                configuration.

        Examples:
            >>> import tempfile, pathlib
            >>> from optim import Checkpoint, FixedStep
            >>> from optim.problems import Sphere
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
            >>> optimizer = Optimizer(
            ...     Sphere(), step_rule=FixedStep(0.25), callbacks=[Checkpoint(path)]
            ... )
            >>> attrs.evolve(optimizer, max_steps=2).run([8.0]).x
            array([2.])
            >>> attrs.evolve(optimizer, max_steps=3).resume(path).x
            array([1.])
        """
        from optim.checkpoint import load_checkpoint

        optimizer = self._structured_like(like)
        return _drain(optimizer.resume_from(load_checkpoint(path, optimizer)))

    def _structured_like(self, like: Any) -> Optimizer:
        """This optimizer, seeing its objective through the layout of `like`."""
        if like is None or not is_structured(like):
            return self
        _, spec = flatten(like)
        return attrs.evolve(self, objective=StructuredObjective(self.objective, spec))

    def _restored_stream(
        self, random_state: dict[str, Any] | None
    ) -> np.random.Generator | None:
        """The estimator's random stream, set to a saved state."""
        rng = self.gradient_estimator.random_stream()
        if (rng is None) != (random_state is None):
            raise ValueError(
                "the state was saved with a "
                f"{'deterministic' if random_state is None else 'random'} estimator, "
                f"but this optimizer's estimator {self.gradient_estimator!r} is "
                f"{'random' if random_state is None else 'deterministic'}"
            )
        if rng is not None and random_state is not None:
            rng.bit_generator.state = random_state
        return rng

    def _loop(
        self,
        state: RunState,
        evaluator: Evaluator,
        hooks: _Hooks,
        *,
        announce: bool,
        note: str = "",
    ) -> Generator[StepInfo, None, Result]:
        """The one loop: announce a step to the callbacks and stop tests, then step.

        A resumed run's first state was announced before: only the stop tests see
        it again (so a run that used up its budget stays stopped).
        """
        end: _End | None = None
        try:
            while True:
                info = self._info(state)
                end = hooks.step(info, tests_only=not announce)
                if announce:
                    yield info
                if end is not None:
                    state, end = self._settle(state, end, evaluator)
                if end is None:
                    announce = True
                    state, end = self._advance(state, evaluator)
                    if end is not None:
                        state, end = self._settle(state, end, evaluator)
                if end is not None:
                    break
        except KeyboardInterrupt:
            end = _End(
                Stop(
                    Status.INTERRUPTED,
                    f"interrupted (KeyboardInterrupt) after {state.step} steps; the "
                    "result is the last complete iterate, and best_x the best point "
                    f"(step {state.best_step})",
                )
            )
        return self._finish(state, end, hooks, evaluator, note)

    def _advance(
        self, state: RunState, evaluator: Evaluator
    ) -> tuple[RunState, _End | None]:
        """Take one step from `state`; on failure, stay and say why."""
        moved = self._update(state, evaluator)
        if isinstance(moved, _End):
            return state, moved
        return self._evaluated(state, *moved, evaluator)

    def _update(
        self, state: RunState, evaluator: Evaluator
    ) -> tuple[Array, Any] | _End:
        """The step rule's next point and state, or why there is none."""
        loss, descent_gradient = evaluator.minimized(state.value, state.gradient)
        try:
            delta, rule_state = _checked_update(
                self.step_rule,
                self.step_rule.update(
                    descent_gradient,
                    state.rule_state,
                    x=state.x,
                    value=loss,
                    evaluator=evaluator,
                ),
                state.x,
            )
            x = state.x + delta
            if self.constraint is not None:
                x = np.asarray(self.constraint.project(x), dtype=state.x.dtype)
                delta = x - state.x  # what the step did, for the test below
            stuck = _stuck(state, x, delta, rule_state, evaluator)
        except Exception as error:  # the run's result must survive it
            return _failed(state, error)
        return (x, rule_state) if stuck is None else _End(stuck)

    def _evaluated(
        self, state: RunState, x: Array, rule_state: Any, evaluator: Evaluator
    ) -> tuple[RunState, _End | None]:
        """The state at the new point `x`, or why the run ends at `state`."""
        try:
            value, gradient, error_estimate = evaluator.evaluate(x)
        except Exception as error:  # the run's result must survive it
            return state, _failed(state, error)
        gradient_norm = _norm(gradient)
        if not (math.isfinite(value) and math.isfinite(gradient_norm)):
            return state, _End(
                Stop(
                    Status.DIVERGED,
                    f"step {state.step + 1} produced a non-finite value or gradient; "
                    f"the result is the last finite iterate (step {state.step}); "
                    f"{advice(self.step_rule, 'too large')}",
                )
            )
        return _state(
            state,
            x,
            value,
            gradient,
            self._stationarity(x, gradient, gradient_norm),
            error_estimate,
            rule_state,
            evaluator,
            rank_best=self.rank_best,
        ), None

    def _settle(
        self, state: RunState, end: _End, evaluator: Evaluator
    ) -> tuple[RunState, _End | None]:
        """Check what an ending claims about the gradient; `None`: go on.

        A `CONVERGED` claim of a gradient test ([`Stop.gradient_tol`]) is confirmed
        by an independent estimate, and so is a precision limit reached under a
        gradient test, with an inexact estimator (the point may be converged
        although the run's estimator cannot see it).
        """
        stop = end.stop
        tol = stop.gradient_tol
        if tol is None and stop.status is Status.PRECISION_LIMIT:
            tol = min(
                (c.tol for c in self.callbacks if isinstance(c, StopOnZeroGradient)),
                default=None,
            )
        confirmation = confirming_estimator(self.gradient_estimator)
        if tol is None or confirmation is None:
            return state, end
        gradient, error = evaluator.confirm(state.x, confirmation)
        state = attrs.evolve(
            state,
            evaluations=evaluator.evaluations,
            gradient_evaluations=evaluator.gradient_evaluations,
        )
        norm, floor = (
            self._stationarity(state.x, gradient, _norm(gradient)),
            _error_norm(error) or 0.0,
        )
        found = (
            f"{type(confirmation).__name__} puts the gradient norm at {norm:.3g} with "
            f"an error of at most {floor:.3g}"
        )
        if norm + floor <= tol:
            return state, _End(
                Stop(
                    Status.CONVERGED,
                    f"{stop.message}; confirmed by {type(confirmation).__name__}: "
                    f"gradient norm {norm:.3g}, error at most {floor:.3g}, within tol "
                    f"{tol:.3g}",
                )
            )
        if stop.status is Status.CONVERGED and norm - floor > tol:
            _logger.debug("step %d: %s; going on", state.step, found)
            return (
                state,
                end.fallback,
            )  # clearly larger: not converged (a budget may end)
        own_error = _norm(state.gradient - gradient)
        accurate = own_error < 0.5 * norm
        if stop.status is not Status.CONVERGED and norm - floor > tol and accurate:
            return state, end  # an accurate gradient: a true precision limit
        return state, _End(
            Stop(
                Status.NOISE_FLOOR,
                f"{stop.message}, but {found}; the run's "
                f"{type(self.gradient_estimator).__name__} is off by {own_error:.3g}"
                f" here: its noise floor is above tol {tol:.3g}, so the gradient is "
                "not known to be that small (use a more accurate estimator or a "
                "larger tol)",
            )
        )

    def _finish(
        self,
        state: RunState,
        end: _End,
        hooks: _Hooks,
        evaluator: Evaluator,
        note: str = "",
    ) -> Result:
        """Turn the final state and the reason to stop into the result."""
        stop = end.stop
        status, message, diagnosis = stop.status, stop.message, ""
        if status is Status.MAX_STEPS:
            clause, diagnosis = diagnose(
                state,
                sign=self.mode.sign,
                max_steps=self.max_steps,
                rule=self.step_rule,
            )
            message += clause
        if diagnosis or status in (Status.DIVERGED, Status.PRECISION_LIMIT):
            exact = isinstance(self.gradient_estimator, AnalyticGradient)
            mismatch = (
                _gradient_mismatch(state, evaluator, self.constraint) if exact else ""
            )
            if mismatch:  # the gradient is to blame, not the steps
                for size in ("too large", "too small"):
                    blame = advice(self.step_rule, size)
                    message = message.replace(f", so {blame}", "")
                    message = message.replace(f"; {blame}", "")
                    message = message.replace(f": {blame}", "")
                message, diagnosis = f"{message}; {mismatch}", "gradient_mismatch"
        step_failed = status is Status.FAILED and end.failed_step > state.step
        if step_failed and self.errors == "diverge":
            status = Status.DIVERGED
        if note:
            message = f"{message}; {note}"
        result = Result(
            x=state.x,
            value=state.value,
            gradient=state.gradient,
            gradient_norm=state.gradient_norm,
            steps=state.step,
            evaluations=evaluator.evaluations,
            gradient_evaluations=evaluator.gradient_evaluations,
            status=status,
            message=message,
            best_x=state.best_x,
            best_value=state.best_value,
            mode=self.mode,
            diagnosis=diagnosis,
            spec=getattr(self.objective, "spec", None),
            run_state=state,
        )
        result = hooks.end(result)
        if status is Status.FAILED:
            raise OptimizationError(
                message, step=end.failed_step, result=result
            ) from end.failure
        return result

    def _hooks(self) -> _Hooks:
        """The callbacks' hooks, then the stop tests this configuration asks for."""
        tests: list[Callback] = [ZeroGradient(), MaxSteps(self.max_steps)]
        if self.max_evaluations is not None:
            tests.append(MaxEvaluations(self.max_evaluations))
        if self.max_time is not None:
            tests.append(MaxTime(self.max_time))
        if self.max_growth is not None:
            tests.append(
                MaxGrowth(
                    self.max_growth,
                    sign=self.mode.sign,
                    advice=advice(self.step_rule, "too large"),
                )
            )
        return _Hooks.of(self.callbacks, tests)


def _gradient_mismatch(
    state: RunState, evaluator: Evaluator, constraint: Projection | None = None
) -> str:
    r"""Say so if tiny steps along the gradient disagree with the objective's values.

    Along $-g/\|g\|$, a step of length $t$ should lower the minimized function by
    about $t \|g\|$. If at every resolvable $t$ (three, from $10^{-4}$ to
    $10^{-8}$ times the scale of `x`) the change is off by more than a factor of
    two, or the function rises, the gradient is not the objective's: a sign or
    scale error in `gradient()`. Costs up to three evaluations. Under a
    constraint the trial points are projected onto it, and the predicted change
    is $g^\top (x - P(x - t g / \|g\|))$.
    """
    norm = _norm(state.gradient)
    if not (state.gradient_norm > 0.0 and math.isfinite(norm)):
        return ""
    loss, gradient = evaluator.minimized(state.value, state.gradient)
    scale = max(1.0, _norm(state.x))
    ratios = []
    for t in (1e-4 * scale, 1e-6 * scale, 1e-8 * scale):
        point = state.x - (t / norm) * gradient
        if constraint is not None:
            point = constraint.project(point)
        predicted = float(np.vdot(gradient, state.x - point))
        eps = float(np.finfo(state.x.dtype).eps)  # float32's in a float32 run
        if predicted <= 1e3 * eps * max(1.0, abs(loss)):
            break
        try:
            trial = evaluator.value(point)
        except Exception:
            return ""
        ratios.append((loss - trial) / predicted)
    if len(ratios) < 2 or any(0.5 <= r <= 2.0 for r in ratios):
        return ""
    return (
        "the gradient disagrees with the objective's values: a tiny step along "
        f"-gradient changed the objective by {ratios[-1]:.3g} times the predicted "
        "amount (a sign or scale error in gradient()?); check it with "
        "optim.check_gradient"
    )


def _failed(state: RunState, error: Exception) -> _End:
    """The end of a run whose next step raised."""
    return _End(
        Stop(
            Status.FAILED,
            f"step {state.step + 1} raised {error!r}; the result is the last good "
            f"iterate (step {state.step})",
        ),
        failure=error,
        failed_step=state.step + 1,
    )


def _checked_update(rule: StepRule[Any], out: object, x: Array) -> tuple[Array, Any]:
    """The `(step, state)` pair a rule's `update` returned, checked in O(1)."""
    name = f"{type(rule).__name__}.update"
    if not (isinstance(out, tuple) and len(out) == 2):
        what = (
            f"a {len(out)}-element {type(out).__name__}"
            if isinstance(out, tuple | list | np.ndarray) and np.ndim(out) <= 1
            else type(out).__name__
        )
        raise TypeError(f"{name} returned {what}, expected a (step, state) pair")
    return check_like_x(out[0], x, name=name, what="a step"), out[1]


def _stuck(
    state: RunState, x: Array, delta: Array, rule_state: Any, evaluator: Evaluator
) -> Stop | None:
    """Why the step from `state` to `x` cannot go on, or `None` (one pass, usually).

    A non-finite point diverges. A step too small to change `x` has reached the
    limit of floating-point precision, and so has a zero step that leaves the
    rule's state unchanged too (with a deterministic estimator every further step
    would be the same: a stalled line search). A zero step that changes the
    state (a schedule warming up from 0) goes on.
    """
    size = float(np.vdot(delta, delta))
    if math.isfinite(size) and size > 1e-30 * float(np.vdot(state.x, state.x)):
        return None  # the common case: a finite step that moves x
    step = state.step + 1
    if not np.isfinite(x).all():
        return Stop(
            Status.DIVERGED,
            f"step {step} produced a non-finite point (the step rule's step was not "
            f"finite); the result is the last finite iterate (step {state.step})",
        )
    if not np.array_equal(x, state.x):
        return None
    if size == 0.0 and (
        evaluator.rng is not None or not same(rule_state, state.rule_state)
    ):
        return None
    return Stop(
        Status.PRECISION_LIMIT,
        f"step {step} did not change x"
        + (" or the step rule's state" if size == 0.0 else "")
        + ": no further progress is possible in floating point (for a line "
        "search: no trial point lowered the objective)",
    )


def _state(
    previous: RunState | None,
    x: Array,
    value: float,
    gradient: Array,
    gradient_norm: float,
    error: Array | None,
    rule_state: Any,
    evaluator: Evaluator,
    *,
    rank_best: bool = True,
) -> RunState:
    """The state at a new iterate: the start (`previous=None`) or the next step."""
    if previous is None:
        step, improved, stalls, start_value = 0, True, 0, value
    else:
        step, start_value = previous.step + 1, previous.start_value
        improved = evaluator.sign * value < evaluator.sign * previous.best_value
        stalls = previous.non_improving_steps + (not improved)
    keep = previous is not None and not improved and rank_best
    best = previous if keep else None
    return RunState(
        step=step,
        x=x,
        value=value,
        gradient=gradient,
        gradient_norm=gradient_norm,
        gradient_error=_error_norm(error),
        evaluations=evaluator.evaluations,
        gradient_evaluations=evaluator.gradient_evaluations,
        rule_state=rule_state,
        random_state=evaluator.random_state,
        best_x=x if best is None else best.best_x,
        best_value=value if best is None else best.best_value,
        best_step=step if best is None else best.best_step,
        non_improving_steps=stalls,
        start_value=start_value,
    )


@attrs.frozen
class _End:
    """Why a run ends: the stop, and the exception behind a failure."""

    stop: Stop
    failure: BaseException | None = None
    failed_step: int = -1
    fallback: _End | None = None
    """The next stop of the same step, if this one is a gradient claim that the
    confirmation may refute (a budget must still end the run)."""


@attrs.frozen
class _Hooks:
    """The start, step and end hooks of a run's callbacks and stop tests, in order."""

    starts: tuple[Callable[[RunContext, Array], None], ...]
    steps: tuple[Callable[[StepInfo], bool | Stop | None], ...]
    ends: tuple[Callable[[Result], str | None], ...]
    tests: int
    """How many of the last step hooks are stop tests."""

    @classmethod
    def of(cls, callbacks: Iterable[CallbackLike], tests: Iterable[Callback]) -> _Hooks:
        starts: list[Callable[[RunContext, Array], None]] = []
        steps: list[Callable[[StepInfo], bool | Stop | None]] = []
        ends: list[Callable[[Result], str | None]] = []
        tests = tuple(tests)
        for callback in (*callbacks, *tests):
            if isinstance(callback, Callback):
                starts.append(callback.on_start)
                steps.append(callback.on_step)
                ends.append(callback.on_end)
            else:
                steps.append(callback)
        return cls(tuple(starts), tuple(steps), tuple(ends), len(tests))

    def start(self, context: RunContext, x0: Array) -> None:
        dtype: Any = x0.dtype  # the run's dtype (attrs' evolve is typed too narrowly)
        context = attrs.evolve(context, dtype=dtype)
        for hook in self.starts:
            hook(context, x0)

    def step(self, info: StepInfo, *, tests_only: bool = False) -> _End | None:
        """Call every step hook (all of them, even after a stop) and say why to end."""
        end = None
        for hook in (
            self.steps[len(self.steps) - self.tests :] if tests_only else self.steps
        ):
            try:
                answer = hook(info)
            except Exception as error:
                return _End(
                    Stop(
                        Status.FAILED,
                        f"callback {_name(hook)} raised {error!r} at step "
                        f"{info.step}; the result is that step's iterate",
                    ),
                    failure=error,
                    failed_step=info.step,
                )
            if not answer:
                continue
            if end is None:
                end = _End(_as_stop(answer, hook, info.step))
            elif end.stop.gradient_tol is not None and end.fallback is None:
                # A gradient claim may be refuted: keep the next stop in reserve.
                stop = _as_stop(answer, hook, info.step)
                if stop.gradient_tol is None:
                    end = attrs.evolve(end, fallback=_End(stop))
        return end

    def end(self, result: Result) -> Result:
        """Call every end hook; a returned note is appended to the message."""
        for hook in self.ends:
            note = hook(result)
            if note:
                result = attrs.evolve(result, message=f"{result.message}; {note}")
        return result


def _drain(steps: Generator[StepInfo, None, Result]) -> Result:
    """Run a step generator to its end and return its result.

    A `KeyboardInterrupt` that lands between two steps is handed to the generator,
    which ends the run cleanly.
    """
    # Overflow on the way to divergence is reported through the status and
    # message, so numpy's floating-point warnings would only be noise here.
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            try:
                try:
                    next(steps)
                except KeyboardInterrupt:
                    steps.throw(KeyboardInterrupt())
            except StopIteration as finished:
                result: Result = finished.value
                return result


def _as_stop(answer: object, hook: Callable[..., object], step: int) -> Stop:
    if isinstance(answer, Stop):
        return answer
    return Stop(Status.STOPPED, f"stopped by callback {_name(hook)} at step {step}")


def _name(hook: Callable[..., object]) -> str:
    owner = getattr(hook, "__self__", None)
    if owner is not None:
        return type(owner).__name__
    return getattr(hook, "__qualname__", repr(hook))


class Run:
    """A run you step yourself: the loop belongs to your program.

    Made by [`Optimizer.start`][optim.optimizer.Optimizer.start]. Each
    [`step`][optim.optimizer.Run.step] evaluates the objective at the current
    point with the arguments you give it (a minibatch, say), hands the record to
    the callbacks and stop tests, and moves the point by the step rule, as
    [`Optimizer.run`][optim.optimizer.Optimizer.run] does; checkpoints, budgets
    and stop tests work the same. [`x`][optim.optimizer.Run.x] and
    [`params`][optim.optimizer.Run.params] are the parameters after the last step,
    [`result`][optim.optimizer.Run.result] describes the last evaluated point, at
    any time, and [`done`][optim.optimizer.Run.done] says whether a stop test
    ended the run.

    A run stepped with changing arguments ranks `best_x` by values of different
    minibatches, which means little: use `Optimizer(rank_best=False)` and rank on
    a validation loss yourself. Such a run gets no oscillation or stall diagnosis.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> run = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=2).start(
        ...     [8.0]
        ... )
        >>> [run.step().value for _ in range(3)], run.done
        ([64.0, 16.0, 4.0], True)
        >>> run.result().status.name
        'MAX_STEPS'
    """

    def __init__(
        self,
        optimizer: Optimizer,
        x: Array,
        evaluator: Evaluator,
        hooks: _Hooks,
        *,
        note: str = "",
        state: RunState | None = None,
    ) -> None:
        self._optimizer = optimizer
        self._evaluator = evaluator
        self._hooks = hooks
        self._note = note
        self._state = state
        self._pending: tuple[Array, Any] | None = None
        self._x0: Array | None = x if state is None else None
        self._varying = False
        self._result: Result | None = None

    @property
    def done(self) -> bool:
        """Whether the run has ended (a stop test fired, or it failed)."""
        return self._result is not None

    @property
    def x(self) -> Array:
        """The parameters now: after the last step's update (a flat vector)."""
        if self._pending is not None:
            return self._pending[0]
        if self._state is not None:
            return self._state.x
        assert self._x0 is not None
        return self._x0

    @property
    def params(self) -> Any:
        """The parameters now, in the structure of `x0`."""
        spec = getattr(self._optimizer.objective, "spec", None)
        return self.x if spec is None else spec.unflatten(self.x)

    def step(self, *args: Any, **kwargs: Any) -> StepInfo:
        """Evaluate the current point with these arguments, run the tests, move.

        Args:
            *args: Extra arguments for the objective's methods, after the point
                (and after those given to `start`).
            **kwargs: Extra keyword arguments, likewise.

        Returns:
            The record of the point just evaluated.

        Raises:
            RuntimeError: If the run has already ended (see `result()`).
            OptimizationError: If something raised in the middle of the run (with
                `errors="raise"`); it holds the result.
        """
        if self._result is not None:
            raise RuntimeError(
                f"the run has ended ({self._result.status.value}); see run.result()"
            )
        optimizer, evaluator = self._optimizer, self._evaluator
        if args or kwargs:
            self._varying = True
            evaluator.bind(args, kwargs)
        end = self._evaluate_current()
        assert self._state is not None
        info = optimizer._info(self._state)
        if end is None:
            end = self._hooks.step(info)
            if end is not None:
                self._state, end = optimizer._settle(self._state, end, evaluator)
        if end is None:
            moved = optimizer._update(self._state, evaluator)
            if isinstance(moved, _End):
                end = moved
            else:
                self._pending = moved
        if end is not None:
            self._end(end)
        return info

    def _evaluate_current(self) -> _End | None:
        """Evaluate the pending point (x0 first), making it the state."""
        optimizer, evaluator = self._optimizer, self._evaluator
        if self._state is None:
            assert self._x0 is not None
            self._state = optimizer._start(self._x0, evaluator, self._hooks).pop()
            self._x0 = None
            return None
        if self._pending is None:  # resumed from a state: its update comes first
            self._hooks.start(optimizer.run_context(), self._state.x)
            moved = optimizer._update(self._state, evaluator)
            if isinstance(moved, _End):
                return moved
            self._pending = moved
        pending, self._pending = self._pending, None
        self._state, end = optimizer._evaluated(self._state, *pending, evaluator)
        return end

    def _end(self, end: _End) -> None:
        assert self._state is not None
        optimizer = self._optimizer
        if self._varying:
            optimizer = attrs.evolve(optimizer, max_steps=0)  # no diagnosis
        self._result = optimizer._finish(
            self._state, end, self._hooks, self._evaluator, self._note
        )

    def result(self) -> Result:
        """The run's result: final once it is `done`, else provisional.

        A provisional result (status `RUNNING`) describes the last evaluated point
        and calls no callback's `on_end`.

        Returns:
            The [`Result`][optim.result.Result].
        """
        if self._result is not None:
            return self._result
        if self._state is None:
            raise RuntimeError("the run has not taken a step yet: call run.step()")
        state = self._state
        return Result(
            x=state.x,
            value=state.value,
            gradient=state.gradient,
            gradient_norm=state.gradient_norm,
            steps=state.step,
            evaluations=self._evaluator.evaluations,
            gradient_evaluations=self._evaluator.gradient_evaluations,
            status=Status.RUNNING,
            message=f"the run is going on: step {state.step} evaluated",
            best_x=state.best_x,
            best_value=state.best_value,
            mode=self._optimizer.mode,
            spec=getattr(self._optimizer.objective, "spec", None),
            run_state=state,
        )

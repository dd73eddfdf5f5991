"""The `Optimizer`: the one loop that combines objective, estimator and step rule."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from optim import _validators
from optim._types import Array, ArrayLike
from optim.callbacks import Callback, CallbackLike, StopOnZeroGradient
from optim.engine import Engine, run_to_end, steps
from optim.gradients import (
    AnalyticGradient,
    CentralDifference,
    GradientEstimator,
    _KeywordHints,
)
from optim.hooks import Hooks
from optim.mode import Mode, to_mode
from optim.objective import FunctionObjective, Objective, _check_sendable
from optim.projections import Projection
from optim.result import Result, StepInfo
from optim.run import RunContext, RunState
from optim.step_rules import FixedStep, StepRule
from optim.stopping import MaxEvaluations, MaxGrowth, MaxSteps, MaxTime, ZeroGradient
from optim.stopping import advice as _advice
from optim.tree import StructuredObjective, flatten, is_structured

__all__ = ["DEFAULT_FTOL", "DEFAULT_MAX_STEPS", "Optimizer", "Run"]

DEFAULT_MAX_STEPS = 1000
"""The step budget of `run`, `iterate` and `resume` when `max_steps` is `None`."""

DEFAULT_FTOL = 1e7 * 2.220446049250313e-16
"""The default relative `ftol` of the progress stop: scipy L-BFGS-B's `factr * eps`."""


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


@attrs.frozen
class Optimizer(_KeywordHints):
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

    _misnamed: ClassVar[dict[str, str]] = {
        "bounds": "constraint",
        "maxiter": "max_steps",
        "callback": "callbacks",
        "method": "step_rule",
    }

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

    max_steps: int | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_count
    )
    """Most updates a run applies (status `MAX_STEPS`). `None` (the default) means
    [`DEFAULT_MAX_STEPS`][optim.optimizer.DEFAULT_MAX_STEPS] (1000) for the loops
    the optimizer owns (`run`, `iterate`, `resume`) and no budget for a loop you
    own ([`start`][optim.optimizer.Optimizer.start]), as in torch and optax."""

    ftol: float | None = attrs.field(
        default=DEFAULT_FTOL, kw_only=True, validator=_validators.optional_non_negative
    )
    r"""The progress stop: a run whose best value has not improved by more than
    `ftol` relative per step, on average over `patience` steps
    ($f_{\text{ref}} - f_{\text{best}} \le \text{ftol} \cdot \text{patience}
    \cdot |f_{\text{ref}}|$), and whose gradient norm has not halved in that
    time either, ends. If its point is stationary as far as the
    estimator and floating point can tell, that is `CONVERGED` (success); otherwise
    `NO_PROGRESS`, with a diagnosis (oscillating or stalled steps). The default,
    $10^7 \epsilon \approx 2.2 \times 10^{-9}$, is scipy L-BFGS-B's `factr * eps`;
    scipy tests the change of each step against $\max(|f|, 1)$, optim the change
    over `patience` steps against $|f|$, so that a value converging to 0 is never
    stopped by it. `None` switches it off. A run stepped with changing arguments
    (minibatches) is never stopped by it: its values do not measure progress."""

    patience: int | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_positive_count
    )
    """How many steps without progress (see `ftol`) end the run. `None` means 20
    for rules whose steps do not raise the objective on their way down (line
    searches, `FixedStep`) and 200 for rules with momentum or adaptive steps,
    whose values oscillate while they converge."""

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

    @property
    def step_budget(self) -> int:
        """The step budget of the loops the optimizer owns: `max_steps` or 1000.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=FixedStep(0.1)).step_budget
            1000
        """
        return DEFAULT_MAX_STEPS if self.max_steps is None else self.max_steps

    @property
    def progress_patience(self) -> int:
        """The progress stop's patience: `patience`, or the rule's default.

        Examples:
            >>> from optim import LBFGS, Adam
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=LBFGS()).progress_patience
            20
            >>> Optimizer(Sphere(), step_rule=Adam(0.1)).progress_patience
            200
        """
        if self.patience is not None:
            return self.patience
        rule = getattr(self.step_rule, "rule", self.step_rule)  # a Chain's own
        steady = getattr(rule, "evaluates_trial_points", False)
        return 20 if steady or isinstance(rule, FixedStep) else 200

    def run_context(
        self, *, objective: Objective | None = None, max_steps: int | None = -1
    ) -> RunContext:
        """Return the configuration a run hands to its callbacks' `on_start`.

        Args:
            objective: The objective the run sees (a structured run's wrapper), or
                `None` for the optimizer's own.
            max_steps: The run's step budget (`None`: no budget); by default the
                budget of the loops the optimizer owns.

        Returns:
            The objective, step rule, resolved estimator, mode, budget and
                constraint, and how the run ranks its best point and meets errors.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=FixedStep(0.1)).run_context().step_rule
            FixedStep(learning_rate=0.1)
        """
        return RunContext(
            objective=self.objective if objective is None else objective,
            step_rule=self.step_rule,
            gradient_estimator=self.gradient_estimator,
            mode=self.mode,
            max_steps=self.step_budget if max_steps == -1 else max_steps,
            constraint=self.constraint,
            rank_best=self.rank_best,
            errors=self.errors,
            ftol=self.ftol or 0.0,
            patience=None if self.ftol is None else self.progress_patience,
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
            x0: Starting point, an array of any shape (a scalar too; integers are
                treated as floats), or a structure of arrays (a dict, list or tuple
                of them, see [`optim.tree`][optim.tree]: the objective, the
                callbacks' `StepInfo.params` and `Result.params` then see that
                structure); copied, never modified.
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
        return run_to_end(self._engine(x0, args=args, kwargs=kwargs))

    def iterate(
        self,
        x0: ArrayLike | Any,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Generator[StepInfo, None, Result]:
        """Optimize step by step, yielding a [`StepInfo`][optim.result.StepInfo] a step.

        The same run as [`run`][optim.optimizer.Optimizer.run]: callbacks run
        before each record is yielded, and the generator returns the
        [`Result`][optim.result.Result] (as `StopIteration.value`). Stop early by
        leaving the loop. `x0` is checked at once, before any evaluation.

        Args:
            x0: Starting point (an array or a structure of arrays, as for
                [`run`][optim.optimizer.Optimizer.run]); copied, never modified.
            args: Extra arguments passed after the point to the objective.
            kwargs: Extra keyword arguments passed the same way.

        Returns:
            A generator of one record per step, the starting point (step 0)
                first, that returns the result when the run ends by itself.

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
        return steps(self._engine(x0, args=args, kwargs=kwargs))

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
        (a minibatch, say), runs the callbacks, stop tests and confirmations, and
        moves to the next point: the same engine as
        [`run`][optim.optimizer.Optimizer.run], so with the same arguments the
        same run. A loop you own has no step budget unless you set `max_steps`
        (the other budgets and stop tests apply as configured).

        Args:
            x0: Starting point (an array or a structure of arrays); or a
                [`RunState`][optim.run.RunState] (or `StepInfo`) to continue from,
                or the path of a checkpoint file to continue from (loaded with
                [`load_checkpoint`][optim.checkpoint.load_checkpoint]). A
                continued run's first `step` evaluates the point of step
                `state.step + 1` with the arguments given to it.
            args: Arguments passed to the objective at every step, before those
                given to `step`.
            kwargs: Keyword arguments passed the same way.
            like: When continuing from a state or a file, the run's `x0` (or an
                array of its library, on its device): the state's arrays move
                there, see [`RunState.moved_to`][optim.run.RunState.moved_to].
                For a structured run, the structure of its `x0` (the state
                holds the flat vector).

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
        engine = self._engine(
            x0, args=args, kwargs=kwargs, like=like, max_steps=self.max_steps
        )
        return Run(engine)

    def resume_from(
        self, state: RunState | StepInfo, *, like: Any = None
    ) -> Generator[StepInfo, None, Result]:
        """Continue a run from a saved state, step by step.

        The state's step is not announced again: the first record yielded is the
        next step. Its stop tests are asked again (a run that had ended stays
        ended). Counters and the random stream continue from the state's. With
        the same configuration, the continued run takes exactly the steps the
        uninterrupted run would have taken. [`Checkpoint`][optim.checkpoint.Checkpoint]
        files are loaded with [`Optimizer.resume`][optim.optimizer.Optimizer.resume].

        Args:
            state: The [`RunState`][optim.run.RunState] to continue from (a
                [`StepInfo`][optim.result.StepInfo] stands for its `run_state`).
            like: The run's `x0` (or an array of its library, on its device):
                the state's arrays move there, and the run computes there (see
                [`RunState.moved_to`][optim.run.RunState.moved_to]); without it,
                the run computes where the state's arrays are (a state read
                from a file holds numpy arrays). For a run started from a
                structure of arrays, that structure.

        Returns:
            A generator of one record per step after `state.step`, that returns
                the result when the run ends by itself.

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
        return steps(self._engine(state, like=like))

    def resume(self, path: str | os.PathLike[str], *, like: Any = None) -> Result:
        """Continue a run from a checkpoint file and return the result.

        The optimizer's configuration (objective and its parameters, step rule,
        estimator, mode, constraint) must match the checkpoint's; the budgets and
        callbacks may differ (raise `max_steps` to continue a run that used them
        up).

        Args:
            path: A file written by [`Checkpoint`][optim.checkpoint.Checkpoint] or
                [`save_checkpoint`][optim.checkpoint.save_checkpoint].
            like: The run's `x0`, or an array of its library on its device (a
                CUDA tensor, a JAX array): the file holds host copies, and the
                continued run computes there again, as the uninterrupted one did;
                without it, on the host in numpy. For a run started from a
                structure of arrays, that structure (or one of the same layout):
                the file holds the flat vector, and the result's `params` get the
                structure back.

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
        return run_to_end(self._engine(path, like=like))

    def _engine(
        self,
        start: Any,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        like: Any = None,
        max_steps: int | None = -1,
    ) -> Engine:
        """The engine of one run from `start`: a point, a state or a checkpoint."""
        if isinstance(start, str | os.PathLike):
            from optim.checkpoint import load_checkpoint

            start = load_checkpoint(start, self, like=like)
        if isinstance(start, StepInfo):
            start = start.run_state
        if isinstance(start, RunState):
            start = start.moved_to(like, self.step_rule)
        layout = like if isinstance(start, RunState) else start
        objective = self.objective
        if layout is not None and is_structured(layout):
            flat, spec = flatten(layout)
            objective = StructuredObjective(objective, spec)
            if not isinstance(start, RunState):
                start = flat
        budget = self.step_budget if max_steps == -1 else max_steps
        context = self.run_context(objective=objective, max_steps=budget)
        return Engine(context, self._hooks(budget), start, args=args, kwargs=kwargs)

    def _hooks(self, max_steps: int | None) -> Hooks:
        """The callbacks' hooks, then the stop tests this configuration asks for."""
        tests: list[Callback] = [ZeroGradient()]
        if max_steps is not None:
            tests.append(MaxSteps(max_steps))
        if self.max_evaluations is not None:
            tests.append(MaxEvaluations(self.max_evaluations))
        if self.max_time is not None:
            tests.append(MaxTime(self.max_time))
        if self.max_growth is not None:
            tests.append(
                MaxGrowth(
                    self.max_growth,
                    sign=self.mode.sign,
                    advice=_advice(self.step_rule, "too large"),
                )
            )
        tols = [c.tol for c in self.callbacks if isinstance(c, StopOnZeroGradient)]
        return Hooks.of(self.callbacks, tests, gradient_tol=min(tols, default=None))


class Run:
    """A run you step yourself: the loop belongs to your program.

    Made by [`Optimizer.start`][optim.optimizer.Optimizer.start]. Each
    [`step`][optim.optimizer.Run.step] evaluates the objective at the current
    point with the arguments you give it (a minibatch, say), hands the record to
    the callbacks and stop tests, and moves the point by the step rule: the same
    engine as [`Optimizer.run`][optim.optimizer.Optimizer.run], with the same
    checkpoints, budgets, stop tests and confirmations. A loop you own has no step
    budget unless the optimizer's `max_steps` is set. [`x`][optim.optimizer.Run.x]
    and [`params`][optim.optimizer.Run.params] are the parameters after the last
    step, [`result`][optim.optimizer.Run.result] describes the last evaluated
    point at any time, and [`done`][optim.optimizer.Run.done] says whether the run
    has ended; an ended run refuses another step.

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

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def done(self) -> bool:
        """Whether the run has ended (a stop test fired, it failed or diverged)."""
        return self._engine.done

    @property
    def x(self) -> Array:
        """The parameters now: after the last step's update (a flat vector)."""
        return self._engine.x

    @property
    def params(self) -> Any:
        """The parameters now, in the structure of `x0`."""
        spec = getattr(self._engine.context.objective, "spec", None)
        return self.x if spec is None else spec.unflatten(self.x)

    def step(self, *args: Any, **kwargs: Any) -> StepInfo:
        """Evaluate the current point with these arguments, run the tests, move.

        Args:
            *args: Extra arguments for the objective's methods, after the point
                (and after those given to `start`).
            **kwargs: Extra keyword arguments, likewise.

        Returns:
            The record of the point just evaluated (of the last good point, if
                the run ended without evaluating a new one).

        Raises:
            RuntimeError: If the run has already ended (see `result()`).
            OptimizationError: If something raised in the middle of the run (with
                `errors="raise"`); it holds the result, and the run is done.
        """
        engine = self._engine
        if engine.done:
            engine.step()  # raises, saying why
        engine.bind(args, kwargs)
        info = engine.step()
        return engine.info() if info is None else info

    def result(self) -> Result:
        """The run's result: final once it is `done`, else provisional.

        A provisional result (status `RUNNING`) describes the last evaluated point
        and calls no callback's `on_end`.

        Returns:
            The [`Result`][optim.result.Result].

        Raises:
            RuntimeError: If no step has been taken yet.
        """
        return self._engine.provisional()

"""The run engine: each phase of a run defined once, for every driver.

A step of a run is one sequence, whoever drives it: evaluate the pending point
(the start first), hand its record to the callbacks and stop tests, confirm what a
stop claims about the gradient, then ask the step rule for the next point. The
drivers ([`Optimizer.run`][optim.optimizer.Optimizer.run],
[`iterate`][optim.optimizer.Optimizer.iterate],
[`resume`][optim.optimizer.Optimizer.resume] and
[`Run.step`][optim.optimizer.Run.step]) only call
[`Engine.step`][optim.engine.Engine.step] until the run is
[`done`][optim.engine.Engine.done], so they cannot disagree.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Generator, Mapping
from typing import Any

import attrs
import numpy as np

from optim import backend
from optim._arrays import as_start_point, check_like_x, host_dtype, machine_eps
from optim._compare import same
from optim._references import ONE_LOCAL as _UNSHARED
from optim._types import Array
from optim.curvature import NewtonDecrease, newton_decrease
from optim.errors import OptimizationError
from optim.evaluator import Evaluator
from optim.gradients import AnalyticGradient
from optim.hooks import End, Hooks
from optim.result import Result, Status, StepInfo, Stop
from optim.run import RunContext, RunRecord, RunState
from optim.step_rules import BUFFERED, FixedStep, StepRule
from optim.stopping import (
    advice,
    at_rounding_level,
    confirming_estimator,
    diagnose,
    gradient_mismatch,
    second_step,
)

__all__ = ["Engine", "run_to_end", "steps"]

_logger = logging.getLogger("optim")


_F64 = np.dtype(np.float64)
_new_record = object.__new__  # a RunRecord whose every field `_state` then sets


class Engine:
    """One run: its configuration, hooks, evaluations and state, and its phases.

    Made by the [`Optimizer`][optim.optimizer.Optimizer]'s entry points, which
    then only call [`step`][optim.engine.Engine.step] until
    [`done`][optim.engine.Engine.done]. Each step evaluates the pending point (the
    start on the first step), asks the callbacks and stop tests about it, confirms
    a claim that the gradient is small, and moves the pending point by the step
    rule. A run resumed from a saved state asks its stop tests about that state
    again (so a run that had ended stays ended) and then steps as the
    uninterrupted run would have.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> engine = Optimizer(Sphere(), step_rule=FixedStep(0.25))._engine(
        ...     [8.0], max_steps=2
        ... )
        >>> [engine.step().value for _ in range(3)], engine.done
        ([64.0, 16.0, 4.0], True)
        >>> engine.result.status.name
        'MAX_STEPS'
    """

    __slots__ = (
        "_args",
        "_buffered",
        "_constraint",
        "_error",
        "_fixed_rate",
        "_growth_sign",
        "_kwargs",
        "_margin",
        "_numpy",
        "_patience",
        "_patience_floor",
        "_pending",
        "_quiet_norm",
        "_rank_best",
        "_resumed",
        "_retired",
        "_scratch",
        "_shown",
        "_sign",
        "_size_root",
        "_spare",
        "_spec",
        "_unmoved",
        "_value_bound",
        "_vdot",
        "_x0",
        "context",
        "evaluator",
        "hooks",
        "note",
        "result",
        "state",
        "varying",
    )

    def __init__(
        self,
        context: RunContext,
        hooks: Hooks,
        start: Any,
        *,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.hooks = hooks
        self.result: Result | None = None
        """The final result, once the run has ended."""
        self.varying = False
        """Whether steps were given their own arguments (minibatches)."""
        self._pending: tuple[Array, Any] | None = None
        # The last evaluation's error estimate, and whether the pending point is
        # the current one bit for bit (a zero step that changed the rule's state):
        # a deterministic objective is then not evaluated again there.
        self._error: Array | None = None
        self._unmoved = False
        self._args, self._kwargs = tuple(args), dict(kwargs or {})
        if isinstance(start, RunState):
            self.state: RunRecord | None = start
            self._x0: Array | None = None
            self._resumed, self.note = True, ""
            rng = _restored_stream(context, start.random_state)
        else:
            self.state, self._resumed = None, False
            start = as_start_point(start, keep_library=True)
            self._x0, self.note = _feasible(context, start)
            rng = context.gradient_estimator.random_stream()
        x = self.x
        dtype: Any = host_dtype(x)  # attrs' evolve is typed too narrowly for a dtype
        self.context = attrs.evolve(context, dtype=dtype)
        # What every step reads, looked up once.
        self._sign = context.mode.sign
        self._constraint = context.constraint
        self._rank_best = context.rank_best
        self._margin = context.ftol * (context.patience or 0)
        self._patience = context.patience
        # Fewer steps than this since the last progress: still progressing.
        self._patience_floor = min(3, context.patience or 0)
        self._spec = getattr(context.objective, "spec", None)
        # Where the hooks are silent (see _test): MaxGrowth's bound on the
        # minimized value, set once the start's value is known.
        growth = hooks.quiet.growth
        self._growth_sign = 1.0 if growth is None else growth[0]
        self._value_bound = math.inf
        self._quiet_norm = hooks.quiet.gradient_floor(backend.size(x))  # any norm
        self._shown: StepInfo | None = None  # the record the hooks saw last
        self._spare: Array | None = None  # an old point's buffer, see _moved
        self._size_root = math.inf  # an upper bound on |x|, kept by _update
        # Built-in rules step in the run's buffers (see _update).
        # numpy points only: another array library computes the pure `update`
        # in its namespace (one per run; no per-library path in the rules).
        self._numpy = type(x) is np.ndarray
        self._buffered = type(context.step_rule) in BUFFERED and self._numpy
        # numpy's vdot without its __array_function__ dispatch (a third of its
        # cost at small n): the arrays are the run's own numpy arrays.
        self._vdot: Any = backend.NUMPY_VDOT if self._numpy else backend.vdot
        rate = getattr(context.step_rule, "learning_rate", None)
        fixed = (
            type(context.step_rule) is FixedStep
            and self._numpy
            and x.dtype == _F64
            and type(rate) is float
            and not context.step_rule.weight_decay  # the step is then rate * |g|
            and context.constraint is None
        )
        self._fixed_rate: float | None = rate if fixed else None
        self._retired: Any = None  # the rule state before last, see _update
        self._scratch: dict[str, Any] = {}  # the rule's buffers and constants
        self.evaluator = Evaluator(
            context.objective,
            context.gradient_estimator,
            context.mode,
            rng=rng,
            constraint=context.constraint,
            evaluations=0 if self.state is None else self.state.evaluations,
            gradient_evaluations=(
                0 if self.state is None else self.state.gradient_evaluations
            ),
        )
        self.evaluator.bind(self._args, self._kwargs)
        # A rule that evaluates no trial points uses each gradient once: the
        # objective's gradients need no private copy (see keeps_gradients).
        self.evaluator.keeps_gradients = _keeps_gradients(context.step_rule)
        if self.state is not None:
            self._bound_growth(self.state)

    def _bound_growth(self, state: RunRecord) -> None:
        """Set the bound `MaxGrowth` puts on the minimized value (see `_test`)."""
        self._value_bound = self.hooks.quiet.growth_bound(state.start_value)

    @property
    def done(self) -> bool:
        """Whether the run has ended (then `result` holds its result)."""
        return self.result is not None

    @property
    def x(self) -> Array:
        """The point the next step evaluates (the start before the first step)."""
        if self._pending is not None:
            return self._pending[0]
        if self.state is not None:
            return self.state.x
        assert self._x0 is not None
        return self._x0

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Evaluate from now on with these arguments after the start's.

        Args:
            args: Extra positional arguments for this step (a minibatch, say).
            kwargs: Extra keyword arguments.
        """
        if args or kwargs or self.varying:
            self.varying = True
            merged = {**self._kwargs, **kwargs}
            self.evaluator.bind((*self._args, *args), merged)

    def step(self) -> StepInfo | None:
        """Take the next step: evaluate, test, confirm, update; finish at the end.

        Returns:
            The record of the point evaluated, or `None` when the run ended before
                evaluating a new one (its evaluation failed, or a resumed run was
                already over).

        Raises:
            RuntimeError: If the run has ended.
            OptimizationError: If the run ended `FAILED` (with `errors="raise"`);
                it holds the result, and the run is done.
        """
        if not self.advance():
            return None
        info = self._shown
        return info if info is not None else self.info()

    def advance(self) -> bool:
        """[`step`][optim.engine.Engine.step] without handing out its record.

        The record is made only when a hook asks about the step (see
        [`Hooks.quiet`][optim.hooks.Hooks.quiet]): the drivers that return only
        the result step by this.

        Returns:
            Whether a point was evaluated.

        Raises:
            RuntimeError: If the run has ended.
            OptimizationError: If the run ended `FAILED` (with `errors="raise"`).

        Examples:
            >>> from optim import FixedStep, Optimizer
            >>> from optim.problems import Sphere
            >>> engine = Optimizer(Sphere(), step_rule=FixedStep(0.25))._engine(
            ...     [8.0], max_steps=1
            ... )
            >>> engine.advance(), engine.advance(), engine.result.x
            (True, True, array([4.]))
        """
        if self.result is not None:
            raise RuntimeError(
                f"the run has ended ({self.result.status.value}): it takes no more "
                "steps; see its result"
            )
        if self.state is None:
            self.state = self._first()
        else:
            end = self._restart() if self._resumed else None
            if end is None:
                end = self._evaluate()
            if end is not None:
                self._finish(end)
                return False
        end = self._test()
        if end is None:
            end = self._update()
        if end is not None:
            self._finish(end)
        return True

    def info(self) -> StepInfo:
        """What the callbacks see of the current state.

        Returns:
            The record of the last evaluated point.
        """
        assert self.state is not None, "no point has been evaluated yet"
        return StepInfo(
            self.state, constraint=self._constraint, sign=self._sign, spec=self._spec
        )

    def interrupt(self) -> None:
        """End the run `INTERRUPTED` at the last complete iterate (Ctrl-C).

        Raises:
            KeyboardInterrupt: If no point had been evaluated yet.
        """
        if self.result is not None:
            return
        if self.state is None:
            raise KeyboardInterrupt
        state = self.state
        self._finish(
            End(
                Stop(
                    Status.INTERRUPTED,
                    f"interrupted (KeyboardInterrupt) after {state.step} steps; the "
                    "result is the last complete iterate, and best_x the best point "
                    f"(step {state.best_step})",
                )
            )
        )

    def provisional(self) -> Result:
        """The result so far: final once the run is done, else status `RUNNING`.

        Returns:
            The result; a provisional one calls no callback's `on_end`.

        Raises:
            RuntimeError: If no point has been evaluated yet.
        """
        if self.result is not None:
            return self.result
        if self.state is None:
            raise RuntimeError("the run has not taken a step yet: call run.step()")
        return self._result(
            self.state,
            Status.RUNNING,
            f"the run is going on: step {self.state.step} evaluated",
        )

    # --- the phases ------------------------------------------------------------

    def _first(self) -> RunRecord:
        """Announce the start to the callbacks and evaluate it: the step-0 state."""
        x = self._x0
        assert x is not None
        self.hooks.start(self.context, x)
        try:
            value, gradient, error = self.evaluator.evaluate(x)
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
        self._x0, self._error = None, error
        rule_state = self.context.step_rule.init(x)
        state = self._state(None, x, value, gradient, gradient_norm, error, rule_state)
        self._bound_growth(state)
        return state

    def _restart(self) -> End | None:
        """A resumed state: announce the run, test the state again, then update."""
        assert self.state is not None
        self._resumed = False
        self.hooks.start(self.context, self.state.x)
        end = self._test(tests_only=True)
        return self._update() if end is None else end

    def _evaluate(self) -> End | None:
        """Evaluate the pending point and make it the state, or say why the run ends."""
        state, pending = self.state, self._pending
        assert state is not None
        assert pending is not None
        self._pending = None
        x, rule_state = pending
        # A zero step (see `_update`): the same values, unless this step was
        # given its own arguments.
        unmoved, self._unmoved = self._unmoved and not self.varying, False
        if unmoved:
            value, gradient, error = state.value, state.gradient, self._error
        else:
            try:
                value, gradient, error = self.evaluator.evaluate(x)
            except Exception as failure:  # the run's result must survive it
                return _failed(state, failure)
            self._error = error
        gradient_norm = math.sqrt(self._vdot(gradient, gradient))
        if not (math.isfinite(value) and math.isfinite(gradient_norm)):
            return End(
                Stop(
                    Status.DIVERGED,
                    f"step {state.step + 1} produced a non-finite value or gradient; "
                    f"the result is the last finite iterate (step {state.step}); "
                    f"{advice(self.context.step_rule, 'too large')}",
                )
            )
        # The record of the last step is rewritten in place when nothing but
        # the engine refers to it (no hook, result or caller was shown it):
        # what a step costs at small n is mostly bookkeeping.
        reuse = type(state) is RunRecord and sys.getrefcount(state) == _UNSHARED + 1
        old_x = state.x  # reusable once nothing else refers to it
        try:
            self.state = self._state(
                state, x, value, gradient, gradient_norm, error, rule_state, reuse
            )
        except Exception as failure:  # a constraint's projection failed
            return _failed(state, failure)
        self._spare = old_x
        return None

    def _test(self, *, tests_only: bool = False) -> End | None:
        """Ask the callbacks (or only the stop tests) about a step; confirm a claim.

        Where the built-in tests are all silent
        ([`Hooks.quiet`][optim.hooks.Hooks.quiet]) only the other hooks are
        asked (those would all say "go on"), and with no other hook no record
        is made.

        Then the progress stop: a run with fixed arguments whose best value has
        not improved by more than `ftol` relative per step for `patience` steps ends.
        """
        state, hooks = self.state, self.hooks
        assert state is not None
        quiet = hooks.quiet
        silent = (
            not tests_only
            and state.gradient_norm > self._quiet_norm
            and state.step < quiet.max_steps
            and state.evaluations < quiet.max_evaluations
            and self._growth_sign * state.value <= self._value_bound
        )
        if silent and not hooks.loud:
            self._shown, end = None, None
        else:
            info = self._shown = StepInfo(
                state, constraint=self._constraint, sign=self._sign, spec=self._spec
            )
            end = hooks.step(info, tests_only=tests_only, quiet=silent)
            if end is not None:
                end = self._confirmed(end)
        if end is not None or self.varying:
            return end
        patience = self._patience
        if (
            patience is None
            or state.step - state.progress_step < self._patience_floor  # progressing
            or not _stopped_progressing(state, patience)
        ):
            return None
        return self._confirmed(End(_no_progress(state, self.context)))

    def _update(self) -> End | None:
        """Ask the step rule for the pending point, or say why there is none."""
        state, context, evaluator = self.state, self.context, self.evaluator
        assert state is not None
        if self._sign == 1.0:
            loss, descent_gradient = state.value, state.gradient
        else:
            loss, descent_gradient = evaluator.minimized(state.value, state.gradient)
        rule: Any = context.step_rule  # a built-in rule's `_update_into` below
        x0, out = state.x, None
        if self._numpy:
            # The buffer of the point before last, if nothing else refers to it:
            # the reference count says whether a callback, `History` or your
            # code kept that point (it then stays intact, and a new one is made).
            out, self._spare = self._spare, None
            if (
                out is None
                or sys.getrefcount(out) != _UNSHARED
                or out.shape != x0.shape
                or (out.dtype is not x0.dtype and out.dtype != x0.dtype)
            ):
                out = np.empty_like(x0)
        try:
            if self._buffered:
                # A built-in rule's step in the run's buffers: the step into
                # `out`, the new point over it; the rule's new state into the
                # arrays of the state before last where nothing else refers to
                # them. The same arithmetic as `update`, so the same bits.
                assert out is not None  # buffered runs are numpy's
                retired, self._retired = self._retired, None
                if retired is not None and sys.getrefcount(retired) != _UNSHARED:
                    retired = None  # a callback or a result kept it: left intact
                rule_state = rule._update_into(
                    out, descent_gradient, state.rule_state, retired, x0, self._scratch
                )
                self._retired = state.rule_state
                # |step|^2 without a pass over the step where that decides
                # nothing: a FixedStep of constant rate (no decay, float64)
                # steps by rate * |g|; where that clearly moves x (below) the
                # exact size would say the same, and the bound on |x| grows by
                # a hair more than with it.
                size, rate = -1.0, self._fixed_rate
                if rate is not None:
                    length = rate * state.gradient_norm
                    estimate = length * length  # inf on overflow (`**` raises)
                    root = self._size_root
                    if 1e-280 < estimate < math.inf and estimate > 4e-30 * root * root:
                        size = estimate * (1.0 + 1e-12)  # still an upper bound
                if size < 0.0:
                    size = float(self._vdot(out, out))
                x = np.add(x0, out, out)
            else:
                x, rule_state, size = self._pure_update(
                    rule, state, loss, descent_gradient, out
                )
            if self._constraint is not None:
                x = _projected(self._constraint, x, state.x)
                delta = x - state.x  # what the step did, for the test below
                size = float(self._vdot(delta, delta))
            # `_stuck` in O(1) for the common case, a finite step that moves x:
            # told by the step's squared size and a cached bound on |x| (kept by
            # the triangle inequality); the exact norm of x only when in doubt.
            root, stuck = self._size_root, None
            moves = 1e-30 * root * root < size < math.inf  # (False for nan)
            if not moves:  # in doubt: the exact |x|
                root = math.sqrt(self._vdot(state.x, state.x))
                moves = 1e-30 * root * root < size < math.inf
            if moves:
                self._size_root = root + math.sqrt(size)
            else:
                stuck = _stuck(state, x, size, rule_state, evaluator)
                self._unmoved = stuck is None and size == 0.0 and self._same_values()
        except Exception as error:  # the run's result must survive it
            return _failed(state, error)
        if stuck is not None:
            return self._confirmed(End(stuck))
        self._pending = (x, rule_state)
        return None

    def _same_values(self) -> bool:
        """Whether x's evaluation would repeat the last one, so is not made again.

        True with a deterministic estimator and the last error estimate at hand,
        after a zero step that changed the rule's state (a warm-up from rate 0, a
        rule that stays put after a failed search); `_evaluate` evaluates anyway
        when the step is given its own arguments.
        """
        state = self.state
        assert state is not None
        return self.evaluator.rng is None and (
            self._error is not None or state.gradient_error is None
        )

    def _pure_update(
        self,
        rule: StepRule[Any],
        state: RunRecord,
        loss: float,
        gradient: Array,
        out: Array | None,
    ) -> tuple[Array, Any, float]:
        """The next point by the rule's public `update`: the point, state, |step|^2.

        The point is written into `out` (numpy; see `_update`), or is `x + delta`
        in another array library.
        """
        x0 = state.x
        delta, rule_state = _checked_update(
            rule,
            rule.update(
                gradient, state.rule_state, x=x0, value=loss, evaluator=self.evaluator
            ),
            x0,
        )
        size = float(self._vdot(delta, delta))
        x = x0 + delta if out is None else np.add(x0, delta, out)
        return x, rule_state, size

    def _confirmed(self, end: End) -> End | None:
        """Check what an ending claims about the gradient; `None`: go on.

        A claim of a gradient test ([`Stop.gradient_tol`]) is checked with an
        inexact estimator, and so is a run that stopped making progress
        (`PRECISION_LIMIT`, `NO_PROGRESS`) under a gradient test: first by a
        second difference step (about `n` evaluations), then, if that cannot
        tell, by Richardson extrapolation. A point whose gradient is below what
        the run's deterministic estimator can resolve is `CONVERGED`, with a
        message saying so; a stalled run at a point as stationary as can be told
        likewise.
        """
        stop, state = end.stop, self.state
        assert state is not None
        stalled = stop.status in (Status.PRECISION_LIMIT, Status.NO_PROGRESS)
        tol = stop.gradient_tol
        if tol is None and stalled:
            tol = self.hooks.gradient_tol
        estimator = self.context.gradient_estimator
        checks = (
            []
            if tol is None  # nothing to confirm: no checking estimator is built
            else [
                check
                for check in (
                    second_step(estimator, state.x),
                    confirming_estimator(estimator),
                )
                if check is not None
            ]
        )
        if tol is None or not checks:
            return self._at_floor(end) if stalled else end
        resolution = state.gradient_error or 0.0
        deterministic = estimator.random_stream() is None
        for check in checks:
            norm, floor = self._measure(check, stop.gradient_ord)
            name = type(check).__name__
            own = type(check) is type(estimator)  # the run's own scheme, measured
            if own:
                resolution = max(resolution, floor)
            if norm + floor <= tol:
                return _converged(
                    f"{stop.message}; confirmed by {name}: gradient norm {norm:.3g}, "
                    f"error at most {floor:.3g}, within tol {tol:.3g}"
                )
            if norm - floor > tol:
                break  # clearly larger than tol
            if own and deterministic and norm <= resolution:
                break  # within the run's own measured floor: conclusive, no Richardson
        if deterministic and norm <= max(floor, resolution):
            return _converged(
                f"{stop.message}; tol {tol:.3g} is below the floor "
                f"{max(floor, resolution):.3g} of {type(estimator).__name__} at "
                f"this point, where {name} puts the gradient norm at {norm:.3g}: "
                "stationary as far as the estimator can tell"
            )
        if norm - floor > tol:
            _logger.debug("step %d: %s finds %.3g; going on", state.step, name, norm)
            return end if stalled else end.fallback  # a budget may still end it
        return End(
            Stop(
                Status.NOISE_FLOOR,
                f"{stop.message}, but {name} puts the gradient norm at {norm:.3g} "
                f"with an error of at most {floor:.3g}: the run's "
                f"{type(estimator).__name__} cannot tell whether the gradient is "
                f"below tol {tol:.3g} (use CentralDifference or Richardson, or a tol "
                f"of at least {norm + floor:.2g})",
            )
        )

    def _measure(self, check: Any, order: float) -> tuple[float, float]:
        """The gradient norm and its error by the estimator `check`, in `order`.

        A second difference step measures the run's own estimate: the error is
        bounded by the difference of the two. Under a constraint the projected
        gradient is measured, and coordinates pinned at a bound carry no error.
        """
        state = self.state
        assert state is not None
        gradient, error = self.evaluator.confirm(state.x, check)
        self.state = attrs.evolve(
            state,
            evaluations=self.evaluator.evaluations,
            gradient_evaluations=self.evaluator.gradient_evaluations,
        )
        constraint, sign = self.context.constraint, self.context.mode.sign
        same_scheme = type(check) is type(self.context.gradient_estimator)
        to_host = backend.to_host  # the norms on the host (numpy: as it is)
        if error is not None:
            error = to_host(error)
        if same_scheme and check.random_stream() is None:
            # The two estimates' difference bounds the run's own error, and so
            # does the second estimate's own error estimate: the larger.
            difference = np.abs(to_host(gradient) - to_host(state.gradient))
            error = difference if error is None else np.maximum(difference, error)
            gradient = state.gradient
        projected = gradient
        if constraint is not None:
            projected = constraint.projected_gradient(state.x, sign * gradient)
        projected, gradient = to_host(projected), to_host(gradient)
        if error is not None and constraint is not None:
            error = np.where((projected == 0) & (gradient != 0), 0.0, error)
        norm = float(np.linalg.norm(np.ravel(projected), ord=order))
        floor = 0.0 if error is None else float(np.linalg.norm(np.ravel(error), order))
        return norm, floor

    def _at_floor(self, end: End) -> End:
        """A stalled run at a point as stationary as can be told is `CONVERGED`."""
        state = self.state
        assert state is not None
        error = state.gradient_error
        if error is not None and state.gradient_norm <= error:
            return _converged(
                f"{end.stop.message}; the gradient norm {state.gradient_norm:.3g} is "
                f"within the estimator's error estimate {error:.3g}: the point is "
                "stationary as far as the estimator can tell"
            )
        exact = isinstance(self.context.gradient_estimator, AnalyticGradient)
        bound = state if exact or error is None else _with_error(state)
        if at_rounding_level(bound):
            return _converged(
                f"{end.stop.message}; the gradient is at the level of floating-point "
                "rounding: a stationary point"
            )
        if exact:
            verdict = self._newton_floor(end)
            if verdict is not None:
                return verdict
        floor = self._precision_floor() if exact else None
        # A search that found no lower point is direct evidence: the floor, an
        # estimate, is then given a factor 2 (a decrease of 4x the rounding noise).
        reach = 2.0 if end.stop.status is Status.PRECISION_LIMIT else 1.0
        if floor is not None and state.gradient_norm <= reach * floor:
            tol = self.hooks.gradient_tol
            asked = "" if tol is None else f"tol {tol:.3g} is below it; "
            return _converged(
                f"{end.stop.message}; no step can lower f measurably here: the "
                f"precision floor of the gradient norm at this point is {floor:.3g} "
                f"({asked}reached {state.gradient_norm:.3g})"
            )
        return end

    def _newton_floor(self, end: End) -> End | None:
        r"""Judge a stalled run by what a Newton step could still gain.

        The Hessian is measured at `x` (see
        [`newton_decrease`][optim.curvature.newton_decrease]: $2n$ gradient
        evaluations, or $n$ of the objective's Hessian-vector products) and
        bounds the decrease $\Delta$ any step can bring where the quadratic
        model holds; one more evaluation, at the Newton point, checks that the
        model holds. The run is `CONVERGED` when $\Delta$ is within the rounding
        error of $f$ (as good as can be had: no step can lower $f$ measurably) or
        within $\text{ftol} \cdot \max(1, |f|)$ (as good as asked: scipy
        L-BFGS-B's measure of a converged value). Its message states the
        gradient norm reached and the floor these put on it, $\|g\|
        \sqrt{\text{threshold} / \Delta}$. Otherwise the stall stands and its
        message says what a Newton step would still gain.

        Returns:
            The verdict, or `None` when the Hessian cannot tell (not measured
            under a constraint, beyond `MAX_SIZE` coordinates or in float32; not
            positive definite by more than its error): then the
            steepest-descent floor of `_precision_floor` decides.
        """
        state, evaluator = self.state, self.evaluator
        assert state is not None
        if self._constraint is not None or state.x.dtype != _F64:
            return None
        loss, gradient = evaluator.minimized(state.value, state.gradient.copy())
        product = (
            evaluator.hessian_vector_product
            if evaluator.has_hessian_vector_product
            else None
        )
        try:
            found = newton_decrease(
                lambda point: evaluator.value_and_gradient(point)[1],
                state.x,
                gradient,
                hessian_vector_product=product,
            )
            trial = None if found is None else evaluator.value(state.x + found.step)
        except Exception:
            return None
        finally:
            self._recount()
        if found is None or trial is None:
            return None
        eps = float(np.finfo(state.x.dtype).eps)
        reach = 4.0 if end.stop.status is Status.PRECISION_LIMIT else 1.0
        rounding = 10.0 * eps * abs(loss)
        if found.bound > reach * rounding:
            rounding = max(rounding, self._value_noise(loss))
        asked = self.context.ftol * max(1.0, abs(loss))
        gained = loss - trial  # what the Newton step did gain
        how, unseen = _newton_how(found, product is None), _unseen_note(found)
        norm = state.gradient_norm
        tol = self.hooks.gradient_tol
        below = "" if tol is None else f"tol {tol:.3g} is below it; "
        if found.bound <= reach * rounding and gained <= reach * rounding:
            floor = _scaled_floor(norm, found.bound, reach * rounding)
            return _converged(
                f"{end.stop.message}; no step can lower f measurably here: {how}, "
                f"within its rounding error {rounding:.3g}; the precision floor of "
                f"the gradient norm at this point is {floor:.3g} ({below}reached "
                f"{norm:.3g}){unseen}"
            )
        if found.bound <= asked and gained <= asked:
            floor = _scaled_floor(norm, found.bound, asked)
            return _converged(
                f"{end.stop.message}; f is converged to ftol here: {how}, within "
                f"ftol * max(1, |f|) = {asked:.3g} (scipy L-BFGS-B's test of a "
                f"converged value); the floor this puts on the gradient norm at "
                f"this point is {floor:.3g} ({below}reached {norm:.3g}){unseen}"
            )
        message = (
            f"{end.stop.message}; not a minimum to precision: {how} (it gained "
            f"{gained:.3g}), more than the rounding error {rounding:.3g} of f"
            + (f" and ftol * max(1, |f|) = {asked:.3g}" if asked > 0.0 else "")
            + unseen
        )
        return attrs.evolve(end, stop=attrs.evolve(end.stop, message=message))

    def _recount(self) -> None:
        """Bring the state's evaluation counts up to date after end-of-run probes."""
        state, evaluator = self.state, self.evaluator
        assert state is not None
        self.state = attrs.evolve(
            state,
            evaluations=evaluator.evaluations,
            gradient_evaluations=evaluator.gradient_evaluations,
        )

    def _precision_floor(self) -> float | None:
        r"""The smallest gradient norm that floating point lets a step act on here.

        A step along $-g$ lowers $f$ by at most $\|g\|^2 / (2L)$, with $L$ the
        curvature along $g$; once that is below the rounding error of $f$
        (at least $10 \epsilon |f|$, more where the computed $f$ is measurably
        noisier, see `_value_noise`), no step can lower $f$ measurably. $L$ is
        measured with one gradient evaluation a short step along $-g$ (projected
        on the constraint). `None` when it cannot be measured.
        """
        state, evaluator, context = self.state, self.evaluator, self.context
        assert state is not None
        # A copy: the objective may write the probe's gradient into the same buffer.
        loss, gradient = evaluator.minimized(state.value, state.gradient.copy())
        norm = _norm(gradient)
        eps = machine_eps(state.x)
        if not norm > 0.0:
            return None
        t = eps**0.5 * max(1.0, _norm(state.x))
        point = state.x - (t / norm) * gradient
        if context.constraint is not None:
            point = _projected(context.constraint, point, state.x)
        moved = _norm(point - state.x)
        try:
            _, other = evaluator.value_and_gradient(point)
        except Exception:
            return None
        finally:
            self._recount()
        if not moved > 0.0:
            return None
        curvature = _norm(other - gradient) / moved
        rounding = max(10.0 * eps * abs(loss), self._value_noise(loss))
        floor = math.sqrt(2.0 * curvature * rounding)
        return floor if math.isfinite(floor) else None

    def _value_noise(self, loss: float) -> float:
        r"""The rounding noise of the computed $f$ at `x`, measured (8 evaluations).

        $f$ is evaluated at $x (1 + k \epsilon)$, $k = -4, \dots, 4$; their third
        differences cancel every smooth trend at that scale and leave the noise
        (for independent noise of size $\sigma$ their mean square is
        $20 \sigma^2$, Moré and Wild's ECnoise in its simplest form). A value
        computed as a small difference of large terms is noisier than
        $\epsilon |f|$; this measures how much. `0.0` when it cannot be measured.
        """
        state, evaluator, constraint = self.state, self.evaluator, self._constraint
        assert state is not None
        eps = machine_eps(state.x)
        values = []
        try:
            for k in range(-4, 5):
                if k == 0:
                    values.append(loss)
                    continue
                point = state.x * (1.0 + k * eps)
                if constraint is not None:
                    point = _projected(constraint, point, state.x)
                values.append(evaluator.value(point))
        except Exception:
            return 0.0
        finally:
            self._recount()
        third = np.diff(np.asarray(values, dtype=np.float64), 3)
        noise = math.sqrt(float(np.mean(third**2)) / 20.0)
        return noise if math.isfinite(noise) else 0.0

    def _finish(self, end: End) -> None:
        """Turn the final state and the reason to stop into the result; end hooks."""
        # No more steps: free the old point's buffer and the rule's.
        self._spare = self._retired = None
        self._scratch.clear()
        state, context = self.state, self.context
        assert state is not None
        outside = None if end.failure else _outside(context.constraint, state)
        if outside is not None:
            end = outside
        stop = end.stop
        status, message, diagnosis = stop.status, stop.message, ""
        budget = state.step if status is Status.NO_PROGRESS else context.max_steps
        if status in (Status.MAX_STEPS, Status.NO_PROGRESS) and budget:
            clause, diagnosis = diagnose(
                state,
                sign=context.mode.sign,
                max_steps=0 if self.varying else budget,
                rule=context.step_rule,
            )
            message += clause
        if diagnosis or status in (
            Status.DIVERGED,
            Status.PRECISION_LIMIT,
            Status.NO_PROGRESS,
        ):
            message, diagnosis = self._blame(state, message, diagnosis)
        if status in (Status.PRECISION_LIMIT, Status.NO_PROGRESS) and _unbounded(
            state, context.mode.sign
        ):
            side = "below" if context.mode.sign > 0 else "above"
            message += (
                f"; the objective went from {state.start_value:.6g} to "
                f"{state.value:.6g}: it appears unbounded {side}"
            )
        step_failed = status is Status.FAILED and end.failed_step > state.step
        if step_failed and context.errors == "diverge":
            status = Status.DIVERGED
        if self.note:
            message = f"{message}; {self.note}"
        result = self._result(state, status, message, diagnosis)
        try:
            result, failure = self.hooks.end(result)
        except OptimizationError as error:  # a callback's deliberate end
            self.result = error.result or result
            raise
        self.result = result
        if result.status is Status.FAILED:
            step = end.failed_step if status is Status.FAILED else state.step
            raise OptimizationError(result.message, step=step, result=result) from (
                end.failure or failure
            )

    def _blame(self, state: RunRecord, message: str, diagnosis: str) -> tuple[str, str]:
        """Blame an exact gradient that disagrees with the values, not the steps."""
        context = self.context
        if not isinstance(context.gradient_estimator, AnalyticGradient):
            return message, diagnosis
        mismatch = gradient_mismatch(state, self.evaluator, context.constraint)
        if not mismatch:
            return message, diagnosis
        for size in ("too large", "too small"):
            blame = advice(context.step_rule, size)
            for joint in (", so ", "; ", ": "):
                message = message.replace(f"{joint}{blame}", "")
        return f"{message}; {mismatch}", "gradient_mismatch"

    # --- records ---------------------------------------------------------------

    def _result(
        self, state: RunRecord, status: Status, message: str, diagnosis: str = ""
    ) -> Result:
        return Result(
            x=state.x,
            value=state.value,
            gradient=state.gradient,
            gradient_norm=state.gradient_norm,
            steps=state.step,
            evaluations=self.evaluator.evaluations,
            gradient_evaluations=self.evaluator.gradient_evaluations,
            status=status,
            message=message,
            best_x=state.best_x,
            best_value=state.best_value,
            mode=self.context.mode,
            diagnosis=diagnosis,
            spec=getattr(self.context.objective, "spec", None),
            run_state=state.frozen(),
        )

    def _stationarity(self, x: Array, gradient: Array, gradient_norm: float) -> float:
        """The norm of the projected gradient (`gradient_norm`, unconstrained)."""
        constraint = self.context.constraint
        if constraint is None:
            return gradient_norm
        sign = self.context.mode.sign
        name = f"{type(constraint).__name__}.projected_gradient"
        try:
            projected = constraint.projected_gradient(x, sign * gradient)
        except Exception as error:
            raise ValueError(f"{name} raised {error!r}") from error
        return _norm(check_like_x(projected, x, name=name, what="a gradient"))

    def _state(
        self,
        previous: RunRecord | None,
        x: Array,
        value: float,
        gradient: Array,
        gradient_norm: float,
        error: Array | None,
        rule_state: Any,
        reuse: bool = False,
    ) -> RunRecord:
        """The state at a new iterate: the start (`previous=None`) or the next step.

        With `reuse`, the previous record becomes the new one (see `_evaluate`).
        """
        evaluator, sign, counts = self.evaluator, self._sign, self.evaluator.counts
        evaluations = counts.evaluations
        if self._constraint is not None:
            gradient_norm = self._stationarity(x, gradient, gradient_norm)
        error_norm = None if error is None else _norm(error)
        if previous is None:
            return RunRecord(
                step=0,
                x=x,
                value=value,
                gradient=gradient,
                gradient_norm=gradient_norm,
                gradient_error=error_norm,
                evaluations=evaluations,
                gradient_evaluations=evaluator.gradient_evaluations,
                rule_state=rule_state,
                random_state=evaluator.random_state,
                best_x=x,
                best_value=value,
                best_step=0,
                non_improving_steps=0,
                start_value=value,
                progress_value=value,
                progress_step=0,
                progress_evaluations=evaluations,
                progress_gradient_norm=gradient_norm,
            )
        step, loss = previous.step + 1, sign * value
        improved = loss < sign * previous.best_value
        reference = sign * previous.progress_value
        lower = loss < reference - self._margin * abs(reference)
        if lower or gradient_norm < 0.5 * previous.progress_gradient_norm:
            progress_step, progress_evaluations = step, evaluations
            progress_norm = gradient_norm
        else:
            progress_step = previous.progress_step
            progress_evaluations = previous.progress_evaluations
            progress_norm = previous.progress_gradient_norm
        best = previous if not improved and self._rank_best else None
        if best is None:
            best_x, best_value, best_step = x, value, step
        else:
            best_x, best_value, best_step = best.best_x, best.best_value, best.best_step
        progress_value = value if lower else previous.progress_value
        non_improving = previous.non_improving_steps + (not improved)
        # All is computed: now the fields, of the previous record (`reuse`) or
        # of a new one (all of them set: no constructor call, no keywords).
        record = previous if reuse else _new_record(RunRecord)
        record.step = step
        record.x = x
        record.value = value
        record.gradient = gradient
        record.gradient_norm = gradient_norm
        record.gradient_error = error_norm
        record.evaluations = evaluations
        record.gradient_evaluations = counts.gradient_evaluations
        record.rule_state = rule_state
        record.random_state = None if evaluator.rng is None else evaluator.random_state
        record.best_x = best_x
        record.best_value = best_value
        record.best_step = best_step
        record.non_improving_steps = non_improving
        record.start_value = previous.start_value
        record.progress_value = progress_value
        record.progress_step = progress_step
        record.progress_evaluations = progress_evaluations
        record.progress_gradient_norm = progress_norm
        return record


def run_to_end(engine: Engine) -> Result:
    """Step a run until it ends and return its result (the drivers `run`, `resume`).

    numpy's overflow and invalid-value warnings are silenced: what they would say
    is in the status and message. Ctrl-C ends the run `INTERRUPTED`.

    Args:
        engine: The run.

    Returns:
        Its result.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25))
        >>> run_to_end(optimizer._engine([8.0], max_steps=2)).x
        array([2.])
    """
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            while engine.result is None:
                engine.advance()
        except KeyboardInterrupt:
            engine.interrupt()
    assert engine.result is not None
    return engine.result


def steps(engine: Engine) -> Generator[StepInfo, None, Result]:
    """Step a run, yielding each new record; return the result (`iterate`).

    Args:
        engine: The run.

    Yields:
        The record of each point evaluated.

    Returns:
        The result, when the run ends by itself.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25))
        >>> [info.step for info in steps(optimizer._engine([8.0], max_steps=2))]
        [0, 1, 2]
    """
    try:
        while engine.result is None:
            info = engine.step()
            if info is not None:
                yield info
    except KeyboardInterrupt:
        engine.interrupt()
    assert engine.result is not None
    return engine.result


def _norm(array: Array) -> float:
    return math.sqrt(backend.vdot(array, array))


def _feasible(context: RunContext, x: Array) -> tuple[Array, str]:
    """Check the constraint against `x0` and project it; say if it moved."""
    constraint = context.constraint
    if constraint is None:
        return x, ""
    constraint.check(x)
    projected = backend.astype(constraint.project(x), x.dtype, copy=False)
    if tuple(projected.shape) != tuple(x.shape) or not _finite(projected):
        raise ValueError(
            f"{type(constraint).__name__}.project returned a "
            f"{projected.shape} array with non-finite entries or the wrong shape "
            f"for x0 of shape {x.shape}"
        )
    if backend.array_equal(projected, x):
        return x, ""
    return projected, (
        "x0 was outside the constraint and was projected onto it (moved by "
        f"{_norm(projected - x):.3g})"
    )


def _finite(x: Array) -> bool:
    """Whether every entry of `x` is finite, in its array library."""
    if type(x) is np.ndarray:
        return bool(np.isfinite(x).all())
    xp = backend.namespace_of(x)
    return bool(xp.all(xp.isfinite(x)))


def _restored_stream(
    context: RunContext, random_state: dict[str, Any] | None
) -> np.random.Generator | None:
    """The estimator's random stream, set to a saved state."""
    estimator = context.gradient_estimator
    rng = estimator.random_stream()
    if (rng is None) != (random_state is None):
        raise ValueError(
            "the state was saved with a "
            f"{'deterministic' if random_state is None else 'random'} estimator, "
            f"but this optimizer's estimator {estimator!r} is "
            f"{'random' if random_state is None else 'deterministic'}"
        )
    if rng is not None and random_state is not None:
        rng.bit_generator.state = random_state
    return rng


def _newton_how(found: NewtonDecrease, differences: bool) -> str:
    """How the Newton bound was found, for a message."""
    probes = "gradient evaluations" if differences else "Hessian products"
    where = " along the directions the gradient has a component in"
    return (
        f"a Newton step (Hessian measured by {found.evaluations} {probes}) "
        f"would lower f by at most {found.bound:.3g}" + where * bool(found.unseen)
    )


def _unseen_note(found: NewtonDecrease) -> str:
    """What the Newton bound leaves out: directions the gradient cannot see."""
    if not found.unseen:
        return ""
    kind = (
        f"negative curvature (a saddle: the smallest eigenvalue is "
        f"{found.smallest:.3g})"
        if found.smallest < -found.error
        else "no measurable curvature"
    )
    return (
        f"; the Hessian also has {found.unseen} direction(s) of {kind} along "
        "which the gradient has no component: no gradient step moves along them "
        "(a symmetry of the problem keeps the run off them; a start off the "
        "symmetry may go lower)"
    )


def _stopped_progressing(state: RunRecord, patience: int) -> bool:
    """Whether the run has stopped progressing, by steps or by evaluations.

    True once `patience` steps, or more evaluations than `patience` steps cost on
    average while the run progressed (and more than 10% of all), have passed
    since the last progress.
    """
    since = state.step - state.progress_step
    if since >= patience:
        return True
    if since < 3 or state.progress_step < 3:
        return False  # no pace to compare with yet, or one costly step only
    spent = state.evaluations - state.progress_evaluations
    pace = state.progress_evaluations / max(state.progress_step, 1)
    return spent > max(0.1 * state.evaluations, patience * pace)


def _unbounded(state: RunRecord, sign: float) -> bool:
    """Whether the minimized value fell absurdly far: the objective is unbounded."""
    start, loss = sign * state.start_value, sign * state.value
    return loss < start - 1e12 * (1.0 + abs(start))


def _with_error(state: RunRecord) -> RunRecord:
    """The state with its gradient norm raised by its error estimate (a bound)."""
    norm = state.gradient_norm + (state.gradient_error or 0.0)
    return attrs.evolve(state, gradient_norm=norm)


def _keeps_gradients(rule: Any) -> bool:
    """Whether a rule may keep gradients beyond its update.

    Only built-in rules that evaluate no trial points are known not to.
    """
    inner = getattr(rule, "rule", rule)  # a Chain's own rule
    built_in = type(inner).__module__ == "optim.step_rules"
    return not built_in or bool(getattr(rule, "evaluates_trial_points", True))


def _scaled_floor(norm: float, decrease: float, threshold: float) -> float:
    """The gradient norm at which a predicted `decrease` would reach `threshold`.

    The model's decrease grows with the square of the gradient's scale.
    """
    if not decrease > 0.0:
        return math.inf
    return norm * math.sqrt(threshold / decrease)


def _converged(message: str) -> End:
    return End(Stop(Status.CONVERGED, message))


def _no_progress(state: RunRecord, context: RunContext) -> Stop:
    """Why a run whose objective stopped improving ends."""
    error = state.gradient_error
    noisy = context.gradient_estimator.random_stream() is not None
    measure = (
        "estimated gradient norm (one random estimate)" if noisy else "gradient norm"
    )
    return Stop(
        Status.NO_PROGRESS,
        f"no progress in the {state.step - state.progress_step} steps since step "
        f"{state.progress_step}: the best value ({state.best_value:.6g}, step "
        f"{state.best_step}) improved by at most ftol={context.ftol:.2g} relative "
        f"per step and the gradient norm did not halve; {measure} "
        f"{state.gradient_norm:.3g}"
        + ("" if error is None else f" (error estimate {error:.3g})")
        + f" at step {state.step}",
    )


def _projected(constraint: Any, x: Array, like: Array) -> Array:
    """`constraint.project(x)`, checked in O(1) to be a point like `like`."""
    name = f"{type(constraint).__name__}.project"
    return check_like_x(constraint.project(x), like, name=name, what="a point")


def _outside(constraint: Any, state: RunRecord) -> End | None:
    """A `FAILED` end if the final point is outside the constraint's set."""
    if constraint is None or constraint.contains(state.x):
        return None
    name = f"{type(constraint).__name__}.project"
    error = ValueError(f"{name} returned a point outside its set")
    return End(
        Stop(
            Status.FAILED,
            f"{name} returned a point outside its set (its contains() is False at "
            f"step {state.step}): the run's result cannot be trusted to lie in the set",
        ),
        failure=error,
        failed_step=state.step,
    )


def _failed(state: RunRecord, error: Exception) -> End:
    """The end of a run whose next step raised."""
    return End(
        Stop(
            Status.FAILED,
            f"step {state.step + 1} raised {error!r}; the result is the last good "
            f"iterate (step {state.step})",
        ),
        failure=error,
        failed_step=state.step + 1,
    )


def _checked_update(rule: Any, out: object, x: Array) -> tuple[Array, Any]:
    """The `(step, state)` pair a rule's `update` returned, checked in O(1)."""
    if type(out) is tuple and len(out) == 2:  # the common case: no names formatted
        step = out[0]
        if type(step) is np.ndarray and step.dtype == x.dtype and step.shape == x.shape:
            return step, out[1]
    name = f"{type(rule).__name__}.update"
    if not (isinstance(out, tuple) and len(out) == 2):
        sized = isinstance(out, tuple | list) or (
            isinstance(out, np.ndarray) and out.ndim == 1
        )
        what = (
            f"a {len(out)}-element {type(out).__name__}"  # type: ignore[arg-type]
            if sized
            else type(out).__name__
        )
        raise TypeError(f"{name} returned {what}, expected a (step, state) pair")
    return check_like_x(out[0], x, name=name, what="a step"), out[1]


def _stuck(
    state: RunRecord, x: Array, size: float, rule_state: Any, evaluator: Evaluator
) -> Stop | None:
    """Why the step from `state` to `x` cannot go on, or `None` (one pass, usually).

    A non-finite point diverges. A step too small to change `x` has reached the
    limit of floating-point precision, and so has a zero step that leaves the
    rule's state unchanged too (with a deterministic estimator every further step
    would be the same: a stalled line search). A zero step that changes the
    state (a schedule warming up from 0) goes on.
    """
    step = state.step + 1
    if not _finite(x):
        return Stop(
            Status.DIVERGED,
            f"step {step} produced a non-finite point (the step rule's step, or the "
            "projection, was not finite); the result is the last finite iterate "
            f"(step {state.step})",
        )
    if not backend.array_equal(x, state.x):
        return None
    if size == 0.0 and (
        evaluator.rng is not None or not same(rule_state, state.rule_state)
    ):
        return None
    return Stop(
        Status.PRECISION_LIMIT,
        f"the step after step {state.step} did not change x"
        + (" or the step rule's state" if size == 0.0 else "")
        + ": no further progress is possible in floating point (for a line "
        "search: no trial point lowered the objective); gradient norm "
        f"{state.gradient_norm:.3g} at step {state.step}",
    )

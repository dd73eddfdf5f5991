"""A run's hooks: its callbacks and stop tests, called in order, and why a run ends."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim.callbacks import Callback, CallbackLike, StopOnZeroGradient
from optim.errors import OptimizationError
from optim.result import Result, Status, StepInfo, Stop
from optim.stopping import MaxEvaluations, MaxGrowth, MaxSteps, ZeroGradient

if TYPE_CHECKING:
    from optim._types import Array
    from optim.run import RunContext

__all__ = ["End", "Hooks", "Quiet"]

_EPSILON = float(np.finfo(np.float64).eps)


@attrs.frozen
class End:
    """Why a run ends: the stop, and the exception behind a failure.

    Examples:
        >>> End(Stop(Status.MAX_STEPS, "out of steps")).stop.status.name
        'MAX_STEPS'
    """

    stop: Stop
    """The status and message."""

    failure: BaseException | None = None
    """The exception behind a `FAILED` end, or `None`."""

    failed_step: int = -1
    """The step whose computation raised (`-1` when none did)."""

    fallback: End | None = None
    """The next stop of the same step, if this one is a gradient claim that the
    confirmation may refute (a budget must still end the run)."""


@attrs.frozen
class Quiet:
    r"""Where a run's step hooks all answer "go on": the engine then need not ask.

    Made of the built-in tests whose answer is a comparison of the record's
    numbers ([`MaxSteps`][optim.stopping.MaxSteps],
    [`MaxEvaluations`][optim.stopping.MaxEvaluations],
    [`ZeroGradient`][optim.stopping.ZeroGradient],
    [`MaxGrowth`][optim.stopping.MaxGrowth] and
    [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient] in any of its
    norms, exactly those classes): they keep no state and have no effect, so a
    record inside the region is one they would all let pass, and only the other
    hooks are asked ([`Hooks.loud`][optim.hooks.Hooks.loud]). Outside it every
    hook is asked, in order, as always.

    A test in the 1- or infinity norm is told by the record's 2-norm too:
    $\|g\|_\infty \ge \|g\|_2 / \sqrt{n}$ and $\|g\|_1 \ge \|g\|_2$, so
    it is silent while the 2-norm is above its `tol` times $\sqrt{n}$ (or 1),
    with a margin for the rounding of both norms (see
    [`gradient_floor`][optim.hooks.Quiet.gradient_floor]).

    Examples:
        >>> Quiet(max_steps=10).max_evaluations
        inf
    """

    max_steps: float = math.inf
    """Silent while the step is below this."""

    max_evaluations: float = math.inf
    """Silent while the evaluation count is below this."""

    gradient_norm: float = -math.inf
    """Silent while the gradient norm is above this."""

    infinity_norm: float = -math.inf
    """The largest `tol` of an infinity-norm `StopOnZeroGradient`: silent while
    the largest gradient component is above it."""

    one_norm: float = -math.inf
    """The largest `tol` of a 1-norm `StopOnZeroGradient`: silent while the sum
    of the gradient's components' sizes is above it."""

    growth: tuple[float, float] | None = None
    """`(sign, max_growth)` of a [`MaxGrowth`][optim.stopping.MaxGrowth]: silent
    while the minimized value is at most `growth_bound` of the start's."""

    @classmethod
    def split(
        cls, callbacks: Iterable[CallbackLike]
    ) -> tuple[Quiet, tuple[CallbackLike, ...]]:
        """The region where the built-in tests among `callbacks` are silent.

        Args:
            callbacks: Every callback and test of a run.

        Returns:
            The region, and the callbacks it does not account for, in order.

        Examples:
            >>> from optim.stopping import MaxSteps, ZeroGradient
            >>> quiet, loud = Quiet.split([ZeroGradient(), print, MaxSteps(10)])
            >>> quiet.max_steps, quiet.gradient_norm, loud
            (10, 0.0, (<built-in function print>,))
        """
        steps, evaluations, norm = math.inf, math.inf, -math.inf
        norms = {1.0: -math.inf, np.inf: -math.inf}  # the other orders' tol
        growth: tuple[float, float] | None = None
        loud: list[CallbackLike] = []
        for callback in callbacks:
            kind = type(callback)  # exactly these classes: a subclass may differ
            if kind is MaxSteps and isinstance(callback, MaxSteps):
                steps = min(steps, callback.max_steps)
            elif kind is MaxEvaluations and isinstance(callback, MaxEvaluations):
                evaluations = min(evaluations, callback.max_evaluations)
            elif kind is ZeroGradient:
                norm = max(norm, 0.0)
            elif kind is StopOnZeroGradient and isinstance(
                callback, StopOnZeroGradient
            ):
                if callback.norm == 2.0:
                    norm = max(norm, callback.tol)
                else:
                    order = callback.norm
                    norms[order] = max(norms[order], callback.tol)
            elif kind is MaxGrowth and isinstance(callback, MaxGrowth) and not growth:
                growth = (callback.sign, callback.max_growth)
            else:
                loud.append(callback)
        quiet = cls(steps, evaluations, norm, norms[np.inf], norms[1.0], growth)
        return quiet, tuple(loud)

    def gradient_floor(self, size: int) -> float:
        """The 2-norm above which every gradient test is silent, at `size` variables.

        Args:
            size: The number of variables.

        Returns:
            The floor. A record whose computed gradient 2-norm is above it
                has computed 1- and infinity norms above their tests' `tol`.

        Examples:
            >>> quiet = Quiet(gradient_norm=1e-6, infinity_norm=1e-6)
            >>> quiet.gradient_floor(1), 1e-5 < quiet.gradient_floor(100) < 1.001e-5
            (1.0000000000000027e-06, True)
        """
        # The computed 2-norm is within (n/2 + 2) ulps of the true one and the
        # computed 1-norm within n ulps (the infinity norm is exact): a margin
        # of 4n ulps covers both.
        margin = 1.0 + 4.0 * (size + 2) * _EPSILON
        return max(
            self.gradient_norm,
            self.infinity_norm * math.sqrt(size) * margin,
            self.one_norm * margin,
        )

    def growth_bound(self, start_value: float) -> float:
        """The largest minimized value `MaxGrowth` lets pass, from the start's.

        Args:
            start_value: The objective at the start (the user's sign).

        Returns:
            The bound on `sign * value` (infinite without `MaxGrowth`).

        Examples:
            >>> Quiet(growth=(1.0, 10.0)).growth_bound(-2.0)
            28.0
        """
        if self.growth is None:
            return math.inf
        sign, max_growth = self.growth
        start = sign * start_value
        return start + max_growth * (1.0 + abs(start))


@attrs.frozen
class Hooks:
    """The start, step and end hooks of a run's callbacks and stop tests, in order.

    Stop tests are the built-in budgets and tests the configuration asks for, and
    every callback that declares itself one
    ([`Callback.stop_test`][optim.callbacks.Callback.stop_test]); a resumed run asks
    them again about the state it resumes from, without calling the other hooks.

    Examples:
        >>> from optim.stopping import MaxSteps
        >>> hooks = Hooks.of([print], [MaxSteps(3)])
        >>> len(hooks.steps), len(hooks.tests)
        (2, 1)
    """

    starts: tuple[Callable[[RunContext, Array], None], ...]
    """Every callback's `on_start`."""

    steps: tuple[Callable[[StepInfo], bool | Stop | None], ...]
    """Every callback's `on_step` (plain functions themselves), tests last."""

    ends: tuple[Callable[[Result], str | None], ...]
    """Every callback's `on_end`."""

    tests: tuple[Callable[[StepInfo], bool | Stop | None], ...]
    """The step hooks that are stop tests, in the same order."""

    gradient_tol: float | None = None
    """The smallest tolerance of the gradient tests among the callbacks (the
    precision limit of a run is confirmed against it), or `None`."""

    quiet: Quiet = Quiet()
    """Where the built-in tests among the step hooks are silent (see
    [`Quiet`][optim.hooks.Quiet])."""

    loud: tuple[Callable[[StepInfo], bool | Stop | None], ...] = ()
    """The step hooks `quiet` does not account for, in order: the only ones
    asked about a record inside it."""

    @classmethod
    def of(
        cls,
        callbacks: Iterable[CallbackLike],
        tests: Iterable[Callback],
        *,
        gradient_tol: float | None = None,
    ) -> Hooks:
        """Collect the hooks of `callbacks`, then of the configuration's `tests`.

        Args:
            callbacks: The user's callbacks ([`Callback`][optim.callbacks.Callback]
                instances or plain functions).
            tests: The stop tests the configuration asks for.
            gradient_tol: See [`gradient_tol`][optim.hooks.Hooks.gradient_tol].

        Returns:
            The hooks, in order.
        """
        everything = (*callbacks, *tests)
        quiet, loud = Quiet.split(everything)
        starts: list[Callable[[RunContext, Array], None]] = []
        steps: list[Callable[[StepInfo], bool | Stop | None]] = []
        ends: list[Callable[[Result], str | None]] = []
        stop_tests: list[Callable[[StepInfo], bool | Stop | None]] = []
        for callback in everything:
            if not isinstance(callback, Callback):
                steps.append(callback)
                continue
            starts.append(callback.on_start)
            steps.append(callback.on_step)
            ends.append(callback.on_end)
            if callback.stop_test:
                stop_tests.append(callback.on_step)
        return cls(
            tuple(starts),
            tuple(steps),
            tuple(ends),
            tuple(stop_tests),
            gradient_tol,
            quiet,
            tuple(c.on_step if isinstance(c, Callback) else c for c in loud),
        )

    def start(self, context: RunContext, x0: Array) -> None:
        """Call every start hook."""
        for hook in self.starts:
            hook(context, x0)

    def step(
        self, info: StepInfo, *, tests_only: bool = False, quiet: bool = False
    ) -> End | None:
        """Call every step hook (all of them, even after a stop) and say why to end.

        Args:
            info: The step's record.
            tests_only: Call only the stop tests (a resumed run's first state).
            quiet: The record lies in [`quiet`][optim.hooks.Hooks.quiet]: call
                only the [`loud`][optim.hooks.Hooks.loud] hooks (the others
                would all say "go on").

        Returns:
            Why the run ends, or `None` to go on.
        """
        end = None
        hooks = self.loud if quiet else self.tests if tests_only else self.steps
        for hook in hooks:
            try:
                answer = hook(info)
            except Exception as error:
                return End(
                    Stop(
                        Status.FAILED,
                        f"callback {name(hook)} raised {error!r} at step "
                        f"{info.step}; the result is that step's iterate",
                    ),
                    failure=error,
                    failed_step=info.step,
                )
            if answer is None or answer is False:
                continue
            if not isinstance(answer, bool | Stop):
                return End(
                    Stop(
                        Status.FAILED,
                        f"callback {name(hook)} returned {type(answer).__name__} at "
                        f"step {info.step}; a callback returns True, False, None or "
                        "a Stop; the result is that step's iterate",
                    ),
                    failure=TypeError(f"{name(hook)} returned {type(answer).__name__}"),
                    failed_step=info.step,
                )
            if end is None:
                end = End(_as_stop(answer, hook, info.step))
            elif end.stop.gradient_tol is not None and end.fallback is None:
                # A gradient claim may be refuted: keep the next stop in reserve.
                stop = _as_stop(answer, hook, info.step)
                if stop.gradient_tol is None:
                    end = attrs.evolve(end, fallback=End(stop))
        return end

    def end(self, result: Result) -> tuple[Result, BaseException | None]:
        """Call every end hook; a returned note is appended to the message.

        Args:
            result: The run's result.

        Returns:
            The result, noted, and the exception of the first end hook that
                raised (the result is then `FAILED`, its message naming the hook), or
                `None`. Every end hook runs, whatever an earlier one did.
        """
        failure: BaseException | None = None
        for hook in self.ends:
            try:
                note = hook(result)
            except OptimizationError:
                raise  # a callback that ends the run with a result of its own
            except Exception as error:
                failure = failure or error
                note = f"callback {name(hook)} raised {error!r} at the end of the run"
                result = attrs.evolve(result, status=Status.FAILED)
            if note:
                result = attrs.evolve(result, message=f"{result.message}; {note}")
        return result, failure


def _as_stop(answer: object, hook: Callable[..., object], step: int) -> Stop:
    if isinstance(answer, Stop):
        return answer
    return Stop(Status.STOPPED, f"stopped by callback {name(hook)} at step {step}")


def name(hook: Callable[..., Any]) -> str:
    """How messages name a hook: its callback's class, or the function's name.

    Args:
        hook: A bound method of a callback, or a plain function.

    Returns:
        The name.

    Examples:
        >>> name(print)
        'print'
    """
    owner = getattr(hook, "__self__", None)
    if owner is not None and not isinstance(owner, type(attrs)):
        return type(owner).__name__
    return str(getattr(hook, "__qualname__", repr(hook)))

"""Records the optimizer produces: per-step `StepInfo`, the final `Result`."""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim._types import Array
from optim.mode import Mode

if TYPE_CHECKING:
    from optim.projections import Projection
    from optim.run import RunRecord, RunState

_array_eq = attrs.cmp_using(eq=np.array_equal)


class Status(enum.Enum):
    """Why a run ended.

    Examples:
        >>> Status.CONVERGED.value
        'converged'
    """

    CONVERGED = "converged"
    """A convergence test (such as `StopOnZeroGradient`) was met."""
    MAX_STEPS = "max_steps"
    """`max_steps` steps were taken without meeting a stopping test."""
    DIVERGED = "diverged"
    """A value, gradient or point became non-finite, or the objective exploded."""
    STOPPED = "stopped"
    """A callback asked to stop."""
    NOISE_FLOOR = "noise_floor"
    """The gradient looked zero, but the estimator's error estimate was larger than
    the tolerance: the gradient is lost in the estimator's noise, not known to be
    zero (see [`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient])."""
    PRECISION_LIMIT = "precision_limit"
    """No further progress is possible in floating point: the step no longer
    changes `x` (for a line-search rule: no trial point lowered the objective at
    the limit of precision)."""
    NO_PROGRESS = "no_progress"
    """The objective stopped improving: for `patience` steps its best value
    improved by at most `ftol` relative (see
    [`Optimizer.ftol`][optim.optimizer.Optimizer.ftol]), and the point is not known
    to be stationary (a run that stops there at a stationary point ends
    `CONVERGED`)."""
    MAX_EVALUATIONS = "max_evaluations"
    """The objective-evaluation budget `max_evaluations` was used up."""
    MAX_TIME = "max_time"
    """The wall-time budget `max_time` ran out."""
    RUNNING = "running"
    """Not ended yet: a provisional result of a [`Run`][optim.optimizer.Run]."""
    INTERRUPTED = "interrupted"
    """The run was interrupted (`KeyboardInterrupt`, Ctrl-C)."""
    FAILED = "failed"
    """The objective, estimator or step rule raised an exception."""


@attrs.frozen
class Stop:
    """What a callback returns to end a run with a given status and message.

    A plain `True` from a callback means `Stop(Status.STOPPED, ...)`.

    Examples:
        >>> Stop(Status.CONVERGED, "close enough").status
        <Status.CONVERGED: 'converged'>
    """

    status: Status
    """The run's final status."""
    message: str
    """Why the run stopped, for people."""
    gradient_tol: float | None = attrs.field(default=None, kw_only=True)
    """For `CONVERGED` by a gradient test, the tolerance on the gradient norm: with
    an inexact estimator the optimizer then confirms the claim with an independent,
    more accurate estimate at the final point (counted in the evaluations) and ends
    `CONVERGED` only if the gradient is within `gradient_tol` to that estimate's
    accuracy, `NOISE_FLOOR` if it cannot tell, and goes on if the gradient is
    clearly larger. `None`: the stop is taken as it is."""
    gradient_ord: float = attrs.field(default=2.0, kw_only=True)
    """The order of the norm `gradient_tol` bounds (`2`, `1` or `numpy.inf`); the
    confirmation measures the gradient and its error in the same norm."""


class StepInfo:
    """What callbacks see at each step: the point, value, gradient and counters.

    Callbacks and [`Optimizer.iterate`][optim.optimizer.Optimizer.iterate] see one
    per step: step `0` is the starting point, step `k` the point after `k` updates.
    It is a read-only view of the run's record of that step, whose
    [`RunState`][optim.run.RunState] (what a run needs to continue: the step
    rule's state, the random stream, the best point) `run_state` gives; callbacks
    that save runs, such as [`Checkpoint`][optim.checkpoint.Checkpoint], use it.
    Do not modify its arrays.

    How long its arrays stay valid: `x` and `best_x` for as long as you hold the
    record or the array (the engine writes a new point into an old point's
    buffer only when nothing else refers to it). The arrays of the step rule's
    state (`run_state.rule_state`) likewise: the built-in rules write a new
    state into the arrays of the state before last only when nothing else
    refers to that state or the array, and never modify the state they are
    given. `gradient` likewise, unless the objective writes each gradient into
    one buffer of its own: then until the next evaluation (copy what you keep).
    [`History`][optim.history.History] copies what it keeps.

    Args:
        run_state: The state (or the engine's [`RunRecord`][optim.run.RunRecord])
            of the step.
        constraint: The run's constraint, or `None` (see `projected_gradient`).
        sign: `+1` in descent, `-1` in ascent.
        spec: The layout of a structured `x0`
            ([`TreeSpec`][optim.tree.TreeSpec]), or `None`.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=1)
        >>> [info.value for info in optimizer.iterate(np.array([3.0, 2.0]))]
        [13.0, 8.32]
    """

    __slots__ = ("__weakref__", "_constraint", "_record", "_sign", "_spec", "_state")

    def __init__(
        self,
        run_state: RunRecord,
        *,
        constraint: Projection | None = None,
        sign: float = 1.0,
        spec: Any = None,
    ) -> None:
        # Plain slot stores (a frozen class's cost two calls each): the view is
        # read-only through its properties.
        self._record = run_state
        self._state: RunState | None = None
        self._constraint = constraint
        self._sign = sign
        self._spec = spec

    def __eq__(self, other: object) -> bool:
        if type(other) is not StepInfo:
            return NotImplemented
        return self.run_state == other.run_state

    __hash__ = None  # type: ignore[assignment]

    @property
    def run_state(self) -> RunState:
        """The complete state of the run at this step."""
        state = self._state
        if state is None:
            state = self._state = self._record.frozen()
        return state

    @property
    def constraint(self) -> Projection | None:
        """The run's constraint, or `None` (see `projected_gradient`)."""
        return self._constraint

    @property
    def sign(self) -> float:
        """`+1` in descent, `-1` in ascent."""
        return self._sign

    @property
    def spec(self) -> Any:
        """The layout of a structured `x0` (a `TreeSpec`), or `None`."""
        return self._spec

    @property
    def params(self) -> Any:
        """The current point in the structure of `x0` (`x` itself for an array)."""
        return self.x if self.spec is None else self.spec.unflatten(self.x)

    @property
    def step(self) -> int:
        """Number of updates applied so far."""
        return self._record.step

    @property
    def x(self) -> Array:
        """The current point."""
        return self._record.x

    @property
    def value(self) -> float:
        """The objective at `x`."""
        return self._record.value

    @property
    def gradient(self) -> Array:
        """The gradient (or its estimate) at `x`."""
        return self._record.gradient

    @property
    def gradient_norm(self) -> float:
        """Euclidean norm of `projected_gradient`: the stationarity measure.

        Without a constraint (or inside the set) the norm of `gradient`.
        """
        return self._record.gradient_norm

    @property
    def projected_gradient(self) -> Array:
        r"""The gradient projected on the constraint, in the user's sign.

        $x - P(x - g)$ in descent and $P(x + g) - x$ in ascent (scipy's `pgtol`
        measure for boxes): zero at a constrained stationary point, `gradient`
        itself without a constraint.
        """
        if self.constraint is None:
            return self.gradient
        sign, x = self.sign, self.x
        projected: Array = sign * self.constraint.projected_gradient(
            x, sign * self.gradient
        )
        return projected

    @property
    def gradient_error(self) -> float | None:
        """Norm of the estimator's error estimate, or `None` if it has none."""
        return self._record.gradient_error

    @property
    def evaluations(self) -> int:
        """Objective value calls so far, finite-difference and trial points included."""
        return self._record.evaluations

    @property
    def start_value(self) -> float:
        """The objective at the run's starting point."""
        return self._record.start_value

    @property
    def gradient_evaluations(self) -> int:
        """Analytic gradient calls so far."""
        return self._record.gradient_evaluations

    def __repr__(self) -> str:
        return (
            f"StepInfo(step={self.step}, value={self.value!r}, "
            f"gradient_norm={self.gradient_norm!r}, evaluations={self.evaluations})"
        )


@attrs.frozen(kw_only=True)
class Result:
    """The outcome of [`Optimizer.run`][optim.optimizer.Optimizer.run].

    Values and gradients are in the user's own sign, whatever the mode.

    Examples:
        >>> from optim import FixedStep, Optimizer, StopOnZeroGradient
        >>> from optim.problems import Sphere
        >>> stop = StopOnZeroGradient(1e-8)
        >>> result = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[stop]
        ... ).run([3.0, 2.0])
        >>> result.status, result.steps, result.success
        (<Status.CONVERGED: 'converged'>, 92, True)
    """

    x: Array = attrs.field(eq=_array_eq)
    """The final point (the last finite one if the run diverged)."""
    value: float
    """The objective at `x`."""
    gradient: Array = attrs.field(eq=_array_eq)
    """The gradient at `x`."""
    gradient_norm: float
    """Euclidean norm of `gradient`; under a constraint, of the projected gradient
    (see [`StepInfo.projected_gradient`][optim.result.StepInfo.projected_gradient]),
    which is zero at a constrained optimum."""
    steps: int
    """Number of updates applied."""
    evaluations: int
    """Objective value calls, including finite-difference and trial points."""
    gradient_evaluations: int
    """Analytic gradient calls."""
    status: Status
    """Why the run ended."""
    message: str
    """A sentence explaining the status, with a hint when something went wrong."""
    best_x: Array = attrs.field(eq=_array_eq)
    """The best point seen (lowest value in descent, highest in ascent)."""
    best_value: float
    """The objective at `best_x`."""
    mode: Mode
    """Whether the run minimized or maximized."""
    diagnosis: str = ""
    """For a `MAX_STEPS` run that went wrong, what it looked like: `"oscillating"`
    (the objective mostly failed to improve: the learning rate is likely too large)
    or `"stalled"` (it improved by less than 1%: the learning rate may be too small);
    `""` otherwise."""
    spec: Any = attrs.field(default=None, eq=False, repr=False)
    """The layout of a structured `x0` ([`TreeSpec`][optim.tree.TreeSpec]), or
    `None`; see [`params`][optim.result.Result.params]."""

    run_state: RunState | None = attrs.field(default=None, eq=False, repr=False)
    """The complete state at the result's step: continue the run from it with
    [`Optimizer.resume_from`][optim.optimizer.Optimizer.resume_from] (`None` when
    the iterates became non-finite)."""

    @property
    def success(self) -> bool:
        """Whether the run converged."""
        return self.status is Status.CONVERGED

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype the run computed in: `float32` for a float32 `x0`, else `float64`.

        `x`, `gradient`, `best_x` and the step rule's state arrays all have it;
        values are Python floats whatever the dtype.

        Examples:
            >>> import numpy as np
            >>> from optim import Adam, Optimizer
            >>> from optim.problems import Sphere
            >>> optimizer = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=3)
            >>> optimizer.run(np.ones(2, dtype=np.float32)).dtype
            dtype('float32')
            >>> optimizer.run([1, 1]).dtype
            dtype('float64')
        """
        return self.x.dtype

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready Python values (lists for arrays).

        Strict JSON: a non-finite number (which a run's point and best point never
        are) becomes `None`, and the message says what happened.

        Returns:
            Every field but `run_state` and `spec`, plus `success` and
                `outcome`; the status and mode as their string values.

        Examples:
            >>> import json
            >>> from optim import FixedStep, Optimizer
            >>> from optim.problems import Sphere
            >>> result = Optimizer(
            ...     Sphere(), step_rule=FixedStep(0.25), max_steps=1
            ... ).run([2.0])
            >>> json.dumps(result.to_dict(), allow_nan=False)[:52]
            '{"x": [1.0], "value": 1.0, "gradient": [2.0], "gradi'
        """
        data: dict[str, Any] = {}
        for field in attrs.fields(Result):
            if field.name in ("run_state", "spec"):
                continue
            data[field.name] = _json_ready(getattr(self, field.name))
        data["success"] = self.success
        data["outcome"] = self.outcome
        return data

    @property
    def outcome(self) -> str:
        """One word for the run: the diagnosis if there is one, else the status.

        `"converged"`, `"oscillating"`, `"stalled"`, `"diverged"`, `"max_steps"`,
        `"stopped"`, ... : what a learning-rate sweep tabulates.
        """
        return self.diagnosis or self.status.value

    @property
    def params(self) -> Any:
        """The final point in the structure of `x0` (`x` itself for an array).

        Examples:
            >>> import numpy as np
            >>> from optim import FixedStep, Optimizer
            >>> def loss(p):
            ...     return float(np.sum(p["w"] ** 2) + (p["b"] - 1.0) ** 2)
            >>> result = Optimizer(loss, step_rule=FixedStep(0.4), max_steps=60).run(
            ...     {"w": np.ones(2), "b": 0.0}
            ... )
            >>> {k: np.round(v, 6).tolist() for k, v in result.params.items()}
            {'w': [0.0, 0.0], 'b': 1.0}
        """
        return self.x if self.spec is None else self.spec.unflatten(self.x)

    @property
    def fun(self) -> float:
        """The scipy name for [`value`][optim.result.Result.value]."""
        return self.value

    @property
    def jac(self) -> Array:
        """The scipy name for [`gradient`][optim.result.Result.gradient]."""
        return self.gradient

    @property
    def nit(self) -> int:
        """The scipy name for [`steps`][optim.result.Result.steps]."""
        return self.steps

    @property
    def nfev(self) -> int:
        """The scipy name for [`evaluations`][optim.result.Result.evaluations]."""
        return self.evaluations

    @property
    def njev(self) -> int:
        """The scipy name for `gradient_evaluations`."""
        return self.gradient_evaluations

    def __str__(self) -> str:
        """A readable summary, as `print(result)` shows it.

        Examples:
            >>> from optim import FixedStep, Optimizer
            >>> from optim.problems import Sphere
            >>> print(Optimizer(Sphere(), step_rule=FixedStep(0.5)).run([3.0, 2.0]))
             status: converged (success)
            message: the gradient is exactly zero at step 1: a stationary point
                  x: [0. 0.]
              value: 0.0
              steps: 1 (nit)
            evaluations: 2 values (nfev), 2 gradients (njev)

            The status is printed as the status; a diagnosis gets its own line:

            >>> oscillating = Optimizer(
            ...     Sphere(), step_rule=FixedStep(1.0), max_steps=10
            ... ).run([3.0, 2.0])
            >>> print(oscillating)  # doctest: +ELLIPSIS
             status: max_steps (no success)
            diagnosis: oscillating
            message: reached max_steps=10 with gradient norm 7.21; the objective ...
                  x: [3. 2.]
              value: 13.0
              steps: 10 (nit)
            evaluations: 14 values (nfev), 11 gradients (njev)
        """
        success = "success" if self.success else "no success"
        lines = [f" status: {self.status.value} ({success})"]
        if self.diagnosis:
            lines.append(f"diagnosis: {self.diagnosis}")
        lines += [
            f"message: {self.message}",
            f"      x: {np.array2string(self.x, precision=8, threshold=20)}",
            f"  value: {self.value!r}",
            f"  steps: {self.steps} (nit)",
            f"evaluations: {self.evaluations} values (nfev), "
            f"{self.gradient_evaluations} gradients (njev)",
        ]
        if self.dtype != np.float64:
            lines.append(f"  dtype: {self.dtype}")
        return "\n".join(lines)


def _json_ready(value: Any) -> Any:
    """Arrays as lists, enums as their values, non-finite numbers as `None`."""
    if isinstance(value, np.ndarray):
        return [_json_ready(item) for item in value.tolist()]
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

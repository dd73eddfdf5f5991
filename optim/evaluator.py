"""The run's evaluations: counted, memoized, in the minimization convention."""

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import numpy.typing as npt

from optim import backend
from optim._arrays import (
    RUN_DTYPES,
    as_float_array,
    as_scalar,
    check_gradient_shape,
    check_like_x,
    checked_values,
    run_dtype,
)
from optim._types import Array, override
from optim.gradients import AnalyticGradient, GradientEstimator
from optim.mode import Mode
from optim.objective import Objective, bind_arguments, value_is_derived
from optim.projections import Bounds, Projection


def _same_point(a: Array, b: Array) -> bool:
    """`numpy.array_equal(a, b)` for two arrays, without its overhead.

    Points of another array library are compared in their namespace (one
    boolean crosses to the host).
    """
    if type(a) is np.ndarray:
        return a.shape == b.shape and not np.count_nonzero(a != b)
    xp = backend.namespace_of(a)
    return tuple(a.shape) == tuple(b.shape) and bool(xp.all(a == b))


class _Counted(Objective):
    """Forward to an objective, counting calls and checking what comes back."""

    __slots__ = (
        "copies",
        "evaluations",
        "gradient_evaluations",
        "last",
        "name",
        "objective",
        "pair_name",
    )

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.evaluations = 0
        self.gradient_evaluations = 0
        self.name = type(objective).__name__
        self.pair_name = f"{self.name}.value_and_gradient"
        self.copies = True
        """Whether every gradient is copied (see `Evaluator.keeps_gradients`)."""
        self.last: Array | None = None

    def _private(self, gradient: object, x: Array, name: str) -> Array:
        """The objective's gradient, checked; copied when it may be overwritten.

        Copied always when the run keeps gradients across evaluations, and
        otherwise once the objective is seen to return the buffer it returned
        last time (it writes each gradient into one array): from then on, always.
        """
        checked = check_gradient_shape(gradient, x, name=name, copy=self.copies)
        if not self.copies and checked is self.last:
            self.copies = True
            checked = backend.copy(checked)
        self.last = checked if not self.copies else None
        return checked

    @property
    @override
    def has_gradient(self) -> bool:
        return self.objective.has_gradient

    @override
    def value(self, x: Array) -> float:
        self.evaluations += 1
        return as_scalar(self.objective.value(x), name=f"{self.name}.value")

    @override
    def values(self, xs: Array) -> Array:
        self.evaluations += xs.shape[0]
        values: Array = checked_values(
            self.objective.values(xs), xs, name=f"{self.name}.values"
        )
        return values

    @override
    def map_values(
        self,
        batches: Sequence[npt.NDArray[Any]],
        executor: Executor | None = None,
    ) -> list[npt.NDArray[Any]]:
        # Count here, in the optimizer's process, then let the wrapped objective
        # dispatch: a pickled copy of this wrapper would count on the workers.
        self.evaluations += sum(batch.shape[0] for batch in batches)
        results = self.objective.map_values(batches, executor)
        if len(results) != len(batches):
            raise ValueError(
                f"map_values must return one array per batch ({len(batches)}), "
                f"got {len(results)}"
            )
        return [
            checked_values(values, batch, name=f"{self.name}.map_values")
            for batch, values in zip(batches, results, strict=True)
        ]

    @override
    def gradient(self, x: Array) -> Array:
        self.gradient_evaluations += 1
        return self._private(self.objective.gradient(x), x, f"{self.name}.gradient")

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        self.evaluations += 1
        self.gradient_evaluations += 1
        pair = self.objective.value_and_gradient(x)
        name = self.pair_name
        if type(pair) is tuple and len(pair) == 2:  # the common case, in O(1)
            value, gradient = pair
            if (
                type(value) is float
                and type(gradient) is np.ndarray
                and type(x) is np.ndarray
                and gradient.shape == x.shape
                and (gradient.dtype is x.dtype or gradient.dtype == run_dtype(x.dtype))
            ):  # `_private` inlined: its checks are passed
                if not self.copies and gradient is not self.last:
                    self.last = gradient
                    return value, gradient
                self.copies, self.last = True, None
                return value, gradient.copy()
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(
                f"{name} returned {type(pair).__name__}, expected a (value, gradient) "
                "pair"
            )
        value, gradient = pair
        return as_scalar(value, name=name), self._private(gradient, x, name)


class Evaluator:
    """The run's evaluations: counted, memoized, and in the minimization convention.

    The optimizer makes one per run. Step rules and line searches see it through
    the [`TrialEvaluator`][optim.evaluation.TrialEvaluator] protocol
    ([`value`][optim.evaluator.Evaluator.value] and
    [`value_and_gradient`][optim.evaluator.Evaluator.value_and_gradient] at trial
    points): values and gradients come back in the *descent* convention, those of
    $-f$ in [`Mode.ASCENT`][optim.mode.Mode.ASCENT], so a rule is written once,
    for minimization. The loop uses [`evaluate`][optim.evaluator.Evaluator.evaluate]
    (in the user's sign) at each new iterate, and
    [`minimized`][optim.evaluator.Evaluator.minimized] to turn the user's value and
    gradient into those of the function minimized. This class is the only place
    where the mode's sign is applied.

    The last trial value and the last trial value-and-gradient are remembered
    separately: when the rule's step lands on a trial point, the loop reuses what
    is known there and evaluates only what is missing (the gradient after an
    Armijo trial, nothing after a Wolfe trial).

    A random estimator draws from `rng`, the run's own random stream. Under a box
    constraint (a [`Bounds`][optim.projections.Bounds] `constraint`) the estimator
    is also told the box (`bounds=(lower, upper)`), so that finite differences
    never evaluate outside it; an
    [`AnalyticGradient`][optim.gradients.AnalyticGradient] evaluates only at `x`
    and is not told.

    Examples:
        >>> import numpy as np
        >>> from optim import AnalyticGradient, Mode
        >>> from optim.problems import Sphere
        >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.ASCENT)
        >>> evaluator.value_and_gradient(np.array([1.0, 2.0]))
        (-5.0, array([-2., -4.]))
        >>> evaluator.evaluations, evaluator.gradient_evaluations
        (1, 1)

        A trial value is not evaluated again at the iterate:

        >>> trial = evaluator.value(np.array([0.5, 0.0]))
        >>> value, gradient, error = evaluator.evaluate(np.array([0.5, 0.0]))
        >>> value, evaluator.evaluations, evaluator.gradient_evaluations
        (0.25, 2, 2)
    """

    __slots__ = (
        "_copies",
        "_counted",
        "_estimator",
        "_exact",
        "_full_memo",
        "_last_gradient",
        "_objective",
        "_pairs",
        "_value_memo",
        "constraint",
        "counts",
        "rng",
        "sign",
    )

    def __init__(
        self,
        objective: Objective,
        estimator: GradientEstimator,
        mode: Mode,
        *,
        rng: np.random.Generator | None = None,
        evaluations: int = 0,
        gradient_evaluations: int = 0,
        constraint: Projection | None = None,
    ) -> None:
        self._objective = objective
        self._counted = _Counted(objective)
        self._counted.evaluations = evaluations
        self._counted.gradient_evaluations = gradient_evaluations
        self.counts: Any = self._counted
        """The counters themselves: `counts.evaluations` and
        `counts.gradient_evaluations` (what the properties of the same names
        return, read without a property call by the engine at each step)."""
        self._estimator = estimator
        self.sign = mode.sign
        """`+1.0` in descent, `-1.0` in ascent: the function minimized is `sign * f`."""
        self.rng = rng
        """The run's random stream, for random estimators; `None` otherwise."""
        self.constraint = constraint
        """The run's constraint (trial points must lie in it), or `None`."""
        self._value_memo: tuple[Array, float] | None = None
        self._full_memo: tuple[Array, float, Array, Array | None] | None = None
        self._last_gradient: Array | None = None
        # A user's estimator may write each estimate into the buffer it returned
        # last time, overwriting gradients the run keeps: its estimates are
        # copied. The built-in estimators return fresh arrays.
        self._copies = type(estimator).__module__ != "optim.gradients"
        self._exact = type(estimator) is AnalyticGradient
        # An objective whose value comes with its gradient (it defines only
        # value_and_gradient): a trial value keeps both, so that an accepted
        # trial needs no second call.
        self._pairs = isinstance(estimator, AnalyticGradient) and value_is_derived(
            objective
        )

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Pass `*args, **kwargs` after the point to the objective from now on.

        How a step's minibatch (or a run's fixed data) reaches the objective's
        `value`, `gradient` and `values` (see
        [`bind_arguments`][optim.objective.bind_arguments]). Forgets the trial
        points, whose values were for other arguments.

        Args:
            args: Extra positional arguments.
            kwargs: Extra keyword arguments.
        """
        self._counted.objective = bind_arguments(self._objective, args, kwargs)
        self.forget()

    def forget(self) -> None:
        """Forget the trial points evaluated so far (their arrays may be reused).

        [`evaluate`][optim.evaluator.Evaluator.evaluate] then evaluates its point
        afresh even if it was a trial point.

        Examples:
            >>> import numpy as np
            >>> from optim import AnalyticGradient, Mode
            >>> from optim.problems import Sphere
            >>> evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
            >>> point = np.array([1.0])
            >>> _ = evaluator.value(point)
            >>> evaluator.forget()
            >>> _ = evaluator.evaluate(point)
            >>> evaluator.evaluations
            2
        """
        self._value_memo = self._full_memo = None

    @property
    def exact_gradient(self) -> bool:
        """Whether gradients come from the objective (`AnalyticGradient`).

        Line searches trust the slope an exact gradient predicts; an estimate's
        may be wrong at its error floor.

        Examples:
            >>> from optim import AnalyticGradient, ForwardDifference, Mode
            >>> from optim.problems import Sphere
            >>> Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT).exact_gradient
            True
            >>> Evaluator(Sphere(), ForwardDifference(), Mode.DESCENT).exact_gradient
            False
        """
        return self._exact

    @property
    def keeps_gradients(self) -> bool:
        """Whether the objective's gradients are copied as they come back.

        `True` (the default) for runs whose step rule keeps gradients across
        evaluations (line searches: trial points are evaluated while the
        iterate's gradient is still needed). The engine sets it to `False` for
        rules that evaluate no trial points, which use a gradient once; an
        objective that is then seen to return the same buffer twice has its
        gradients copied from then on.
        """
        return self._counted.copies

    @keeps_gradients.setter
    def keeps_gradients(self, keep: bool) -> None:
        self._counted.copies = keep

    @property
    def evaluations(self) -> int:
        """Objective value calls so far (finite-difference points included)."""
        return self._counted.evaluations

    @property
    def gradient_evaluations(self) -> int:
        """Analytic gradient calls so far."""
        return self._counted.gradient_evaluations

    @property
    def random_state(self) -> dict[str, Any] | None:
        """A snapshot of the random stream's state, or `None` without a stream."""
        return None if self.rng is None else dict(self.rng.bit_generator.state)

    def value(self, x: Array) -> float:
        """Return the value to minimize at `x`: $f(x)$, or $-f(x)$ in ascent.

        Args:
            x: The trial point; never modified.

        Returns:
            The value, in the minimization convention.
        """
        if self._pairs:  # the value costs the gradient too: keep both
            return self.value_and_gradient(x)[0]
        x = as_float_array(x)
        value = self._counted.value(x)
        self._value_memo = (x, value)
        return self.sign * value

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        """Return the value and gradient of the function being minimized at `x`.

        Args:
            x: The trial point; never modified.

        Returns:
            The pair `(value, gradient)`, in the minimization convention.
        """
        x = as_float_array(x)
        if self._exact:  # the common case: `_value_and_estimate` inlined
            value, gradient = self._counted.value_and_gradient(x)
            self._full_memo = (x, value, gradient, None)
        else:
            value, gradient, error = self._value_and_estimate(x)
            self._full_memo = (x, value, gradient, error)
        if self.sign == 1.0:
            return value, gradient
        return -value, -gradient

    def evaluate(self, x: Array) -> tuple[float, Array, Array | None]:
        """Return value, gradient and error estimate at an iterate, in the user's sign.

        Reuses the last trial evaluation at exactly this point, if any, and then
        forgets the trials.

        Args:
            x: The new iterate.

        Returns:
            The triple `(value, gradient, error)`; `error` is the estimator's error
                estimate shaped like `x`, or `None`.
        """
        full, known = self._full_memo, self._value_memo
        if full is None and known is None and self._exact:  # no trial: the usual
            value, gradient = self._counted.value_and_gradient(x)
            return value, gradient, None
        self._full_memo = self._value_memo = None
        if full is not None and _same_point(full[0], x):
            gradient = full[2]
            if (
                type(gradient) is np.ndarray
                and type(x) is np.ndarray
                and gradient.dtype is x.dtype
                and (x.dtype is RUN_DTYPES[0] or x.dtype is RUN_DTYPES[1])
                and gradient.shape == x.shape
            ):  # the common case: what `check_like_x` returns as is
                error = full[3]
                if error is None:
                    return full[1], gradient, None
            name = "Evaluator"  # a trial point of another dtype gave this gradient
            gradient = check_like_x(gradient, x, name=name, what="a gradient")
            error = full[3]
            if error is not None:
                error = check_like_x(error, x, name=name, what="an error estimate")
            return full[1], gradient, error
        if known is not None and _same_point(known[0], x):
            gradient, error = self._estimate(x)
            return known[1], gradient, error
        return self._value_and_estimate(x)

    def confirm(
        self, x: Array, estimator: GradientEstimator
    ) -> tuple[Array, Array | None]:
        """Estimate the gradient at `x` again, independently, with `estimator`.

        Counted like every evaluation. A random estimator draws from a stream
        jumped far ahead of the run's, which is left untouched, so confirming a
        gradient never changes the run's later draws.

        Args:
            x: The point.
            estimator: The confirming estimator (typically more accurate).

        Returns:
            The pair `(gradient, error)`, in the user's sign.
        """
        stream = estimator.random_stream()
        if stream is not None and self.rng is not None:
            jumped = getattr(self.rng.bit_generator, "jumped", None)
            if jumped is not None:
                stream = np.random.Generator(jumped())
        extra = self._extra(estimator, x, stream)
        out = estimator.estimate_with_error(self._counted, x, **extra)
        name = f"{type(estimator).__name__}.estimate_with_error"
        return self._checked(out[0], out[1], x, name)

    @property
    def has_hessian_vector_product(self) -> bool:
        """Whether the objective has its own Hessian-vector product."""
        return self._counted.objective.has_hessian_vector_product

    def hessian_vector_product(self, x: Array, v: Array) -> Array:
        r"""Return the objective's $\nabla^2 f(x) v$, in the minimization convention.

        Args:
            x: The point; never modified.
            v: The direction, shaped like `x`; never modified.

        Returns:
            The product, negated in ascent (the Hessian of $-f$).
        """
        name = f"{type(self._objective).__name__}.hessian_vector_product"
        product = check_like_x(
            self._counted.objective.hessian_vector_product(x, v),
            x,
            name=name,
            what="a Hessian-vector product",
        )
        return product if self.sign == 1.0 else -product

    def minimized(self, value: float, gradient: Array) -> tuple[float, Array]:
        r"""Turn the user's value and gradient into those of the function minimized.

        Args:
            value: $f(x)$.
            gradient: $\nabla f(x)$.

        Returns:
            The pair unchanged in descent, both negated in ascent.
        """
        if self.sign == 1.0:
            return value, gradient
        return -value, -gradient

    def _value_and_estimate(self, x: Array) -> tuple[float, Array, Array | None]:
        estimator = self._estimator
        if self._exact:  # the common case, checked once by the counted objective
            value, gradient = self._counted.value_and_gradient(x)
            return value, gradient, None
        extra = self._extra(estimator, x, self.rng)
        out = estimator.value_and_estimate(self._counted, x, **extra)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise TypeError(
                f"{type(estimator).__name__}.value_and_estimate returned "
                f"{type(out).__name__}, expected a (value, gradient, error) triple"
            )
        value, gradient, error = out
        name = f"{type(estimator).__name__}.value_and_estimate"
        return (as_scalar(value, name=name), *self._checked(gradient, error, x, name))

    def _estimate(self, x: Array) -> tuple[Array, Array | None]:
        estimator = self._estimator
        extra = self._extra(estimator, x, self.rng)
        out = estimator.estimate_with_error(self._counted, x, **extra)
        name = f"{type(estimator).__name__}.estimate_with_error"
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(
                f"{name} returned {type(out).__name__}, expected a (gradient, error) "
                "pair"
            )
        return self._checked(out[0], out[1], x, name)

    def _extra(
        self,
        estimator: GradientEstimator,
        x: Array,
        rng: np.random.Generator | None,
    ) -> dict[str, Any]:
        """The keywords an estimator is given: its stream, and the box it stays in.

        Each is passed only when there is one (the stream to random estimators,
        the box under a `Bounds` constraint to estimators other than
        `AnalyticGradient`), so estimators that know neither keep working.
        """
        extra: dict[str, Any] = {}
        if rng is not None:
            extra["rng"] = rng
        box = self.constraint
        if isinstance(box, Bounds) and not isinstance(estimator, AnalyticGradient):
            extra["bounds"] = box.broadcast(x)
        return extra

    def _checked(
        self, gradient: object, error: object, x: Array, name: str
    ) -> tuple[Array, Array | None]:
        """The estimator's gradient and error, checked in O(1).

        A user's estimator may write each estimate into the buffer it returned
        last time, which would overwrite gradients the run keeps (L-BFGS's pairs,
        the state): its estimates are copied. The built-in estimators' are not.
        """
        checked = check_like_x(gradient, x, name=name, what="a gradient")
        if self._copies or checked is self._last_gradient:
            checked = backend.copy(checked)
        self._last_gradient = checked
        if error is None:
            return checked, None
        return checked, check_like_x(error, x, name=name, what="an error estimate")

"""Gradient estimators: exact, finite-difference, complex-step, extrapolated, random."""

from __future__ import annotations

import abc
import math
import numbers
import os
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from optim import _validators
from optim._arrays import as_float_array, checked_values
from optim._types import Array, ArrayLike, override
from optim.objective import Objective

_EPS = float(np.finfo(np.float64).eps)

_BATCH_BYTES = 2**20
"""Default `max_batch_bytes`: the largest stack of points built at once."""

_COMPLEX_STEP = 1e-20
"""Relative imaginary step of `ComplexStep`."""

_ROUNDING_SAFETY = 10.0
"""Safety factor on the rounding part of the error estimates: one computed value
of `f` is taken to be off by `10 eps |f|`."""

_CENTRAL_TRUNCATION = 100.0
"""Safety factor on the truncation part of the central and complex-step error
estimates, `100 h^2 |g_i| / (6 L_i^2)` (calibrated on the problem library)."""

_ONE_SIDED_TRUNCATION = 30.0
"""Safety factor on the truncation part of the one-sided error estimates,
`30 h |g_i| / (2 L_i)` (calibrated on the problem library)."""


def _value_error(values: npt.NDArray[Any], noise: float | None) -> Array:
    """Absolute error of computed values: rounding `10 eps |f|`, plus `noise`."""
    rounding: Array = _ROUNDING_SAFETY * _EPS * np.abs(values)
    return rounding if noise is None else rounding + noise


def _truncation(flat: Array, gradient: Array, h: Array, order: int) -> Array:
    """Truncation proxy `c h^order |g_i| / ((order + 1)! L_i^order)`.

    `L_i = max(1, |x_i|)`: derivatives are assumed to change on the step rule's
    length scale, so the unknown derivative of order `order + 1` is taken to be
    about `|g_i| / L_i^order` (a proxy, hence the safety factor `c`).
    """
    ratio: Array = h * np.abs(gradient) / np.maximum(1.0, np.abs(flat)) ** order
    if order == 1:
        return _ONE_SIDED_TRUNCATION / 2.0 * ratio
    return _CENTRAL_TRUNCATION / 6.0 * h * ratio


class GradientEstimator(abc.ABC):
    """How the gradient of an [`Objective`][optim.objective.Objective] is obtained.

    Subclasses implement [`estimate`][optim.gradients.GradientEstimator.estimate].
    Estimators are stateless configuration: they never modify `x` and evaluate the
    objective only through its public methods, so the optimizer can count every
    evaluation they make.

    Examples:
        A one-sided estimator written from scratch:

        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> class CrudeForward(GradientEstimator):
        ...     def estimate(self, objective, x):
        ...         fx = objective.value(x)
        ...         steps = np.eye(x.size).reshape(x.size, *x.shape) * 1e-6
        ...         return (objective.values(x + steps) - fx).reshape(x.shape) / 1e-6
        >>> sphere = FunctionObjective(lambda x: x[0] ** 2 + x[1] ** 2)
        >>> np.round(CrudeForward().estimate(sphere, np.array([3.0, 2.0])), 4)
        array([6., 4.])
    """

    __slots__ = ()

    @abc.abstractmethod
    def estimate(self, objective: Objective, x: Array) -> Array:
        """Return the gradient of `objective` at `x`.

        Args:
            objective: The function to differentiate.
            x: The point, a float64 array of any shape; never modified.

        Returns:
            The gradient, shaped like `x`.
        """

    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, Array | None]:
        """Return the gradient and, if the estimator knows it, an error estimate.

        The default returns `None` for the error; estimators that can estimate
        their error override this method (all of this module's, except
        `AnalyticGradient`: differences, complex step, extrapolation, sampling).

        Args:
            objective: The function to differentiate.
            x: The point; never modified.
            rng: The run's random stream, passed only to random estimators (those
                whose [`random_stream`][optim.gradients.GradientEstimator.random_stream]
                is not `None`).

        Returns:
            The pair `(gradient, error)`, where `error` is shaped like `x` or `None`.
        """
        return self.estimate(objective, x), None

    def random_stream(self) -> np.random.Generator | None:
        """Return a new random stream for a run, or `None` if none is needed.

        Deterministic estimators need none (the default). A random estimator, such
        as [`SPSA`][optim.gradients.SPSA], returns a generator made from its seed:
        the optimizer calls this once when a run starts, passes the generator to
        every estimate of the run, and keeps its state in the run's
        [`RunState`][optim.run.RunState], so the same configuration run twice
        draws the same numbers and a resumed run continues the same stream. The
        estimator itself stays stateless configuration.

        Returns:
            A new `numpy.random.Generator`, or `None`.

        Examples:
            >>> CentralDifference().random_stream() is None
            True
            >>> SPSA(rng=3).random_stream().integers(10, size=3)
            array([8, 0, 1])
        """
        return None

    def value_and_estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, Array, Array | None]:
        """Return the objective's value at `x` with the gradient and its error.

        This is what the optimizer calls once per step. The default spends one
        extra evaluation on the value; estimators that evaluate `f(x)` anyway
        override it to share that evaluation.

        Args:
            objective: The function to differentiate.
            x: The point; never modified.
            rng: The run's random stream (random estimators only).

        Returns:
            The triple `(value, gradient, error)`.
        """
        value = objective.value(x)
        if rng is None:
            gradient, error = self.estimate_with_error(objective, x)
        else:
            gradient, error = self.estimate_with_error(objective, x, rng=rng)
        return value, gradient, error


@attrs.frozen
class AnalyticGradient(GradientEstimator):
    """The objective's own closed-form [`gradient`][optim.objective.Objective.gradient].

    Costs one gradient call per estimate (one value and one gradient call, or one
    `value_and_gradient` call, per optimizer step); exact up to the objective's own
    rounding.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> AnalyticGradient().estimate(Sphere(), np.array([3.0, 2.0]))
        array([6., 4.])
    """

    @override
    def estimate(self, objective: Objective, x: Array) -> Array:
        return objective.gradient(x)

    @override
    def value_and_estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, Array, Array | None]:
        value, gradient = objective.value_and_gradient(x)
        return value, gradient, None


def _to_step(value: float | ArrayLike | None) -> float | Array | None:
    """Convert a `step` argument: `None`, a positive float, or an array of them."""
    if value is None:
        return None
    if isinstance(value, bool | str | bytes):
        raise TypeError(
            f"step must be None, a positive number or an array of them, got "
            f"{type(value).__name__} {value!r}"
        )
    if isinstance(value, numbers.Real):
        number = float(value)
        if not (math.isfinite(number) and number > 0.0):
            raise ValueError(f"step must be finite and > 0, got {value!r}")
        return number
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"step must be None, a positive number or an array of them, got "
            f"{type(value).__name__}"
        ) from error
    if array.ndim == 0:
        return _to_step(float(array))
    if array.size == 0 or not (np.isfinite(array).all() and (array > 0.0).all()):
        raise ValueError(f"step must hold finite values > 0, got {array!r}")
    array.setflags(write=False)
    return array


def _to_seed(value: int | None) -> int:
    """Convert an `rng` argument into a seed: `None` draws fresh entropy once."""
    if value is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)
        return entropy
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"rng must be an integer seed >= 0 or None, got {type(value).__name__}: "
            "the run makes its own random stream from the seed, so that the same "
            "configuration repeats exactly"
        )
    if value < 0:
        raise ValueError(f"rng must be an integer seed >= 0, got {value!r}")
    return int(value)


def _same_step(a: float | Array | None, b: float | Array | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))


_step_eq = attrs.cmp_using(eq=_same_step)
_optional_executor = attrs.validators.optional(attrs.validators.instance_of(Executor))
_optional_non_negative = attrs.validators.optional(_validators.non_negative)


def _coordinate_steps(
    flat: Array, step: float | Array | None, relative: float, shape: tuple[int, ...]
) -> Array:
    """Return the per-coordinate step `h_i` for the flattened point `flat`.

    An absolute `step` (a float, or an array shaped like `x`) is used as given.
    `None` gives the relative step `relative * max(1, |x_i|)`, rounded so that
    `x_i + h_i` is exactly representable and the difference quotient divides by
    the distance actually travelled.
    """
    if step is None:
        h = relative * np.maximum(1.0, np.abs(flat))
        return (flat + h) - flat
    if isinstance(step, float):
        return np.full(flat.shape, step)
    if step.shape not in (shape, (flat.size,)):
        raise ValueError(
            f"step has shape {step.shape}, but x has shape {shape}: per-coordinate "
            "steps must be shaped like x"
        )
    return step.reshape(-1)


def _evaluate(
    objective: Objective,
    x: Array,
    count: int,
    build: Callable[[int, int], npt.NDArray[Any]],
    *,
    dtype: type[np.float64] | type[np.complex128],
    max_batch_bytes: int,
    batch_size: int | None,
    executor: Executor | None,
) -> npt.NDArray[Any]:
    """Evaluate the `count` points `build(start, end)` returns, batch by batch.

    At most `max_batch_bytes` of points exist at once (always at least one point).
    They are cut into batches of `batch_size` points (default: all of them without
    an executor; one batch per CPU with one) and sent through
    [`Objective.map_values`][optim.objective.Objective.map_values]. Each point's
    value is independent of the batching, so every path gives the same result.
    """
    group = max(1, max_batch_bytes // (np.dtype(dtype).itemsize * x.size))
    if batch_size is not None:
        size = min(batch_size, group)
    elif executor is None:
        size = group
    else:
        size = max(1, math.ceil(min(group, count) / (os.cpu_count() or 1)))
    out = np.empty(count, dtype=dtype)
    for group_start in range(0, count, group):
        group_end = min(group_start + group, count)
        bounds = [
            (start, min(start + size, group_end))
            for start in range(group_start, group_end, size)
        ]
        batches = [build(start, end) for start, end in bounds]
        results = objective.map_values(batches, executor)
        if len(results) != len(batches):
            raise ValueError(
                f"map_values must return one array per batch ({len(batches)}), "
                f"got {len(results)}"
            )
        for (start, end), batch, values in zip(bounds, batches, results, strict=True):
            out[start:end] = checked_values(values, batch, name="objective values")
    return out


def _axis_points(
    x: Array, offsets: npt.NDArray[Any]
) -> Callable[[int, int], npt.NDArray[Any]]:
    """Build the points `x + offsets[j] * e[j % n]` for `j` in `[start, end)`.

    Consecutive points move consecutive coordinates, so within a batch the moved
    entries lie on diagonals of the stacked points: each run is one strided slice,
    which is cheaper than fancy indexing.
    """
    flat = x.reshape(-1).astype(offsets.dtype, copy=False)
    n = flat.size

    def build(start: int, end: int) -> npt.NDArray[Any]:
        points = np.repeat(flat[np.newaxis], end - start, axis=0)
        linear = points.reshape(-1)
        j = start
        while j < end:
            coordinate = j % n
            stop = min(end, j + n - coordinate)
            first = (j - start) * n + coordinate
            last = first + (stop - j - 1) * (n + 1)
            linear[first : last + 1 : n + 1] += offsets[j:stop]
            j = stop
        return points.reshape(end - start, *x.shape)

    return build


_BATCH_OPTIONS = ("max_batch_bytes", "batch_size", "executor")
"""The fields of `_BatchedEstimator`, listed last in every estimator."""


def _options_last(
    cls: type, fields: list[attrs.Attribute[Any]]
) -> list[attrs.Attribute[Any]]:
    """Order an estimator's fields: its own first, the shared batch options last."""
    shared = [f for f in fields if f.name in _BATCH_OPTIONS]
    return (
        [f for f in fields if not f.kw_only]
        + [f for f in fields if f.kw_only and f not in shared]
        + shared
    )


@attrs.frozen
class _BatchedEstimator(GradientEstimator):
    """Shared options of the estimators that evaluate batches of perturbed points.

    They decide where and in what portions the points are evaluated, never what is
    computed: every setting gives the same gradient to the last bit, so they take
    no part in `==` (nor in a checkpoint's configuration check).
    """

    max_batch_bytes: int = attrs.field(
        default=_BATCH_BYTES,
        kw_only=True,
        validator=_validators.positive_count,
        eq=False,
    )
    """Memory bound: the most bytes of perturbed points built at once (at least one
    point is always built). Peak memory is about this plus the objective's own
    temporaries."""

    batch_size: int | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_validators.optional_positive_count,
        eq=False,
    )
    """Most points per `values` call; `None` fills `max_batch_bytes`, or with an
    `executor` makes one batch per CPU of this machine."""

    executor: Executor | None = attrs.field(
        default=None, kw_only=True, validator=_optional_executor, eq=False
    )
    """Where batches are evaluated: any `concurrent.futures.Executor`
    (`ProcessPoolExecutor`, Dask's `Client.get_executor()`, ...) or `None` for
    here."""

    def _evaluate(
        self,
        objective: Objective,
        x: Array,
        count: int,
        build: Callable[[int, int], npt.NDArray[Any]],
        dtype: type[np.float64] | type[np.complex128],
    ) -> npt.NDArray[Any]:
        """Evaluate the `count` points `build` makes, with this estimator's options."""
        return _evaluate(
            objective,
            x,
            count,
            build,
            dtype=dtype,
            max_batch_bytes=self.max_batch_bytes,
            batch_size=self.batch_size,
            executor=self.executor,
        )


@attrs.frozen
class _Differences(_BatchedEstimator):
    """Difference estimators, whose values give the gradient and its error."""

    @override
    def estimate(self, objective: Objective, x: Array) -> Array:
        x = as_float_array(x)
        return self._gradient(objective, x).reshape(x.shape)

    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, Array | None]:
        return self._with_error(objective, as_float_array(x))

    @abc.abstractmethod
    def _gradient(self, objective: Objective, x: Array) -> Array:
        """Return the gradient at the float64 point `x` (any shape, or flat)."""

    @abc.abstractmethod
    def _with_error(self, objective: Objective, x: Array) -> tuple[Array, Array]:
        """Return the gradient and its error estimate, both shaped like `x`."""


@attrs.frozen(field_transformer=_options_last)
class CentralDifference(_Differences):
    r"""Central differences: $g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)$.

    Costs `2 n` objective evaluations per gradient (`n = x.size`), and `2 n + 1`
    per optimizer step (the value at `x` is one more call). The points are sent
    in batches through [`Objective.map_values`][optim.objective.Objective.map_values],
    so a vectorized objective takes one call per batch and an `executor` spreads
    the batches over workers. The truncation error is $O(h^2)$.

    Error estimate, per coordinate, from
    [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]
    and [`value_and_estimate`][optim.gradients.GradientEstimator.value_and_estimate]
    at no extra evaluation (the two give the same), with $f_\pm = f(x \pm h_i
    e_i)$ and the length scale $L_i = \max(1, |x_i|)$ the step rule assumes:

    $$\text{error}_i = \frac{\delta(f_+) + \delta(f_-)}{2 h_i}
      + 100 \cdot \frac{h_i^2}{6} \frac{|g_i|}{L_i^2},
      \qquad \delta(f) = 10 \epsilon |f| + \sigma.$$

    The first term is rounding: each computed value is taken to be off by
    $\delta(f)$, ten times the float64 rounding of $f$ plus the objective's
    `noise` $\sigma$. The second is truncation, $h_i^2 |\partial_i^3 f| / 6$,
    with the third derivative (which three points cannot measure) replaced by
    $|g_i| / L_i^2$: derivatives are assumed to change on the scale $L_i$. The
    factor 100 makes up for that proxy (calibrated on the problem library:
    with the default step the estimate covers the true error in about 99% of
    coordinates, with `step=1e-3` too). It adds nothing at a stationary point,
    where a quadratic model is exact, and is negligible with the default step;
    on a function that oscillates on a scale much shorter than $L_i$, with a
    large `step`, it can underestimate.

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/3} \max(1, |x_i|)$
    (about `6e-6` near the origin), the step that balances truncation against
    rounding error for a smooth objective, rounded so that $x_i \pm h_i$ is exact.
    A float is an absolute step used for every coordinate, an array (shaped like
    `x`) one absolute step per coordinate; both are used as given:
    `CentralDifference(step=1e-4)` is the textbook's numerical gradient, bit for bit.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(CentralDifference().estimate(Sphere(), np.array([3.0, 2.0])), 8)
        array([6., 4.])

        Integer points are treated as floats (the textbook's code truncated them):

        >>> CentralDifference(step=1e-4).estimate(Sphere(), np.array([3, 2])).round(6)
        array([6., 4.])

        One absolute step per coordinate:

        >>> steps = np.array([1e-3, 1e-5])
        >>> CentralDifference(step=steps).estimate(Sphere(), np.array([3.0, 2.0]))
        array([6., 4.])

        An error estimate per coordinate, at no extra evaluation; `noise` widens
        it for a noisy objective (here to about $\sigma / h$):

        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> x = np.array([0.5, 1.0])
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> g, error = CentralDifference().estimate_with_error(f, x)
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-8))
        (True, True)
        >>> CentralDifference(noise=1e-10).estimate_with_error(f, x)[1].round(6)
        array([1.7e-05, 1.7e-05])
    """

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute step (a float, or an array shaped like `x`), or `None` for the
    automatic relative step."""

    noise: float | None = attrs.field(
        default=None, kw_only=True, validator=_optional_non_negative
    )
    """Absolute noise of one evaluation of the objective (the most it can be off),
    added to the rounding part of the error estimate; `None` for rounding only.
    The gradient itself does not depend on it."""

    @override
    def _gradient(self, objective: Objective, x: Array) -> Array:
        return self._differences(objective, x)[0]

    def _differences(
        self, objective: Objective, x: Array
    ) -> tuple[Array, Array, Array, Array]:
        """Return the flat gradient, the values `f(x + h e_i)`, `f(x - h e_i)`, `h`."""
        flat = x.reshape(-1)
        n = flat.size
        h = _coordinate_steps(flat, self.step, _EPS ** (1.0 / 3.0), x.shape)
        f = self._evaluate(
            objective,
            x,
            2 * n,
            _axis_points(x, np.concatenate([h, -h])),
            np.float64,
        )
        distance = 2.0 * h if self.step is not None else (flat + h) - (flat - h)
        return np.asarray((f[:n] - f[n:]) / distance), f[:n], f[n:], h

    def _with_error(self, objective: Objective, x: Array) -> tuple[Array, Array]:
        """Return the gradient and its error estimate (see the class docstring)."""
        gradient, up, down, h = self._differences(objective, x)
        noise = self.noise
        rounding = (_value_error(up, noise) + _value_error(down, noise)) / (2.0 * h)
        error = rounding + _truncation(x.reshape(-1), gradient, h, 2)
        return gradient.reshape(x.shape), error.reshape(x.shape)


@attrs.frozen(field_transformer=_options_last)
class _OneSided(_Differences):
    """One-sided differences; subclasses choose the side with `_side` (+1 or -1)."""

    _side: ClassVar[float]

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute step (a float, or an array shaped like `x`), or `None` for the
    automatic relative step."""

    noise: float | None = attrs.field(
        default=None, kw_only=True, validator=_optional_non_negative
    )
    """Absolute noise of one evaluation of the objective (the most it can be off),
    added to the rounding part of the error estimate; `None` for rounding only.
    The gradient itself does not depend on it."""

    @override
    def _gradient(self, objective: Objective, x: Array) -> Array:
        return self._quotients(objective, x, objective.value(x))[0]

    @override
    def _with_error(self, objective: Objective, x: Array) -> tuple[Array, Array]:
        return self._with_value(objective, x)[1:]

    @override
    def value_and_estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, Array, Array | None]:
        return self._with_value(objective, as_float_array(x))

    def _with_value(self, objective: Objective, x: Array) -> tuple[float, Array, Array]:
        """Return `f(x)`, the gradient and its error (see the class docstrings)."""
        value = objective.value(x)
        gradient, f, h = self._quotients(objective, x, value)
        at_x = _value_error(np.asarray(value), self.noise)
        rounding = (_value_error(f, self.noise) + at_x) / h
        error = rounding + _truncation(x.reshape(-1), gradient, h, 1)
        return value, gradient.reshape(x.shape), error.reshape(x.shape)

    def _quotients(
        self, objective: Objective, x: Array, value: float
    ) -> tuple[Array, Array, Array]:
        """Return the flat quotients, the values `f(x + side h e_i)` and `h`."""
        side = self._side
        flat = x.reshape(-1)
        if self.step is None:
            h = _EPS**0.5 * np.maximum(1.0, np.abs(flat))
            h = (flat + h) - flat if side > 0 else flat - (flat - h)
        else:
            h = _coordinate_steps(flat, self.step, 0.0, x.shape)
        f = self._evaluate(
            objective,
            x,
            flat.size,
            _axis_points(x, side * h),
            np.float64,
        )
        quotients = (f - value) / h if side > 0 else (value - f) / h
        return np.asarray(quotients), f, h


@attrs.frozen(field_transformer=_options_last)
class ForwardDifference(_OneSided):
    r"""Forward differences: $g_i = (f(x + h_i e_i) - f(x)) / h_i$.

    Costs `n + 1` objective evaluations per gradient (`n = x.size`), and also
    `n + 1` per optimizer step, where `f(x)` is the step's value and is shared.
    The truncation error is $O(h)$: cheaper than
    [`CentralDifference`][optim.gradients.CentralDifference] but less accurate.
    Batching, `executor` and memory bound work as for `CentralDifference`.

    Error estimate, per coordinate, at no extra evaluation (`estimate_with_error`
    and `value_and_estimate` give the same), with $f_+ = f(x + h_i e_i)$, $L_i =
    \max(1, |x_i|)$ and $\delta(f) = 10 \epsilon |f| + \sigma$ as for
    `CentralDifference`:

    $$\text{error}_i = \frac{\delta(f_+) + \delta(f(x))}{h_i}
      + 30 \cdot \frac{h_i}{2} \frac{|g_i|}{L_i}.$$

    The truncation error is $h_i |\partial_i^2 f| / 2$, and one-sided values
    cannot measure the curvature (that needs $f(x - h_i e_i)$ too); it is
    replaced by $|g_i| / L_i$, with a factor 30 calibrated on the problem
    library. **Near a minimum this proxy vanishes while the curvature does
    not**: there the estimate is rounding only and misses the true error
    $h_i |\partial_i^2 f| / 2$ (for example `6e-6` at Rosenbrock's
    minimizer). Use `CentralDifference` when the error matters there.

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/2} \max(1, |x_i|)$
    (about `1.5e-8` near the origin), rounded so that $x_i + h_i$ is exact; a float
    or an array shaped like `x` is an absolute step used as given.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(ForwardDifference().estimate(Sphere(), np.array([3.0, 2.0])), 6)
        array([6., 4.])

        With its error estimate:

        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> g, error = ForwardDifference().estimate_with_error(f, np.array([0.5, 1.0]))
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-6))
        (True, True)
    """

    _side = 1.0


@attrs.frozen(field_transformer=_options_last)
class BackwardDifference(_OneSided):
    r"""Backward differences: $g_i = (f(x) - f(x - h_i e_i)) / h_i$.

    The mirror image of [`ForwardDifference`][optim.gradients.ForwardDifference],
    with the same cost (`n + 1` evaluations per gradient and per optimizer step,
    `f(x)` shared), the same $O(h)$ accuracy, the same error estimate (with
    $f(x - h_i e_i)$ for $f_+$) and the same step rule
    ($h_i = \epsilon^{1/2} \max(1, |x_i|)$, rounded so that $x_i - h_i$ is exact).
    Useful when the objective is undefined just above `x`, at an upper bound.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(BackwardDifference().estimate(Sphere(), np.array([3.0, 2.0])), 6)
        array([6., 4.])
    """

    _side = -1.0


@attrs.frozen(field_transformer=_options_last)
class ComplexStep(_Differences):
    r"""Complex-step derivatives: $g_i = \operatorname{Im} f(x + i h_i e_i) / h_i$.

    For an objective that is real on real points and *accepts complex input* (it
    is built from analytic operations: `+`, `*`, `/`, `**`, `exp`, `sin`, ...;
    no `abs`, comparisons, `np.real` or casts to float), this gives the gradient
    to machine precision: there is no subtraction, so the step can be tiny and
    the $O(h^2)$ truncation error vanishes.

    The complex points are evaluated through
    [`Objective.map_values`][optim.objective.Objective.map_values] (so through
    [`Objective.values`][optim.objective.Objective.values], which must return
    complex values for complex points; `FunctionObjective` and the default
    `values` do when the function propagates complex numbers). An objective that
    returns real values for complex points raises `TypeError`.

    Costs `n` complex evaluations per gradient, and `n + 1` per optimizer step
    (the value at `x` is one more, real, call).

    Error estimate, per coordinate, at no extra evaluation, with $F = f(x + i h_i
    e_i)$ and $L_i = \max(1, |x_i|)$:

    - rounding: $10 \epsilon (|\operatorname{Im} F| / h_i + |\operatorname{Re} F|
      / L_i)$. There is no subtractive cancellation, so the quotient keeps the
      relative accuracy of $\operatorname{Im} F$; the second term covers
      cancellation *inside* the objective's own derivative (terms of size about
      $|f| / L_i$ summing to a small $g_i$).
    - truncation: $\operatorname{Im} F / h_i = g_i - h_i^2 \partial_i^3 f / 6 +
      O(h_i^4)$, bounded like
      [`CentralDifference`][optim.gradients.CentralDifference]'s by $100 \cdot
      \frac{h_i^2}{6} |g_i| / L_i^2$. With the default step ($h_i = 10^{-20}
      L_i$) this is below $10^{-38} |g_i|$: negligible; it matters only for a
      large user `step`.

    The objective's `noise` cannot be taken into account (a noisy objective does
    not give a usable imaginary part); a real noise added to $f$ leaves the
    imaginary part, and so the estimate, unchanged.

    Step choice: `step=None` (default) uses $h_i = 10^{-20} \max(1, |x_i|)$; a
    float or an array shaped like `x` is used as given.

    Examples:
        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> g, error = ComplexStep().estimate_with_error(f, np.array([0.5, 1.0]))
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> bool(np.all(np.abs(g - exact) <= 1e-15 * np.abs(exact)))
        True
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-14))
        (True, True)
    """

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute imaginary step (a float, or an array shaped like `x`), or `None`
    for the automatic relative step."""

    @override
    def _gradient(self, objective: Objective, x: Array) -> Array:
        return self._derivatives(objective, x)[0]

    def _derivatives(
        self, objective: Objective, x: Array
    ) -> tuple[Array, npt.NDArray[np.complex128], Array]:
        """Return the flat gradient, the values `f(x + i h e_i)` and `h`."""
        flat = x.reshape(-1)
        if self.step is None:
            h = _COMPLEX_STEP * np.maximum(1.0, np.abs(flat))
        else:
            h = _coordinate_steps(flat, self.step, 0.0, x.shape)
        f = self._evaluate(
            objective,
            x,
            flat.size,
            _axis_points(x, 1j * h),
            np.complex128,
        )
        return np.asarray(f.imag / h), f, h

    def _with_error(self, objective: Objective, x: Array) -> tuple[Array, Array]:
        """Return the gradient and its error estimate (see the class docstring)."""
        gradient, f, h = self._derivatives(objective, x)
        flat = x.reshape(-1)
        rounding = _value_error(f.imag, None) / h + _value_error(
            f.real, None
        ) / np.maximum(1.0, np.abs(flat))
        error = rounding + _truncation(flat, gradient, h, 2)
        return gradient.reshape(x.shape), error.reshape(x.shape)


@attrs.frozen
class _WithError(_BatchedEstimator):
    """Estimators whose work is `estimate_with_error`; `estimate` drops the error."""

    @override
    def estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> Array:
        if rng is None:
            return self.estimate_with_error(objective, x)[0]
        return self.estimate_with_error(objective, x, rng=rng)[0]

    @abc.abstractmethod
    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, Array | None]: ...


def _richardson_weights(levels: int) -> Array:
    """Weights `w` with `R = sum_j w_j D_j` for the final extrapolated value."""
    rows = list(np.eye(levels))
    for k in range(1, levels):
        rows = [
            rows[j] + (rows[j] - rows[j - 1]) / (4.0**k - 1.0)
            for j in range(1, len(rows))
        ]
    return np.asarray(rows[-1])


@attrs.frozen(field_transformer=_options_last)
class Richardson(_WithError):
    r"""Richardson-extrapolated central differences, with an error estimate.

    Central differences $D_j$ are taken with the steps $h, h/2, \dots,
    h/2^{m-1}$ ($m$ = `order / 2` levels); their error is a series in $h^2$, and
    Richardson's table

    $$R_{j,k} = R_{j,k-1} + \frac{R_{j,k-1} - R_{j-1,k-1}}{4^k - 1}$$

    cancels its terms one by one, leaving a truncation error $O(h^{\text{order}})$
    (numdifftools' scheme). The error estimate returned by
    [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]
    is, per coordinate, the size of the last correction
    $|R_{m-1,m-1} - R_{m-1,m-2}|$ (the error of the order-`order - 2` value, an
    overestimate of the final one) plus ten times the rounding error of the
    combination, $\sum_j |w_j| \epsilon (|f(x + h_j e_i)| + |f(x - h_j e_i)|) /
    (2 h_j)$.

    Costs `n * order` evaluations per gradient (`2 n` per level), and one more
    per optimizer step. Batching, `executor` and memory bound work as for
    [`CentralDifference`][optim.gradients.CentralDifference].

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/(\text{order}+1)}
    \max(1, |x_i|)$ rounded to a power of two, so that every $x_i \pm h/2^j$ is
    exact and the steps halve exactly; a float or an array shaped like `x` is the
    largest step $h$, used as given.

    Examples:
        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> g, error = Richardson().estimate_with_error(f, np.array([0.5, 1.0]))
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-11))
        (True, True)
    """

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Largest absolute step (a float, or an array shaped like `x`), or `None` for
    the automatic relative step."""

    order: int = attrs.field(default=6, kw_only=True)
    """Even truncation order of the result, at least 4; costs `n * order`
    evaluations."""

    @order.validator
    def _check_order(self, attribute: attrs.Attribute[int], value: int) -> None:
        _validators.count(self, attribute, value)
        if value < 4 or value % 2:
            raise ValueError(f"order must be an even integer >= 4, got {value!r}")

    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, Array | None]:
        x = as_float_array(x)
        flat = x.reshape(-1)
        n = flat.size
        levels = self.order // 2
        if self.step is None:
            raw = _EPS ** (1.0 / (self.order + 1)) * np.maximum(1.0, np.abs(flat))
            h0 = np.exp2(np.round(np.log2(raw)))
        else:
            h0 = _coordinate_steps(flat, self.step, 0.0, x.shape)
        h = np.stack([h0 / 2.0**j for j in range(levels)])  # (levels, n)
        offsets = np.concatenate([np.concatenate([hj, -hj]) for hj in h])
        f = self._evaluate(
            objective,
            x,
            2 * n * levels,
            _axis_points(x, offsets),
            np.float64,
        ).reshape(levels, 2, n)
        differences = (f[:, 0] - f[:, 1]) / (2.0 * h)
        rows = list(differences)
        previous = rows[-1]
        for k in range(1, levels):
            previous = rows[-1]
            rows = [
                rows[j] + (rows[j] - rows[j - 1]) / (4.0**k - 1.0)
                for j in range(1, len(rows))
            ]
        gradient = rows[-1]
        weights = _richardson_weights(levels)
        rounding = (
            np.abs(weights)[:, None]
            * _EPS
            * (np.abs(f[:, 0]) + np.abs(f[:, 1]))
            / (2.0 * h)
        ).sum(axis=0)
        error = np.abs(gradient - previous) + _ROUNDING_SAFETY * rounding
        return gradient.reshape(x.shape), error.reshape(x.shape)


@attrs.frozen(field_transformer=_options_last)
class SPSA(_WithError):
    r"""Simultaneous-perturbation (SPSA) gradient estimate, averaged over samples.

    Each sample draws a random sign vector $\Delta \in \{-1, 1\}^n$ and uses two
    evaluations, whatever $n$:

    $$\hat g_i = \frac{f(x + h \odot \Delta) - f(x - h \odot \Delta)}{2 h_i \Delta_i}.$$

    It is unbiased up to $O(h^2)$ but noisy (each coordinate picks up the others'
    slopes); `samples` estimates are averaged. Use it when `n` is large and
    evaluations are expensive or noisy, typically with a larger `step`.
    [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]
    returns the standard error of the mean over samples (`samples >= 2`; `None`
    for one sample), a one-sigma error, not a bound.

    Costs `2 * samples` evaluations per gradient, and one more per optimizer step.
    Perturbations are drawn from the run's random stream (see
    [`random_stream`][optim.gradients.GradientEstimator.random_stream]), before any
    evaluation, so results do not depend on batching or executor; each step draws
    new ones. Called outside a run, each call draws from a new stream seeded with
    `rng`, so it returns the same estimate every time.

    Step choice: `step=None` (default) uses the central-difference rule
    $h_i = \epsilon^{1/3} \max(1, |x_i|)$; a float or an array shaped like `x`
    is used as given.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> spsa = SPSA(samples=200, rng=0)
        >>> g, error = spsa.estimate_with_error(Sphere(), np.array([3.0, 2.0]))
        >>> bool(np.all(np.abs(g - [6.0, 4.0]) < 4 * error))
        True
    """

    samples: int = attrs.field(default=1, validator=_validators.positive_count)
    """Number of random perturbations averaged (2 evaluations each)."""

    step: float | Array | None = attrs.field(
        default=None, kw_only=True, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute perturbation size (a float, or an array shaped like `x`), or `None`
    for the automatic relative step."""

    rng: int = attrs.field(default=None, kw_only=True, converter=_to_seed)
    """The seed of the random stream each run draws from: an integer >= 0, or
    `None` for fresh entropy drawn once, when the estimator is made (so this
    estimator still repeats itself exactly). A `numpy.random.Generator` is
    refused: it would carry state from one run into the next."""

    @override
    def random_stream(self) -> np.random.Generator:
        return np.random.default_rng(self.rng)

    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, Array | None]:
        x = as_float_array(x)
        flat = x.reshape(-1)
        k = self.samples
        rng = self.random_stream() if rng is None else rng
        h = _coordinate_steps(flat, self.step, _EPS ** (1.0 / 3.0), x.shape)
        signs = 2.0 * rng.integers(0, 2, size=(k, flat.size)) - 1.0
        perturbations = h * signs

        def build(start: int, end: int) -> Array:
            rows = np.arange(start, end)
            side = np.where(rows < k, 1.0, -1.0)[:, None]
            points: Array = flat + side * perturbations[rows % k]
            return points.reshape(end - start, *x.shape)

        f = self._evaluate(
            objective,
            x,
            2 * k,
            build,
            np.float64,
        )
        estimates = (f[:k] - f[k:])[:, None] / (2.0 * perturbations)
        gradient = estimates.mean(axis=0).reshape(x.shape)
        if k < 2:
            return gradient, None
        error = estimates.std(axis=0, ddof=1) / math.sqrt(k)
        return gradient, np.asarray(error, dtype=np.float64).reshape(x.shape)

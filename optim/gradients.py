"""Gradient estimators: exact gradients and finite differences."""

import abc

import attrs
import numpy as np
import numpy.typing as npt

from optim import _validators
from optim._arrays import as_float_array
from optim._types import Array, override
from optim.objective import Objective

_EPS = float(np.finfo(np.float64).eps)

_BATCH_BYTES = 8 * 2**20
"""Largest stack of perturbed points built at once (bytes); bounds peak memory."""


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
        self, objective: Objective, x: Array
    ) -> tuple[Array, Array | None]:
        """Return the gradient and, if the estimator knows it, an error estimate.

        The default returns `None` for the error; estimators that can bound their
        error (extrapolation, sampling) override this method.

        Args:
            objective: The function to differentiate.
            x: The point; never modified.

        Returns:
            The pair `(gradient, error)`, where `error` is shaped like `x` or `None`.
        """
        return self.estimate(objective, x), None

    def value_and_estimate(
        self, objective: Objective, x: Array
    ) -> tuple[float, Array, Array | None]:
        """Return the objective's value at `x` with the gradient and its error.

        This is what the optimizer calls once per step. The default spends one
        extra evaluation on the value; estimators that evaluate `f(x)` anyway
        override it to share that evaluation.

        Args:
            objective: The function to differentiate.
            x: The point; never modified.

        Returns:
            The triple `(value, gradient, error)`.
        """
        value = objective.value(x)
        gradient, error = self.estimate_with_error(objective, x)
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
        self, objective: Objective, x: Array
    ) -> tuple[float, Array, Array | None]:
        value, gradient = objective.value_and_gradient(x)
        return value, gradient, None


def _coordinate_steps(x: Array, step: float | None, relative: float) -> Array:
    """Return the per-coordinate step `h_i` for a flat point `x`.

    An absolute `step` is used as given. `None` gives the relative step
    `relative * max(1, |x_i|)`, rounded so that `x_i + h_i` is exactly representable
    and the difference quotient divides by the distance actually travelled.
    """
    if step is not None:
        return np.full(x.shape, float(step))
    h = relative * np.maximum(1.0, np.abs(x))
    return (x + h) - x


def _perturbed_values(
    objective: Objective,
    x: Array,
    coordinates: npt.NDArray[np.intp],
    offsets: Array,
) -> Array:
    """Evaluate `objective` at `x + offsets[j] * e[coordinates[j]]` for every `j`.

    The points are built in batches of at most `_BATCH_BYTES` and each batch is
    sent through [`Objective.values`][optim.objective.Objective.values], so a
    vectorized objective takes one call per batch.
    """
    flat = x.reshape(-1)
    count = len(coordinates)
    per_batch = max(1, _BATCH_BYTES // (8 * flat.size))
    out = np.empty(count, dtype=np.float64)
    for start in range(0, count, per_batch):
        end = min(start + per_batch, count)
        rows = np.arange(end - start)
        points = np.tile(flat, (end - start, 1))
        points[rows, coordinates[start:end]] += offsets[start:end]
        out[start:end] = objective.values(points.reshape(end - start, *x.shape))
    return out


@attrs.frozen
class CentralDifference(GradientEstimator):
    r"""Central differences: $g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)$.

    Costs `2 n` objective evaluations per gradient (`n = x.size`), sent through
    [`Objective.values`][optim.objective.Objective.values]. The truncation error
    is $O(h^2)$.

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/3} \max(1, |x_i|)$
    (about `6e-6` near the origin), the step that balances truncation against
    rounding error for a smooth objective, rounded so that $x_i \pm h_i$ is exact.
    A float is an absolute step used as given: `CentralDifference(step=1e-4)` is the
    textbook's numerical gradient.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(CentralDifference().estimate(Sphere(), np.array([3.0, 2.0])), 8)
        array([6., 4.])

        Integer points are treated as floats (the textbook's code truncated them):

        >>> CentralDifference(step=1e-4).estimate(Sphere(), np.array([3, 2])).round(6)
        array([6., 4.])
    """

    step: float | None = attrs.field(
        default=None, validator=_validators.optional_positive
    )
    """Absolute step, or `None` for the automatic relative step."""

    @override
    def estimate(self, objective: Objective, x: Array) -> Array:
        x = as_float_array(x)
        flat = x.reshape(-1)
        n = flat.size
        h = _coordinate_steps(flat, self.step, _EPS ** (1.0 / 3.0))
        coordinates = np.arange(n)
        f = _perturbed_values(
            objective,
            x,
            np.concatenate([coordinates, coordinates]),
            np.concatenate([h, -h]),
        )
        distance = 2.0 * h if self.step is not None else (flat + h) - (flat - h)
        return ((f[:n] - f[n:]) / distance).reshape(x.shape)


@attrs.frozen
class ForwardDifference(GradientEstimator):
    r"""Forward differences: $g_i = (f(x + h_i e_i) - f(x)) / h_i$.

    Costs `n + 1` objective evaluations per gradient (`n = x.size`), or `n` inside
    an optimizer run, where `f(x)` is evaluated anyway and shared. The truncation
    error is $O(h)$: cheaper than
    [`CentralDifference`][optim.gradients.CentralDifference] but less accurate.

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/2} \max(1, |x_i|)$
    (about `1.5e-8` near the origin), rounded so that $x_i + h_i$ is exact; a float
    is an absolute step used as given.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(ForwardDifference().estimate(Sphere(), np.array([3.0, 2.0])), 6)
        array([6., 4.])
    """

    step: float | None = attrs.field(
        default=None, validator=_validators.optional_positive
    )
    """Absolute step, or `None` for the automatic relative step."""

    @override
    def estimate(self, objective: Objective, x: Array) -> Array:
        x = as_float_array(x)
        return self._quotients(objective, x, objective.value(x))

    @override
    def value_and_estimate(
        self, objective: Objective, x: Array
    ) -> tuple[float, Array, Array | None]:
        x = as_float_array(x)
        value = objective.value(x)
        return value, self._quotients(objective, x, value), None

    def _quotients(self, objective: Objective, x: Array, value: float) -> Array:
        flat = x.reshape(-1)
        h = _coordinate_steps(flat, self.step, _EPS**0.5)
        f = _perturbed_values(objective, x, np.arange(flat.size), h)
        return ((f - value) / h).reshape(x.shape)

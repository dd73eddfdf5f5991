"""Reference objectives with known gradients and minimizers, for docs and tests."""

import attrs
import numpy as np

from optim._types import Array, override
from optim.objective import Objective


@attrs.frozen
class Sphere(Objective):
    r"""The textbook's sphere $f(x) = \sum_i x_i^2$, minimized at the origin.

    Its gradient is $2x$; it works for points of any shape and evaluates stacks of
    points in one vectorized call.

    Examples:
        >>> import numpy as np
        >>> Sphere().value(np.array([3.0, 2.0]))
        13.0
        >>> Sphere().gradient(np.array([3.0, 2.0]))
        array([6., 4.])
    """

    @override
    def value(self, x: Array) -> float:
        return float(np.vdot(x, x))

    @override
    def gradient(self, x: Array) -> Array:
        return 2.0 * x

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        return float(np.vdot(x, x)), 2.0 * x

    @override
    def values(self, xs: Array) -> Array:
        flat = np.reshape(xs, (len(xs), -1))
        return np.asarray(np.sum(flat**2, axis=1), dtype=np.float64)

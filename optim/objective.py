"""The `Objective` base class and an adapter for plain callables."""

import abc
import pickle
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Self

import attrs
import numpy as np
import numpy.typing as npt

from optim import _validators, backend
from optim._arrays import as_complex_scalar, as_float_array, as_scalar, in_library_of
from optim._types import Array, ArrayLike, override


class Objective(abc.ABC):  # noqa: B024  # value or the pair: checked in __new__
    """A scalar function of a point, the thing an optimizer minimizes or maximizes.

    Subclass it and implement [`value`][optim.objective.Objective.value], or
    [`value_and_gradient`][optim.objective.Objective.value_and_gradient] alone
    (the natural form of a forward and a backward pass), or both. If the gradient
    is known in closed form, override
    [`gradient`][optim.objective.Objective.gradient] too (or define
    `value_and_gradient`): the optimizer then uses it by default instead of finite
    differences. Points are float64 (or float32) arrays of any shape (a vector, a
    matrix of weights, a 0-d scalar, ...); the gradient has the same shape.

    With `value_and_gradient` alone, `value` and `gradient` are derived from it:
    each is one call of it. The run calls `value_and_gradient` wherever it needs
    both (at each iterate with
    [`AnalyticGradient`][optim.gradients.AnalyticGradient], at the trial points of
    [`StrongWolfe`][optim.line_search.StrongWolfe]), so a point costs one call; a
    value alone (an Armijo trial, a finite-difference point) also costs one. If a
    value is much cheaper than a value and a gradient, define `value` too.

    A subclass that defines neither `value` nor `value_and_gradient` cannot be
    instantiated (`TypeError`).

    Override [`values`][optim.objective.Objective.values] when the function can
    evaluate many points in one vectorized call: finite-difference estimators send
    all their perturbed points through it.

    Examples:
        >>> import numpy as np
        >>> class Sphere(Objective):
        ...     def value(self, x):
        ...         return float(np.sum(x**2))
        ...
        ...     def gradient(self, x):
        ...         return 2 * x
        >>> Sphere().value(np.array([3.0, 4.0]))
        25.0
        >>> Sphere().has_gradient
        True
        >>> Sphere().values(np.array([[1.0, 0.0], [1.0, 1.0]]))
        array([1., 2.])

        One method, the value and the gradient of one pass:

        >>> class Bowl(Objective):
        ...     def value_and_gradient(self, x):
        ...         return float(np.sum((x - 1.0) ** 2)), 2 * (x - 1.0)
        >>> Bowl().value(np.zeros(2)), Bowl().gradient(np.zeros(2))
        (2.0, array([-2., -2.]))
        >>> Bowl().has_gradient
        True

        Neither method is an error:

        >>> class Nothing(Objective):
        ...     pass
        >>> Nothing()
        Traceback (most recent call last):
        ...
        TypeError: Can't instantiate Nothing: an Objective must define value(x) or ...
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive `value` and `gradient` for a class that defines only the pair."""
        super().__init_subclass__(**kwargs)
        if _defines(cls, "value_and_gradient"):
            if not _defines(cls, "value"):
                cls.value = _value_of_pair  # type: ignore[method-assign]
            if not _defines(cls, "gradient"):
                cls.gradient = _gradient_of_pair  # type: ignore[method-assign]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        """Refuse a class that defines neither `value` nor `value_and_gradient`."""
        if not (_defines(cls, "value") or _defines(cls, "value_and_gradient")):
            raise TypeError(
                f"Can't instantiate {cls.__qualname__}: an Objective must define "
                "value(x) or value_and_gradient(x) (or both); with "
                "value_and_gradient alone, value and gradient are derived from it"
            )
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError(f"{cls.__qualname__}() takes no arguments")
        return super().__new__(cls)

    def value(self, x: Array) -> float:
        """Evaluate the objective at `x`.

        Implement it, or
        [`value_and_gradient`][optim.objective.Objective.value_and_gradient] (the
        value is then the first item of the pair, one call of it).

        Args:
            x: The point; never modify it.

        Returns:
            The objective's value, a real scalar.
        """
        raise NotImplementedError(
            f"{type(self).__name__} defines neither value nor value_and_gradient"
        )

    def gradient(self, x: Array) -> Array:
        """Return the exact gradient at `x`, if the objective knows it.

        A class that defines
        [`value_and_gradient`][optim.objective.Objective.value_and_gradient] but
        not `gradient` has a gradient: the second item of the pair (one call of
        it).

        Args:
            x: The point; never modify it.

        Returns:
            The gradient, an array shaped like `x`.

        Raises:
            NotImplementedError: If the objective has no closed-form gradient; use
                a finite-difference
                [`GradientEstimator`][optim.gradients.GradientEstimator].
        """
        raise NotImplementedError(f"{type(self).__name__} has no analytic gradient")

    @property
    def has_gradient(self) -> bool:
        """Whether [`gradient`][optim.objective.Objective.gradient] is implemented.

        True when a subclass overrides `gradient` or `value_and_gradient`;
        adapters such as [`FunctionObjective`][optim.objective.FunctionObjective]
        override this property instead.
        """
        return type(self).gradient is not Objective.gradient

    def hessian_vector_product(self, x: Array, v: Array) -> Array:
        r"""Return the Hessian-vector product $\nabla^2 f(x) v$, if known.

        Optional: second-order rules ([`NewtonCG`][optim.newton.NewtonCG],
        [`TrustNCG`][optim.newton.TrustNCG]) use it when a subclass defines it, and
        otherwise difference two gradients,
        $(\nabla f(x + \epsilon v) - \nabla f(x)) / \epsilon$.

        Args:
            x: The point; never modify it.
            v: The direction, shaped like `x`; never modify it.

        Returns:
            The product, shaped like `x`.

        Raises:
            NotImplementedError: If the objective has no Hessian-vector product.

        Examples:
            >>> import numpy as np
            >>> class Bowl(Objective):
            ...     def value(self, x):
            ...         return float(x @ x)
            ...
            ...     def hessian_vector_product(self, x, v):
            ...         return 2.0 * v
            >>> Bowl().has_hessian_vector_product
            True
            >>> Bowl().hessian_vector_product(np.zeros(2), np.array([1.0, 3.0]))
            array([2., 6.])
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no Hessian-vector product"
        )

    @property
    def has_hessian_vector_product(self) -> bool:
        """Whether the objective has its own Hessian-vector product.

        True when a subclass overrides
        [`hessian_vector_product`][optim.objective.Objective.hessian_vector_product];
        adapters override this property.
        """
        return type(self).hessian_vector_product is not Objective.hessian_vector_product

    def fingerprint(self) -> Any:
        """Describe what this objective computes, for checkpoints; `None` by default.

        A checkpoint records a fingerprint of the configuration (see
        [`optim.fingerprint`][optim.fingerprint]) and refuses to resume with a
        different one. By default an objective is identified by its class's
        qualified name and its fields (attrs fields, or instance attributes), and a
        plain function by its qualified name only. Override this method to say
        what identifies your objective instead: return plain data (numbers,
        strings, arrays, tuples, lists, dicts) that changes whenever the function
        does, such as a data set's version or a physical parameter.

        Returns:
            Plain data identifying the function, or `None` for the default.

        Examples:
            >>> import numpy as np
            >>> class Spring(Objective):
            ...     def __init__(self, stiffness):
            ...         self.stiffness = stiffness
            ...
            ...     def value(self, x):
            ...         return float(0.5 * self.stiffness * np.sum(x**2))
            ...
            ...     def fingerprint(self):
            ...         return {"stiffness": self.stiffness}
            >>> Spring(2.0).fingerprint()
            {'stiffness': 2.0}
        """
        return None

    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        """Return the value and the exact gradient at `x`.

        Override it when the two share work (a forward and a backward pass); it
        may be the only method a subclass defines. The default calls `value` and
        `gradient`.

        Args:
            x: The point; never modify it.

        Returns:
            The pair `(value, gradient)`.
        """
        return self.value(x), self.gradient(x)

    def values(self, xs: Array) -> Array:
        """Evaluate the objective at a stack of points.

        The default calls [`value`][optim.objective.Objective.value] once per point;
        a vectorized objective overrides it with a single call.

        Args:
            xs: Points stacked along the first axis, shape `(k, *x.shape)`.

        Returns:
            The `k` values, shape `(k,)`, in the library and on the device of
                `xs` (one transfer of `k` numbers for another library's points).
                Complex points (sent only by
                [`ComplexStep`][optim.gradients.ComplexStep]) give complex values.

        Examples:
            >>> import array_api_strict as xps
            >>> from optim.problems import Sphere
            >>> class Bowl(Objective):
            ...     def value(self, x):
            ...         return float(xps.sum(x**2))
            >>> Bowl().values(xps.asarray([[1.0, 2.0], [0.0, 3.0]]))
            Array([5., 9.], dtype=array_api_strict.float64)
        """
        xp = backend.namespace_of(xs)
        if xp is not np:
            stacked: Array = _stacked_values(self, xs, xp)
            return stacked
        if np.iscomplexobj(xs):
            # No cast: real values for complex points are refused by the caller.
            complex_values: Array = np.array([self.value(x) for x in xs])
            return complex_values
        name = f"{type(self).__name__}.value"
        return np.array([as_scalar(self.value(x), name=name) for x in xs])

    def map_values(
        self,
        batches: Sequence[npt.NDArray[Any]],
        executor: Executor | None = None,
    ) -> list[npt.NDArray[Any]]:
        """Evaluate several stacks of points, possibly in parallel.

        Finite-difference estimators send all their perturbed points through this
        method, so it is the one place where parallel evaluation happens. Without
        an executor it calls [`values`][optim.objective.Objective.values] once per
        batch; with one, it sends `self.values` and each batch to the executor's
        workers (`executor.map`). Override it only to change *how* batches are
        dispatched; the values must not depend on the batching.

        Args:
            batches: Stacks of points, each shaped `(k, *x.shape)`.
            executor: Any `concurrent.futures.Executor` (a `ProcessPoolExecutor`,
                Dask's `Client.get_executor()`, ...), or `None` to evaluate here.

        Returns:
            One array of values per batch, in order.

        Raises:
            TypeError: If the executor runs in other processes and the objective
                cannot be pickled (a lambda or a local function, say); checked
                before any point is evaluated, once per objective and executor
                (an [`Optimizer`][optim.optimizer.Optimizer] checks when it is
                made, so a run's gradients pickle nothing to check).

        Examples:
            >>> import numpy as np
            >>> from concurrent.futures import ThreadPoolExecutor
            >>> from optim.problems import Sphere
            >>> batches = [np.array([[1.0, 2.0]]), np.array([[3.0, 0.0], [0.0, 0.0]])]
            >>> Sphere().map_values(batches)
            [array([5.]), array([9., 0.])]
            >>> with ThreadPoolExecutor(2) as pool:
            ...     Sphere().map_values(batches, pool)
            [array([5.]), array([9., 0.])]
        """
        if executor is None:
            return [self.values(batch) for batch in batches]
        _check_sendable(self, executor)
        return list(executor.map(self.values, batches))


def _stacked_values(objective: Objective, xs: Any, xp: Any) -> Any:
    """`Objective.values` for another library's stack: one value call per point.

    The values are gathered on the host (each is a Python number) and sent to
    the stack's device in one transfer.
    """
    if xp.isdtype(xs.dtype, "complex floating"):
        dtype = xp.complex128
        values: list[Any] = [objective.value(xs[i, ...]) for i in range(xs.shape[0])]
    else:
        dtype = xp.float64
        name = f"{type(objective).__name__}.value"
        values = [
            as_scalar(objective.value(xs[i, ...]), name=name)
            for i in range(xs.shape[0])
        ]
    return xp.asarray(values, dtype=dtype, device=backend.device(xs))


def _as_values(values: Any, xs: Any, xp: Any) -> Any:
    """A vectorized function's values for another library's stack: `(k,)`, float64.

    In the stack's library (values of another library are moved there once);
    complex values (for complex points) keep their dtype.
    """
    values = in_library_of(values, xs)
    count = xs.shape[0]
    if tuple(values.shape) != (count,):
        values = xp.reshape(values, (count,))
    if xp.isdtype(values.dtype, "complex floating"):
        return values
    return backend.astype(values, xp.float64, copy=False)


def _value_of_pair(self: Objective, x: Array, *args: Any, **kwargs: Any) -> float:
    """The value at `x`: the first item of `value_and_gradient` (one call)."""
    return self.value_and_gradient(x, *args, **kwargs)[0]


def _gradient_of_pair(self: Objective, x: Array, *args: Any, **kwargs: Any) -> Array:
    """The gradient at `x`: the second item of `value_and_gradient` (one call)."""
    return self.value_and_gradient(x, *args, **kwargs)[1]


_DERIVED = {
    "value": (Objective.value, _value_of_pair),
    "gradient": (Objective.gradient, _gradient_of_pair),
    "value_and_gradient": (Objective.value_and_gradient,),
}
"""For each method, the base's version and the one derived from the pair."""


def value_is_derived(objective: Objective) -> bool:
    """Whether the objective's `value` is derived from its `value_and_gradient`.

    True for a class that defines `value_and_gradient` but not `value`: a value
    then costs a value and a gradient, so a caller that may want the gradient at
    the same point (the run's evaluator, after a trial point's value) should ask
    for the pair and keep both.

    Args:
        objective: Any objective.

    Returns:
        Whether `objective.value(x)` is `objective.value_and_gradient(x)[0]`.

    Examples:
        >>> import numpy as np
        >>> class Pair(Objective):
        ...     def value_and_gradient(self, x):
        ...         return float(x @ x), 2 * x
        >>> from optim.problems import Sphere
        >>> value_is_derived(Pair()), value_is_derived(Sphere())
        (True, False)
    """
    return type(objective).value is _value_of_pair


def _defines(cls: type, name: str) -> bool:
    """Whether `cls` (or a base below `Objective`) defines the method itself."""
    method = getattr(cls, name, None)
    return method is not None and all(method is not own for own in _DERIVED[name])


@attrs.frozen
class FunctionObjective(Objective):
    """An [`Objective`][optim.objective.Objective] made from plain functions.

    The functions receive points of the run's array library (numpy, or the
    library of a PyTorch, CuPy, JAX or array-api-strict point) and should return
    arrays of it: a gradient of another library is moved to the point's (one
    transfer), values are real scalars of any library.

    Examples:
        >>> import numpy as np
        >>> sphere = FunctionObjective(lambda x: x[0] ** 2 + x[1] ** 2)
        >>> sphere.value(np.array([3.0, 2.0]))
        13.0
        >>> sphere.has_gradient
        False

        A vectorized function evaluates a whole stack at once:

        >>> fast = FunctionObjective(lambda xs: np.sum(xs**2, axis=-1), vectorized=True)
        >>> fast.values(np.array([[3.0, 2.0], [1.0, 0.0]]))
        array([13.,  1.])

        A function written with the array API computes in the library of its
        points (here array-api-strict's):

        >>> import array_api_strict as xps
        >>> bowl = FunctionObjective(
        ...     lambda x: xps.sum(x**2), lambda x: 2.0 * x, vectorized=False
        ... )
        >>> bowl.value(xps.asarray([3.0, 4.0])), bowl.gradient(xps.asarray([1.0]))
        (25.0, Array([2.], dtype=array_api_strict.float64))
    """

    fun: Callable[[Array], Any] = attrs.field(validator=attrs.validators.is_callable())
    """The function, called with one point and returning a real scalar."""

    grad: Callable[[Array], ArrayLike] | None = attrs.field(
        default=None,
        alias="gradient",
        validator=attrs.validators.optional(attrs.validators.is_callable()),
    )
    """Its gradient, if known, returning an array shaped like the point (the
    constructor argument is `gradient`)."""

    vectorized: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    """Whether `fun` also accepts a stack of points `(k, *shape)` and returns `k`
    values, so that [`values`][optim.objective.Objective.values] is one call."""

    @property
    @override
    def has_gradient(self) -> bool:
        return self.grad is not None

    @override
    def value(self, x: Array) -> float:
        return as_scalar(self.fun(x), name=_name_of(self.fun))

    @override
    def gradient(self, x: Array) -> Array:
        if self.grad is None:
            return super().gradient(x)
        gradient = self.grad(x)
        if not (isinstance(x, np.ndarray) or backend.is_foreign(x)):
            return gradient  # a structured point: checked by the run
        return as_float_array(in_library_of(gradient, x), name="gradient")

    @override
    def values(self, xs: Array) -> Array:
        xp = backend.namespace_of(xs)
        if xp is not np:
            if not self.vectorized:
                return super().values(xs)
            vectorized: Array = _as_values(self.fun(xs), xs, xp)
            return vectorized
        if np.iscomplexobj(xs):
            # The complex-step path: keep complex values, refuse real ones.
            if self.vectorized:
                values: Array = np.asarray(self.fun(xs)).reshape(len(xs))
                return values
            return np.array([as_complex_scalar(self.fun(x)) for x in xs])
        if self.vectorized:
            return np.asarray(self.fun(xs), dtype=np.float64).reshape(len(xs))
        return super().values(xs)


@attrs.frozen
class WithArguments:
    """`function(x, *args, **kwargs)` as a (picklable) function of `x` alone.

    How scipy's `args=` reaches a plain function.

    Examples:
        >>> WithArguments(pow, (3,))(2)
        8
    """

    function: Callable[..., Any]
    """The function of `x` and the extra arguments."""

    args: tuple[Any, ...] = ()
    """Extra positional arguments, after `x`."""

    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    """Extra keyword arguments."""

    def __call__(self, x: Any) -> Any:
        """Return `function(x, *args, **kwargs)`."""
        return self.function(x, *self.args, **self.kwargs)


@attrs.frozen
class _BoundArguments(Objective):
    """An objective whose methods receive extra arguments after `x` (a minibatch)."""

    objective: Objective
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]

    @property
    @override
    def has_gradient(self) -> bool:
        return self.objective.has_gradient

    @override
    def value(self, x: Array) -> float:
        return self.objective.value(x, *self.args, **self.kwargs)

    @override
    def gradient(self, x: Array) -> Array:
        return self.objective.gradient(x, *self.args, **self.kwargs)

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        method = self.objective.value_and_gradient
        if type(self.objective).value_and_gradient is Objective.value_and_gradient:
            return self.value(x), self.gradient(x)
        return method(x, *self.args, **self.kwargs)

    @property
    @override
    def has_hessian_vector_product(self) -> bool:
        return self.objective.has_hessian_vector_product

    @override
    def hessian_vector_product(self, x: Array, v: Array) -> Array:
        return self.objective.hessian_vector_product(x, v, *self.args, **self.kwargs)

    @override
    def values(self, xs: Array) -> Array:
        if type(self.objective).values is Objective.values:
            return super().values(xs)  # one value call per point, with arguments
        return self.objective.values(xs, *self.args, **self.kwargs)


def bind_arguments(
    objective: Objective, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Objective:
    """The objective whose methods get `*args, **kwargs` after the point.

    `value(x)` becomes `objective.value(x, *args, **kwargs)`, and likewise for the
    gradient and the batched `values`; a
    [`FunctionObjective`][optim.objective.FunctionObjective] passes them to its
    functions. With no arguments, the objective itself.

    Args:
        objective: The objective.
        args: Extra positional arguments (a minibatch, data, parameters).
        kwargs: Extra keyword arguments.

    Returns:
        An objective of `x` alone.

    Examples:
        >>> import numpy as np
        >>> loss = FunctionObjective(lambda x, scale: scale * float(x @ x))
        >>> bind_arguments(loss, (10.0,), {}).value(np.array([1.0, 2.0]))
        50.0
    """
    if not args and not kwargs:
        return objective
    if isinstance(objective, FunctionObjective):
        grad = objective.grad
        return attrs.evolve(
            objective,
            fun=WithArguments(objective.fun, tuple(args), dict(kwargs)),
            gradient=None
            if grad is None
            else WithArguments(grad, tuple(args), dict(kwargs)),
        )
    return _BoundArguments(objective, tuple(args), dict(kwargs))


def _name_of(function: Callable[..., Any]) -> str:
    """How errors name a user's function: its qualified name."""
    return f"function {getattr(function, '__qualname__', repr(function))}"


_SENT: dict[tuple[int, int], tuple[weakref.ref[Any], weakref.ref[Any]]] = {}
"""Pairs `(objective, executor)` already checked, by identity, held weakly."""

_SENT_LOCK = threading.Lock()


def _already_sent(objective: Objective, executor: Executor) -> bool:
    """Whether this very objective was checked for this very executor."""
    refs = _SENT.get((id(objective), id(executor)))
    return refs is not None and refs[0]() is objective and refs[1]() is executor


def _remember_sent(objective: Objective, executor: Executor) -> None:
    """Remember a checked pair while both objects live (if they can be weakly held)."""
    key = (id(objective), id(executor))

    def forget(_: object) -> None:
        with _SENT_LOCK:
            _SENT.pop(key, None)

    try:
        refs = (weakref.ref(objective, forget), weakref.ref(executor, forget))
    except TypeError:  # not weakly referenceable: check again next time
        return
    with _SENT_LOCK:
        _SENT[key] = refs


def _check_sendable(objective: Objective, executor: Executor) -> None:
    """Raise a clear error if `objective` cannot travel to the executor's workers.

    The check pickles the whole objective, so it is made once per pair of
    objective and executor (while both live): an optimizer checks when it is
    made, and its run's gradients then pickle nothing to check.
    Thread pools share memory and need nothing. Dask executors (module
    `distributed`) serialize with cloudpickle, which handles lambdas; any other
    executor (a `ProcessPoolExecutor`, ...) is checked with the standard pickle.

    Raises:
        TypeError: If the objective cannot be pickled, naming it.
    """
    if isinstance(executor, ThreadPoolExecutor):
        return
    if _already_sent(objective, executor):
        return
    dumps: Callable[[Any], bytes] = pickle.dumps
    kind = "pickle"
    if type(executor).__module__.split(".")[0] in ("distributed", "dask"):
        try:
            import cloudpickle  # type: ignore[import-untyped]

            dumps, kind = cloudpickle.dumps, "cloudpickle"
        except ImportError:  # pragma: no cover - distributed requires cloudpickle
            pass
    try:
        dumps(objective)
    except Exception as error:
        raise TypeError(
            f"the objective {objective!r} cannot be sent to the workers of "
            f"{type(executor).__name__}: {kind} failed with "
            f"{type(error).__name__}: {error}. Define its functions at module level "
            "(not as lambdas or local functions), or use a ThreadPoolExecutor"
        ) from error
    _remember_sent(objective, executor)

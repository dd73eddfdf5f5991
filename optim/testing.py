"""Conformance checks for step rules and gradient estimators, reusable in your tests.

Each `check_*` function raises `AssertionError` with an explanation when the rule
or estimator misbehaves, and returns quietly otherwise;
[`check_step_rule`][optim.testing.check_step_rule] runs the step-rule checks and
[`check_estimator`][optim.testing.check_estimator] the estimator checks. A typical
test suite parametrizes over its rules:

```python
@pytest.mark.parametrize("rule", [MyRule(0.1), MyRule(0.1, fancy=True)])
def test_my_rule_conforms(rule):
    check_step_rule(rule)
```
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np

from optim import backend
from optim._compare import same
from optim._types import Array, ArrayLike, override
from optim.callbacks import StopOnZeroGradient
from optim.evaluator import Evaluator
from optim.gradients import (
    SPSA,
    AnalyticGradient,
    CentralDifference,
    ComplexStep,
    GradientEstimator,
    Richardson,
)
from optim.mode import Mode
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer
from optim.problems import Problem, Quadratic, Sphere
from optim.result import Result
from optim.step_rules import StepRule

__all__ = [
    "DEFAULT_INVALID",
    "Negated",
    "check_ascent_mirrors_descent",
    "check_convergence",
    "check_descent_and_ascent",
    "check_invalid_hyperparameters",
    "check_step_rule",
    "check_update_is_pure",
    "same",
]

DEFAULT_INVALID: Mapping[str, tuple[Any, ...]] = {
    "learning_rate": (0.0, -0.1, math.nan, math.inf),
    "beta": (-0.1, 1.0),
    "beta1": (-0.1, 1.0),
    "beta2": (-0.1, 1.0),
    "eps": (-1.0, math.nan),
    "weight_decay": (-1.0, math.nan),
    "initial_accumulator": (-1.0,),
    "memory": (0, -1),
    "max_value": (0.0, -1.0),
    "max_norm": (0.0, -1.0),
    "restart": (0,),
    "initial_step": (0.0, -1.0),
}
"""Invalid values tried for hyperparameters with these (conventional) names."""


@attrs.frozen
class Negated(Objective):
    """The objective $-f$ of another objective $f$ (value and gradient negated).

    Examples:
        >>> import numpy as np
        >>> Negated(Sphere()).value_and_gradient(np.array([1.0, 2.0]))
        (-5.0, array([-2., -4.]))
    """

    objective: Objective
    """The objective $f$."""

    @property
    @override
    def has_gradient(self) -> bool:
        return self.objective.has_gradient

    @override
    def value(self, x: Array) -> float:
        return -self.objective.value(x)

    @override
    def gradient(self, x: Array) -> Array:
        return -self.objective.gradient(x)

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        value, gradient = self.objective.value_and_gradient(x)
        return -value, -gradient

    @override
    def values(self, xs: Array) -> Array:
        return -self.objective.values(xs)


def _default_problem() -> Problem:
    return Quadratic(dimension=4, condition_number=10.0)


def check_update_is_pure(
    rule: StepRule[Any],
    problem: Objective | None = None,
    x0: Array | None = None,
    *,
    steps: int = 4,
    mode: Mode | str = Mode.DESCENT,
) -> None:
    """Check that `init` and `update` are pure functions of their inputs.

    Along the first `steps` updates from `x0`: `init` and `update` leave their
    arguments (point, gradient, state) unmodified, and calling `update` twice with
    the same inputs gives the same displacement and the same new state. The
    displacement has the shape of `x`.

    Args:
        rule: The rule to check.
        problem: The objective (default: a 4-D quadratic with condition number 10).
        x0: The start (default: `problem.start`).
        steps: Updates to check.
        mode: Checked in this mode.

    Raises:
        AssertionError: Describing the impurity.

    Examples:
        >>> from optim import Momentum
        >>> check_update_is_pure(Momentum(0.1))
    """
    problem = _default_problem() if problem is None else problem
    if x0 is None:
        if not isinstance(problem, Problem):
            raise TypeError("pass x0 for an objective that is not a Problem")
        x0 = problem.start
    x = np.array(x0, dtype=np.float64)
    x_copy = x.copy()
    state = rule.init(x)
    assert np.array_equal(x, x_copy), f"{rule!r}.init modified x0"
    assert same(state, rule.init(x)), f"{rule!r}.init is not deterministic"
    mode = Mode(mode) if isinstance(mode, str) else mode
    for k in range(steps):
        evaluator = Evaluator(problem, AnalyticGradient(), mode)
        value, gradient = evaluator.value_and_gradient(x)
        inputs = (x.copy(), gradient.copy(), copy.deepcopy(state))
        delta, new_state = rule.update(
            gradient, state, x=x, value=value, evaluator=evaluator
        )
        unchanged = (x, gradient, state)
        for name, before, after in zip(
            ("x", "gradient", "state"), inputs, unchanged, strict=True
        ):
            assert same(before, after), f"{rule!r}.update modified {name} at step {k}"
        again, again_state = rule.update(
            gradient,
            state,
            x=x,
            value=value,
            evaluator=Evaluator(problem, AnalyticGradient(), mode),
        )
        assert same(delta, again), (
            f"{rule!r}.update gave different displacements for the same inputs at "
            f"step {k}: {delta} != {again}"
        )
        assert same(new_state, again_state), (
            f"{rule!r}.update gave different states for the same inputs at step {k}"
        )
        assert np.shape(delta) == x.shape, (
            f"{rule!r}.update returned a displacement of shape {np.shape(delta)} for "
            f"a point of shape {x.shape}"
        )
        x, state = x + delta, new_state


def check_descent_and_ascent(
    rule: StepRule[Any], problem: Problem | None = None, *, steps: int = 20
) -> tuple[Result, Result]:
    """Check that descent lowers a convex objective and ascent raises a concave one.

    Runs `steps` updates of descent on `problem` (convex, default a 4-D quadratic)
    and of ascent on its negative, from `problem.start`.

    Args:
        rule: The rule to check.
        problem: A convex problem.
        steps: Updates per run.

    Returns:
        The descent and ascent results.

    Raises:
        AssertionError: If either run fails to improve the objective.

    Examples:
        >>> from optim import Adam
        >>> down, up = check_descent_and_ascent(Adam(0.1))
        >>> down.value == -up.value  # the two runs mirror each other
        True
    """
    problem = _default_problem() if problem is None else problem
    x0 = problem.start
    start = problem.value(x0)
    down = Optimizer(problem, step_rule=rule, max_steps=steps).run(x0)
    assert down.value < start, (
        f"descent with {rule!r} did not lower {problem!r}: {start} -> {down.value} "
        f"({down.message})"
    )
    up = Optimizer(Negated(problem), step_rule=rule, mode="ascent", max_steps=steps)
    result = up.run(x0)
    assert result.value > -start, (
        f"ascent with {rule!r} did not raise -{problem!r}: {-start} -> "
        f"{result.value} ({result.message})"
    )
    return down, result


def _trajectory(optimizer: Optimizer, x0: Array) -> list[tuple[Array, float, int]]:
    return [
        (info.x, info.value, info.evaluations + info.gradient_evaluations)
        for info in optimizer.iterate(x0)
    ]


def check_ascent_mirrors_descent(
    rule: StepRule[Any], problem: Problem | None = None, *, steps: int = 20
) -> None:
    """Check that ascent on $f$ equals descent on $-f$, step for step.

    Compares the points, values (up to sign) and evaluation counts of the two runs
    from `problem.start`, where $-f$ is `problem` (default a 4-D quadratic).

    Args:
        rule: The rule to check.
        problem: The problem ($-f$, minimized by the descent run).
        steps: Updates per run.

    Raises:
        AssertionError: At the first step where the runs differ.

    Examples:
        >>> from optim import LBFGS
        >>> check_ascent_mirrors_descent(LBFGS())
    """
    problem = _default_problem() if problem is None else problem
    x0 = problem.start
    down = _trajectory(Optimizer(problem, step_rule=rule, max_steps=steps), x0)
    up = _trajectory(
        Optimizer(Negated(problem), step_rule=rule, mode="ascent", max_steps=steps),
        x0,
    )
    assert len(down) == len(up), (
        f"{rule!r}: descent ran {len(down) - 1} steps, ascent {len(up) - 1}"
    )
    for k, ((xd, fd, nd), (xu, fu, nu)) in enumerate(zip(down, up, strict=True)):
        scale = max(1.0, float(np.max(np.abs(xd))))
        assert np.allclose(xd, xu, rtol=1e-12, atol=1e-12 * scale), (
            f"{rule!r}: ascent on f and descent on -f differ at step {k}: {xu} != {xd}"
        )
        assert math.isclose(fd, -fu, rel_tol=1e-12, abs_tol=1e-300), (
            f"{rule!r}: values differ at step {k}: {fd} != {-fu}"
        )
        assert nd == nu, f"{rule!r}: evaluation counts differ at step {k}"


def check_convergence(
    rule: StepRule[Any],
    problem: Problem,
    *,
    max_steps: int = 1000,
    tol: float = 1e-6,
    mode: Mode | str = Mode.DESCENT,
    x0: Array | None = None,
) -> Result:
    """Check that the rule reaches the known minimum of a reference problem.

    In descent the rule minimizes `problem`; in ascent it maximizes its negative.
    The run stops when the gradient norm falls below `tol**2` or after
    `max_steps` updates, and must end with a value within `tol` of the known
    optimum (absolute, or relative when the optimum is large).

    Args:
        rule: The rule to check.
        problem: A problem with a known `minimum`.
        max_steps: Most updates.
        tol: Tolerance on the optimality gap.
        mode: `"descent"` or `"ascent"`.
        x0: The start (default `problem.start`).

    Returns:
        The run's result.

    Raises:
        AssertionError: If the gap is larger than `tol`.
        ValueError: If the problem's minimum is unknown.

    Examples:
        >>> from optim import Nesterov
        >>> result = check_convergence(Nesterov(0.1), Sphere(), mode="ascent")
        >>> result.value > -1e-6
        True
    """
    minimum = problem.minimum
    if minimum is None:
        raise ValueError(f"{problem!r} has no known minimum")
    mode = Mode(mode) if isinstance(mode, str) else mode
    objective: Objective = problem if mode is Mode.DESCENT else Negated(problem)
    start = problem.start if x0 is None else x0
    result = Optimizer(
        objective,
        step_rule=rule,
        mode=mode,
        max_steps=max_steps,
        callbacks=[StopOnZeroGradient(tol**2)],
    ).run(start)
    gap = mode.sign * result.value - minimum
    assert gap <= tol * max(1.0, abs(minimum)), (
        f"{rule!r} in {mode.value} on {problem!r}: optimality gap {gap:.3g} > "
        f"{tol:g} after {result.steps} steps ({result.message})"
    )
    return result


def check_invalid_hyperparameters(
    rule: Any, invalid: Mapping[str, Iterable[Any]] | None = None
) -> int:
    """Check that invalid hyperparameters raise errors naming the field.

    For every attrs field of `rule` whose name appears in
    [`DEFAULT_INVALID`][optim.testing.DEFAULT_INVALID] or in `invalid`, rebuilding
    the rule with each invalid value (`attrs.evolve`) must raise `ValueError` or
    `TypeError` whose message contains the field's name. Fields holding attrs
    instances (such as the `direction` of
    [`LBFGS()`][optim.line_search_rules.LBFGS], or a chain's `rule`) are checked
    the same way, recursively.

    Args:
        rule: An attrs-based rule (or any attrs instance).
        invalid: Extra or overriding invalid values by field name.

    Returns:
        The number of invalid values checked.

    Raises:
        AssertionError: If a value is accepted or the error does not name the field.

    Examples:
        >>> from optim import LBFGS, Adam
        >>> check_invalid_hyperparameters(Adam())
        12
        >>> check_invalid_hyperparameters(LBFGS())  # its direction's memory
        2
    """
    table: dict[str, tuple[Any, ...]] = dict(DEFAULT_INVALID)
    for name, values in (invalid or {}).items():
        table[name] = tuple(values)
    checked = 0
    for field in attrs.fields(type(rule)):
        part = getattr(rule, field.name)
        if field.init and field.name not in table and attrs.has(type(part)):
            # A configured part (a preset's direction, a chain's rule): check its
            # fields too, by evolving the part.
            checked += check_invalid_hyperparameters(part, table)
            continue
        if not field.init or field.name not in table:
            continue
        for bad in table[field.name]:
            try:
                attrs.evolve(rule, **{field.alias: bad})
            except (ValueError, TypeError) as error:
                message = str(error)
                if field.name not in message and field.alias not in message:
                    raise AssertionError(
                        f"{type(rule).__name__}({field.alias}={bad!r}) raised an "
                        f"error that does not name the field: {error}"
                    ) from error
            else:
                raise AssertionError(
                    f"{type(rule).__name__}({field.alias}={bad!r}) was accepted"
                )
            checked += 1
    return checked


def check_step_rule(
    rule: StepRule[Any],
    *,
    problems: Sequence[Problem] = (Sphere(), Quadratic(4, condition_number=10.0)),
    max_steps: int = 1000,
    tol: float = 1e-6,
    invalid: Mapping[str, Iterable[Any]] | None = None,
    convex: Problem | None = None,
) -> None:
    """Run every conformance check on a rule, in descent and in ascent.

    Purity ([`check_update_is_pure`][optim.testing.check_update_is_pure], both
    modes), improvement
    ([`check_descent_and_ascent`][optim.testing.check_descent_and_ascent]), the
    sign symmetry
    ([`check_ascent_mirrors_descent`][optim.testing.check_ascent_mirrors_descent]),
    convergence on each of `problems` in both modes
    ([`check_convergence`][optim.testing.check_convergence]; pass `problems=()`
    to skip it for a rule that is not meant to converge, such as a large fixed
    step) and hyperparameter validation
    ([`check_invalid_hyperparameters`][optim.testing.check_invalid_hyperparameters]).

    Args:
        rule: The rule to check.
        problems: Reference problems it must solve within `max_steps` to `tol`.
        max_steps: Most updates per convergence run.
        tol: Tolerance on the optimality gap.
        invalid: Extra invalid hyperparameter values, by field name.
        convex: The convex problem of the purity, improvement and symmetry
            checks (default: a 4-D quadratic with condition number 10, on which
            plain gradient descent needs a learning rate below 0.2).

    Raises:
        AssertionError: From the first failing check.

    Examples:
        >>> from optim import FixedStep
        >>> check_step_rule(FixedStep(0.1))
    """
    for mode in Mode:
        check_update_is_pure(rule, convex, mode=mode)
    check_descent_and_ascent(rule, convex)
    check_ascent_mirrors_descent(rule, convex)
    for problem in problems:
        for mode in Mode:
            check_convergence(rule, problem, max_steps=max_steps, tol=tol, mode=mode)
    if attrs.has(type(rule)):
        check_invalid_hyperparameters(rule, invalid)


def _array_api_value(x: Any) -> Any:
    """`|u|^2 / 2 + sum(u^4) / 4 + (sum u)^2`, `u = x - 1`, in the array API of `x`.

    The minimizer is all ones: iterates near it compare relative to one.
    """
    xp, u = backend.namespace_of(x), x - 1.0
    return xp.sum(u**2) / 2.0 + xp.sum(u**4) / 4.0 + xp.sum(u) ** 2


def _array_api_gradient(x: Any) -> Any:
    """The gradient of `_array_api_value`: `u + u^3 + 2 sum(u)`."""
    u = x - 1.0
    return u + u**3 + 2.0 * backend.namespace_of(x).sum(u)


ARRAY_API_PROBLEM = FunctionObjective(_array_api_value, _array_api_gradient)
"""A smooth, coupled, non-quadratic objective written in the array API, with its
gradient: it computes in the library of whatever point it is given, for
[`check_array_library`][optim.testing.check_array_library]."""


def check_array_library(
    rule: StepRule[Any],
    convert: Callable[[Array], Any],
    *,
    problem: Objective = ARRAY_API_PROBLEM,
    x0: ArrayLike = (1.0, -2.0, 0.5, 1.5),
    steps: int = 12,
    rtol: float = 1e-12,
) -> None:
    """Check that a rule gives numpy's iterates on another array library.

    Runs `init` and `update` directly (with a run's
    [`Evaluator`][optim.evaluator.Evaluator], so line searches evaluate trial
    points) from `x0` as a numpy array and from `convert(x0)`, for `steps`
    updates, and checks that every displacement is an array of `convert`'s
    library, shaped like `x`, and that every iterate matches numpy's to `rtol`
    (relative to the largest entry). Use float64 points: float32 arithmetic
    rounds differently in each library.

    Args:
        rule: The rule to check.
        convert: Turns a float64 numpy array into the other library's
            (`array_api_strict.asarray`, `jax.numpy.asarray`, `torch.asarray`).
        problem: An objective written in the array API, with a gradient.
        x0: The start.
        steps: Updates to compare.
        rtol: Relative tolerance on the iterates.

    Raises:
        AssertionError: Naming the first step whose displacement is not of the
            library or whose iterate differs.

    Examples:
        >>> import array_api_strict as xps
        >>> from optim import Adam, LBFGS
        >>> check_array_library(Adam(0.1), xps.asarray)
        >>> check_array_library(LBFGS(), xps.asarray)
    """
    start = np.asarray(x0, dtype=np.float64)
    other = convert(start)
    name = backend.library(other)
    runs = []
    for x, foreign in ((start, False), (other, True)):
        evaluator = Evaluator(problem, AnalyticGradient(), Mode.DESCENT)
        state, iterates = rule.init(x), []
        for k in range(steps):
            value, gradient, _ = evaluator.evaluate(x)
            delta, state = rule.update(
                gradient, state, x=x, value=value, evaluator=evaluator
            )
            if foreign and backend.namespace_of(delta) is np:
                raise AssertionError(
                    f"{rule!r}.update returned a numpy displacement at step {k} for "
                    f"a point of {name}"
                )
            assert tuple(delta.shape) == tuple(x.shape), (
                f"{rule!r}.update returned a displacement of shape "
                f"{tuple(delta.shape)} at step {k} on {name}"
            )
            x = x + delta
            iterates.append(backend.to_host(x))
        runs.append(iterates)
    for k, (expected, got) in enumerate(zip(*runs, strict=True)):
        scale = max(float(np.max(np.abs(expected))), 1e-300)
        gap = float(np.max(np.abs(got - expected)))
        assert gap <= rtol * scale, (
            f"{rule!r} on {name}: iterate {k + 1} differs from numpy's by "
            f"{gap:.3g} (relative {gap / scale:.3g} > {rtol:g})"
        )


__all__ += ["ARRAY_API_PROBLEM", "check_array_library"]


def check_projection(
    projection: Any,
    x: Any,
    *,
    rule: StepRule[Any] | None = None,
    objective: Objective | None = None,
    samples: int = 20,
    seed: int = 0,
    dtypes: Sequence[Any] = ("float64", "float32"),
) -> None:
    r"""Check that a projection is one, and that a rule keeps its runs in the set.

    In each of `dtypes`, on random points $y$ of that dtype around `x` (of its
    shape and scale): far outside the set, `samples` points nearby, points *just*
    outside it (a projection moved a few ulps outward), `x` itself and the
    midpoints of `x` and the projections (inside the set when `x` is), with
    $p = P(y)$:

    - the output is a new array of $y$'s shape and dtype, and $y$ is unchanged;
    - **membership holds exactly**: $p$ passes the projection's own membership
      test [`contains`][optim.projections.Projection.contains], and
      $P(p) = p$ bit for bit (so does $P(y) = y$ for every member $y$);
    - $P$ is **non-expansive** ($\|P(y) - P(z)\| \le \|y - z\|$) and gives
      the **nearest** feasible point (the variational inequality
      $(y - p)^\top (q - p) \le 0$ for the projection $q$ of another point),
      to a relative tolerance of $10^{-9}$ (float64) or $64 n$ ulps (float32).

    With a `rule`, it is also run under the constraint in descent and in ascent
    for 20 steps from `x` (default `objective`: a shifted sphere, or its negative
    in ascent), and every point at which the objective is evaluated must be in
    the set, exactly (by [`contains`][optim.projections.Projection.contains]).

    Args:
        projection: The [`Projection`][optim.projections.Projection].
        x: A point of the shape the projection is meant for.
        rule: A step rule to run under the constraint, or `None`.
        objective: The objective for the rule's runs (minimized in descent,
            its negative maximized in ascent).
        samples: Number of random points near `x`, per dtype.
        seed: Seed of the random points.
        dtypes: The dtypes of the points (the dtypes of a run: float64 and
            float32).

    Raises:
        AssertionError: From the first failing check.

    Examples:
        >>> import numpy as np
        >>> from optim import LBFGS, Ball, Bounds, Simplex
        >>> check_projection(Bounds(-1.0, [0.5, 2.0]), np.zeros(2), rule=LBFGS())
        >>> check_projection(Simplex(), np.full(3, 1 / 3))
        >>> check_projection(Ball([0.1, 0.2, 0.3], 0.7), np.zeros(3))
    """
    from optim.projections import Projection  # one function's need

    assert isinstance(projection, Projection), f"{projection!r} is not a Projection"
    x = np.asarray(x, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(x))))
    for dtype in dtypes:
        rng = np.random.default_rng(seed)
        _check_projection_in(projection, x, np.dtype(dtype), rng, samples, scale)
    if rule is not None:
        _check_rule_stays_feasible(projection, x, rule, objective, scale)


def _check_projection_in(
    projection: Any,
    x: Array,
    dtype: np.dtype[Any],
    rng: np.random.Generator,
    samples: int,
    scale: float,
) -> None:
    """`check_projection`'s checks on points of one dtype."""
    name = f"{type(projection).__name__} ({dtype})"
    eps = float(np.finfo(dtype).eps)
    tol = max(1e-9, 64 * x.size * eps) * scale

    def project(y: Array) -> Array:
        copy_of_y = y.copy()
        p = projection.project(y)
        assert np.array_equal(y, copy_of_y, equal_nan=True), (
            f"{name}.project modified its input"
        )
        assert isinstance(p, np.ndarray), f"{name}.project returned {type(p)}"
        assert p is not y, f"{name}.project returned its input, not a new array"
        assert p.shape == y.shape, f"{name}.project changed the shape {y.shape}"
        assert p.dtype == dtype, f"{name}.project returned dtype {p.dtype}"
        assert projection.contains(p), (
            f"{name}.project(y) is outside the set by its own membership test "
            f"(contains) for y = {y!r}: P(y) = {p!r}"
        )
        again = projection.project(p)
        assert np.array_equal(again, p), (
            f"{name} is not idempotent: P(P(y)) != P(y) for y = {y!r}, "
            f"by up to {float(np.max(np.abs(again - p))):.3g}"
        )
        if projection.contains(y):
            assert np.array_equal(p, y), (
                f"{name} moved a point of its set: P(y) != y for y = {y!r}"
            )
        return p

    def cast(points: list[Array]) -> list[Array]:
        return [np.asarray(point).astype(dtype) for point in points]

    far = cast([x + scale * rng.standard_normal(x.shape) * s for s in (10.0, 100.0)])
    near = cast([x + scale * rng.standard_normal(x.shape) for _ in range(samples)])
    points = cast([x + scale * rng.standard_normal(x.shape) * 0.1]) + far + near
    projected = [project(y) for y in points]
    outward = []
    for y, p in zip(points, projected, strict=True):
        gap = y.astype(np.float64) - p
        length = float(np.linalg.norm(gap))
        if length > 0.0:
            outward += [p + gap * (k * eps * scale / length) for k in (1.0, 4.0, 64.0)]
    inside = [x] + [0.5 * (x + p) for p in projected]
    extra = cast(outward + inside)
    points += extra
    projected += [project(y) for y in extra]
    for (y, p), (z, q) in zip(
        zip(points, projected, strict=True),
        zip(points[1:] + points[:1], projected[1:] + projected[:1], strict=True),
        strict=True,
    ):
        y64, z64, p64, q64 = (a.astype(np.float64) for a in (y, z, p, q))
        far_apart = float(np.linalg.norm(y64 - z64))
        near_apart = float(np.linalg.norm(p64 - q64))
        assert near_apart <= far_apart * (1 + 1e-12) + tol, (
            f"{name} is expansive: |P(y) - P(z)| = {near_apart:.6g} > |y - z| = "
            f"{far_apart:.6g}"
        )
        inner = float(np.vdot(y64 - p64, q64 - p64))
        assert inner <= tol * (1.0 + float(np.linalg.norm(y64 - p64))) * scale, (
            f"{name}.project(y) is not the nearest point of the set: "
            f"(y - P(y)) . (q - P(y)) = {inner:.3g} > 0 for a feasible q"
        )


def _check_rule_stays_feasible(
    projection: Any, x: Array, rule: StepRule[Any], objective: Any, scale: float
) -> None:
    """Run `rule` under `projection` both ways; every evaluation must be feasible."""
    target = x + scale * np.linspace(-2.0, 2.0, x.size).reshape(x.shape)
    base = objective if objective is not None else _ShiftedSphere(target)
    for mode in Mode:
        watched = _Feasibility(base if mode is Mode.DESCENT else Negated(base))
        optimizer = Optimizer(
            watched,
            step_rule=rule,
            estimator=AnalyticGradient(),
            mode=mode,
            constraint=projection,
            max_steps=20,
            max_growth=None,
        )
        optimizer.run(x)
        for point in watched.points:
            gap = float(np.max(np.abs(projection.project(point) - point)))
            assert projection.contains(point), (
                f"{type(rule).__name__} in {mode.value} evaluated the objective "
                f"outside {type(projection).__name__} (by {gap:.3g})"
            )


@attrs.frozen
class _ShiftedSphere(Objective):
    center: Array = attrs.field(eq=False)

    @override
    def value(self, x: Array) -> float:
        return float(np.sum((x - self.center) ** 2))

    @override
    def gradient(self, x: Array) -> Array:
        gradient: Array = 2.0 * (x - self.center)
        return gradient


class _Feasibility(Objective):
    """Forward to an objective, recording every point it is evaluated at."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.points: list[Array] = []

    @property
    @override
    def has_gradient(self) -> bool:
        return self.objective.has_gradient

    @override
    def value(self, x: Array) -> float:
        self.points.append(np.array(x, copy=True))
        return self.objective.value(x)

    @override
    def gradient(self, x: Array) -> Array:
        self.points.append(np.array(x, copy=True))
        return self.objective.gradient(x)

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        self.points.append(np.array(x, copy=True))
        return self.objective.value_and_gradient(x)


__all__ += ["check_projection"]


# Gradient estimators ---------------------------------------------------------------

_BATCH_VARIANTS: tuple[dict[str, Any], ...] = (
    {"batch_size": 1},
    {"batch_size": 3},
    {"max_batch_bytes": 1},
    {"executor": None, "batch_size": None, "max_batch_bytes": 10**9},
)
"""Batch settings tried by `check_paths_agree` (a thread pool is tried too)."""


@attrs.frozen(eq=False)
class _Polynomial:
    r"""$f(x) = \sum_i p_i(x_i) + x_0 x_{n-1} / 2$ over the flattened point.

    Horner's scheme coordinate by coordinate, in the same order for one point and
    for a stack (points along leading axes), so `values` equals `value` bit for
    bit; complex points give complex values (for the complex step). With `wave`,
    $e^{x_i / 2} \sin x_i$ is added to each term (not a polynomial: for the error
    check).
    """

    coefficients: Array
    """Shape `(n, degree + 1)`, the constant term first."""
    shape: tuple[int, ...]
    wave: bool = False

    def _columns(self, x: Any) -> tuple[Any, bool]:
        z = np.asarray(x)
        n = self.coefficients.shape[0]
        stacked = z.ndim > len(self.shape)
        return np.ascontiguousarray(z.reshape(-1, n).T), stacked

    def __call__(self, x: Any) -> Any:
        columns, stacked = self._columns(x)
        c = self.coefficients
        total = np.zeros(columns.shape[1], dtype=np.result_type(columns, 1.0))
        for i, t in enumerate(columns):
            term = c[i, -1] + 0.0 * t
            for k in range(c.shape[1] - 2, -1, -1):
                term = term * t + c[i, k]
            if self.wave:
                term = term + np.exp(0.5 * t) * np.sin(t)
            total = total + term
        if c.shape[1] > 2:
            total = total + 0.5 * columns[0] * columns[-1]
        return total if stacked else total[0]

    def gradient(self, x: Any) -> Array:
        """The exact gradient at one point, shaped like it."""
        columns, _ = self._columns(np.asarray(x, dtype=np.float64))
        c = self.coefficients
        slopes = np.zeros(columns.shape[0])
        for i, (t,) in enumerate(columns):
            slope = 0.0
            for k in range(c.shape[1] - 1, 0, -1):
                slope = slope * t + k * c[i, k]
            if self.wave:
                slope += np.exp(0.5 * t) * (0.5 * np.sin(t) + np.cos(t))
            slopes[i] = slope
        if c.shape[1] > 2:
            slopes[0] += 0.5 * columns[-1, 0]
            slopes[-1] += 0.5 * columns[0, 0]
        return slopes.reshape(self.shape)


def _polynomial(
    degree: int,
    shape: tuple[int, ...],
    *,
    seed: int = 0,
    wave: bool = False,
    vectorized: bool = True,
) -> FunctionObjective:
    """A seeded random polynomial objective of the given degree on points of `shape`."""
    n = math.prod(shape)
    rng = np.random.default_rng([seed, degree, n])
    function = _Polynomial(rng.uniform(-1.0, 1.0, (n, degree + 1)), shape, wave)
    return FunctionObjective(function, function.gradient, vectorized=vectorized)


def _stream(estimator: GradientEstimator) -> dict[str, Any]:
    """`rng=` a fresh random stream for a random estimator, nothing otherwise."""
    rng = estimator.random_stream()
    return {} if rng is None else {"rng": rng}


def _fail(check: str, estimator: Any, detail: str) -> AssertionError:
    """The error a check raises: the property, the estimator, what went wrong."""
    name = repr(estimator)
    if getattr(type(estimator), "__repr__", None) is object.__repr__:
        name = f"{type(estimator).__qualname__}()"
    return AssertionError(f"{check}: {name} {detail}")


def _scale(gradient: Array) -> float:
    return max(1.0, float(np.max(np.abs(gradient), initial=0.0)))


def _evolve(estimator: Any, **changes: Any) -> Any:
    """`attrs.evolve` for an estimator known to be an attrs instance."""
    return attrs.evolve(estimator, **changes)


def _has_field(estimator: Any, name: str) -> bool:
    return attrs.has(type(estimator)) and name in attrs.fields_dict(type(estimator))


def _calls(
    estimator: GradientEstimator, objective: Objective, x: Array
) -> dict[str, tuple[Array, Array | None]]:
    """The gradient (and error) of each public method (random: fresh streams)."""
    g, error = estimator.estimate_with_error(objective, x, **_stream(estimator))
    _, same_g, same_error = estimator.value_and_estimate(
        objective, x, **_stream(estimator)
    )
    return {
        "estimate": (estimator.estimate(objective, x), None),
        "estimate_with_error": (g, error),
        "value_and_estimate": (same_g, same_error),
    }


def check_x_unchanged(estimator: GradientEstimator) -> None:
    """Check that no method of the estimator modifies the point `x`.

    `estimate`, `estimate_with_error` and `value_and_estimate` are called on a
    float vector, a `(2, 3)` array and an integer vector (random estimators with a
    fresh [`random_stream`][optim.gradients.GradientEstimator.random_stream]);
    each point must keep its values and dtype.

    Args:
        estimator: The estimator to check.

    Raises:
        AssertionError: Naming the property ("x unchanged") and the method.

    Examples:
        >>> from optim import CentralDifference
        >>> check_x_unchanged(CentralDifference())
    """
    points = [
        np.array([1.5, -2.0, 0.25]),
        np.linspace(-1.0, 1.5, 6).reshape(2, 3),
        np.array([3, -1, 2]),
    ]
    for x in points:
        objective = _polynomial(2, x.shape)
        before = x.copy()
        for method in ("estimate", "estimate_with_error", "value_and_estimate"):
            kwargs = {} if method == "estimate" else _stream(estimator)
            getattr(estimator, method)(objective, x, **kwargs)
            if x.dtype != before.dtype or not np.array_equal(x, before):
                raise _fail(
                    "x unchanged",
                    estimator,
                    f"modified x in {method}: {before!r} became {x!r}",
                )


def check_deterministic(estimator: GradientEstimator) -> None:
    """Check that the same inputs (and the same seed) give the same gradient.

    Two calls of `estimate` must agree bit for bit, and so must two calls of
    `estimate_with_error` (gradient and error), each given a fresh
    [`random_stream`][optim.gradients.GradientEstimator.random_stream] for a
    random estimator: a fixed seed repeats the run exactly.

    Args:
        estimator: The estimator to check.

    Raises:
        AssertionError: Naming the property ("determinism").

    Examples:
        >>> from optim import SPSA
        >>> check_deterministic(SPSA(samples=4, rng=0))
    """
    x = np.array([0.5, -1.25, 2.0])
    objective = _polynomial(3, x.shape)
    first, second = estimator.estimate(objective, x), estimator.estimate(objective, x)
    if not same(first, second):
        raise _fail(
            "determinism", estimator, f"gave {first} then {second} from estimate"
        )
    first_pair = estimator.estimate_with_error(objective, x, **_stream(estimator))
    second_pair = estimator.estimate_with_error(objective, x, **_stream(estimator))
    if not same(first_pair, second_pair):
        raise _fail(
            "determinism",
            estimator,
            f"gave {first_pair} then {second_pair} from estimate_with_error "
            "(with a fresh random stream each time)",
        )


def check_gradient_shapes(estimator: GradientEstimator) -> None:
    """Check the gradient's type, dtype and shape on integer, 0-d and n-d points.

    For points of shapes `(3,)`, `()` and `(2, 3)`, and an integer `(3,)` point,
    `estimate` must return a finite float64 `numpy.ndarray` shaped like `x` (a
    `numpy.float64` scalar will do for a 0-d `x`), and an error estimate, if any,
    shaped like `x`. The integer point must give
    exactly the gradient of the same point in float64, and the 0-d and `(2, 3)`
    points the gradient of the flattened point, reshaped (to $10^{-12}$).

    Args:
        estimator: The estimator to check.

    Raises:
        AssertionError: Naming the property ("shape and dtype").

    Examples:
        >>> from optim import ForwardDifference
        >>> check_gradient_shapes(ForwardDifference())
    """
    cases = [
        (np.array([3, -1, 2]), np.array([3.0, -1.0, 2.0])),
        (np.array(0.75), np.array([0.75])),
        (np.linspace(-1.0, 1.5, 6).reshape(2, 3), np.linspace(-1.0, 1.5, 6)),
    ]
    for x, flat in cases:
        objective = _polynomial(2, x.shape)
        g = estimator.estimate(objective, x)
        kind = f"{x.dtype} x of shape {x.shape}"
        if not isinstance(g, np.ndarray | np.float64) or g.dtype != np.float64:
            got = getattr(g, "dtype", type(g).__name__)
            raise _fail("shape and dtype", estimator, f"returned {got} for {kind}")
        if g.shape != x.shape or not np.isfinite(g).all():
            raise _fail("shape and dtype", estimator, f"returned {g!r} for {kind}")
        error = estimator.estimate_with_error(objective, x, **_stream(estimator))[1]
        if error is not None and np.shape(error) != x.shape:
            raise _fail(
                "shape and dtype",
                estimator,
                f"returned an error of shape {np.shape(error)} for {kind}",
            )
        reference = estimator.estimate(_polynomial(2, flat.shape), flat)
        exact = x.dtype.kind == "i"
        tol = 0.0 if exact else 1e-12 * _scale(reference)
        if not np.all(np.abs(g.reshape(-1) - reference.reshape(-1)) <= tol):
            raise _fail(
                "shape and dtype",
                estimator,
                f"gave {g!r} for {kind}, but {reference!r} for the "
                f"{'float' if exact else 'flattened'} point",
            )


def default_order(estimator: GradientEstimator) -> int:
    """The polynomial degree a built-in estimator differentiates exactly.

    Forward and backward differences: 1; central differences, the complex step
    and SPSA (in one dimension, where it is a central difference): 2;
    [`Richardson`][optim.gradients.Richardson]: its `order`;
    `AnalyticGradient`: 4 (any degree, as exact as the objective's gradient).
    Any other estimator: 1 (exact on linear functions).

    Args:
        estimator: The estimator.

    Returns:
        The degree.

    Examples:
        >>> from optim import CentralDifference, Richardson
        >>> default_order(CentralDifference()), default_order(Richardson(order=8))
        (2, 8)
    """
    if isinstance(estimator, Richardson):
        return estimator.order
    if isinstance(estimator, AnalyticGradient):
        return 4
    if isinstance(estimator, CentralDifference | ComplexStep | SPSA):
        return 2
    return 1


def check_exact_on_polynomials(
    estimator: GradientEstimator,
    order: int | None = None,
    *,
    rtol: float | None = None,
    step: float = 0.25,
) -> None:
    r"""Check that the estimator is exact on polynomials of its order.

    On seeded random polynomials of degree `order` in 3 coordinates (1 for a
    random estimator, whose perturbations mix coordinates), at three random
    points in $[-2, 2]^n$, `estimate` must give the exact gradient up to rounding:
    within `rtol` times $\max(1, \|g\|_\infty)$.

    An attrs estimator with a `step` field is checked with the large step `step`,
    so that a truncation error would be large and rounding is negligible
    (`rtol` defaults to $10^{-9}$); any other as configured (`rtol` defaults to
    $10^{-6}$, room for the rounding of a small step).

    Args:
        estimator: The estimator to check.
        order: The degree (default:
            [`default_order`][optim.testing.default_order]).
        rtol: Relative tolerance (see above).
        step: The step used for estimators that have a `step` field.

    Raises:
        AssertionError: Naming the property ("exactness") and the degree.

    Examples:
        >>> from optim import BackwardDifference, ComplexStep
        >>> check_exact_on_polynomials(BackwardDifference())
        >>> check_exact_on_polynomials(ComplexStep(), order=2)
        >>> check_exact_on_polynomials(BackwardDifference(), order=2)
        Traceback (most recent call last):
        ...
        AssertionError: exactness: BackwardDifference(...) is not exact on ...
    """
    order = default_order(estimator) if order is None else order
    checked: Any = estimator
    if _has_field(estimator, "step"):
        checked = _evolve(estimator, step=step)
        rtol = 1e-9 if rtol is None else rtol
    rtol = 1e-6 if rtol is None else rtol
    n = 3 if estimator.random_stream() is None else 1
    rng = np.random.default_rng(order)
    for seed in range(3):
        objective = _polynomial(order, (n,), seed=seed)
        x = rng.uniform(-2.0, 2.0, n)
        exact = objective.gradient(x)
        g = checked.estimate(objective, x)
        error = float(np.max(np.abs(g - exact)))
        if not error <= rtol * _scale(exact):
            raise _fail(
                "exactness",
                checked,
                f"is not exact on a polynomial of degree {order} at x = {x}: "
                f"gradient {g}, exact {exact} (error {error:.3g} > {rtol:g} "
                "relative)",
            )


def check_paths_agree(estimator: GradientEstimator) -> int:
    """Check that every way of computing the gradient gives the same bits.

    At a point of shape `(5,)`: `estimate`, `estimate_with_error` and
    `value_and_estimate` give the same gradient (random estimators: each from a
    fresh stream), the last two the same error, and `value_and_estimate` the
    objective's value; the same holds with an objective whose `values` loops over
    `value` instead of evaluating the stack at once; and, for an attrs estimator
    with the batching options `batch_size`, `max_batch_bytes` or `executor`, with
    several batch sizes, one point per batch, and a `ThreadPoolExecutor`.

    Args:
        estimator: The estimator to check.

    Returns:
        The number of configurations compared with the first.

    Raises:
        AssertionError: Naming the property ("path agreement") and the path.

    Examples:
        >>> from optim import Richardson
        >>> check_paths_agree(Richardson())  # 4 batch settings, threads, a loop
        6
    """
    x = np.array([0.5, -1.25, 2.0, 0.0, 3.0])
    objective = _polynomial(3, x.shape)
    reference = estimator.estimate(objective, x)
    looping = _polynomial(3, x.shape, vectorized=False)
    variants: list[tuple[str, Any, Objective]] = [
        ("a values() looping over value()", estimator, looping)
    ]
    options = [
        name
        for name in ("batch_size", "max_batch_bytes", "executor")
        if _has_field(estimator, name)
    ]
    for settings in _BATCH_VARIANTS:
        chosen = {k: v for k, v in settings.items() if k in options}
        if chosen:
            variants.append((repr(chosen), _evolve(estimator, **chosen), objective))
    compared = 0
    with ThreadPoolExecutor(2) as pool:
        if "executor" in options:
            threaded = _evolve(estimator, executor=pool)
            variants.append(("a ThreadPoolExecutor", threaded, objective))
        for label, variant, function in [("", estimator, objective), *variants]:
            compared += _compare_paths(variant, function, x, reference, label)
    return compared - 1


def _compare_paths(
    estimator: GradientEstimator,
    objective: Objective,
    x: Array,
    reference: Array,
    label: str,
) -> int:
    """Compare one configuration's three methods with the reference gradient."""
    where = f" with {label}" if label else ""
    calls = _calls(estimator, objective, x)
    for method, (g, _) in calls.items():
        if not same(g, reference):
            raise _fail(
                "path agreement",
                estimator,
                f"gave {g} from {method}{where}, but {reference} from estimate",
            )
    errors = calls["estimate_with_error"][1], calls["value_and_estimate"][1]
    if not same(*errors):
        raise _fail(
            "path agreement",
            estimator,
            f"gave the error {errors[0]} from estimate_with_error but {errors[1]} "
            f"from value_and_estimate{where}",
        )
    value = estimator.value_and_estimate(objective, x, **_stream(estimator))[0]
    if value != objective.value(x):
        raise _fail(
            "path agreement",
            estimator,
            f"gave the value {value} from value_and_estimate{where}, not "
            f"{objective.value(x)}",
        )
    return 1


INVALID_STEPS: tuple[Any, ...] = (0.0, -1e-3, math.nan, math.inf)
"""Invalid `step` values tried by
[`check_step_validation`][optim.testing.check_step_validation] (and an array of
the wrong shape)."""


def check_step_validation(estimator: GradientEstimator) -> int:
    """Check that invalid `step` values are refused with an error naming `step`.

    For an attrs estimator with a `step` field: rebuilding it (`attrs.evolve`)
    with each of [`INVALID_STEPS`][optim.testing.INVALID_STEPS] must raise
    `ValueError` or `TypeError` whose message contains `step`; so must a step
    array of shape `(4,)`, either when the estimator is made or when it
    estimates at a point of shape `(3,)`.

    Args:
        estimator: An estimator with a `step` field.

    Returns:
        The number of invalid values checked.

    Raises:
        AssertionError: Naming the property ("step validation") and the value.
        TypeError: If the estimator has no `step` field.

    Examples:
        >>> from optim import CentralDifference
        >>> check_step_validation(CentralDifference())
        5
    """
    if not _has_field(estimator, "step"):
        raise TypeError(f"{estimator!r} has no step field")
    wrong_shape = np.full(4, 1e-3)
    for bad in (*INVALID_STEPS, wrong_shape):
        try:
            variant: Any = _evolve(estimator, step=bad)
            if bad is wrong_shape:
                variant.estimate(_polynomial(2, (3,)), np.array([0.5, 1.0, -1.0]))
        except (ValueError, TypeError) as error:
            if "step" not in str(error):
                raise _fail(
                    "step validation",
                    estimator,
                    f"refused step={bad!r} with an error that does not name step: "
                    f"{type(error).__name__}: {error}",
                ) from error
        else:
            detail = " for x of shape (3,)" if bad is wrong_shape else ""
            raise _fail("step validation", estimator, f"accepted step={bad!r}{detail}")
    return len(INVALID_STEPS) + 1


def check_error_estimate(
    estimator: GradientEstimator,
    order: int | None = None,
    *,
    cover: float = 0.9,
    sigmas: float = 4.0,
) -> float | None:
    r"""Check that the error estimate, if any, covers the true error.

    On two smooth functions of 3 coordinates (a random polynomial of degree
    `order + 2`, beyond what the scheme differentiates exactly, and a sum of
    $e^{x_i / 2} \sin x_i$ plus a polynomial), at four random points each, the
    error returned by `estimate_with_error` must be a finite, non-negative array
    shaped like `x`, at least the true error $|g_i - \partial_i f|$ in at least
    a fraction `cover` of the coordinates. A random estimator's error is taken as
    a standard deviation: there it must be at least the true error divided by
    `sigmas`.

    The built-ins meet `cover = 0.9` with room to spare (their calibration is in
    `tests/test_gradient_errors.py`).

    Args:
        estimator: The estimator to check.
        order: Its exact degree (default:
            [`default_order`][optim.testing.default_order]).
        cover: Fraction of coordinates the estimate must cover.
        sigmas: Width, in standard deviations, of a random estimator's error.

    Returns:
        The fraction of coordinates covered, or `None` if the estimator returns
            no error estimate (nothing to check).

    Raises:
        AssertionError: Naming the property ("error estimate").

    Examples:
        >>> from optim import CentralDifference
        >>> check_error_estimate(CentralDifference())
        1.0
        >>> check_error_estimate(AnalyticGradient()) is None
        True
    """
    order = default_order(estimator) if order is None else order
    factor = 1.0 if estimator.random_stream() is None else sigmas
    rng = np.random.default_rng(1)
    covered = total = 0
    for objective in (_polynomial(order + 2, (3,)), _polynomial(2, (3,), wave=True)):
        for _ in range(4):
            x = rng.uniform(-1.5, 1.5, 3)
            g, error = estimator.estimate_with_error(objective, x, **_stream(estimator))
            if error is None:
                return None
            error = np.asarray(error)
            if error.shape != x.shape or not np.all(np.isfinite(error) & (error >= 0)):
                raise _fail(
                    "error estimate",
                    estimator,
                    f"returned {error!r} at x = {x}: not finite, non-negative and "
                    "shaped like x",
                )
            true = np.abs(g - objective.gradient(x))
            covered += int(np.sum(true <= factor * error))
            total += x.size
    if covered < cover * total:
        raise _fail(
            "error estimate",
            estimator,
            f"is below the true error in {total - covered} of {total} coordinates "
            f"(covers {covered / total:.0%} < {cover:.0%})",
        )
    return covered / total


def check_unbiased(
    estimator: GradientEstimator, *, seeds: int = 400, sigmas: float = 4.0
) -> None:
    r"""Check that a random estimator is unbiased: its mean is the gradient.

    On a cubic polynomial of 3 coordinates (with a cross term), the estimates
    from `seeds` streams `numpy.random.default_rng(seed)` must average to the
    exact gradient within `sigmas` standard errors of their mean (plus
    $10^{-6} \max(1, \|g\|_\infty)$ for the truncation of a small step).

    Args:
        estimator: A random estimator (its `random_stream()` is not `None`).
        seeds: Number of streams.
        sigmas: Tolerance in standard errors.

    Raises:
        AssertionError: Naming the property ("unbiasedness").
        TypeError: If the estimator is not random.

    Examples:
        >>> from optim import SPSA
        >>> check_unbiased(SPSA(rng=0))
    """
    if estimator.random_stream() is None:
        raise TypeError(f"{estimator!r} is not random: random_stream() is None")
    x = np.array([0.5, -1.25, 2.0])
    objective = _polynomial(3, x.shape)
    exact = objective.gradient(x)
    draws = np.array(
        [
            estimator.estimate_with_error(
                objective, x, rng=np.random.default_rng(seed)
            )[0]
            for seed in range(seeds)
        ]
    )
    mean = draws.mean(axis=0)
    spread = sigmas * draws.std(axis=0, ddof=1) / math.sqrt(seeds)
    bias = np.abs(mean - exact)
    if not np.all(bias <= spread + 1e-6 * _scale(exact)):
        raise _fail(
            "unbiasedness",
            estimator,
            f"averages {mean} over {seeds} seeds, but the gradient is {exact} "
            f"(bias {bias} > {sigmas:g} standard errors {spread})",
        )


def check_estimator(
    estimator: GradientEstimator,
    *,
    order: int | None = None,
    rtol: float | None = None,
    cover: float = 0.9,
) -> list[str]:
    """Run every applicable conformance check on a gradient estimator.

    In this order (a failure stops at the first broken property):
    [`check_x_unchanged`][optim.testing.check_x_unchanged],
    [`check_deterministic`][optim.testing.check_deterministic],
    [`check_gradient_shapes`][optim.testing.check_gradient_shapes],
    [`check_exact_on_polynomials`][optim.testing.check_exact_on_polynomials]
    (with `order` and `rtol`),
    [`check_paths_agree`][optim.testing.check_paths_agree];
    then, when they apply,
    [`check_step_validation`][optim.testing.check_step_validation] (attrs
    estimators with a `step` field),
    [`check_error_estimate`][optim.testing.check_error_estimate] (with `cover`;
    estimators that return an error estimate) and
    [`check_unbiased`][optim.testing.check_unbiased] (random estimators).
    An estimator that implements only `estimate` gets the first five.

    Args:
        estimator: The estimator to check.
        order: The polynomial degree it differentiates exactly (default:
            [`default_order`][optim.testing.default_order]).
        rtol: Tolerance of the exactness check.
        cover: Fraction of coordinates the error estimate must cover.

    Returns:
        The names of the checks that ran.

    Raises:
        AssertionError: From the first failing check, naming the property.

    Examples:
        >>> from optim import AnalyticGradient, SPSA
        >>> check_estimator(AnalyticGradient())  # doctest: +NORMALIZE_WHITESPACE
        ['check_x_unchanged', 'check_deterministic', 'check_gradient_shapes',
         'check_exact_on_polynomials', 'check_paths_agree']
        >>> check_estimator(SPSA(samples=20, rng=0))[5:]
        ['check_step_validation', 'check_error_estimate', 'check_unbiased']
    """
    check_x_unchanged(estimator)
    check_deterministic(estimator)
    check_gradient_shapes(estimator)
    check_exact_on_polynomials(estimator, order, rtol=rtol)
    check_paths_agree(estimator)
    ran = [
        "check_x_unchanged",
        "check_deterministic",
        "check_gradient_shapes",
        "check_exact_on_polynomials",
        "check_paths_agree",
    ]
    if _has_field(estimator, "step"):
        check_step_validation(estimator)
        ran.append("check_step_validation")
    if check_error_estimate(estimator, order, cover=cover) is not None:
        ran.append("check_error_estimate")
    if estimator.random_stream() is not None:
        check_unbiased(estimator)
        ran.append("check_unbiased")
    return ran


__all__ += [
    "INVALID_STEPS",
    "check_deterministic",
    "check_error_estimate",
    "check_estimator",
    "check_exact_on_polynomials",
    "check_gradient_shapes",
    "check_paths_agree",
    "check_step_validation",
    "check_unbiased",
    "check_x_unchanged",
    "default_order",
]

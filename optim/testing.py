"""Conformance checks for step rules, reusable for your own rules in your own tests.

Each `check_*` function raises `AssertionError` with an explanation when the rule
misbehaves, and returns quietly otherwise;
[`check_step_rule`][optim.testing.check_step_rule] runs them all. A typical test
suite parametrizes over its rules:

```python
@pytest.mark.parametrize("rule", [MyRule(0.1), MyRule(0.1, fancy=True)])
def test_my_rule_conforms(rule):
    check_step_rule(rule)
```
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from optim._compare import same
from optim._types import Array, override
from optim.callbacks import StopOnZeroGradient
from optim.evaluator import Evaluator
from optim.gradients import AnalyticGradient
from optim.mode import Mode
from optim.objective import Objective
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
        10
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


def check_projection(
    projection: Any,
    x: Any,
    *,
    rule: StepRule[Any] | None = None,
    objective: Objective | None = None,
    samples: int = 20,
    seed: int = 0,
) -> None:
    r"""Check that a projection is one, and that a rule keeps its runs in the set.

    On `samples` random points $y$ around `x` (of its shape and scale), with
    $p = P(y)$: the output is a new float64 array shaped like $y$, which is left
    unchanged; $P$ is **idempotent** ($P(p) = p$: the output is feasible, a fixed
    point), **non-expansive** ($\|P(y) - P(z)\| \le \|y - z\|$) and the
    **nearest** feasible point (the variational inequality
    $(y - p)^\top (q - p) \le 0$ for the projection $q$ of another point).
    Tolerances are relative, $10^{-9}$ of the scale.

    With a `rule`, it is also run under the constraint in descent and in ascent
    for 20 steps from `x` (default `objective`: a shifted sphere, or its negative
    in ascent), and every point at which the objective is evaluated must be
    feasible: a fixed point of the projection to $10^{-12}$ of the scale.

    Args:
        projection: The [`Projection`][optim.projections.Projection].
        x: A point of the shape the projection is meant for.
        rule: A step rule to run under the constraint, or `None`.
        objective: The objective for the rule's runs (minimized in descent,
            its negative maximized in ascent).
        samples: Number of random points.
        seed: Seed of the random points.

    Raises:
        AssertionError: From the first failing check.

    Examples:
        >>> import numpy as np
        >>> from optim import LBFGS, Bounds, Simplex
        >>> check_projection(Bounds(-1.0, [0.5, 2.0]), np.zeros(2), rule=LBFGS())
        >>> check_projection(Simplex(), np.full(3, 1 / 3))
    """
    from optim.projections import Projection  # one function's need

    assert isinstance(projection, Projection), f"{projection!r} is not a Projection"
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    scale = max(1.0, float(np.max(np.abs(x))))
    tol = 1e-9 * scale
    name = type(projection).__name__
    points = [x + scale * rng.standard_normal(x.shape) * s for s in (0.1, 1.0, 10.0)]
    points += [x + scale * rng.standard_normal(x.shape) for _ in range(samples)]
    projected = []
    for y in points:
        copy_of_y = y.copy()
        p = projection.project(y)
        assert np.array_equal(y, copy_of_y), f"{name}.project modified its input"
        assert isinstance(p, np.ndarray), f"{name}.project returned {type(p)}"
        assert p.shape == y.shape, f"{name}.project changed the shape {y.shape}"
        assert p.dtype == np.float64, f"{name}.project returned dtype {p.dtype}"
        again = projection.project(p)
        gap = float(np.max(np.abs(again - p)))
        assert gap <= tol, f"{name} is not idempotent: P(P(y)) - P(y) = {gap:.3g}"
        projected.append(p)
    for (y, p), (z, q) in zip(
        zip(points, projected, strict=True),
        zip(points[1:] + points[:1], projected[1:] + projected[:1], strict=True),
        strict=True,
    ):
        far, near = float(np.linalg.norm(y - z)), float(np.linalg.norm(p - q))
        assert near <= far * (1 + 1e-12) + tol, (
            f"{name} is expansive: |P(y) - P(z)| = {near:.6g} > |y - z| = {far:.6g}"
        )
        inner = float(np.vdot(y - p, q - p))
        assert inner <= tol * (1.0 + float(np.linalg.norm(y - p))) * scale, (
            f"{name}.project(y) is not the nearest point of the set: "
            f"(y - P(y)) . (q - P(y)) = {inner:.3g} > 0 for a feasible q"
        )
    if rule is not None:
        _check_rule_stays_feasible(projection, x, rule, objective, scale)


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
            assert gap <= 1e-12 * scale, (
                f"{type(rule).__name__} in {mode.value} evaluated the objective "
                f"{gap:.3g} outside {type(projection).__name__}"
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

"""Names for the library's parts: step rules, gradient estimators and problems.

The command line (`optim run --rule lbfgs`), the documentation scripts and
checkpoints refer to parts by these names. Each registry maps a name to a
*factory*: any callable that builds the part from keyword arguments (a class, or
a function returning a configured instance). Hyperparameters are read from the
factory's signature with `inspect.signature`, so nothing here depends on how a
part is implemented.

Examples:
    >>> make_rule("momentum", 0.1, beta=0.5)
    Momentum(learning_rate=0.1, beta=0.5, weight_decay=0.0, dampening=0.0)
    >>> make_estimator("central", step=1e-4).step
    0.0001
    >>> get_problem("rosenbrock", 4).dimension
    4
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from optim.adaptive import LAMB, Adadelta, Adafactor, Adamax, Lion, NAdam, RAdam
from optim.gradients import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    GradientEstimator,
    Richardson,
)
from optim.line_search_rules import LBFGS, BarzilaiBorwein, ConjugateGradient
from optim.newton import NewtonCG, TrustNCG
from optim.problems import (
    Beale,
    Booth,
    Himmelblau,
    Problem,
    Quadratic,
    Rastrigin,
    Rosenbrock,
    Sphere,
    StyblinskiTang,
)
from optim.step_rules import (
    AdaGrad,
    Adam,
    AdamW,
    FixedStep,
    Momentum,
    Nesterov,
    RMSProp,
    StepRule,
)

__all__ = [
    "ESTIMATORS",
    "PROBLEMS",
    "RULES",
    "get_problem",
    "hyperparameters",
    "make_estimator",
    "make_rule",
]

_RULES: dict[str, Callable[..., StepRule[Any]]] = {
    "fixed": FixedStep,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "radam": RAdam,
    "adamax": Adamax,
    "adadelta": Adadelta,
    "lamb": LAMB,
    "adafactor": Adafactor,
    "lion": Lion,
    "lbfgs": LBFGS,
    "cg": ConjugateGradient,
    "bb": BarzilaiBorwein,
    "newton-cg": NewtonCG,
    "trust-ncg": TrustNCG,
}
RULES: Mapping[str, Callable[..., StepRule[Any]]] = MappingProxyType(_RULES)
"""Step-rule factories by name (read-only), for [`make_rule`][optim.registry.make_rule]
and the command line's `--rule`."""

_ESTIMATORS: dict[str, Callable[..., GradientEstimator]] = {
    "analytic": AnalyticGradient,
    "central": CentralDifference,
    "forward": ForwardDifference,
    "backward": BackwardDifference,
    "richardson": Richardson,
    "complex": ComplexStep,
    "spsa": SPSA,
}
ESTIMATORS: Mapping[str, Callable[..., GradientEstimator]] = MappingProxyType(
    _ESTIMATORS
)
"""Gradient-estimator factories by name (read-only), for
[`make_estimator`][optim.registry.make_estimator] and the command line's
`--estimator`."""

_PROBLEMS: dict[str, Callable[..., Problem]] = {
    "beale": Beale,
    "booth": Booth,
    "himmelblau": Himmelblau,
    "quadratic": Quadratic,
    "rastrigin": Rastrigin,
    "rosenbrock": Rosenbrock,
    "sphere": Sphere,
    "styblinski-tang": StyblinskiTang,
}
PROBLEMS: Mapping[str, Callable[..., Problem]] = MappingProxyType(_PROBLEMS)
"""Reference problems by name (read-only), for
[`get_problem`][optim.registry.get_problem] and the command line
(logistic regression is left out: it needs data)."""

_KINDS: Mapping[str, Mapping[str, Callable[..., Any]]] = {
    "rule": RULES,
    "estimator": ESTIMATORS,
    "problem": PROBLEMS,
}


def _factory(kind: str, name: str) -> Callable[..., Any]:
    registry = _KINDS[kind]
    if name not in registry:
        raise ValueError(
            f"unknown {kind} {name!r}; choose one of {', '.join(sorted(registry))}"
        )
    return registry[name]


def hyperparameters(kind: str, name: str) -> Mapping[str, inspect.Parameter]:
    """Return the keyword arguments the factory registered as `name` takes.

    Read from the factory's signature; positional-only and variadic
    parameters are left out.

    Args:
        kind: `"rule"`, `"estimator"` or `"problem"`.
        name: A key of [`RULES`][optim.registry.RULES],
            [`ESTIMATORS`][optim.registry.ESTIMATORS] or
            [`PROBLEMS`][optim.registry.PROBLEMS], as `kind` says.

    Returns:
        The parameters by name, in signature order (a required parameter has
            the default `inspect.Parameter.empty`).

    Raises:
        ValueError: For an unknown `kind` or `name` (listing the choices).

    Examples:
        >>> list(hyperparameters("rule", "momentum"))
        ['learning_rate', 'beta', 'weight_decay', 'dampening']
        >>> hyperparameters("rule", "adam")["learning_rate"].default
        0.001
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(_KINDS)}")
    parameters = inspect.signature(_factory(kind, name)).parameters.values()
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p for p in parameters if p.kind in keyword}


def _takes_any_keyword(factory: Callable[..., Any]) -> bool:
    parameters = inspect.signature(factory).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _build(kind: str, name: str, options: Mapping[str, Any]) -> Any:
    factory = _factory(kind, name)
    accepted = hyperparameters(kind, name)
    if not _takes_any_keyword(factory):
        for key in options:
            if key not in accepted:
                raise ValueError(
                    f"{kind} {name!r} has no hyperparameter {key!r}; it takes "
                    f"{', '.join(accepted) or 'none'}"
                )
    missing = [
        key
        for key, parameter in accepted.items()
        if parameter.default is inspect.Parameter.empty and key not in options
    ]
    if missing:
        raise ValueError(f"{kind} {name!r} needs {', '.join(missing)}")
    try:
        return factory(**options)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{kind} {name!r}: {error}") from error


def make_rule(
    name: str, learning_rate: float | None = None, **options: Any
) -> StepRule[Any]:
    """Build the step rule registered as `name` in [`RULES`][optim.registry.RULES].

    Args:
        name: The rule's name.
        learning_rate: Its learning rate, for rules that take one (`None` keeps
            the rule's default, if it has one).
        **options: Other hyperparameters, by the factory's parameter names.

    Returns:
        The rule.

    Raises:
        ValueError: For an unknown name (listing the names), a hyperparameter
            the rule does not take (naming it and listing those it takes), a
            missing required learning rate, or an invalid value (naming it).

    Examples:
        >>> make_rule("fixed", 0.1)
        FixedStep(learning_rate=0.1)
        >>> make_rule("lbfgs", memory=5).direction.memory
        5
        >>> make_rule("fixed")
        Traceback (most recent call last):
        ...
        ValueError: rule 'fixed' needs learning_rate
        >>> make_rule("lbfgs", gamma=1.0)
        Traceback (most recent call last):
        ...
        ValueError: rule 'lbfgs' has no hyperparameter 'gamma'; it takes memory, search
    """
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    rule: StepRule[Any] = _build("rule", name, options)
    return rule


def make_estimator(name: str, **options: Any) -> GradientEstimator:
    """Build the gradient estimator registered as `name` in `ESTIMATORS`.

    See [`ESTIMATORS`][optim.registry.ESTIMATORS] for the names.

    Args:
        name: The estimator's name.
        **options: Its options, such as `step` for finite differences.

    Returns:
        The estimator.

    Raises:
        ValueError: For an unknown name (listing the names), an option the
            estimator does not take (naming it and listing those it takes), or an
            invalid value.

    Examples:
        >>> make_estimator("forward", step=1e-6)
        ForwardDifference(step=1e-06, ...)
        >>> make_estimator("analytic", step=1e-6)
        Traceback (most recent call last):
        ...
        ValueError: estimator 'analytic' has no hyperparameter 'step'; it takes none
    """
    estimator: GradientEstimator = _build("estimator", name, options)
    return estimator


def get_problem(name: str, dimension: int | None = None, **options: Any) -> Problem:
    """Return the reference problem called `name`, optionally in `dimension` variables.

    Args:
        name: A key of [`PROBLEMS`][optim.registry.PROBLEMS] (case and `_`/`-`
            insensitive).
        dimension: Number of variables, for the problems that take one; `None`
            keeps the default (2). Problems of a fixed dimension accept only that.
        **options: Other fields of the problem, such as `condition_number`.

    Returns:
        The problem.

    Raises:
        ValueError: If the name is unknown (listing the names), an option is not
            a field of the problem (naming it), or a fixed-dimension problem is
            asked for another dimension.

    Examples:
        >>> get_problem("rosenbrock", 4).start
        array([-1.2,  1. , -1.2,  1. ])
        >>> get_problem("Styblinski_Tang").dimension
        2
        >>> get_problem("beale", 3)
        Traceback (most recent call last):
        ...
        ValueError: dimension must be 2 for beale, got 3
    """
    key = name.lower().replace("_", "-")
    if key not in PROBLEMS:
        _factory("problem", name)  # raises, naming the choices
    takes_dimension = "dimension" in hyperparameters("problem", key)
    if dimension is not None and takes_dimension:
        options = {"dimension": dimension, **options}
    problem: Problem = _build("problem", key, options)
    if dimension is not None and problem.dimension != dimension:
        raise ValueError(
            f"dimension must be {problem.dimension} for {key}, got {dimension}"
        )
    return problem

r"""Gradient transformations (clipping) and `Chain`, which composes them with a rule.

Composition follows optax's `chain`. A
[`GradientTransform`][optim.transforms.GradientTransform] speaks the step-rule
protocol, with the same verbs and signature (`init(x0)`,
`update(gradient, state, *, x, value, evaluator) -> (output, state)`) but an
output that is a vector to hand on rather than the final step. A
[`Chain`][optim.transforms.Chain] holds one
[`StepRule`][optim.step_rules.StepRule] with transformations on either side:
those *before* the rule act on the gradient, those *after* it act on the step.
The chain is itself a step rule whose state is a
[`ChainState`][optim.transforms.ChainState], so "clip the gradient, then Adam with
a cosine schedule" is

```python
chain(ClipByNorm(1.0), Adam(CosineDecay(0.1, decay_steps=100)))
```

and "Adam, with its step clipped" is `chain(Adam(0.1), ClipByNorm(1.0))`.

A rule that evaluates trial points (a
[`LineSearchRule`][optim.line_search_rules.LineSearchRule], see
[`StepRule.evaluates_trial_points`][optim.step_rules.StepRule.evaluates_trial_points])
cannot follow transforms: its search compares the value and gradient at the
current point with those at trial points, which come from the untransformed
[`TrialEvaluator`][optim.evaluation.TrialEvaluator], so its Wolfe test would compare
different things. `Chain` refuses that combination when it is built; transforms
after such a rule are fine.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import cast_like, host_dtype
from optim._types import Array, override
from optim.evaluation import TrialEvaluator
from optim.step_rules import StepRule

__all__ = [
    "AddDecayedWeights",
    "Chain",
    "ChainState",
    "ClipByNorm",
    "ClipByValue",
    "GradientTransform",
    "Groups",
    "GroupsState",
    "ReduceOnPlateau",
    "ReduceOnPlateauState",
    "chain",
    "leaf_segments",
]

T = TypeVar("T")


class GradientTransform(abc.ABC, Generic[T]):
    """A functional map from a vector to a vector, with state `T`, for chains.

    It has the step rule's verbs and signature: implement
    [`init`][optim.transforms.GradientTransform.init] and
    [`update`][optim.transforms.GradientTransform.update], and never modify the
    inputs. Placed before the rule of a [`Chain`][optim.transforms.Chain] it
    transforms the gradient; placed after it, the step.

    Examples:
        >>> import numpy as np
        >>> class Halve(GradientTransform[None]):
        ...     def init(self, x0):
        ...         return None
        ...
        ...     def update(self, gradient, state, *, x, value, evaluator):
        ...         return 0.5 * gradient, state
        >>> Halve().update(np.array([2.0]), None, x=None, value=0.0, evaluator=None)
        (array([1.]), None)
    """

    __slots__ = ()

    @abc.abstractmethod
    def init(self, x0: Array) -> T:
        """Create the state for a run starting at `x0`.

        Args:
            x0: The starting point.

        Returns:
            The initial state (`None` for a stateless transform).
        """

    @abc.abstractmethod
    def update(
        self,
        gradient: Array,
        state: T,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, T]:
        """Return the transformed vector and the new state.

        Args:
            gradient: The vector to transform: the (descent-convention) gradient
                at `x` before the chain's rule, the step after it.
            state: The state from `init` or the previous call.
            x: The current point.
            value: The value of the function being minimized at `x`.
            evaluator: Counted access to that function at trial points.

        Returns:
            The pair `(output, new_state)`.
        """


def leaf_segments(
    params: Any, fn: Callable[[tuple[Any, ...]], Hashable]
) -> tuple[tuple[Any, int], ...]:
    """Label the leaves of a structured parameter, in the flat vector's order.

    Args:
        params: The structure (a dict, list or tuple of arrays) the run starts
            from, or one with the same layout.
        fn: Called with each leaf's path, a tuple of dict keys and list indices
            (`("layer1", "b")`), returning its label (a group name, or a bool
            for a mask).

    Returns:
        Pairs `(label, size)`, one per leaf, in the order in which the run
            flattens the structure: what [`Groups`][optim.transforms.Groups]
            and [`AddDecayedWeights`][optim.transforms.AddDecayedWeights]'s
            `mask` take.

    Examples:
        >>> import numpy as np
        >>> params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
        >>> leaf_segments(params, lambda path: path[-1] != "b")
        ((True, 6), (False, 3))
    """
    from optim.tree import flatten

    _, spec = flatten(params)
    paths: dict[int, tuple[Any, ...]] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list | tuple):
            for k, value in enumerate(node):
                walk(value, (*path, k))
        else:
            paths[int(node)] = path

    walk(spec.skeleton if isinstance(spec.skeleton, dict | list | tuple) else 0, ())
    return tuple(
        (fn(paths[k]), int(np.prod(leaf.shape))) for k, leaf in enumerate(spec.leaves)
    )


def _to_segments(value: Any, kind: type) -> tuple[tuple[Any, int], ...] | None:
    if value is None:
        return None
    segments = tuple((label, size) for label, size in value)
    for label, size in segments:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"segment sizes must be integers >= 1, got {size!r}")
        if not isinstance(label, kind):
            raise TypeError(
                f"segment labels must be {kind.__name__}, got {label!r} (a mask "
                f"takes True/False, Groups takes group names)"
            )
    if not segments:
        raise ValueError("segments must name at least one leaf")
    return segments


def _to_mask(value: Any) -> tuple[tuple[bool, int], ...] | None:
    return _to_segments(value, bool)


def _to_labels(value: Any) -> tuple[tuple[str, int], ...]:
    segments = _to_segments(value, str)
    if segments is None:
        raise TypeError("segments are required: use leaf_segments(params, fn)")
    return segments


def _check_size(segments: tuple[tuple[Any, int], ...], x0: Array, name: str) -> None:
    total = sum(size for _, size in segments)
    if total != np.size(x0):
        raise ValueError(
            f"{name} covers {total} coordinates but the point has {np.size(x0)}: "
            f"build it with leaf_segments() from the run's starting structure"
        )


@attrs.frozen
class ClipByValue(GradientTransform[None]):
    r"""Clip every component to $[-c, c]$: $g_i \leftarrow \min(\max(g_i, -c), c)$.

    Examples:
        >>> import numpy as np
        >>> ClipByValue(1.0).update(
        ...     np.array([3.0, -0.5, -2.0]), None, x=None, value=0.0, evaluator=None
        ... )
        (array([ 1. , -0.5, -1. ]), None)
    """

    max_value: float = attrs.field(validator=_validators.positive)
    """The bound $c > 0$."""

    @override
    def init(self, x0: Array) -> None:
        return None

    @override
    def update(
        self,
        gradient: Array,
        state: None,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, None]:
        xp = backend.namespace_of(gradient)
        if xp is np:
            return np.clip(gradient, -self.max_value, self.max_value), None
        return xp.clip(gradient, min=-self.max_value, max=self.max_value), None


@attrs.frozen
class ClipByNorm(GradientTransform[None]):
    r"""Rescale a vector to Euclidean norm at most $c$.

    $g \leftarrow g \cdot \min(1, c / (\|g\|_2 + \epsilon))$: the direction is
    kept. With the default $\epsilon = 0$ this is optax's `clip_by_global_norm`;
    PyTorch's `clip_grad_norm_(max_norm)` divides by $\|g\|_2 + 10^{-6}$, so it is
    `ClipByNorm(max_norm, eps=1e-6)` (it then shrinks a vector of norm just
    below $c$ slightly, too). After a rule in a
    [`Chain`][optim.transforms.Chain], it bounds the step length (a trust
    region of radius $c$).

    Examples:
        >>> import numpy as np
        >>> ClipByNorm(1.0).update(
        ...     np.array([3.0, 4.0]), None, x=None, value=0.0, evaluator=None
        ... )
        (array([0.6, 0.8]), None)
    """

    max_norm: float = attrs.field(validator=_validators.positive)
    """The bound $c > 0$."""

    eps: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""$\epsilon \ge 0$ added to the norm (torch's `clip_grad_norm_` uses 1e-6)."""

    @override
    def init(self, x0: Array) -> None:
        return None

    @override
    def update(
        self,
        gradient: Array,
        state: None,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, None]:
        norm = math.sqrt(backend.vdot(gradient, gradient)) + self.eps
        if norm <= self.max_norm:
            return gradient, None
        return gradient * (self.max_norm / norm), None


@attrs.frozen
class AddDecayedWeights(GradientTransform[None]):
    r"""Add $\lambda x$: $g \leftarrow g + \lambda x$ (optax's `add_decayed_weights`).

    Before a rule in a [`Chain`][optim.transforms.Chain] this is coupled L2
    regularization: the rule sees the gradient of $f + \tfrac{\lambda}{2}\|x\|^2$,
    which is what torch's `weight_decay=` on `SGD`, `Adagrad`, `RMSprop` and `Adam`
    does. `chain(AddDecayedWeights(wd), FixedStep(lr))` is
    `torch.optim.SGD(lr, weight_decay=wd)`. Like every rule it pulls toward the
    origin in ascent too (the rule sees the gradient of $-f$ plus $\lambda x$).

    With `mask`, only the leaves of a structured parameter that the mask
    selects decay (optax's `add_decayed_weights(wd, mask=...)`), typically not
    the biases.

    Examples:
        >>> import numpy as np
        >>> AddDecayedWeights(0.5).update(
        ...     np.array([1.0, 1.0]),
        ...     None,
        ...     x=np.array([2.0, -4.0]),
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        (array([ 2., -1.]), None)
    """

    weight_decay: float = attrs.field(validator=_validators.non_negative)
    r"""The decay $\lambda \ge 0$."""

    mask: tuple[tuple[bool, int], ...] | None = attrs.field(
        default=None, kw_only=True, converter=_to_mask
    )
    """Which leaves decay (optax's `mask=`): `None` for all, or
    [`leaf_segments`][optim.transforms.leaf_segments]`(params, fn)` with `fn`
    returning `True` for the leaves that decay."""

    @override
    def init(self, x0: Array) -> None:
        if self.mask is not None:
            _check_size(self.mask, x0, "AddDecayedWeights.mask")
        return None

    @override
    def update(
        self,
        gradient: Array,
        state: None,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, None]:
        if self.weight_decay == 0.0:
            return gradient, None
        x = cast_like(x, gradient)
        if self.mask is None:
            return gradient + self.weight_decay * x, None
        decay = np.repeat(
            [self.weight_decay if on else 0.0 for on, _ in self.mask],
            [size for _, size in self.mask],
        ).astype(host_dtype(gradient))
        if backend.namespace_of(gradient) is not np:  # one transfer per update
            decay = backend.from_host(decay, like=gradient)
        return gradient + decay * x, None


@attrs.frozen(kw_only=True)
class ChainState:
    """State of [`Chain`][optim.transforms.Chain]: one entry per part, in order.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep
        >>> state = chain(ClipByNorm(1.0), FixedStep(0.1), ClipByValue(0.5)).init(
        ...     np.zeros(1)
        ... )
        >>> state.before, state.rule.step, state.after
        ((None,), 0, (None,))
    """

    before: tuple[Any, ...]
    """The states of the transformations before the rule, in order."""

    rule: Any
    """The rule's state."""

    after: tuple[Any, ...] = ()
    """The states of the transformations after the rule, in order."""


def _to_transforms(transforms: Any) -> tuple[GradientTransform[Any], ...]:
    result = tuple(transforms)
    for transform in result:
        if not isinstance(transform, GradientTransform):
            raise TypeError(
                f"transforms before and after the rule must be GradientTransform "
                f"instances, got {transform!r}"
            )
    return result


def _apply(
    transforms: tuple[GradientTransform[Any], ...],
    states: tuple[Any, ...],
    vector: Array,
    *,
    x: Array,
    value: float,
    evaluator: TrialEvaluator,
) -> tuple[Array, tuple[Any, ...]]:
    new_states = []
    for transform, state in zip(transforms, states, strict=True):
        vector, new_state = transform.update(
            vector, state, x=x, value=value, evaluator=evaluator
        )
        new_states.append(new_state)
    return vector, tuple(new_states)


@attrs.frozen
class Chain(StepRule[ChainState]):
    """Transform the gradient, apply a step rule, then transform its step.

    `Chain((t1, t2), rule, after=(t3,))` hands `rule` the gradient `t2(t1(g))`
    and returns `t3(delta)` for the rule's `delta`; the point, value and
    evaluator every part receives are the chain's own. The state is a
    [`ChainState`][optim.transforms.ChainState] with the fields `before`, `rule`
    and `after`, laid out like the chain.

    Raises:
        TypeError: If `rule` is not a step rule or a transformation is not a
            [`GradientTransform`][optim.transforms.GradientTransform].
        ValueError: If transformations come before a rule that evaluates trial
            points (a line search), whose search would compare transformed
            gradients with untransformed trial values and gradients.

    Examples:
        Clip the gradient, then Adam with a cosine schedule:

        >>> import numpy as np
        >>> from optim import LBFGS, Adam, Optimizer
        >>> from optim.problems import Sphere
        >>> from optim.schedules import CosineDecay
        >>> rule = Chain((ClipByNorm(1.0),), Adam(CosineDecay(0.5, decay_steps=200)))
        >>> result = Optimizer(Sphere(), step_rule=rule, max_steps=200).run([-3.0, 4.0])
        >>> bool(result.value < 1e-4)
        True

        L-BFGS steps of length at most 1 (a transform after a line search):

        >>> rule = Chain((), LBFGS(), after=(ClipByNorm(1.0),))
        >>> Optimizer(Sphere(), step_rule=rule, max_steps=1).run([-3.0, 4.0]).x
        array([-2.4,  3.2])
    """

    before: tuple[GradientTransform[Any], ...] = attrs.field(converter=_to_transforms)
    """Transformations of the gradient, applied first to last before the rule."""

    rule: StepRule[Any] = attrs.field()
    """The step rule that receives the transformed gradient."""

    after: tuple[GradientTransform[Any], ...] = attrs.field(
        default=(), kw_only=True, converter=_to_transforms
    )
    """Transformations of the rule's step, applied first to last."""

    @rule.validator
    def _check_rule(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, StepRule):
            raise TypeError(f"rule must be a StepRule, got {value!r}")
        if self.before and value.evaluates_trial_points:
            raise ValueError(
                f"{value!r} evaluates trial points (a line search), so no gradient "
                f"transform may come before it: its search would compare the "
                f"transformed gradient at x with the untransformed values and "
                f"gradients at trial points. Put {self.before!r} after the rule, "
                f"or leave it out"
            )

    @property
    @override
    def evaluates_trial_points(self) -> bool:
        return self.rule.evaluates_trial_points

    @override
    def init(self, x0: Array) -> ChainState:
        return ChainState(
            before=tuple(transform.init(x0) for transform in self.before),
            rule=self.rule.init(x0),
            after=tuple(transform.init(x0) for transform in self.after),
        )

    @override
    def update(
        self,
        gradient: Array,
        state: ChainState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, ChainState]:
        gradient, before = _apply(
            self.before,
            state.before,
            gradient,
            x=x,
            value=value,
            evaluator=evaluator,
        )
        delta, rule_state = self.rule.update(
            gradient, state.rule, x=x, value=value, evaluator=evaluator
        )
        delta, after = _apply(
            self.after, state.after, delta, x=x, value=value, evaluator=evaluator
        )
        return delta, ChainState(before=before, rule=rule_state, after=after)


@attrs.frozen(kw_only=True)
class ReduceOnPlateauState:
    """State of [`ReduceOnPlateau`][optim.transforms.ReduceOnPlateau].

    Examples:
        >>> import numpy as np
        >>> ReduceOnPlateau().init(np.zeros(1)).scale
        1.0
    """

    best_value: Array
    """The best (averaged) value so far (`inf` at first), in the run's dtype."""

    plateau_count: int = 0
    """Evaluations since the best value last improved."""

    scale: float = 1.0
    """The factor applied to the step now."""

    cooldown_count: int = 0
    """Evaluations left before plateaus are counted again."""

    count: int = 0
    """Values accumulated toward the next average."""

    average: Array
    """The running mean of the values accumulated, a 0-d array of the run's dtype."""


@attrs.frozen
class ReduceOnPlateau(GradientTransform[ReduceOnPlateauState]):
    r"""Shrink the step when the value stops improving (optax's `reduce_on_plateau`).

    Place it after the rule in a [`Chain`][optim.transforms.Chain]:
    `chain(Adam(1e-3), ReduceOnPlateau(patience=10))`. It monitors the value the
    rule receives (the objective in the minimization convention: $-f$ in
    ascent; with minibatches, the minibatch loss), averaged over
    `accumulation_size` calls. When the average fails to improve on the best
    one by more than $	ext{rtol}\,|	ext{best}| + 	ext{atol}$ (written, as in
    optax, $v < (1 - 	ext{rtol})\,	ext{best} - 	ext{atol}$) `patience` times
    in a row, the scale is multiplied by `factor` (never below `min_scale`) and
    `cooldown` averages pass before plateaus count again. The step is
    multiplied by the scale, which for every rule stepping $-\eta_t d_t$ is the
    learning rate times the scale.

    PyTorch's `ReduceLROnPlateau(factor, patience, threshold, cooldown,
    min_lr)` is driven by `scheduler.step(metric)` once per epoch, reduces
    after `patience + 1` bad epochs (this after `patience`) and bounds the
    rate (`min_lr`) rather than the scale; `ReduceOnPlateau(patience=p + 1,
    rtol=threshold, ...)` matches its default `threshold_mode="rel"` for a
    positive monitored value.

    Examples:
        >>> import numpy as np
        >>> rule = ReduceOnPlateau(factor=0.5, patience=2)
        >>> state = rule.init(np.zeros(1))
        >>> scales = []
        >>> for value in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0]:
        ...     step, state = rule.update(
        ...         np.ones(1), state, x=None, value=value, evaluator=None
        ...     )
        ...     scales.append(float(step[0]))
        >>> scales
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    factor: float = attrs.field(
        default=0.1, kw_only=True, validator=_validators.open_unit_interval
    )
    """Multiplier of the scale at each reduction, in (0, 1)."""

    patience: int = attrs.field(
        default=10, kw_only=True, validator=_validators.positive_count
    )
    """Averages without improvement before a reduction."""

    rtol: float = attrs.field(
        default=1e-4, kw_only=True, validator=_validators.non_negative
    )
    """Relative improvement that counts."""

    atol: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """Absolute improvement that counts."""

    cooldown: int = attrs.field(default=0, kw_only=True, validator=_validators.count)
    """Averages to wait after a reduction before counting plateaus again."""

    accumulation_size: int = attrs.field(
        default=1, kw_only=True, validator=_validators.positive_count
    )
    """Values averaged before each test (minibatch losses are noisy)."""

    min_scale: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The scale never goes below this."""

    @override
    def init(self, x0: Array) -> ReduceOnPlateauState:
        dtype = host_dtype(x0)  # the state is numbers, kept on the host
        return ReduceOnPlateauState(
            best_value=np.array(np.inf, dtype=dtype), average=np.array(0.0, dtype)
        )

    def _tested(self, state: ReduceOnPlateauState) -> ReduceOnPlateauState:
        average = float(state.average)
        best = float(state.best_value)
        improved = average < (1.0 - self.rtol) * best - self.atol
        new_best = average if improved else best
        plateau = 0 if improved else state.plateau_count + 1
        if state.cooldown_count > 0:
            plateau, scale, cooldown = 0, state.scale, state.cooldown_count - 1
        elif plateau == self.patience:
            scale = max(state.scale * self.factor, self.min_scale)
            plateau, cooldown = 0, self.cooldown
        else:
            scale, cooldown = max(state.scale, self.min_scale), 0
        return ReduceOnPlateauState(
            best_value=np.array(new_best, dtype=state.best_value.dtype),
            plateau_count=plateau,
            scale=scale,
            cooldown_count=cooldown,
            count=0,
            average=np.array(0.0, dtype=state.best_value.dtype),
        )

    @override
    def update(
        self,
        gradient: Array,
        state: ReduceOnPlateauState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, ReduceOnPlateauState]:
        count = state.count + 1
        average = (state.count * float(state.average) + float(value)) / count
        state = attrs.evolve(
            state, count=count, average=np.array(average, state.average.dtype)
        )
        if count == self.accumulation_size:
            state = self._tested(state)
        if state.scale == 1.0:
            return gradient, state
        if backend.namespace_of(gradient) is not np:
            return gradient * state.scale, state
        return gradient * np.asarray(state.scale, dtype=np.result_type(gradient)), state


@attrs.frozen(kw_only=True)
class GroupsState:
    """State of [`Groups`][optim.transforms.Groups]: one rule state per group.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep
        >>> rule = Groups({"a": FixedStep(0.1)}, segments=(("a", 2),))
        >>> rule.init(np.zeros(2)).states
        {'a': LearningRateRuleState(direction_state=None, step=0)}
    """

    states: dict[str, Any]
    """Each group's rule state, by label."""


def _to_rules(rules: Any) -> dict[str, StepRule[Any]]:
    result = dict(rules)
    for label, rule in result.items():
        if not isinstance(label, str):
            raise TypeError(f"group labels must be strings, got {label!r}")
        if not isinstance(rule, StepRule):
            raise TypeError(f"rules[{label!r}] must be a StepRule, got {rule!r}")
        if rule.evaluates_trial_points:
            raise ValueError(
                f"rules[{label!r}] = {rule!r} evaluates trial points (a line "
                f"search), which sees the whole point, not one group"
            )
    if not result:
        raise ValueError("rules must name at least one group")
    return result


@attrs.frozen
class Groups(StepRule[GroupsState]):
    """Different rules for different leaves of a structured parameter.

    optax's `multi_transform` (and torch's parameter groups): each group of
    leaves, labelled by [`leaf_segments`][optim.transforms.leaf_segments],
    gets its own rule, hyperparameters and state. A rule sees the gradient and
    point of its own leaves only, concatenated in the flat order (so a
    norm-based rule such as [`LAMB`][optim.adaptive.LAMB] or a
    [`Chain`][optim.transforms.Chain] with [`ClipByNorm`][optim.transforms.ClipByNorm]
    works per group). Every group's learning rate or schedule counts the
    updates of the run. A decay mask is
    [`AddDecayedWeights`][optim.transforms.AddDecayedWeights]`(wd, mask=...)`;
    for AdamW's decoupled decay, give the masked leaves their own group with
    `weight_decay=0` (Adam's moments are per coordinate, so splitting them
    changes nothing else).

    Examples:
        Adam on the weights, plain gradient steps on the bias:

        >>> import numpy as np
        >>> from optim import Adam, FixedStep, Optimizer
        >>> params = {"w": np.ones(2), "b": np.zeros(1)}
        >>> rule = Groups(
        ...     {"adam": Adam(0.1), "sgd": FixedStep(0.5)},
        ...     segments=leaf_segments(
        ...         params, lambda path: "sgd" if path == ("b",) else "adam"
        ...     ),
        ... )
        >>> delta, state = rule.update(
        ...     np.array([3.0, -1.0, 2.0]),
        ...     rule.init(np.zeros(3)),
        ...     x=np.zeros(3),
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6)
        array([-0.1,  0.1, -1. ])
    """

    rules: dict[str, StepRule[Any]] = attrs.field(converter=_to_rules)
    """The rule of each group, by label."""

    segments: tuple[tuple[str, int], ...] = attrs.field(
        kw_only=True, converter=_to_labels
    )
    """Pairs `(label, size)` in the flat order, from
    [`leaf_segments`][optim.transforms.leaf_segments]; every label must have a
    rule."""

    @segments.validator
    def _check_labels(
        self, attribute: attrs.Attribute[Any], value: tuple[tuple[str, int], ...]
    ) -> None:
        missing = sorted({str(label) for label, _ in value} - set(self.rules))
        if missing:
            raise ValueError(
                f"segments use labels {missing} that have no rule; rules has "
                f"{sorted(self.rules)}"
            )

    def _indices(self) -> dict[str, Any]:
        ranges: dict[str, list[Any]] = {label: [] for label in self.rules}
        start = 0
        for label, size in self.segments:
            ranges[label].append(np.arange(start, start + size))
            start += size
        return {
            label: np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
            for label, parts in ranges.items()
        }

    @override
    def init(self, x0: Array) -> GroupsState:
        _check_size(self.segments, x0, "Groups.segments")
        x0 = np.asarray(x0)
        return GroupsState(
            states={
                label: self.rules[label].init(x0[index])
                for label, index in self._indices().items()
            }
        )

    @override
    def update(
        self,
        gradient: Array,
        state: GroupsState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, GroupsState]:
        delta = np.zeros_like(gradient)
        states = {}
        x = np.asarray(x)
        for label, index in self._indices().items():
            part, states[label] = self.rules[label].update(
                gradient[index],
                state.states[label],
                x=x[index],
                value=value,
                evaluator=evaluator,
            )
            delta[index] = part
        return delta, GroupsState(states=states)


def chain(*parts: GradientTransform[Any] | StepRule[Any]) -> Chain:
    """Build a [`Chain`][optim.transforms.Chain] from one rule and transformations.

    Transformations listed before the rule act on the gradient, those after it
    on the step.

    Args:
        *parts: Gradient transformations with exactly one step rule among them.

    Returns:
        The chain.

    Raises:
        TypeError: If there is not exactly one step rule, or another part is not
            a gradient transformation.
        ValueError: If transformations come before a rule that evaluates trial
            points (see [`Chain`][optim.transforms.Chain]).

    Examples:
        >>> from optim import Momentum
        >>> chain(ClipByValue(1.0), Momentum(0.1)).rule
        Momentum(learning_rate=0.1, beta=0.9, weight_decay=0.0, dampening=0.0)
        >>> chain(Momentum(0.1), ClipByNorm(1.0)).after
        (ClipByNorm(max_norm=1.0, eps=0.0),)
    """
    rules = [part for part in parts if isinstance(part, StepRule)]
    if len(rules) != 1:
        raise TypeError(
            f"chain(...) needs exactly one StepRule among its parts, got {len(rules)}"
        )
    k = next(i for i, part in enumerate(parts) if part is rules[0])
    return Chain(parts[:k], rules[0], after=parts[k + 1 :])

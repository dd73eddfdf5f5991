r"""Lion, NAdam, RAdam, Adamax, Adadelta, LAMB and Adafactor, with optax's defaults.

Each is a [`LearningRateRule`][optim.step_rules.LearningRateRule]: it computes an
unscaled direction $d_t$ and steps $\Delta_t = -\eta_t d_t$, so the learning rate
may be a [`Schedule`][optim.schedules.Schedule]. Defaults and meanings follow
optax 0.2 (`optax.lion`, `optax.nadam`, ...); where PyTorch has the rule, its
docstring says how torch's defaults or convention differ. Like every rule, they
are written for descent; in ascent the optimizer hands them the gradient of $-f$,
and decoupled weight decay still pulls toward the origin.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import cast_like, float_dtype, full_for
from optim._types import Array, override
from optim.schedules import LearningRate, learning_rate_at, validate_learning_rate
from optim.step_rules import AdamState, LearningRateRule, StepRule

if TYPE_CHECKING:
    from optim.evaluation import TrialEvaluator

__all__ = [
    "LAMB",
    "Adadelta",
    "AdadeltaState",
    "Adafactor",
    "AdafactorState",
    "Adamax",
    "AdamaxState",
    "Lion",
    "LionState",
    "NAdam",
    "RAdam",
]

_array_eq = attrs.cmp_using(eq=np.array_equal)


def _zeros_like(x0: Array) -> Array:
    zeros: Array = full_for(x0)
    return zeros


def _moments(
    gradient: Array, state: AdamState, beta1: float, beta2: float
) -> tuple[Array, Array, int]:
    t = state.t + 1
    first = beta1 * state.first_moment + (1.0 - beta1) * gradient
    second = beta2 * state.second_moment + (1.0 - beta2) * gradient**2
    return first, second, t


def _adam_init(x0: Array) -> AdamState:
    zeros = _zeros_like(x0)
    return AdamState(zeros, zeros, zeros)


@attrs.frozen
class LionState:
    """State of [`Lion`][optim.adaptive.Lion].

    Examples:
        >>> import numpy as np
        >>> Lion(1e-4).init_direction(np.zeros(2))
        LionState(momentum=array([0., 0.]))
    """

    momentum: Array = attrs.field(eq=_array_eq)
    r"""The decayed mean $m_t$ of gradients (decay $\beta_2$)."""


@attrs.frozen
class Lion(LearningRateRule[LionState]):
    r"""Lion, evolved sign momentum (Chen et al. 2023), optax's `lion`.

    $$d_t = \operatorname{sign}\bigl(\beta_1 m_{t-1} + (1 - \beta_1) g_t\bigr)
    + \lambda x, \qquad m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t,$$

    $\Delta_t = -\eta_t d_t$, $m_0 = 0$. Every coordinate moves by $\pm\eta_t$
    (before the decay), so use a rate 3 to 10 times smaller than Adam's. The
    weight decay $\lambda$ is decoupled and scaled by the learning rate, as in
    `optax.lion(learning_rate, b1=0.9, b2=0.99, weight_decay=1e-3)`, whose
    defaults these are. PyTorch has no Lion.

    References:
        Chen et al., "Symbolic discovery of optimization algorithms",
        NeurIPS 2023.

    Examples:
        >>> import numpy as np
        >>> rule = Lion(0.1, weight_decay=0.0)
        >>> delta, _ = rule.update(
        ...     np.array([3.0, -1e-6]),
        ...     rule.init(np.zeros(2)),
        ...     x=np.zeros(2),
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> delta
        array([-0.1,  0.1])
    """

    learning_rate: LearningRate = attrs.field(validator=validate_learning_rate)
    r"""Step size $\eta$, positive, or a schedule."""

    beta1: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Interpolation $\beta_1 \in [0, 1)$ between momentum and gradient in the sign."""

    beta2: float = attrs.field(
        default=0.99, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_2 \in [0, 1)$ of the momentum."""

    weight_decay: float = attrs.field(
        default=1e-3, kw_only=True, validator=_validators.non_negative
    )
    r"""Decoupled decay $\lambda \ge 0$ (optax's default, 1e-3)."""

    @override
    def init_direction(self, x0: Array) -> LionState:
        return LionState(_zeros_like(x0))

    @override
    def direction(
        self, gradient: Array, state: LionState, *, x: Array
    ) -> tuple[Array, LionState]:
        direction = cast_like(
            backend.namespace_of(gradient).sign(
                self.beta1 * state.momentum + (1.0 - self.beta1) * gradient
            ),
            gradient,
        )
        if self.weight_decay:
            direction = direction + self.weight_decay * x
        momentum = self.beta2 * state.momentum + (1.0 - self.beta2) * gradient
        return direction, LionState(momentum)


@attrs.frozen
class NAdam(LearningRateRule[AdamState]):
    r"""NAdam, Adam with Nesterov momentum (Dozat 2016), optax's `nadam`.

    With $m_t, v_t$ as in [`Adam`][optim.step_rules.Adam] and $t = 1, 2, \dots$,

    $$\hat m_t = \frac{\beta_1 m_t}{1 - \beta_1^{t+1}}
    + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}, \qquad
    \hat v_t = \frac{v_t}{1 - \beta_2^t}, \qquad
    d_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$

    The defaults are optax's `nadam(learning_rate, b1=0.9, b2=0.999,
    eps=1e-8)`. PyTorch's `NAdam` is a different variant: it schedules the
    momentum ($\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})$ with
    `momentum_decay` $\psi = 4 \cdot 10^{-3}$) and its default rate is
    $2 \cdot 10^{-3}$; it has no equivalent configuration here.

    References:
        Dozat, "Incorporating Nesterov momentum into Adam", ICLR 2016 workshop.

    Examples:
        >>> import numpy as np
        >>> rule = NAdam(0.1)
        >>> delta, _ = rule.update(
        ...     np.array([2.0]),
        ...     rule.init(np.zeros(1)),
        ...     x=None,
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6)  # -0.1 * (0.9 * 0.1 * 2 / 0.19 + 0.1 * 2 / 0.1) / 2
        array([-0.147368])
    """

    learning_rate: LearningRate = attrs.field(
        default=1e-3, validator=validate_learning_rate
    )
    r"""Step size $\eta$, positive, or a schedule."""

    beta1: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_1 \in [0, 1)$ of the first moment."""

    beta2: float = attrs.field(
        default=0.999, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_2 \in [0, 1)$ of the second moment."""

    eps: float = attrs.field(default=1e-8, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ added to the root."""

    @override
    def init_direction(self, x0: Array) -> AdamState:
        return _adam_init(x0)

    @override
    def direction(
        self, gradient: Array, state: AdamState, *, x: Array
    ) -> tuple[Array, AdamState]:
        first, second, t = _moments(gradient, state, self.beta1, self.beta2)
        corrected_first = self.beta1 * first / (1.0 - self.beta1 ** (t + 1)) + (
            1.0 - self.beta1
        ) * gradient / (1.0 - self.beta1**t)
        corrected_second = second / (1.0 - self.beta2**t)
        sqrt = backend.namespace_of(corrected_second).sqrt
        direction = corrected_first / (sqrt(corrected_second) + self.eps)
        return direction, AdamState(first, second, state.max_second_moment, t)


@attrs.frozen
class RAdam(LearningRateRule[AdamState]):
    r"""Rectified Adam (Liu et al. 2020), optax's `radam`.

    With $m_t, v_t, \hat m_t, \hat v_t$ as in [`Adam`][optim.step_rules.Adam],
    $\rho_\infty = 2 / (1 - \beta_2) - 1$ and
    $\rho_t = \rho_\infty - 2 t \beta_2^t / (1 - \beta_2^t)$:

    $$d_t = \begin{cases}
    r_t \, \hat m_t / (\sqrt{\hat v_t} + \epsilon) & \rho_t \ge \rho_{\min}, \\
    \hat m_t & \text{otherwise,}
    \end{cases} \qquad
    r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
    {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}},$$

    with the threshold $\rho_{\min} = 5$: the first steps are momentum SGD
    while the variance of the adaptive rate is intractable. The defaults are
    optax's `radam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, threshold=5.0)`.
    PyTorch's `RAdam` tests $\rho_t > 5$ and writes the adaptive factor as
    $\sqrt{1 - \beta_2^t} / (\sqrt{v_t} + \epsilon)$, that is $\epsilon$ is
    scaled by $1/\sqrt{1 - \beta_2^t}$; the two agree up to that $\epsilon$.

    References:
        Liu et al., "On the variance of the adaptive learning rate and beyond",
        ICLR 2020.

    Examples:
        The first five steps are bias-corrected momentum ($\rho_t < 5$):

        >>> import numpy as np
        >>> rule = RAdam(0.1)
        >>> delta, _ = rule.update(
        ...     np.array([2.0]), rule.init(np.zeros(1)), x=None, value=0.0,
        ...     evaluator=None,
        ... )
        >>> delta
        array([-0.2])
    """

    learning_rate: LearningRate = attrs.field(
        default=1e-3, validator=validate_learning_rate
    )
    r"""Step size $\eta$, positive, or a schedule."""

    beta1: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_1 \in [0, 1)$ of the first moment."""

    beta2: float = attrs.field(
        default=0.999, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_2 \in [0, 1)$ of the second moment."""

    eps: float = attrs.field(default=1e-8, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ added to the root."""

    threshold: float = attrs.field(
        default=5.0, kw_only=True, validator=_validators.positive
    )
    r"""$\rho_{\min}$: the rectified step is used once $\rho_t \ge \rho_{\min}$."""

    @override
    def init_direction(self, x0: Array) -> AdamState:
        return _adam_init(x0)

    @override
    def direction(
        self, gradient: Array, state: AdamState, *, x: Array
    ) -> tuple[Array, AdamState]:
        first, second, t = _moments(gradient, state, self.beta1, self.beta2)
        new_state = AdamState(first, second, state.max_second_moment, t)
        corrected_first = first / (1.0 - self.beta1**t)
        rho_inf = 2.0 / (1.0 - self.beta2) - 1.0
        beta2_t = self.beta2**t
        rho = rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t)
        if rho < self.threshold:
            return corrected_first, new_state
        rectifier = math.sqrt(
            (rho - 4.0)
            * (rho - 2.0)
            * rho_inf
            / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
        )
        corrected_second = second / (1.0 - beta2_t)
        sqrt = backend.namespace_of(corrected_second).sqrt
        direction = rectifier * corrected_first / (sqrt(corrected_second) + self.eps)
        return direction, new_state


@attrs.frozen
class AdamaxState:
    """State of [`Adamax`][optim.adaptive.Adamax].

    Examples:
        >>> import numpy as np
        >>> Adamax().init_direction(np.zeros(1))
        AdamaxState(first_moment=array([0.]), infinity_norm=array([0.]), t=0)
    """

    first_moment: Array = attrs.field(eq=_array_eq)
    """The decayed mean $m_t$ of gradients (not bias-corrected)."""

    infinity_norm: Array = attrs.field(eq=_array_eq)
    r"""The decayed maximum $u_t$ of $|g|$ (plus $\epsilon$)."""

    t: int = 0
    r"""Updates so far: the $t$ of the bias correction $1 - \beta_1^t$."""


@attrs.frozen
class Adamax(LearningRateRule[AdamaxState]):
    r"""Adamax, Adam with the infinity norm (Kingma & Ba 2015, section 7.1).

    $$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
    u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \qquad
    d_t = \frac{m_t}{(1 - \beta_1^t)\, u_t},$$

    $m_0 = u_0 = 0$. Defaults: optax's `adamax(learning_rate, b1=0.9, b2=0.999,
    eps=1e-8)`; PyTorch's `Adamax` computes the same thing and defaults to
    `lr=2e-3` (its `weight_decay` is coupled L2:
    `chain(AddDecayedWeights(wd), Adamax(lr))`).

    References:
        Kingma & Ba, "Adam: A method for stochastic optimization", ICLR 2015.

    Examples:
        >>> import numpy as np
        >>> rule = Adamax(0.1)
        >>> delta, _ = rule.update(
        ...     np.array([2.0, -0.5]),
        ...     rule.init(np.zeros(2)),
        ...     x=None,
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6)
        array([-0.1,  0.1])
    """

    learning_rate: LearningRate = attrs.field(
        default=1e-3, validator=validate_learning_rate
    )
    r"""Step size $\eta$, positive, or a schedule."""

    beta1: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_1 \in [0, 1)$ of the first moment."""

    beta2: float = attrs.field(
        default=0.999, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_2 \in [0, 1)$ of the infinity norm."""

    eps: float = attrs.field(default=1e-8, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ added to $|g_t|$ (keeps $u_t > 0$)."""

    @override
    def init_direction(self, x0: Array) -> AdamaxState:
        zeros = _zeros_like(x0)
        return AdamaxState(zeros, zeros)

    @override
    def direction(
        self, gradient: Array, state: AdamaxState, *, x: Array
    ) -> tuple[Array, AdamaxState]:
        t = state.t + 1
        first = self.beta1 * state.first_moment + (1.0 - self.beta1) * gradient
        xp = backend.namespace_of(gradient)
        norm = xp.maximum(self.beta2 * state.infinity_norm, xp.abs(gradient) + self.eps)
        direction = first / (1.0 - self.beta1**t) / norm
        return direction, AdamaxState(first, norm, t)


@attrs.frozen
class AdadeltaState:
    """State of [`Adadelta`][optim.adaptive.Adadelta].

    Examples:
        >>> import numpy as np
        >>> Adadelta().init_direction(np.zeros(1))
        AdadeltaState(mean_square_gradient=array([0.]), mean_square_delta=array([0.]))
    """

    mean_square_gradient: Array = attrs.field(eq=_array_eq)
    """The decayed mean $E[g^2]_t$ of squared gradients."""

    mean_square_delta: Array = attrs.field(eq=_array_eq)
    r"""The decayed mean $E[\delta^2]_t$ of squared unscaled updates."""


@attrs.frozen
class Adadelta(LearningRateRule[AdadeltaState]):
    r"""Adadelta (Zeiler 2012): a rate from the ratio of update and gradient RMS.

    $$E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) g_t^2, \qquad
    \delta_t = \frac{\sqrt{E[\delta^2]_{t-1} + \epsilon}}
    {\sqrt{E[g^2]_t + \epsilon}} \, g_t,$$

    $E[\delta^2]_t = \rho E[\delta^2]_{t-1} + (1 - \rho)\delta_t^2$ and
    $\Delta_t = -\eta_t \delta_t$. The defaults, $\eta = 1$, $\rho = 0.9$,
    $\epsilon = 10^{-6}$, are PyTorch's `Adadelta()` and optax's
    `adadelta(1.0)`. Beware optax's own default `adadelta()`: its
    `learning_rate=None` skips `scale_by_learning_rate`, and with it the sign
    flip, so its updates *ascend*. Both peers' `weight_decay` is coupled L2,
    here `chain(AddDecayedWeights(wd), Adadelta())`.

    References:
        Zeiler, "ADADELTA: an adaptive learning rate method", arXiv:1212.5701,
        2012.

    Examples:
        >>> import numpy as np
        >>> rule = Adadelta()
        >>> delta, _ = rule.update(
        ...     np.array([1.0]),
        ...     rule.init(np.zeros(1)),
        ...     x=None,
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 8)  # -sqrt(1e-6) / sqrt(0.1 + 1e-6)
        array([-0.00316226])
    """

    learning_rate: LearningRate = attrs.field(
        default=1.0, validator=validate_learning_rate
    )
    r"""Step size $\eta$ (1 in the paper and both peers), or a schedule."""

    rho: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\rho \in [0, 1)$ of both averages."""

    eps: float = attrs.field(default=1e-6, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ under both roots (it also sets the first steps' size)."""

    @override
    def init_direction(self, x0: Array) -> AdadeltaState:
        zeros = _zeros_like(x0)
        return AdadeltaState(zeros, zeros)

    @override
    def direction(
        self, gradient: Array, state: AdadeltaState, *, x: Array
    ) -> tuple[Array, AdadeltaState]:
        rho = self.rho
        mean_square_gradient = rho * state.mean_square_gradient + (1.0 - rho) * (
            gradient**2
        )
        sqrt = backend.namespace_of(mean_square_gradient).sqrt
        delta = (
            sqrt(state.mean_square_delta + self.eps)
            / sqrt(mean_square_gradient + self.eps)
            * gradient
        )
        mean_square_delta = rho * state.mean_square_delta + (1.0 - rho) * delta**2
        return delta, AdadeltaState(mean_square_gradient, mean_square_delta)


@attrs.frozen
class LAMB(LearningRateRule[AdamState]):
    r"""LAMB, layer-wise adaptive large-batch Adam (You et al. 2020), optax's `lamb`.

    With Adam's $\hat m_t, \hat v_t$ and the decoupled decay $\lambda$,

    $$u_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} + \lambda x, \qquad
    d_t = \frac{\|x\|}{\|u_t\|} u_t$$

    (the trust ratio is 1 when $\|x\| = 0$ or $\|u_t\| = 0$). The norms are
    over the whole point: give each layer its own ratio by running LAMB per
    leaf of a structured parameter. Defaults: optax's `lamb(learning_rate,
    b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0)` (optax's trust ratio has
    `min_norm=0`, `trust_coefficient=1`). PyTorch has no LAMB.

    References:
        You et al., "Large batch optimization for deep learning: training BERT
        in 76 minutes", ICLR 2020.

    Examples:
        The step has length $\eta \|x\|$:

        >>> import numpy as np
        >>> rule = LAMB(0.1)
        >>> delta, _ = rule.update(
        ...     np.array([2.0, -0.5]),
        ...     rule.init(np.zeros(2)),
        ...     x=np.array([3.0, 4.0]),
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> round(float(np.linalg.norm(delta)), 6)
        0.5
    """

    learning_rate: LearningRate = attrs.field(validator=validate_learning_rate)
    r"""Step size $\eta$, positive, or a schedule."""

    beta1: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_1 \in [0, 1)$ of the first moment."""

    beta2: float = attrs.field(
        default=0.999, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_2 \in [0, 1)$ of the second moment."""

    eps: float = attrs.field(default=1e-6, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ added to the root."""

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Decoupled decay $\lambda \ge 0$, inside the trust ratio."""

    @override
    def init_direction(self, x0: Array) -> AdamState:
        return _adam_init(x0)

    @override
    def direction(
        self, gradient: Array, state: AdamState, *, x: Array
    ) -> tuple[Array, AdamState]:
        first, second, t = _moments(gradient, state, self.beta1, self.beta2)
        corrected_first = first / (1.0 - self.beta1**t)
        corrected_second = second / (1.0 - self.beta2**t)
        xp = backend.namespace_of(corrected_second)
        update = corrected_first / (xp.sqrt(corrected_second) + self.eps)
        if self.weight_decay:
            update = update + self.weight_decay * x
        x_norm = math.sqrt(float(xp.sum(xp.square(x))))
        update_norm = math.sqrt(float(xp.sum(xp.square(update))))
        if x_norm > 0.0 and update_norm > 0.0:
            update = update * (x_norm / update_norm)
        return update, AdamState(first, second, state.max_second_moment, t)


def _factored_axes(
    shape: tuple[int, ...], factored: bool, smallest: int
) -> tuple[int, int] | None:
    """The (second largest, largest) axes to factor over, or `None` (optax's rule)."""
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < smallest:
        return None
    return int(order[-2]), int(order[-1])


def _rms(array: Array) -> float:
    xp = backend.namespace_of(array)
    return math.sqrt(float(xp.mean(xp.square(array))))


@attrs.frozen
class AdafactorState:
    """State of [`Adafactor`][optim.adaptive.Adafactor].

    Examples:
        >>> Adafactor().init(np.zeros((2, 3))).count
        0
    """

    count: int
    """Updates applied so far."""
    row: Array | None = attrs.field(eq=_array_eq)
    """Means of the squared gradient along the largest axis (a factored point;
    optax's `v_row`), else `None`."""
    column: Array | None = attrs.field(eq=_array_eq)
    """Means along the second largest axis (optax's `v_col`), else `None`."""
    second: Array | None = attrs.field(eq=_array_eq)
    """The squared-gradient average of an unfactored point, else `None`."""
    momentum: Array | None = attrs.field(eq=_array_eq)
    """The update's moving average (with `momentum`), else `None`."""


def _optional_rate(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None:
        validate_learning_rate(instance, attribute, value)


@attrs.frozen
class Adafactor(StepRule[AdafactorState]):
    r"""Adafactor (Shazeer & Stern 2018), optax's `adafactor`, with its defaults.

    With $\hat\beta_t = 1 - (t + 1 - \text{decay\_offset})^{-\text{decay\_rate}}$
    and $G_t = g_t^2 + \epsilon$, a point with at least two axes of size
    `min_dim_size_to_factor` or more keeps only the means of $G$ along its
    largest axis ($R_t$, optax's `v_row`) and along its second largest ($C_t$,
    `v_col`), each averaged with $\hat\beta_t$, and scales

    $$u_t = g_t \Big/ \sqrt{\frac{R_t}{\bar R_t}\, C_t}$$

    ($\bar R_t$ the mean of $R_t$): $O(m + n)$ memory for an $m \times n$
    matrix instead of Adam's $O(mn)$. Smaller points keep the full average
    $V_t = \hat\beta_t V_{t-1} + (1 - \hat\beta_t) G_t$ and scale
    $u_t = g_t / \sqrt{V_t}$. Then, in optax's order: $u_t$ is divided by
    $\max(1, \operatorname{rms}(u_t) / \text{clipping\_threshold})$, multiplied
    by the learning rate (if any) and by $\max(\operatorname{rms}(x), 10^{-3})$
    (`multiply_by_parameter_scale`), averaged with `momentum` (no bias
    correction), and `weight_decay` $\cdot\, x$ is added (after the learning
    rate, as optax's `weight_decay_rate`); the step is $-u_t$.

    The factoring is over the point's own axes: give a structured parameter's
    matrices their own Adafactor with [`Groups`][optim.transforms.Groups], so
    that each leaf is factored by its shape. optax computes $\hat\beta_t$ in
    float32 and so does this rule; optax keeps the momentum buffer in float32
    by default (`dtype_momentum`), this rule in the run's dtype. PyTorch's
    `Adafactor` (2.5+) follows the paper's relative step size instead
    (`lr=1e-2`, `beta2_decay=-0.8`, no parameter-scale clipping of this form).

    References:
        Shazeer, N., Stern, M. (2018). Adafactor: Adaptive learning rates with
        sublinear memory cost. ICML 2018.

    Examples:
        A 200 x 150 matrix keeps 350 second-moment numbers, not 30,000:

        >>> rule = Adafactor(0.01)
        >>> state = rule.init(np.ones((200, 150)))
        >>> state.row.shape, state.column.shape, state.second
        ((150,), (200,), None)
        >>> delta, state = rule.update(
        ...     np.ones((200, 150)),
        ...     state,
        ...     x=np.ones((200, 150)),
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> float(delta[0, 0]), state.count
        (-0.01, 1)
    """

    learning_rate: LearningRate | None = attrs.field(
        default=None, validator=_optional_rate
    )
    r"""Scale of the update, a rate or a schedule; `None` (optax's default) for
    none (the step is then set by the parameter scale)."""

    min_dim_size_to_factor: int = attrs.field(
        default=128, kw_only=True, validator=_validators.positive_count
    )
    """Factor only points with two axes at least this long."""

    decay_rate: float = attrs.field(
        default=0.8, kw_only=True, validator=_validators.positive
    )
    r"""Exponent of the decay schedule $\hat\beta_t$."""

    decay_offset: int = attrs.field(
        default=0, kw_only=True, validator=_validators.count
    )
    """Step the decay schedule starts from (for fine-tuning)."""

    multiply_by_parameter_scale: bool = attrs.field(
        default=True, kw_only=True, validator=_validators.boolean
    )
    """Scale the update by the root mean square of `x` (at least 1e-3)."""

    clipping_threshold: float | None = attrs.field(
        default=1.0,
        kw_only=True,
        validator=_validators.optional_positive,
    )
    """Clip the update's root mean square to this (`None`: no clipping)."""

    momentum: float | None = attrs.field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(_validators.unit_interval),
    )
    """Decay of the update's moving average in [0, 1), or `None` for none."""

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""optax's `weight_decay_rate`: $\lambda x$ added to the update, after the
    learning rate."""

    eps: float = attrs.field(
        default=1e-30, kw_only=True, validator=_validators.positive
    )
    r"""$\epsilon$ added to the squared gradient."""

    factored: bool = attrs.field(
        default=True, kw_only=True, validator=_validators.boolean
    )
    """Whether to factor the second moment of points with two long axes."""

    @override
    def init(self, x0: Array) -> AdafactorState:
        zeros = _zeros_like(x0)
        shape = tuple(np.shape(x0) if backend.namespace_of(x0) is np else x0.shape)
        axes = _factored_axes(shape, self.factored, self.min_dim_size_to_factor)
        momentum = None if self.momentum is None else zeros
        if axes is None:
            return AdafactorState(0, None, None, zeros, momentum)
        second_largest, largest = axes
        xp = backend.namespace_of(zeros)
        row = xp.mean(zeros, axis=largest)
        column = xp.mean(zeros, axis=second_largest)
        return AdafactorState(0, row, column, None, momentum)

    @override
    def update(
        self,
        gradient: Array,
        state: AdafactorState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, AdafactorState]:
        xp = backend.namespace_of(gradient)
        dtype = float_dtype(gradient)
        g = backend.astype(gradient, dtype, copy=False)
        point = backend.astype(x, dtype, copy=False)
        # optax computes the decay in float32.
        t = np.float32(state.count - self.decay_offset + 1)
        decay = np.float32(1.0) - t ** np.float32(-self.decay_rate)
        keep, eps = 1.0 - decay, dtype.type(self.eps) if xp is np else self.eps
        if xp is not np:  # the same numbers, as Python floats
            decay, keep = float(decay), float(keep)  # type: ignore[assignment]
        squared = xp.square(g) + eps
        row = column = second = None
        axes = _factored_axes(
            tuple(g.shape), self.factored, self.min_dim_size_to_factor
        )
        if axes is None or state.row is None or state.column is None:
            previous = xp.zeros_like(squared) if state.second is None else state.second
            second = backend.astype(decay * previous + keep * squared, dtype)
            update = g * second**-0.5
        else:
            second_largest, largest = axes
            row = decay * state.row + keep * xp.mean(squared, axis=largest)
            column = decay * state.column + keep * xp.mean(squared, axis=second_largest)
            row, column = backend.astype(row, dtype), backend.astype(column, dtype)
            reduced = second_largest - 1 if second_largest > largest else second_largest
            row_factor = (row / xp.mean(row, axis=reduced, keepdims=True)) ** -0.5
            update = (
                g
                * xp.expand_dims(row_factor, axis=largest)
                * xp.expand_dims(column**-0.5, axis=second_largest)
            )
        if self.clipping_threshold is not None:
            update = update / max(1.0, _rms(update) / self.clipping_threshold)
        if self.learning_rate is not None:
            update = update * learning_rate_at(self.learning_rate, state.count)
        if self.multiply_by_parameter_scale:
            update = update * max(_rms(point), 1e-3)
        momentum = None
        if self.momentum is not None:
            average = (
                xp.zeros_like(update) if state.momentum is None else state.momentum
            )
            momentum = self.momentum * average + (1.0 - self.momentum) * update
            update = momentum
        if self.weight_decay:
            update = update + self.weight_decay * point
        new_state = AdafactorState(state.count + 1, row, column, second, momentum)
        return backend.astype(-update, dtype, copy=False), new_state

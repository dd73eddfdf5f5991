"""Parity with optax and with transcriptions of torch.optim's documented algorithms.

Each rule runs 100 steps of a fixed gradient sequence whose coordinates span
1e-4 to 1e2 (and, with weight decay, depend on the point through the decay).
optax is the reference implementation; the torch functions below transcribe the
pseudo-code of torch.optim's documentation (torch is not a dependency).
Equivalently configured rules agree to 1e-12 relative in float64 and to float32
rounding in float32.
"""

import jax
import numpy as np
import pytest

from optim import AdaGrad, Adam, AdamW, FixedStep, Momentum, Nesterov, RMSProp
from optim.adaptive import LAMB, Adadelta, Adafactor, Adamax, Lion, NAdam, RAdam
from optim.schedules import (
    CosineDecay,
    ExponentialDecay,
    JoinSchedules,
    LinearWarmup,
    OneCycle,
    PeriodicCosine,
    PiecewiseConstant,
    PolynomialDecay,
    StepDecay,
    WarmupCosineDecay,
)
from optim.transforms import AddDecayedWeights, ClipByNorm, chain

optax = pytest.importorskip("optax")
jax.config.update("jax_enable_x64", True)

STEPS = 100
N = 7
SCALES = np.logspace(-4, 2, N)
X0 = np.linspace(-1.5, 2.0, N)
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def assert_close(got, expected, dtype):
    """Agreement relative to the size of the point (norm-wise, max norm).

    A coordinate that cancels to ~1e-6 after starting near 1 has no meaningful
    elementwise relative error; its error is judged against the point's scale.
    """
    got, expected = np.asarray(got), np.asarray(expected)
    error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
    assert error <= RTOL[dtype], f"relative error {error:.3g} > {RTOL[dtype]}"


def gradients(dtype):
    """A fixed, sign-changing sequence with coordinate scales 1e-4 ... 1e2."""
    t = np.arange(STEPS)[:, None]
    k = np.arange(N)[None, :]
    pattern = np.sin(0.7 * t + 1.3 * k) + 0.3 * np.cos(0.11 * t * (k + 1))
    return (SCALES * pattern).astype(dtype)


def run_optim(rule, dtype):
    x = X0.astype(dtype)
    state = rule.init(x)
    for g in gradients(dtype):
        delta, state = rule.update(g, state, x=x, value=0.0, evaluator=None)
        x = (x + delta).astype(dtype)
    return x


def run_optax(transform, dtype):
    import jax.numpy as jnp

    x = jnp.asarray(X0.astype(dtype))
    state = transform.init(x)
    for g in gradients(dtype):
        updates, state = transform.update(jnp.asarray(g), state, x)
        x = optax.apply_updates(x, updates)
    return np.asarray(x)


def run_torch(step, dtype):
    """Drive a transcribed torch step `step(x, g, state) -> (x, state)`."""
    x = X0.astype(dtype)
    state = {}
    for t, g in enumerate(gradients(dtype), start=1):
        state["t"] = t
        x = step(x, g, state).astype(dtype)
    return x


# --- torch.optim's documented algorithms, transcribed ---------------------------


def torch_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    def step(x, g, state):
        g = g + weight_decay * x if weight_decay else g
        if momentum:
            if "b" not in state:
                state["b"] = g
            else:
                state["b"] = momentum * state["b"] + (1 - dampening) * g
            g = g + momentum * state["b"] if nesterov else state["b"]
        return x - lr * g

    return step


def torch_adagrad(lr, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0):
    def step(x, g, state):
        g = g + weight_decay * x if weight_decay else g
        state["sum"] = state.get("sum", initial_accumulator_value) + g * g
        return x - lr * g / (np.sqrt(state["sum"]) + eps)

    return step


def torch_rmsprop(
    lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    def step(x, g, state):
        g = g + weight_decay * x if weight_decay else g
        state["v"] = alpha * state.get("v", 0.0) + (1 - alpha) * g * g
        v = state["v"]
        if centered:
            state["g"] = alpha * state.get("g", 0.0) + (1 - alpha) * g
            v = v - state["g"] ** 2
        if momentum:
            state["b"] = momentum * state.get("b", 0.0) + g / (np.sqrt(v) + eps)
            return x - lr * state["b"]
        return x - lr * g / (np.sqrt(v) + eps)

    return step


def torch_adam(
    lr,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    decoupled=False,
):
    b1, b2 = betas

    def step(x, g, state):
        t = state["t"]
        if decoupled:
            x = x - lr * weight_decay * x
        elif weight_decay:
            g = g + weight_decay * x
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat = state["m"] / (1 - b1**t)
        if amsgrad:
            state["vmax"] = np.maximum(state.get("vmax", 0.0), state["v"])
            v_hat = state["vmax"] / (1 - b2**t)
        else:
            v_hat = state["v"] / (1 - b2**t)
        return x - lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


def torch_clip_grad_norm(g, max_norm):
    total = np.linalg.norm(g)
    coefficient = min(max_norm / (total + 1e-6), 1.0)
    return g * coefficient


# --- the comparisons --------------------------------------------------------------

OPTAX_CASES = [
    pytest.param(
        lambda: Momentum(0.01, beta=0.9), lambda: optax.sgd(0.01, 0.9), id="momentum"
    ),
    pytest.param(
        lambda: Nesterov(0.01, beta=0.8),
        lambda: optax.sgd(0.01, 0.8, nesterov=True),
        id="nesterov",
    ),
    pytest.param(
        lambda: Momentum(0.01, beta=0.9, weight_decay=0.1),
        lambda: optax.chain(optax.add_decayed_weights(0.1), optax.sgd(0.01, 0.9)),
        id="momentum-coupled-decay",
    ),
    pytest.param(
        lambda: chain(AddDecayedWeights(0.1), FixedStep(0.01)),
        lambda: optax.chain(optax.add_decayed_weights(0.1), optax.sgd(0.01)),
        id="fixed-coupled-decay",
    ),
    pytest.param(
        lambda: FixedStep(0.01, weight_decay=0.1),
        lambda: optax.chain(optax.add_decayed_weights(0.1), optax.sgd(0.01)),
        id="fixed-weight-decay",
    ),
    pytest.param(
        lambda: AdaGrad(0.1, initial_accumulator=0.1, eps=1e-7, eps_in_sqrt=True),
        lambda: optax.adagrad(0.1),
        id="adagrad-optax-defaults",
    ),
    pytest.param(
        lambda: RMSProp(0.01, eps_in_sqrt=True),
        lambda: optax.rmsprop(0.01),
        id="rmsprop-optax-defaults",
    ),
    pytest.param(
        lambda: RMSProp(0.01, eps_in_sqrt=True, centered=True, momentum=0.5),
        lambda: optax.rmsprop(0.01, centered=True, momentum=0.5),
        id="rmsprop-centered-momentum",
    ),
    pytest.param(
        lambda: RMSProp(0.01),
        lambda: optax.rmsprop(0.01, eps_in_sqrt=False),
        id="rmsprop-eps-outside",
    ),
    pytest.param(lambda: Adam(0.01), lambda: optax.adam(0.01), id="adam"),
    pytest.param(
        lambda: Adam(0.01, weight_decay=0.1),
        lambda: optax.chain(optax.add_decayed_weights(0.1), optax.adam(0.01)),
        id="adam-coupled-decay",
    ),
    pytest.param(
        lambda: Adam(0.01, amsgrad=True, amsgrad_max="corrected"),
        lambda: optax.amsgrad(0.01),
        id="amsgrad-corrected",
    ),
    pytest.param(
        lambda: AdamW(0.01, weight_decay=1e-4),
        lambda: optax.adamw(0.01),
        id="adamw-optax-default",
    ),
    pytest.param(
        lambda: chain(ClipByNorm(1.0), Adam(0.01)),
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.01)),
        id="clip-norm-adam",
    ),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("ours", "theirs"), OPTAX_CASES)
def test_matches_optax(ours, theirs, dtype):
    got = run_optim(ours(), dtype)
    expected = run_optax(theirs(), dtype)
    assert got.dtype == dtype
    assert_close(got, expected, dtype)
    assert not np.allclose(got, X0, rtol=1e-3)  # the run moved


TORCH_CASES = [
    pytest.param(lambda: Momentum(0.01), lambda: torch_sgd(0.01, 0.9), id="sgd-mom"),
    pytest.param(
        lambda: Momentum(0.01, beta=0.9, dampening=0.3, weight_decay=0.05),
        lambda: torch_sgd(0.01, 0.9, dampening=0.3, weight_decay=0.05),
        id="sgd-dampening-decay",
    ),
    pytest.param(
        lambda: Nesterov(0.01, weight_decay=0.05),
        lambda: torch_sgd(0.01, 0.9, weight_decay=0.05, nesterov=True),
        id="sgd-nesterov-decay",
    ),
    pytest.param(
        lambda: Momentum(0.01, beta=0.0, weight_decay=0.05),
        lambda: torch_sgd(0.01, weight_decay=0.05),
        id="sgd-decay",
    ),
    pytest.param(
        lambda: FixedStep(0.01, weight_decay=0.05),
        lambda: torch_sgd(0.01, weight_decay=0.05),
        id="sgd-fixed-decay",
    ),
    pytest.param(lambda: AdaGrad(0.1), lambda: torch_adagrad(0.1), id="adagrad"),
    pytest.param(
        lambda: AdaGrad(0.1, initial_accumulator=0.2, weight_decay=0.05),
        lambda: torch_adagrad(0.1, initial_accumulator_value=0.2, weight_decay=0.05),
        id="adagrad-decay",
    ),
    pytest.param(
        lambda: RMSProp(0.01, beta=0.99), lambda: torch_rmsprop(0.01), id="rmsprop"
    ),
    pytest.param(
        lambda: RMSProp(
            0.01, beta=0.99, centered=True, momentum=0.9, weight_decay=0.05
        ),
        lambda: torch_rmsprop(0.01, centered=True, momentum=0.9, weight_decay=0.05),
        id="rmsprop-centered-momentum-decay",
    ),
    pytest.param(
        lambda: Adam(0.01, weight_decay=0.05),
        lambda: torch_adam(0.01, weight_decay=0.05),
        id="adam-l2",
    ),
    pytest.param(
        lambda: Adam(0.01, amsgrad=True),
        lambda: torch_adam(0.01, amsgrad=True),
        id="amsgrad-raw",
    ),
    pytest.param(
        lambda: AdamW(0.01, amsgrad=True),
        lambda: torch_adam(0.01, weight_decay=1e-2, amsgrad=True, decoupled=True),
        id="adamw",
    ),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("ours", "theirs"), TORCH_CASES)
def test_matches_torch_transcription(ours, theirs, dtype):
    got = run_optim(ours(), dtype)
    expected = run_torch(theirs(), dtype)
    assert_close(got, expected, dtype)
    assert not np.allclose(got, X0, rtol=1e-3)


def test_amsgrad_forms_differ_and_each_matches_its_peer():
    """The raw (torch) and corrected (optax) maxima are different algorithms."""
    raw = run_optim(Adam(0.01, amsgrad=True), np.float64)
    corrected = run_optim(Adam(0.01, amsgrad=True, amsgrad_max="corrected"), np.float64)
    assert not np.allclose(raw, corrected, rtol=1e-6)


def test_clip_by_norm_with_eps_is_torch_clip_grad_norm():
    rule = ClipByNorm(1.0, eps=1e-6)
    for g in gradients(np.float64)[:10]:
        got, _ = rule.update(g, None, x=None, value=0.0, evaluator=None)
        np.testing.assert_allclose(got, torch_clip_grad_norm(g, 1.0), rtol=1e-15)
    # just below the bound, torch (and eps=1e-6) still shrinks; optax does not
    g = np.array([1.0 - 1e-7, 0.0])
    torch_like, _ = rule.update(g, None, x=None, value=0.0, evaluator=None)
    plain, _ = ClipByNorm(1.0).update(g, None, x=None, value=0.0, evaluator=None)
    assert torch_like[0] < g[0]
    assert plain[0] == g[0]


def test_rmsprop_defaults_are_documented_and_differ_from_both_peers():
    """RMSProp's defaults: beta 0.9 (optax's decay, not torch's alpha 0.99) and eps
    outside the root (torch's, not optax's): each peer needs one option."""
    rule = RMSProp(0.01)
    assert (rule.beta, rule.eps, rule.eps_in_sqrt, rule.momentum) == (
        0.9,
        1e-8,
        False,
        0.0,
    )
    doc = RMSProp.__doc__
    assert "alpha=0.99" in doc
    assert "eps_in_sqrt=True" in doc
    assert not np.allclose(
        run_optim(rule, np.float64), run_optax(optax.rmsprop(0.01), np.float64)
    )


SCHEDULE_CASES = [
    pytest.param(
        ExponentialDecay(0.01, 0.97, decay_steps=10),
        lambda: optax.exponential_decay(0.01, 10, 0.97),
        id="exponential",
    ),
    pytest.param(
        StepDecay(0.01, step_size=30, factor=0.5),
        lambda: optax.exponential_decay(0.01, 30, 0.5, staircase=True),
        id="staircase",
    ),
    pytest.param(
        CosineDecay(0.01, decay_steps=60, final=1e-3),
        lambda: optax.cosine_decay_schedule(0.01, 60, alpha=0.1),
        id="cosine",
    ),
    pytest.param(
        LinearWarmup(0.0, warmup_steps=80, start=0.01),
        lambda: optax.linear_schedule(0.01, 0.0, 80),
        id="linear-decay-to-zero",
    ),
    pytest.param(
        LinearWarmup(0.3, warmup_steps=10, start=0.01),
        lambda: optax.linear_schedule(0.01, 0.3, 10),
        id="linear-warmup",
    ),
    pytest.param(
        WarmupCosineDecay(
            start=0.01, peak=0.3, warmup_steps=10, decay_steps=110, final=0.001
        ),
        lambda: optax.warmup_cosine_decay_schedule(0.01, 0.3, 10, 110, 0.001),
        id="warmup-cosine",
    ),
    pytest.param(
        WarmupCosineDecay(peak=0.3, warmup_steps=0, decay_steps=50, exponent=2.0),
        lambda: optax.warmup_cosine_decay_schedule(0.0, 0.3, 0, 50, exponent=2.0),
        id="warmup-cosine-no-warmup",
    ),
    pytest.param(
        PolynomialDecay(0.3, final=0.01, power=2.5, decay_steps=70, begin=20),
        lambda: optax.polynomial_schedule(0.3, 0.01, 2.5, 70, 20),
        id="polynomial",
    ),
    pytest.param(
        JoinSchedules(
            (
                LinearWarmup(0.3, warmup_steps=10),
                PolynomialDecay(0.3, final=0.0, power=1.0, decay_steps=100),
            ),
            boundaries=(10,),
        ),
        lambda: optax.join_schedules(
            [optax.linear_schedule(0.0, 0.3, 10), optax.linear_schedule(0.3, 0.0, 100)],
            [10],
        ),
        id="warmup-linear",
    ),
    pytest.param(
        PiecewiseConstant(0.3, scales={20: 0.5, 60: 0.1, 90: 0.5}),
        lambda: optax.piecewise_constant_schedule(0.3, {20: 0.5, 60: 0.1, 90: 0.5}),
        id="piecewise",
    ),
    pytest.param(
        OneCycle(peak=0.3, total_steps=120),
        lambda: optax.cosine_onecycle_schedule(120, 0.3),
        id="one-cycle",
    ),
    pytest.param(
        OneCycle(
            peak=0.3,
            total_steps=77,
            pct_start=0.25,
            div_factor=10.0,
            final_div_factor=100.0,
        ),
        lambda: optax.cosine_onecycle_schedule(77, 0.3, 0.25, 10.0, 100.0),
        id="one-cycle-options",
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), SCHEDULE_CASES)
def test_schedules_match_optax(ours, theirs):
    """Step by step over 150 steps (optax evaluated at Python-int steps, in float64:
    under its own int32 counter optax computes schedules in float32)."""
    schedule = theirs()
    for t in range(150):
        assert ours(t) == pytest.approx(float(schedule(t)), rel=1e-12, abs=1e-18)


def test_optax_order_for_exponential_decay_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"decay_rate=1000 > 1.*allow_growth"):
        ExponentialDecay(0.1, 1000)
    with pytest.raises(ValueError, match=r"factor=2\.0 > 1"):
        StepDecay(0.1, step_size=10, factor=2.0)
    assert ExponentialDecay(0.1, 2.0, allow_growth=True)(1) == pytest.approx(0.2)


def test_linear_warmup_to_zero_peak():
    with pytest.raises(ValueError, match="peak=0 with start=0"):
        LinearWarmup(0.0, warmup_steps=3)
    assert LinearWarmup(0.0, warmup_steps=4, start=1.0)(2) == 0.5


@pytest.mark.parametrize("eps_in_sqrt", [False, True])
def test_adagrad_eps_zero_gives_a_zero_step_where_the_gradient_was_always_zero(
    eps_in_sqrt,
):
    rule = AdaGrad(0.1, eps=0.0, eps_in_sqrt=eps_in_sqrt)
    state = rule.init(np.zeros(2))
    for g in ([3.0, 0.0], [-1.0, 0.0]):
        delta, state = rule.update(
            np.array(g), state, x=np.zeros(2), value=0.0, evaluator=None
        )
        assert np.all(np.isfinite(delta))
        assert delta[1] == 0.0
    assert delta[0] == pytest.approx(0.1 / np.sqrt(10.0))


def test_momentum_dampening_skips_the_first_step_like_torch():
    rule = Momentum(1.0, beta=0.5, dampening=0.5)
    state = rule.init(np.zeros(1))
    deltas = []
    for _ in range(3):
        delta, state = rule.update(
            np.ones(1), state, x=np.zeros(1), value=0.0, evaluator=None
        )
        deltas.append(float(delta[0]))
    assert deltas == [-1.0, -1.0, -1.0]  # v1 = 1, v2 = 0.5 + 0.5, ...
    with pytest.raises(ValueError, match="dampening"):
        Momentum(0.1, dampening=1.0)
    with pytest.raises(TypeError):
        Nesterov(0.1, dampening=0.5)  # torch refuses it too


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: RMSProp(0.1, momentum=1.0), "momentum"),
        (lambda: RMSProp(0.1, eps_in_sqrt="yes"), "eps_in_sqrt"),
        (lambda: Adam(0.1, weight_decay=-1.0), "weight_decay"),
        (lambda: Adam(0.1, amsgrad=True, amsgrad_max="max"), "amsgrad_max"),
        (lambda: AdaGrad(0.1, weight_decay=float("nan")), "weight_decay"),
        (lambda: ClipByNorm(1.0, eps=-1e-6), "eps"),
        (lambda: AddDecayedWeights(-0.1), "weight_decay"),
    ],
)
def test_new_options_are_validated(factory, match):
    with pytest.raises((ValueError, TypeError), match=match):
        factory()


def test_coupled_decay_in_ascent_is_torch_maximize():
    """Ascent hands the rule the gradient of -f; the decay is added to it, as
    torch's maximize=True negates the gradient before adding weight_decay * x."""
    from optim import FunctionObjective, Optimizer

    c = np.array([1.0, -2.0, 0.5])
    objective = FunctionObjective(lambda x: float(c @ x), gradient=lambda x: c)
    result = Optimizer(
        objective,
        step_rule=Adam(0.05, weight_decay=0.3),
        mode="ascent",
        max_steps=20,
    ).run(np.array([1.0, 1.0, -1.0]))
    step = torch_adam(0.05, weight_decay=0.3)
    x, state = np.array([1.0, 1.0, -1.0]), {}
    for t in range(1, 21):
        state["t"] = t
        x = step(x, -c, state)
    np.testing.assert_allclose(result.x, x, rtol=1e-12)


# --- the rules of optim.adaptive ---------------------------------------------------


def torch_adamax(lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas

    def step(x, g, state):
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["u"] = np.maximum(b2 * state.get("u", 0.0), np.abs(g) + eps)
        return x - lr / (1 - b1 ** state["t"]) * state["m"] / state["u"]

    return step


def torch_adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    def step(x, g, state):
        g = g + weight_decay * x if weight_decay else g
        state["v"] = rho * state.get("v", 0.0) + (1 - rho) * g * g
        delta = np.sqrt(state.get("u", 0.0) + eps) / np.sqrt(state["v"] + eps) * g
        state["u"] = rho * state.get("u", 0.0) + (1 - rho) * delta * delta
        return x - lr * delta

    return step


def torch_radam(lr, betas=(0.9, 0.999), eps=1e-8):
    """torch's RAdam, with its eps (scaled by 1/sqrt(1 - beta2^t)) and rho_t > 5."""
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1

    def step(x, g, state):
        t = state["t"]
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat = state["m"] / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            adaptive = np.sqrt(1 - b2**t) / (np.sqrt(state["v"]) + eps)
            r = np.sqrt(
                (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
            )
            return x - lr * m_hat * r * adaptive
        return x - lr * m_hat

    return step


ADAPTIVE_OPTAX_CASES = [
    pytest.param(lambda: Lion(1e-3), lambda: optax.lion(1e-3), id="lion"),
    pytest.param(
        lambda: Lion(1e-3, beta1=0.8, beta2=0.9, weight_decay=0.1),
        lambda: optax.lion(1e-3, b1=0.8, b2=0.9, weight_decay=0.1),
        id="lion-options",
    ),
    pytest.param(lambda: NAdam(0.01), lambda: optax.nadam(0.01), id="nadam"),
    pytest.param(lambda: RAdam(0.01), lambda: optax.radam(0.01), id="radam"),
    pytest.param(
        lambda: RAdam(0.01, beta2=0.9, threshold=6.0),
        lambda: optax.radam(0.01, b2=0.9, threshold=6.0),
        id="radam-options",
    ),
    pytest.param(lambda: Adamax(0.01), lambda: optax.adamax(0.01), id="adamax"),
    pytest.param(lambda: Adadelta(), lambda: optax.adadelta(1.0), id="adadelta"),
    pytest.param(
        lambda: chain(AddDecayedWeights(0.1), Adadelta(0.5, rho=0.8)),
        lambda: optax.adadelta(0.5, rho=0.8, weight_decay=0.1),
        id="adadelta-decay",
    ),
    pytest.param(lambda: LAMB(0.01), lambda: optax.lamb(0.01), id="lamb"),
    pytest.param(lambda: Adafactor(), lambda: optax.adafactor(), id="adafactor"),
    pytest.param(
        lambda: Adafactor(0.05, weight_decay=1e-3),
        lambda: optax.adafactor(0.05, weight_decay_rate=1e-3),
        id="adafactor-weight-decay",
    ),
    pytest.param(
        lambda: LAMB(0.01, weight_decay=0.1, eps=1e-8),
        lambda: optax.lamb(0.01, weight_decay=0.1, eps=1e-8),
        id="lamb-decay",
    ),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("ours", "theirs"), ADAPTIVE_OPTAX_CASES)
def test_adaptive_rules_match_optax(ours, theirs, dtype):
    got = run_optim(ours(), dtype)
    assert got.dtype == dtype
    assert_close(got, run_optax(theirs(), dtype), dtype)
    assert not np.allclose(got, X0, rtol=1e-4)


ADAPTIVE_TORCH_CASES = [
    pytest.param(lambda: Adamax(2e-3), lambda: torch_adamax(2e-3), id="adamax"),
    pytest.param(lambda: Adadelta(), lambda: torch_adadelta(), id="adadelta"),
    pytest.param(
        lambda: chain(AddDecayedWeights(0.05), Adadelta(0.5)),
        lambda: torch_adadelta(0.5, weight_decay=0.05),
        id="adadelta-decay",
    ),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("ours", "theirs"), ADAPTIVE_TORCH_CASES)
def test_adaptive_rules_match_torch_transcription(ours, theirs, dtype):
    assert_close(run_optim(ours(), dtype), run_torch(theirs(), dtype), dtype)


def test_radam_differs_from_torch_only_through_eps():
    """With eps negligible the two RAdam conventions agree (rho_t = 5 is never hit
    exactly for beta2 = 0.999); with eps = 1e-8 on gradients of 1e-4 they differ."""
    ours = run_optim(RAdam(0.01, eps=1e-300), np.float64)
    theirs = run_torch(torch_radam(0.01, eps=1e-300), np.float64)
    assert_close(ours, theirs, np.float64)
    default = run_optim(RAdam(0.01), np.float64)
    assert not np.allclose(default, run_torch(torch_radam(0.01), np.float64), 1e-12)


def test_lamb_trust_ratio_is_one_at_the_origin():
    rule = LAMB(0.1)
    delta, _ = rule.update(
        np.array([2.0, -0.5]),
        rule.init(np.zeros(2)),
        x=np.zeros(2),
        value=0.0,
        evaluator=None,
    )
    np.testing.assert_allclose(delta, [-0.1, 0.1], rtol=1e-5)


def test_optax_adadelta_without_a_rate_ascends():
    """optax.adadelta() (learning_rate=None) skips scale_by_learning_rate's sign
    flip, so it adds +delta; Adadelta() descends like torch's Adadelta()."""
    start = run_optax(optax.adadelta(), np.float64)
    ours = run_optim(Adadelta(), np.float64)
    assert_close(X0 - ours, start - X0, np.float64)


def test_periodic_cosine_is_torch_cosine_annealing():
    """torch's CosineAnnealingLR, by its documented recursion (which its closed
    form solves): it climbs back after T_max, where CosineDecay holds."""
    eta_max, eta_min, t_max = 0.3, 0.01, 25
    rate, rates = eta_max, [eta_max]
    for t in range(1, 150):
        if (t - 1 - t_max) % (2 * t_max) == 0:
            rate = rate + (eta_max - eta_min) * (1 - np.cos(np.pi / t_max)) / 2
        else:
            rate = (1 + np.cos(np.pi * t / t_max)) / (
                1 + np.cos(np.pi * (t - 1) / t_max)
            ) * (rate - eta_min) + eta_min
        rates.append(rate)
    schedule = PeriodicCosine(eta_max, half_period=t_max, final=eta_min)
    np.testing.assert_allclose([schedule(t) for t in range(150)], rates, rtol=1e-9)
    assert schedule(2 * t_max) == pytest.approx(eta_max)
    assert CosineDecay(eta_max, decay_steps=t_max, final=eta_min)(2 * t_max) == eta_min


def test_new_schedules_refuse_confusing_arguments():
    with pytest.raises(TypeError):
        WarmupCosineDecay(0.0, 0.3, 10, 100)  # optax's order, positionally
    with pytest.raises(ValueError, match="decay_steps=10 must exceed"):
        WarmupCosineDecay(peak=0.3, warmup_steps=10, decay_steps=10)
    with pytest.raises(ValueError, match=r"factor=2\.0 > 1"):
        PiecewiseConstant(0.1, scales={10: 2.0})
    assert PiecewiseConstant(0.1, scales={10: 2.0}, allow_growth=True)(10) == 0.2
    with pytest.raises(TypeError):
        OneCycle(120, 0.3)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"factor": 0.5, "patience": 3, "cooldown": 2},
        {"factor": 0.5, "patience": 2, "rtol": 0.0, "atol": 1e-3, "min_scale": 0.1},
        {"patience": 2, "accumulation_size": 3},
    ],
)
def test_reduce_on_plateau_matches_optax(options):
    import jax.numpy as jnp
    from optax import contrib

    from optim.transforms import ReduceOnPlateau

    t = np.arange(200)
    # a decrease, then a noisy plateau from step 60 on
    values = np.maximum(1.0 / (1.0 + 0.05 * t), 0.25) + 0.001 * np.sin(1.7 * t)
    theirs = contrib.reduce_on_plateau(**options)
    ours = ReduceOnPlateau(**options)
    their_state = theirs.init(jnp.zeros(1))
    our_state = ours.init(np.zeros(1))
    for value in values:
        update, their_state = theirs.update(
            jnp.ones(1), their_state, value=jnp.asarray(value)
        )
        step, our_state = ours.update(
            np.ones(1), our_state, x=None, value=float(value), evaluator=None
        )
        assert float(step[0]) == pytest.approx(float(update[0]), rel=1e-12)
    assert our_state.scale < 1.0  # it reduced


def _run_shaped(rule, transform, shape, dtype):
    """100 fixed gradients on a point of `shape`, in optim and in optax."""
    import jax.numpy as jnp

    rng = np.random.default_rng(5)
    x0 = rng.normal(size=shape).astype(dtype)
    scales = np.logspace(-4, 2, shape[-1])
    grads = (rng.normal(size=(STEPS, *shape)) * scales).astype(dtype)
    x, state = x0.copy(), rule.init(x0)
    for g in grads:
        delta, state = rule.update(g, state, x=x, value=0.0, evaluator=None)
        x = (x + delta).astype(dtype)
    y, their_state = jnp.asarray(x0), transform.init(jnp.asarray(x0))
    for g in grads:
        updates, their_state = transform.update(jnp.asarray(g), their_state, y)
        y = optax.apply_updates(y, updates)
    return x, np.asarray(y), state


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("shape", "ours", "theirs"),
    [
        pytest.param((130, 140), Adafactor, optax.adafactor, id="factored-default"),
        pytest.param(
            (140, 130),
            lambda: Adafactor(0.01, min_dim_size_to_factor=4, clipping_threshold=None),
            lambda: optax.adafactor(
                0.01, min_dim_size_to_factor=4, clipping_threshold=None
            ),
            id="factored-transposed",
        ),
        pytest.param(
            (5, 4, 6),
            lambda: Adafactor(0.01, min_dim_size_to_factor=3),
            lambda: optax.adafactor(0.01, min_dim_size_to_factor=3),
            id="factored-3d",
        ),
        pytest.param(
            (6, 9),
            lambda: Adafactor(
                0.01, momentum=0.9, multiply_by_parameter_scale=False, factored=False
            ),
            lambda: optax.adafactor(
                0.01,
                momentum=0.9,
                dtype_momentum=np.float64,
                multiply_by_parameter_scale=False,
                factored=False,
            ),
            id="unfactored-momentum",
        ),
    ],
)
def test_adafactor_matches_optax_with_factored_moments(shape, ours, theirs, dtype):
    got, expected, state = _run_shaped(ours(), theirs(), shape, dtype)
    assert got.dtype == dtype
    assert_close(got, expected, dtype)
    factored = ours().factored and min(shape) >= ours().min_dim_size_to_factor
    assert (state.second is None) == factored
    if factored:
        assert state.row.size + state.column.size < np.prod(shape)

import math

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optim import (
    LBFGS,
    AdaGrad,
    Adam,
    AdamW,
    AnalyticGradient,
    BarzilaiBorwein,
    Chain,
    ClipByNorm,
    ClipByValue,
    ConjugateGradient,
    Evaluator,
    FixedStep,
    LineSearchRule,
    Mode,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    chain,
)
from optim.adaptive import LAMB, Adadelta, Adafactor, Adamax, Lion, NAdam, RAdam
from optim.bfgs import BFGS
from optim.directions import LBFGSDirection, SteepestDescent
from optim.line_search import Backtracking, Search, StrongWolfe
from optim.newton import NewtonCG, TrustNCG
from optim.problems import Quadratic, Rosenbrock, Sphere
from optim.schedules import CosineDecay, ExponentialDecay, InverseTimeDecay
from optim.step_rules import LearningRateRule, LearningRateRuleState
from optim.testing import (
    check_array_library,
    check_ascent_mirrors_descent,
    check_convergence,
    check_descent_and_ascent,
    check_invalid_hyperparameters,
    check_step_rule,
    check_update_is_pure,
    same,
)
from optim.transforms import ReduceOnPlateau

ALL_RULES = [
    pytest.param(FixedStep(0.1), id="fixed"),
    pytest.param(FixedStep(ExponentialDecay(0.15, 0.999)), id="fixed-exponential"),
    pytest.param(Momentum(0.05, beta=0.9), id="momentum"),
    pytest.param(Momentum(InverseTimeDecay(0.05, 0.01)), id="momentum-inverse-time"),
    pytest.param(Nesterov(0.05, beta=0.9), id="nesterov"),
    pytest.param(AdaGrad(1.0), id="adagrad"),
    pytest.param(RMSProp(ExponentialDecay(0.05, 0.995)), id="rmsprop"),
    pytest.param(RMSProp(0.01, centered=True), id="rmsprop-centered"),
    pytest.param(Adam(0.1), id="adam"),
    pytest.param(Adam(0.1, amsgrad=True), id="adam-amsgrad"),
    pytest.param(Adam(CosineDecay(0.2, decay_steps=1000, final=1e-3)), id="adam-cos"),
    pytest.param(AdamW(0.1, weight_decay=0.01), id="adamw"),
    pytest.param(AdamW(0.1, weight_decay=0.01, amsgrad=True), id="adamw-amsgrad"),
    pytest.param(Momentum(0.05, dampening=0.5), id="momentum-damp"),
    pytest.param(
        AdaGrad(1.0, eps_in_sqrt=True, initial_accumulator=0.1), id="adagrad-optax"
    ),
    pytest.param(
        RMSProp(ExponentialDecay(0.05, 0.99), momentum=0.5, eps_in_sqrt=True),
        id="rmsprop-momentum",
    ),
    pytest.param(
        Adam(0.1, amsgrad=True, amsgrad_max="corrected"), id="amsgrad-corrected"
    ),
    pytest.param(
        chain(FixedStep(0.1), ReduceOnPlateau(factor=0.5, patience=20)),
        id="momentum-plateau",
    ),
    pytest.param(Lion(ExponentialDecay(0.3, 0.97), weight_decay=0.0), id="lion"),
    pytest.param(NAdam(0.1), id="nadam"),
    pytest.param(RAdam(0.1), id="radam"),
    pytest.param(Adamax(0.1), id="adamax"),
    pytest.param(Adadelta(ExponentialDecay(50.0, 0.995)), id="adadelta"),
    pytest.param(LAMB(ExponentialDecay(0.1, 0.99)), id="lamb"),
    pytest.param(Adafactor(0.1), id="adafactor"),
    pytest.param(
        Adafactor(0.05, momentum=0.5, multiply_by_parameter_scale=False),
        id="adafactor-momentum",
    ),
    pytest.param(LineSearchRule(), id="steepest-backtracking"),
    pytest.param(LineSearchRule(SteepestDescent(), StrongWolfe()), id="steepest-wolfe"),
    pytest.param(LineSearchRule(LBFGSDirection(3), Backtracking()), id="lbfgs-armijo"),
    pytest.param(LBFGS(), id="lbfgs"),
    pytest.param(LBFGS(memory=1), id="lbfgs-memory-1"),
    pytest.param(ConjugateGradient(), id="cg"),
    pytest.param(BFGS(), id="bfgs-dense"),
    pytest.param(NewtonCG(), id="newton-cg"),
    pytest.param(TrustNCG(), id="trust-ncg"),
    pytest.param(ConjugateGradient(restart=2, search=Backtracking()), id="cg-armijo"),
    pytest.param(BarzilaiBorwein(), id="bb-long"),
    pytest.param(BarzilaiBorwein("short", search=Backtracking()), id="bb-short-armijo"),
    pytest.param(chain(ClipByNorm(1.0), Adam(0.1)), id="clip-norm-adam"),
    pytest.param(chain(ClipByValue(0.5), Momentum(0.05)), id="clip-value-momentum"),
    pytest.param(
        chain(ClipByNorm(1.0), Adam(CosineDecay(0.2, decay_steps=1000, final=1e-3))),
        id="clip-adam-cosine",
    ),
    pytest.param(chain(LBFGS(), ClipByNorm(2.0), ClipByValue(1.0)), id="lbfgs-clip"),
    pytest.param(
        chain(ClipByValue(5.0), Adam(0.1), ClipByNorm(0.1)), id="clip-adam-clip"
    ),
    pytest.param(Chain((), Nesterov(0.05)), id="empty-chain"),
]

UNCONSTRAINED_ONLY = {"newton-cg", "trust-ncg"}
"""Rules that refuse a constraint (tested below), left out of constrained tests."""

CONSTRAINABLE_RULES = [rule for rule in ALL_RULES if rule.id not in UNCONSTRAINED_ONLY]

MODES = ["descent", "ascent"]
PROBLEMS = [
    pytest.param(Sphere(), id="sphere"),
    pytest.param(Quadratic(4, condition_number=10.0), id="quadratic"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rule", ALL_RULES)
def test_update_is_pure(rule, mode):
    """update() neither mutates inputs nor depends on hidden state."""
    check_update_is_pure(rule, mode=mode)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_descent_lowers_and_ascent_raises(rule):
    """Descent lowers a convex quadratic; ascent raises its negative."""
    check_descent_and_ascent(rule)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_ascent_on_f_is_descent_on_minus_f(rule):
    """Ascent on f and descent on -f visit the same points with the same counts."""
    check_ascent_mirrors_descent(rule)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rule", ALL_RULES)
def test_converges_on_reference_problems(rule, mode, problem):
    """Every rule reaches the optimum of the sphere and a quadratic to 1e-6."""
    check_convergence(rule, problem, max_steps=1000, tol=1e-6, mode=mode)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_invalid_hyperparameters_name_the_field(rule):
    """Invalid hyperparameters raise errors naming the field."""
    check_invalid_hyperparameters(rule)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_full_conformance_check(rule):
    """check_step_rule (all checks, both modes) passes for every built-in rule."""
    check_step_rule(rule)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_repr_frozen_and_evolve(rule):
    """Rules have a readable repr, are frozen, and attrs.evolve copies them."""
    assert type(rule).__name__ in repr(rule)
    field = attrs.fields(type(rule))[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(rule, field.name, getattr(rule, field.name))
    assert attrs.evolve(rule) == rule


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: FixedStep(0.0), "learning_rate"),
        (lambda: Momentum(-1.0), "learning_rate"),
        (lambda: Momentum(0.1, beta=1.0), "beta"),
        (lambda: Nesterov(0.1, beta=-0.5), "beta"),
        (lambda: AdaGrad(0.1, eps=-1.0), "eps"),
        (lambda: AdaGrad(0.1, initial_accumulator=-1.0), "initial_accumulator"),
        (lambda: RMSProp(0.1, beta=1.5), "beta"),
        (lambda: RMSProp(0.1, eps=0.0), "eps"),
        (lambda: Adam(math.nan), "learning_rate"),
        (lambda: Adam(beta1=1.0), "beta1"),
        (lambda: Adam(beta2=-0.1), "beta2"),
        (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
        (lambda: LBFGS(memory=0), "memory"),
        (lambda: BarzilaiBorwein("medium"), "variant"),
        (lambda: BarzilaiBorwein(min_step=1.0, max_step=0.5), "max_step"),
        (lambda: ConjugateGradient(restart=0), "restart"),
        (lambda: ClipByNorm(0.0), "max_norm"),
        (lambda: ClipByValue(-1.0), "max_value"),
    ],
)
def test_specific_invalid_values(factory, match):
    """Each documented range is enforced with an error naming the field."""
    with pytest.raises(ValueError, match=match):
        factory()


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: FixedStep("0.1"), "learning_rate"),
        (lambda: LBFGS(memory=2.5), "memory"),
        (lambda: LineSearchRule(direction=Backtracking()), "direction"),
        (lambda: LBFGS(search=SteepestDescent()), "search"),
        (lambda: Chain((Adam(),), Adam()), "transforms"),
        (lambda: Chain((), ClipByNorm(1.0)), "rule"),
        (lambda: chain(ClipByNorm(1.0)), "StepRule"),
    ],
)
def test_wrong_types_raise_type_error(factory, match):
    """Wrong types are refused with a TypeError naming the argument."""
    with pytest.raises(TypeError, match=match):
        factory()


def _three_updates(rule, gradients, xs=None):
    """Apply a rule to a fixed gradient sequence; return the displacements."""
    x = np.zeros_like(gradients[0]) if xs is None else xs[0]
    state = rule.init(x)
    deltas = []
    for k, g in enumerate(gradients):
        x = x if xs is None else xs[k]
        delta, state = rule.update(g, state, x=x, value=0.0, evaluator=None)
        deltas.append(delta)
    return deltas


G = [np.array([1.0]), np.array([2.0]), np.array([-1.0])]


def test_momentum_first_three_updates_by_hand():
    """Heavy ball: v = beta v + g, delta = -lr v (lr=0.1, beta=0.9)."""
    deltas = _three_updates(Momentum(0.1, beta=0.9), G)
    # v1 = 1; v2 = 0.9*1 + 2 = 2.9; v3 = 0.9*2.9 - 1 = 1.61
    np.testing.assert_allclose(np.concatenate(deltas), [-0.1, -0.29, -0.161])


def test_nesterov_first_three_updates_by_hand():
    """Nesterov (PyTorch form): delta = -lr (g + beta v) with v = beta v + g."""
    deltas = _three_updates(Nesterov(0.1, beta=0.9), G)
    # v = 1, 2.9, 1.61; g + 0.9 v = 1.9, 4.61, 0.449
    np.testing.assert_allclose(np.concatenate(deltas), [-0.19, -0.461, -0.0449])


def test_adagrad_first_three_updates_by_hand():
    """AdaGrad: G += g^2, delta = -lr g / (sqrt(G) + eps)."""
    deltas = _three_updates(AdaGrad(0.1, eps=0.0), G)
    # G = 1, 5, 6
    expected = [-0.1 * 1 / 1.0, -0.1 * 2 / math.sqrt(5), 0.1 / math.sqrt(6)]
    np.testing.assert_allclose(np.concatenate(deltas), expected, rtol=1e-15)


def test_adagrad_initial_accumulator_and_eps():
    """The accumulator starts at initial_accumulator and eps is outside the root."""
    (delta,) = _three_updates(AdaGrad(1.0, eps=0.5, initial_accumulator=3.0), G[:1])
    np.testing.assert_allclose(delta, [-1.0 / (2.0 + 0.5)])


def test_rmsprop_first_three_updates_by_hand():
    """RMSProp: s = 0.9 s + 0.1 g^2, delta = -lr g / (sqrt(s) + eps)."""
    eps = 1e-8
    deltas = _three_updates(RMSProp(0.01, beta=0.9, eps=eps), G)
    # s1 = 0.1; s2 = 0.09 + 0.4 = 0.49; s3 = 0.441 + 0.1 = 0.541
    expected = [
        -0.01 * 1 / (math.sqrt(0.1) + eps),
        -0.01 * 2 / (0.7 + eps),
        0.01 / (math.sqrt(0.541) + eps),
    ]
    np.testing.assert_allclose(np.concatenate(deltas), expected, rtol=1e-14)


def test_centered_rmsprop_first_three_updates_by_hand():
    """Centered RMSProp divides by sqrt(s - m^2) + eps (Graves 2013)."""
    eps = 1e-8
    deltas = _three_updates(RMSProp(0.01, beta=0.9, eps=eps, centered=True), G)
    # m = 0.1, 0.29, 0.161; s = 0.1, 0.49, 0.541
    expected = [
        -0.01 * 1 / (math.sqrt(0.1 - 0.01) + eps),
        -0.01 * 2 / (math.sqrt(0.49 - 0.29**2) + eps),
        0.01 / (math.sqrt(0.541 - 0.161**2) + eps),
    ]
    np.testing.assert_allclose(np.concatenate(deltas), expected, rtol=1e-13)


def test_adam_first_three_updates_by_hand():
    """Adam (Kingma & Ba 2015, Algorithm 1), eps outside the root of v-hat."""
    eps = 1e-8
    deltas = _three_updates(Adam(0.1, beta1=0.9, beta2=0.999, eps=eps), G)
    # m = 0.1, 0.29, 0.161; v = 0.001, 0.004999, 0.005994001
    m = [0.1, 0.29, 0.161]
    v = [0.001, 0.004999, 0.005994001]
    expected = [
        -0.1
        * (m[t] / (1 - 0.9 ** (t + 1)))
        / (math.sqrt(v[t] / (1 - 0.999 ** (t + 1))) + eps)
        for t in range(3)
    ]
    np.testing.assert_allclose(np.concatenate(deltas), expected, rtol=1e-13)
    # the first Adam step has length lr (up to eps)
    assert deltas[0][0] == pytest.approx(-0.1 / (1 + eps), rel=1e-15)


def test_amsgrad_first_three_updates_by_hand():
    """AMSGrad uses max(v) in the denominator (PyTorch convention)."""
    eps = 1e-8
    gradients = [np.array([2.0]), np.array([1.0]), np.array([0.0])]
    deltas = _three_updates(
        Adam(0.1, beta1=0.9, beta2=0.9, eps=eps, amsgrad=True), gradients
    )
    # m = 0.2, 0.28, 0.252; v = 0.4, 0.46, 0.414; max v = 0.4, 0.46, 0.46
    m = [0.2, 0.28, 0.252]
    vmax = [0.4, 0.46, 0.46]
    expected = [
        -0.1
        * (m[t] / (1 - 0.9 ** (t + 1)))
        / (math.sqrt(vmax[t] / (1 - 0.9 ** (t + 1))) + eps)
        for t in range(3)
    ]
    np.testing.assert_allclose(np.concatenate(deltas), expected, rtol=1e-13)
    plain = _three_updates(Adam(0.1, beta1=0.9, beta2=0.9, eps=eps), gradients)
    assert plain[2][0] == pytest.approx(
        -0.1 * (0.252 / 0.271) / (math.sqrt(0.414 / 0.271) + eps), rel=1e-13
    )
    assert abs(deltas[2][0]) < abs(plain[2][0])


def test_adamw_first_three_updates_by_hand():
    """AdamW: delta = -lr (adam direction + weight_decay * x) at each x."""
    eps = 1e-8
    xs = [np.array([1.0]), np.array([0.5]), np.array([-2.0])]
    deltas = _three_updates(AdamW(0.1, weight_decay=0.2, eps=eps), G, xs)
    m = [0.1, 0.29, 0.161]
    v = [0.001, 0.004999, 0.005994001]
    expected = [
        -0.1
        * (
            (m[t] / (1 - 0.9 ** (t + 1)))
            / (math.sqrt(v[t] / (1 - 0.999 ** (t + 1))) + eps)
            + 0.2 * xs[t][0]
        )
        for t in range(3)
    ]
    np.testing.assert_allclose(np.concatenate(deltas), expected, rtol=1e-13)


def test_adamw_without_decay_is_adam():
    """AdamW with weight_decay=0 equals Adam exactly."""
    xs = [np.array([1.0]), np.array([0.5]), np.array([-2.0])]
    a = _three_updates(AdamW(0.1, weight_decay=0.0), G, xs)
    b = _three_updates(Adam(0.1), G, xs)
    np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))


def test_schedule_uses_step_count_from_state():
    """A scheduled rate is evaluated at the step count the state carries."""
    deltas = _three_updates(FixedStep(ExponentialDecay(0.4, 0.5)), [G[0]] * 3)
    np.testing.assert_allclose(np.concatenate(deltas), [-0.4, -0.2, -0.1])
    momentum = _three_updates(Momentum(ExponentialDecay(1.0, 0.5), beta=0.0), G)
    np.testing.assert_allclose(np.concatenate(momentum), [-1.0, -1.0, 0.25])


def test_fixed_step_accepts_none_state():
    """FixedStep treats a None state as step 0 (the original API)."""
    delta, state = FixedStep(0.5).update(
        np.array([2.0]), None, x=np.zeros(1), value=0.0, evaluator=None
    )
    assert delta.tolist() == [-1.0]
    assert state == LearningRateRuleState(direction_state=None, step=1)


FIXED_RATE_RULES = [
    lambda rate: FixedStep(rate),
    lambda rate: Momentum(rate, beta=0.5),
    lambda rate: Nesterov(rate, beta=0.5),
    lambda rate: AdaGrad(rate),
    lambda rate: RMSProp(rate, centered=True),
    lambda rate: Adam(rate, amsgrad=True),
    lambda rate: AdamW(rate, weight_decay=0.1),
]


@pytest.mark.parametrize("factory", FIXED_RATE_RULES)
def test_one_learning_rate_path(factory):
    """Every fixed-rate rule steps -rate_t * direction with one shared counter.

    A halving schedule gives exactly 0.5**t times the steps of rate 1, and the
    state keeps one update counter next to the rule's own state.
    """
    xs = [np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([-2.0, 0.25])]
    gradients = [np.array([1.0, 3.0]), np.array([2.0, -1.0]), np.array([-1.0, 0.5])]
    scheduled = factory(ExponentialDecay(1.0, 0.5))
    constant = factory(1.0)
    assert isinstance(scheduled, LearningRateRule)
    for t, (a, b) in enumerate(
        zip(
            _three_updates(scheduled, gradients, xs),
            _three_updates(constant, gradients, xs),
            strict=True,
        )
    ):
        np.testing.assert_allclose(a, 0.5**t * b, rtol=1e-15)
    state = scheduled.init(xs[0])
    for k, (g, x) in enumerate(zip(gradients, xs, strict=True)):
        _, state = scheduled.update(g, state, x=x, value=0.0, evaluator=None)
        assert isinstance(state, LearningRateRuleState)
        assert state.step == k + 1
        own = state.direction_state
        if attrs.has(type(own)):  # the rule's own state keeps no second counter
            assert "step" not in attrs.fields_dict(type(own))


def test_learning_rate_validator_lives_with_schedule():
    """The learning-rate validator is in optim.schedules; _validators needs no lazy
    import of schedules any more (the import cycle is gone)."""
    import inspect

    from optim import _validators, schedules

    assert not hasattr(_validators, "learning_rate")
    assert "schedules" not in inspect.getsource(_validators)
    with pytest.raises(ValueError, match="learning_rate"):
        Momentum(0.0)
    with pytest.raises(TypeError, match="learning_rate"):
        Adam("fast")
    assert schedules.validate_learning_rate is not None


def test_nesterov_and_adamw_are_not_subclasses():
    """Variants share an implementation without subclassing the base rule."""
    assert not isinstance(Nesterov(0.1), Momentum)
    assert not isinstance(Momentum(0.1), Nesterov)
    assert not isinstance(AdamW(0.1), Adam)
    assert not issubclass(AdamW, Adam)
    assert not issubclass(Nesterov, Momentum)
    for name in ("_direction", "_with_decay"):
        for cls in (Momentum, Nesterov, Adam, AdamW):
            assert not hasattr(cls, name)


def test_adam_keeps_its_own_bias_correction_count():
    """Adam's t (bias correction) is its own; the rate counter is the shared one."""
    rule = Adam(0.1)
    state = rule.init(np.zeros(1))
    for _ in range(3):
        _, state = rule.update(np.ones(1), state, x=None, value=0.0, evaluator=None)
    assert (state.step, state.direction_state.t) == (3, 3)


def test_rule_state_is_resumable():
    """Running 10 + 10 steps from a saved state equals running 20 steps."""
    rule = Adam(CosineDecay(0.3, decay_steps=20))
    x = np.array([-3.0, 4.0])
    problem = Sphere()
    state = rule.init(x)
    for _ in range(20):
        delta, state = rule.update(
            problem.gradient(x), state, x=x, value=problem.value(x), evaluator=None
        )
        x = x + delta
    result = Optimizer(problem, step_rule=rule, max_steps=20).run([-3.0, 4.0])
    np.testing.assert_array_equal(result.x, x)
    assert state.step == 20


def test_clip_by_norm_then_adam_equals_adam_on_clipped_gradients():
    """Chain(clip, rule) hands the rule the clipped gradient."""
    gradients = [np.array([3.0, 4.0]), np.array([0.3, 0.4]), np.array([-6.0, 8.0])]
    chained = _three_updates(chain(ClipByNorm(1.0), Adam(0.1)), gradients)
    clipped = [g / max(1.0, np.linalg.norm(g)) for g in gradients]
    direct = _three_updates(Adam(0.1), clipped)
    np.testing.assert_allclose(np.concatenate(chained), np.concatenate(direct))


def test_clipping_never_mutates_gradient():
    """ClipByValue and ClipByNorm return new arrays and leave the input alone."""
    g = np.array([3.0, -4.0])
    context = {"x": g, "value": 0.0, "evaluator": None}
    assert ClipByValue(1.0).update(g, None, **context)[0].tolist() == [1.0, -1.0]
    np.testing.assert_allclose(
        ClipByNorm(1.0).update(g, None, **context)[0], [0.6, -0.8]
    )
    assert g.tolist() == [3.0, -4.0]


def test_momentum_beats_fixed_step_on_ill_conditioned_quadratic():
    """Momentum needs fewer steps than gradient descent at condition number 100."""
    problem = Quadratic(10, condition_number=100.0)
    fixed = check_convergence(FixedStep(0.01), problem, max_steps=5000, tol=1e-6)
    heavy = check_convergence(Momentum(0.01, beta=0.8), problem, max_steps=5000)
    assert heavy.steps < fixed.steps / 3


def test_adam_on_rosenbrock():
    """Adam with a decaying rate gets close to the Rosenbrock minimizer."""
    result = Optimizer(
        Rosenbrock(),
        step_rule=Adam(CosineDecay(0.05, decay_steps=5000, final=1e-4)),
        max_steps=5000,
    ).run([-1.2, 1.0])
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-2)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_checkpoint_and_resume_equals_uninterrupted_run(rule, tmp_path):
    """Every rule's state survives a checkpoint: resuming gives the same run."""
    from optim.checkpoint import save_checkpoint

    problem = Rosenbrock()
    optimizer = Optimizer(problem, step_rule=rule, max_steps=12)
    full = optimizer.run(problem.start)
    infos = list(Optimizer(problem, step_rule=rule, max_steps=5).iterate(problem.start))
    path = tmp_path / "run.npz"
    save_checkpoint(path, infos[-1], optimizer)
    resumed = optimizer.resume(path)
    np.testing.assert_array_equal(resumed.x, full.x)
    assert resumed.evaluations == full.evaluations
    assert resumed.gradient_evaluations == full.gradient_evaluations


_RULES = [param.values[0] for param in ALL_RULES]


@given(
    rule=st.sampled_from(_RULES),
    dimension=st.integers(1, 6),
    condition=st.floats(1.0, 1e3),
    seed=st.integers(0, 2**16),
)
def test_sign_symmetry_property(rule, dimension, condition, seed):
    """For any rule and rotated quadratic, ascent on -f mirrors descent on f."""
    problem = Quadratic(dimension, condition_number=condition, rotation_seed=seed)
    check_ascent_mirrors_descent(rule, problem, steps=6)


@given(
    rule=st.sampled_from(_RULES),
    gradient=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
)
def test_purity_property(rule, gradient):
    """update() is pure for arbitrary gradients, not only along a trajectory."""
    g = np.array(gradient)
    x = np.array([0.5, -1.0, 2.0])
    state = rule.init(x)
    problem = Quadratic(3)
    evaluator = Evaluator(problem, AnalyticGradient(), Mode.DESCENT)
    g_copy = g.copy()
    first = rule.update(g, state, x=x, value=1.0, evaluator=evaluator)
    second = rule.update(g, state, x=x, value=1.0, evaluator=evaluator)
    assert same(first, second)
    np.testing.assert_array_equal(g, g_copy)


def test_transforms_after_the_rule_act_on_the_step():
    """chain(rule, transform) transforms the rule's displacement, not the gradient."""
    gradients = [np.array([3.0, 4.0]), np.array([0.3, -0.4]), np.array([-6.0, 8.0])]
    chained = _three_updates(chain(Adam(0.1), ClipByNorm(0.05)), gradients)
    direct = _three_updates(Adam(0.1), gradients)
    for a, b in zip(chained, direct, strict=True):
        np.testing.assert_allclose(a, b * min(1.0, 0.05 / np.linalg.norm(b)))
        assert np.linalg.norm(a) <= 0.05 * (1 + 1e-15)
    both = chain(ClipByValue(1.0), Momentum(0.1, beta=0.0), ClipByValue(0.05))
    (delta,) = _three_updates(both, [np.array([3.0, -0.2])])
    np.testing.assert_allclose(delta, [-0.05, 0.02])


def test_chain_state_layout():
    """ChainState has one entry per part: before, rule, after."""
    from optim.transforms import ChainState

    rule = Chain(
        (ClipByValue(1.0), ClipByNorm(2.0)), Adam(0.1), after=(ClipByNorm(1.0),)
    )
    state = rule.init(np.zeros(2))
    assert isinstance(state, ChainState)
    assert state.before == (None, None)
    assert state.after == (None,)
    assert state.rule.step == 0
    assert rule == chain(ClipByValue(1.0), ClipByNorm(2.0), Adam(0.1), ClipByNorm(1.0))


@pytest.mark.parametrize(
    "factory",
    [
        lambda: chain(ClipByNorm(1.0), LBFGS()),
        lambda: Chain((ClipByValue(1.0),), LineSearchRule()),
        lambda: chain(ClipByNorm(1.0), BarzilaiBorwein()),
        lambda: chain(ClipByNorm(1.0), chain(LBFGS(), ClipByNorm(1.0))),
    ],
)
def test_transform_before_a_line_search_is_refused(factory):
    """A line search cannot follow gradient transforms: its trial points would
    compare transformed and untransformed gradients."""
    with pytest.raises(ValueError, match="trial points"):
        factory()


def test_chain_needs_exactly_one_rule():
    with pytest.raises(TypeError, match="exactly one StepRule"):
        chain(Adam(0.1), ClipByNorm(1.0), Momentum(0.1))
    assert chain(Adam(0.1), ClipByNorm(1.0)).evaluates_trial_points is False
    assert chain(LBFGS(), ClipByNorm(1.0)).evaluates_trial_points is True


class _RecordingEvaluator:
    """A TrialEvaluator that records every trial point and what it answered."""

    def __init__(self, problem):
        self.problem = problem
        self.trials = []

    def value(self, x):
        value = self.problem.value(x)
        self.trials.append((x.copy(), value, None))
        return value

    def value_and_gradient(self, x):
        value, gradient = self.problem.value_and_gradient(x)
        self.trials.append((x.copy(), value, gradient))
        return value, gradient


@attrs.frozen
class _RecordingSearch(Search):
    """StrongWolfe, recording the point, value and gradient it was handed."""

    inner: Search = attrs.field(factory=StrongWolfe)
    seen: list = attrs.field(factory=list, eq=False)

    def search(self, evaluator, *, x, value, gradient, direction, initial_step):
        self.seen.append((x.copy(), value, gradient.copy()))
        return self.inner.search(
            evaluator,
            x=x,
            value=value,
            gradient=gradient,
            direction=direction,
            initial_step=initial_step,
        )


@pytest.mark.parametrize("after", [(), (ClipByNorm(0.5),)])
def test_line_search_in_a_chain_sees_true_gradients(after):
    """With transforms only after it, a line search is handed the true gradient at
    x, consistent with the true values and gradients it gets at trial points."""
    problem = Rosenbrock()
    search = _RecordingSearch()
    rule = Chain((), LineSearchRule(LBFGSDirection(), search), after=after)
    evaluator = _RecordingEvaluator(problem)
    x = problem.start
    state = rule.init(x)
    for _ in range(15):
        value, gradient = problem.value_and_gradient(x)
        delta, state = rule.update(
            gradient, state, x=x, value=value, evaluator=evaluator
        )
        if after:
            assert np.linalg.norm(delta) <= 0.5 * (1 + 1e-12)
        x = x + delta
    assert len(search.seen) >= 15
    for point, value, gradient in search.seen:
        assert value == problem.value(point)
        np.testing.assert_array_equal(gradient, problem.gradient(point))
    assert evaluator.trials
    for point, value, gradient in evaluator.trials:
        assert value == problem.value(point)
        if gradient is not None:
            np.testing.assert_array_equal(gradient, problem.gradient(point))
    assert problem.value(x) < problem.value(problem.start)


def test_newton_cg_refuses_a_constraint_by_name():
    """Newton-CG's products and steps leave a set: refused, the run kept."""
    from optim import Bounds, OptimizationError, Optimizer
    from optim.problems import Rosenbrock

    with pytest.raises(
        OptimizationError, match="NewtonCG does not support a constraint"
    ):
        Optimizer(Rosenbrock(), step_rule=NewtonCG(), constraint=Bounds(-2.0, 0.5)).run(
            [-1.2, 1.0]
        )


NUMPY_ONLY_RULES = (NewtonCG, TrustNCG)
"""Rules that refuse another array library's point (one line, naming it)."""


@pytest.mark.parametrize("rule", ALL_RULES)
def test_rule_gives_numpy_iterates_on_array_api_strict(rule):
    xps = pytest.importorskip("array_api_strict")
    if isinstance(rule, NUMPY_ONLY_RULES):
        with pytest.raises(TypeError, match="computes in numpy only, got an array"):
            check_array_library(rule, xps.asarray)
        return
    check_array_library(rule, xps.asarray)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_rule_gives_numpy_iterates_on_jax(rule):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    if isinstance(rule, NUMPY_ONLY_RULES):
        return  # refused as on array-api-strict (tested above)
    # JAX reduces (sums, dot products) in another order than numpy: the values
    # differ in their last bits, which conjugate-gradient restarts amplify to
    # about 1e-12 of the iterates in a dozen steps.
    check_array_library(rule, jax.numpy.asarray, rtol=1e-11)

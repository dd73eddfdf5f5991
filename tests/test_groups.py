"""Per-leaf rules (Groups) and decay masks on structured parameters."""

import jax
import numpy as np
import pytest

from optim import Adam, AdamW, FixedStep, FunctionObjective, Optimizer
from optim.adaptive import LAMB
from optim.transforms import (
    AddDecayedWeights,
    Groups,
    chain,
    leaf_segments,
)

A = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -2.0], [1.0, 0.0, 3.0], [0.2, 0.7, -0.4]])
Y = np.array([1.0, -2.0, 0.5, 3.0])
START = {"w": np.array([0.5, -0.3, 0.8]), "b": np.array([0.2, -0.1, 0.4, 1.0])}


def loss(p):
    r = A @ p["w"] + p["b"] - Y
    return 0.5 * float(r @ r)


def grad(p):
    r = A @ p["w"] + p["b"] - Y
    return {"w": A.T @ r, "b": r}


OBJECTIVE = FunctionObjective(loss, gradient=grad)


def label(path):
    return "sgd" if path == ("b",) else "adam"


def decays(path):
    return path != ("b",)


def by_hand(steps, *, lr_adam=0.01, lr_sgd=0.05, wd=0.1, decoupled=False):
    w, b = START["w"].copy(), START["b"].copy()
    m, v = np.zeros(3), np.zeros(3)
    for t in range(1, steps + 1):
        g = grad({"w": w, "b": b})
        gw = g["w"] if decoupled else g["w"] + wd * w
        m = 0.9 * m + 0.1 * gw
        v = 0.999 * v + 0.001 * gw**2
        step = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if decoupled:
            step = step + wd * w
        w, b = w - lr_adam * step, b - lr_sgd * g["b"]
    return w, b


def test_leaf_segments_follow_the_flat_order():
    assert leaf_segments(START, label) == (("adam", 3), ("sgd", 4))
    nested = {"layer": [{"w": np.zeros((2, 2)), "b": np.zeros(2)}], "scale": 1.0}
    paths = []
    leaf_segments(nested, lambda path: paths.append(path) or True)
    assert paths == [("layer", 0, "w"), ("layer", 0, "b"), ("scale",)]


def test_adam_and_fixed_step_with_coupled_decay_masked_off_the_bias():
    """The acceptance run: Adam on w, FixedStep on b, L2 decay on w only."""
    rule = chain(
        AddDecayedWeights(0.1, mask=leaf_segments(START, decays)),
        Groups(
            {"adam": Adam(0.01), "sgd": FixedStep(0.05)},
            segments=leaf_segments(START, label),
        ),
    )
    result = Optimizer(OBJECTIVE, step_rule=rule, max_steps=100).run(START)
    w, b = by_hand(100)
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-12)
    np.testing.assert_allclose(result.params["b"], b, rtol=1e-12)


def test_decoupled_decay_masked_by_a_group():
    rule = Groups(
        {"adam": AdamW(0.01, weight_decay=0.1), "sgd": FixedStep(0.05)},
        segments=leaf_segments(START, label),
    )
    result = Optimizer(OBJECTIVE, step_rule=rule, max_steps=100).run(START)
    w, b = by_hand(100, decoupled=True)
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-12)
    np.testing.assert_allclose(result.params["b"], b, rtol=1e-12)


def test_matches_optax_multi_transform_and_masked_decay():
    optax = pytest.importorskip("optax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    transform = optax.chain(
        optax.masked(optax.add_decayed_weights(0.1), {"w": True, "b": False}),
        optax.multi_transform(
            {"adam": optax.lamb(0.01), "sgd": optax.sgd(0.05, momentum=0.5)},
            {"w": "adam", "b": "sgd"},
        ),
    )
    params = {k: jnp.asarray(v) for k, v in START.items()}
    state = transform.init(params)
    for _ in range(100):
        g = grad({k: np.asarray(v) for k, v in params.items()})
        updates, state = transform.update(
            {k: jnp.asarray(v) for k, v in g.items()}, state, params
        )
        params = optax.apply_updates(params, updates)
    from optim import Momentum

    rule = chain(
        AddDecayedWeights(0.1, mask=leaf_segments(START, decays)),
        Groups(
            {"adam": LAMB(0.01), "sgd": Momentum(0.05, beta=0.5)},
            segments=leaf_segments(START, label),
        ),
    )
    result = Optimizer(OBJECTIVE, step_rule=rule, max_steps=100).run(START)
    # LAMB's trust ratio feeds rounding back through the loss: 1e-10 here, while
    # the same LAMB on a fixed gradient sequence agrees to 1e-12 (test_parity)
    for key in ("w", "b"):
        np.testing.assert_allclose(
            result.params[key], np.asarray(params[key]), rtol=1e-10
        )


def test_groups_checkpoint_and_fingerprint(tmp_path):
    from optim import Checkpoint
    from optim.fingerprint import fingerprint

    def make(lr, callbacks=()):
        rule = Groups(
            {"adam": Adam(lr), "sgd": FixedStep(0.05)},
            segments=leaf_segments(START, label),
        )
        return Optimizer(OBJECTIVE, step_rule=rule, max_steps=12, callbacks=callbacks)

    full = make(0.01).run(START)
    path = tmp_path / "run.npz"
    run = make(0.01, [Checkpoint(path, every=1)]).start(START)
    for _ in range(5):
        run.step()
    resumed = make(0.01).start(path, like=START)
    while not resumed.done:
        resumed.step()
    np.testing.assert_array_equal(resumed.x, full.x)
    assert fingerprint(make(0.01)) != fingerprint(make(0.02))
    masked = AddDecayedWeights(0.1, mask=leaf_segments(START, decays))
    unmasked = AddDecayedWeights(0.1)
    assert fingerprint(Optimizer(OBJECTIVE, step_rule=chain(masked, Adam()))) != (
        fingerprint(Optimizer(OBJECTIVE, step_rule=chain(unmasked, Adam())))
    )


def test_groups_refuse_bad_configurations():
    segments = leaf_segments(START, label)
    with pytest.raises(ValueError, match=r"labels \['sgd'\] that have no rule"):
        Groups({"adam": Adam()}, segments=segments)
    with pytest.raises(ValueError, match="covers 7 coordinates but the point has 3"):
        Groups({"adam": Adam(), "sgd": Adam()}, segments=segments).init(np.zeros(3))
    with pytest.raises(TypeError, match="must be a StepRule"):
        Groups({"adam": "adam"}, segments=(("adam", 1),))
    with pytest.raises(TypeError, match="segment labels must be bool"):
        AddDecayedWeights(0.1, mask=segments)
    from optim import LBFGS

    with pytest.raises(ValueError, match="evaluates trial points"):
        Groups({"a": LBFGS()}, segments=(("a", 2),))


def test_groups_in_ascent_equal_descent_on_the_negated_objective():
    rule = Groups(
        {"adam": Adam(0.01), "sgd": FixedStep(0.05)},
        segments=leaf_segments(START, label),
    )
    down = Optimizer(OBJECTIVE, step_rule=rule, max_steps=30).run(START)
    negated = FunctionObjective(
        lambda p: -loss(p), gradient=lambda p: {k: -v for k, v in grad(p).items()}
    )
    up = Optimizer(negated, step_rule=rule, mode="ascent", max_steps=30).run(START)
    np.testing.assert_array_equal(down.x, up.x)

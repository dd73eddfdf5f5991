"""A loop the user owns: Optimizer.start, Run.step with minibatches, structures."""

import numpy as np
import pytest

from optim import (
    Adam,
    Checkpoint,
    FixedStep,
    FunctionObjective,
    Objective,
    Optimizer,
    Status,
    StopOnZeroGradient,
)
from optim.problems import Sphere

RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(64, 3))
TARGETS = np.tanh(FEATURES @ [1.0, -2.0, 0.5])[:, None] + 0.1 * RNG.normal(size=(64, 1))


def _forward(p, x):
    hidden = np.tanh(x @ p["w1"] + p["b1"])
    return hidden, hidden @ p["w2"] + p["b2"]


def _loss(p, x, y):
    return float(np.mean((_forward(p, x)[1] - y) ** 2))


def _gradient(p, x, y):
    hidden, output = _forward(p, x)
    d_out = 2.0 * (output - y) / len(x)
    d_hidden = (d_out @ p["w2"].T) * (1.0 - hidden**2)
    return {
        "w1": x.T @ d_hidden,
        "b1": d_hidden.sum(axis=0),
        "w2": hidden.T @ d_out,
        "b2": d_out.sum(axis=0),
    }


def _initial():
    rng = np.random.default_rng(1)
    return {
        "w1": 0.5 * rng.normal(size=(3, 4)),
        "b1": np.zeros(4),
        "w2": 0.5 * rng.normal(size=(4, 1)),
        "b2": np.zeros(1),
    }


def _batches(epochs=5, size=16):
    rng = np.random.default_rng(2)
    for _ in range(epochs):
        order = rng.permutation(len(FEATURES))
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            yield FEATURES[rows], TARGETS[rows]


def _hand_adam(params, rate=0.05, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam written out in numpy, on the same batches."""
    keys = list(params)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    for t, (x, y) in enumerate(_batches(), start=1):
        grad = _gradient(params, x, y)
        for k in keys:
            m[k] = beta1 * m[k] + (1 - beta1) * grad[k]
            v[k] = beta2 * v[k] + (1 - beta2) * grad[k] ** 2
            m_hat = m[k] / (1 - beta1**t)
            v_hat = v[k] / (1 - beta2**t)
            params[k] = params[k] - rate * m_hat / (np.sqrt(v_hat) + eps)
    return params


def test_two_layer_network_matches_hand_written_adam():
    """Dict of four arrays, Adam through Run.step(batch) for 5 epochs = numpy."""
    network = FunctionObjective(_loss, _gradient)
    run = Optimizer(
        network, step_rule=Adam(0.05), max_steps=10_000, rank_best=False
    ).start(_initial())

    for x, y in _batches():
        info = run.step(x, y)

    expected = _hand_adam(_initial())
    assert not run.done
    assert list(run.params) == ["w1", "b1", "w2", "b2"]
    for key, value in expected.items():
        assert run.params[key].shape == value.shape
        np.testing.assert_allclose(run.params[key], value, rtol=1e-12, atol=1e-12)
    assert set(info.params) == set(expected)
    assert run.result().status is Status.RUNNING
    assert run.result().steps == info.step


def test_run_step_equals_run_with_fixed_arguments():
    """Stepping by hand with fixed args is the same run as Optimizer.run(args=)."""

    def scaled(x, scale):
        return scale * float(x @ x)

    optimizer = Optimizer(scaled, step_rule=FixedStep(0.1), max_steps=20)
    whole = optimizer.run([3.0, 2.0], args=(0.5,))

    run = optimizer.start([3.0, 2.0])
    while not run.done:
        run.step(0.5)

    assert run.result() == whole
    np.testing.assert_array_equal(run.result().x, whole.x)


def test_stop_tests_and_budgets_end_the_run():
    """A run stepped by hand stops like a run: the tests fire, then step refuses."""
    run = Optimizer(
        Sphere(), step_rule=FixedStep(0.1), callbacks=[StopOnZeroGradient(1e-6)]
    ).start([3.0, 2.0])

    while not run.done:
        run.step()

    assert run.result().status is Status.CONVERGED
    with pytest.raises(RuntimeError, match="ended"):
        run.step()


def test_checkpoint_and_resume_a_run_stepped_by_hand(tmp_path):
    """A checkpointed Run resumes with Optimizer.start(state) bit for bit."""
    path = tmp_path / "run.npz"

    class Batched(Objective):
        def value(self, x, batch):
            return float(np.sum((x - batch) ** 2))

        def gradient(self, x, batch):
            return 2.0 * (x - batch)

    batches = np.random.default_rng(3).normal(size=(12, 2))
    optimizer = Optimizer(Batched(), step_rule=Adam(0.1), max_steps=100)
    straight = optimizer.start(np.zeros(2))
    for batch in batches:
        straight.step(batch)

    first = Optimizer(
        Batched(),
        step_rule=Adam(0.1),
        max_steps=100,
        callbacks=[Checkpoint(path, every=1)],
    ).start(np.zeros(2))
    for batch in batches[:5]:
        first.step(batch)
    from optim import load_checkpoint

    resumed = optimizer.start(load_checkpoint(path, optimizer))
    for batch in batches[5:]:
        resumed.step(batch)

    np.testing.assert_array_equal(resumed.x, straight.x)


def test_structured_run_hands_back_the_structure():
    """Optimizer.run on a dict: the objective, StepInfo and Result see the dict."""
    seen = []

    def loss(p):
        seen.append(type(p))
        return float(np.sum((p["w"] - 1.0) ** 2) + (p["b"] + 2.0) ** 2)

    def gradient(p):
        return {"w": 2.0 * (p["w"] - 1.0), "b": 2.0 * (p["b"] + 2.0)}

    recorded = []
    result = Optimizer(
        FunctionObjective(loss, gradient),
        step_rule=FixedStep(0.25),
        callbacks=[lambda info: recorded.append(info.params)],
        max_steps=50,
    ).run({"w": np.zeros((2, 2)), "b": 0.0})

    assert set(seen) == {dict}
    assert result.params["w"].shape == (2, 2)
    np.testing.assert_allclose(result.params["w"], 1.0, atol=1e-8)
    assert float(result.params["b"]) == pytest.approx(-2.0)
    assert recorded[0]["w"].shape == (2, 2)


def test_a_wrong_gradient_structure_names_the_leaf():
    """gradient() of another shape fails at x0, naming the path of the leaf."""
    objective = FunctionObjective(
        lambda p: float(np.sum(p["layer1"]["w"] ** 2)),
        lambda p: {"layer1": {"w": np.zeros(3)}},
    )

    with pytest.raises(ValueError, match=r"\['layer1'\]\['w'\] has shape \(3,\), "):
        Optimizer(objective, step_rule=FixedStep(0.1)).run(
            {"layer1": {"w": np.ones((3, 4))}}
        )


def test_rank_best_off_reports_the_latest_point():
    """rank_best=False: best_x is the latest point, whatever its value."""
    result = Optimizer(
        Sphere(), step_rule=FixedStep(1.0), max_steps=3, rank_best=False
    ).run([3.0, 2.0])

    np.testing.assert_array_equal(result.best_x, result.x)


def test_a_structured_run_resumes_from_its_checkpoint(tmp_path):
    """resume(path, like=x0) continues a dict run and gives the dict back."""
    path = tmp_path / "dict.npz"

    def loss(p):
        return float(np.sum((p["w"] - 1.0) ** 2) + 3 * (p["b"] + 2.0) ** 2)

    def gradient(p):
        return {"w": 2.0 * (p["w"] - 1.0), "b": 6.0 * (p["b"] + 2.0)}

    x0 = {"w": np.zeros((2, 2)), "b": 0.0}
    objective = FunctionObjective(loss, gradient)
    straight = Optimizer(objective, step_rule=Adam(0.1), max_steps=30).run(x0)
    Optimizer(
        objective, step_rule=Adam(0.1), max_steps=12, callbacks=[Checkpoint(path)]
    ).run(x0)

    resumed = Optimizer(objective, step_rule=Adam(0.1), max_steps=30).resume(
        path, like=x0
    )

    np.testing.assert_array_equal(resumed.x, straight.x)
    np.testing.assert_array_equal(resumed.params["w"], straight.params["w"])
    assert list(resumed.params) == ["w", "b"]

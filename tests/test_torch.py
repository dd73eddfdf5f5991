"""TorchObjective; rules and estimators on torch CPU tensors (skipped without torch)."""

import builtins

import numpy as np
import pytest

from optim import (
    LBFGS,
    Adam,
    AnalyticGradient,
    CentralDifference,
    Evaluator,
    Mode,
    StopOnZeroGradient,
)
from optim.errors import MissingExtraError
from optim.testing import check_array_library

torch = pytest.importorskip("torch")

from optim.torch import TorchObjective  # noqa: E402


def loss(w):
    return ((w - 1.0) ** 2).sum() + 0.1 * (w**4).sum() + w.prod()


POINT = np.array([0.5, -1.5, 2.0])


def test_value_and_gradient_are_autograd_on_the_tensor_device():
    x = torch.tensor(POINT)
    value, gradient = TorchObjective(loss).value_and_gradient(x)
    expected = torch.tensor(POINT, requires_grad=True)
    loss(expected).backward()
    assert isinstance(value, float)
    assert value == float(loss(x))
    assert isinstance(gradient, torch.Tensor)
    assert gradient.device == x.device
    assert gradient.dtype == torch.float64
    assert torch.equal(gradient, expected.grad)
    assert x.grad is None  # the caller's tensor untouched
    assert not x.requires_grad


def test_numpy_points_get_numpy_gradients():
    value, gradient = TorchObjective(loss).value_and_gradient(POINT)
    on_tensor = TorchObjective(loss).value_and_gradient(torch.tensor(POINT))
    assert type(gradient) is np.ndarray
    assert value == on_tensor[0]
    np.testing.assert_array_equal(gradient, on_tensor[1].numpy())


def test_values_of_a_stack_stay_tensors():
    stack = torch.tensor(np.stack([POINT, -POINT]))
    values = TorchObjective(loss).values(stack)
    assert isinstance(values, torch.Tensor)
    np.testing.assert_array_equal(
        values.numpy(), [float(loss(stack[0])), float(loss(stack[1]))]
    )


@pytest.mark.parametrize("estimator", [AnalyticGradient(), CentralDifference()])
def test_the_run_evaluator_keeps_tensors(estimator):
    x = torch.tensor(POINT)
    value, gradient, _ = Evaluator(
        TorchObjective(loss), estimator, Mode.ASCENT
    ).evaluate(x)
    assert isinstance(gradient, torch.Tensor)
    assert value == float(loss(x))


@pytest.mark.parametrize("rule", [Adam(0.05), LBFGS()], ids=["adam", "lbfgs"])
def test_rules_give_numpy_iterates_on_torch_tensors(rule):
    check_array_library(rule, torch.asarray)


def test_float32_tensors_stay_float32():
    x = torch.tensor(POINT, dtype=torch.float32)
    _, gradient = TorchObjective(loss).value_and_gradient(x)
    assert gradient.dtype == torch.float32


def test_without_torch_the_extra_is_named(monkeypatch):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(MissingExtraError, match=r"TorchObjective needs the optional"):
        TorchObjective(loss)


def test_a_host_run_with_a_torch_objective_converges():
    """Until the engine runs on tensors, a numpy start runs on the host."""
    from optim import Optimizer

    result = Optimizer(
        TorchObjective(loss), step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
    ).run(POINT)
    assert result.status.name == "CONVERGED"
    _, gradient = TorchObjective(loss).value_and_gradient(result.x)
    assert np.max(np.abs(gradient)) <= 1e-8


def test_the_example_of_the_gpu_page_runs():
    """docs/gpus.md's torch example is plain Python (the page's doctest needs no
    torch): it runs here, where torch is installed."""
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "gpus.md").read_text()
    block = page.split("<!-- torch-example -->")[1].split("<!-- /torch-example -->")[0]
    code = block.strip().removeprefix("```python").removesuffix("```")
    exec(compile(code, "docs/gpus.md", "exec"), {})


def test_a_structure_of_tensors_runs_in_torch():
    """A list of tensors (a model's weights and bias) stays a list of tensors."""
    from optim import FunctionObjective, Optimizer

    def fun(p):
        return float(((p[0] - 1.0) ** 2).sum() + 0.1 * (p[0] ** 4).sum() + p[1] ** 2)

    def grad(p):
        return [2.0 * (p[0] - 1.0) + 0.4 * p[0] ** 3, 2.0 * p[1]]

    def run(start):
        return Optimizer(
            FunctionObjective(fun, grad), step_rule=LBFGS(), max_steps=30
        ).run(start)

    theirs = run([torch.tensor([[0.5, -1.5], [2.0, 0.0]]), torch.tensor(3.0)])
    ours = run([np.array([[0.5, -1.5], [2.0, 0.0]], np.float32), np.float32(3.0)])
    weights, bias = theirs.params
    assert isinstance(weights, torch.Tensor)
    assert isinstance(bias, torch.Tensor)
    assert weights.dtype == torch.float32
    assert theirs.steps == ours.steps
    np.testing.assert_allclose(weights.numpy(), ours.params[0], rtol=1e-5, atol=1e-6)

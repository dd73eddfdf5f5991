"""Runs on an NVIDIA GPU: CUDA torch tensors and CuPy arrays (skipped without CUDA).

Issue "The same optimizer on any array library", acceptance 2: a CUDA `x0` either
runs, in float64 to 1e-10 of the numpy run and on its device, or is refused with
one line naming what is missing. The torch part skips without torch or without a
CUDA device, the CuPy part without cupy or without a device; the core suite needs
neither. Run it on a machine with an NVIDIA GPU: `pytest tests/test_gpu.py`.
"""

import numpy as np
import pytest

from optim import (
    LBFGS,
    Adam,
    Bounds,
    Checkpoint,
    History,
    Optimizer,
    StopOnZeroGradient,
)
from optim.backend import device, library, to_host
from optim.checkpoint import load_checkpoint
from optim.gradients import ComplexStep, Richardson
from optim.newton import NewtonCG, TrustNCG
from optim.testing import ARRAY_API_PROBLEM

START = (1.0, -2.0, 0.5, 1.5)
RULES = [
    pytest.param(Adam(0.05), None, id="adam"),
    pytest.param(LBFGS(), None, id="lbfgs"),
    pytest.param(LBFGS(), Bounds(-0.5, 1.2), id="lbfgs-bounds"),
]


def _cuda_torch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA device here")
    return lambda a, dtype=None: torch.asarray(
        np.asarray(a, dtype=dtype or np.float64), device="cuda"
    )


def _cupy():
    cupy = pytest.importorskip("cupy")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no driver, no runtime: cupy raises its own kinds
        count = 0
    if not count:
        pytest.skip("cupy has no CUDA device here")
    return lambda a, dtype=None: cupy.asarray(np.asarray(a, dtype=dtype or np.float64))


@pytest.fixture(params=["torch", "cupy"])
def on_gpu(request):
    """Turns a numpy array (or a tuple) into an array of that library on the GPU."""
    return _cuda_torch() if request.param == "torch" else _cupy()


def _optimizer(rule, constraint, steps=40, callbacks=()):
    extra = {} if constraint is None else {"constraint": constraint}
    return Optimizer(
        ARRAY_API_PROBLEM,
        step_rule=rule,
        max_steps=steps,
        callbacks=[StopOnZeroGradient(1e-9), *callbacks],
        **extra,
    )


@pytest.mark.parametrize(("rule", "constraint"), RULES)
def test_a_gpu_run_is_the_numpy_run_and_stays_on_its_device(rule, constraint, on_gpu):
    x0 = on_gpu(START)
    history = History()
    theirs = _optimizer(rule, constraint, callbacks=[history]).run(x0)
    ours = _optimizer(rule, constraint).run(np.asarray(START))
    for array in (theirs.x, theirs.best_x):
        assert library(array) == library(x0)
        assert device(array) == device(x0)
    assert (theirs.status, theirs.steps) == (ours.status, ours.steps)
    assert theirs.evaluations == ours.evaluations
    np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=1e-10, atol=1e-10)
    assert theirs.value == pytest.approx(ours.value, rel=1e-10, abs=1e-12)
    assert type(history.x) is np.ndarray  # the record keeps host copies
    np.testing.assert_array_equal(history.x[-1], to_host(theirs.x))


def test_a_float32_gpu_run_keeps_its_dtype(on_gpu):
    x0 = on_gpu(START, np.float32)
    result = _optimizer(Adam(0.05), None).run(x0)
    assert result.x.dtype == x0.dtype
    assert device(result.x) == device(x0)
    ours = _optimizer(Adam(0.05), None).run(np.asarray(START, dtype=np.float32))
    np.testing.assert_allclose(to_host(result.x), ours.x, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(("rule", "constraint"), RULES)
def test_a_resumed_gpu_run_returns_to_its_device(rule, constraint, on_gpu, tmp_path):
    x0 = on_gpu(START)
    whole = _optimizer(rule, constraint)
    uninterrupted = [to_host(info.x) for info in whole.iterate(x0)]
    path = tmp_path / "run.npz"
    _optimizer(rule, constraint, steps=15, callbacks=[Checkpoint(path)]).run(x0)
    state = load_checkpoint(path, whole, like=x0)
    assert device(state.x) == device(x0)
    resumed = list(whole.resume_from(state))
    assert [info.step for info in resumed] == list(range(16, len(uninterrupted)))
    for info in resumed:
        assert library(info.x) == library(x0)
        assert device(info.x) == device(x0)
        np.testing.assert_allclose(
            to_host(info.x), uninterrupted[info.step], rtol=1e-12, atol=1e-12
        )


def test_a_torch_objective_computes_its_gradient_on_the_gpu():
    """Autograd on CUDA tensors, against the same objective run from numpy."""
    torch = pytest.importorskip("torch")
    on_cuda = _cuda_torch()
    from optim.torch import TorchObjective

    objective = TorchObjective(
        lambda w: ((w - 1.0) ** 2).sum() + 0.1 * (w**4).sum() + w.sum() ** 2
    )

    def run(x0):
        return Optimizer(objective, step_rule=Adam(0.05), max_steps=60).run(x0)

    theirs, ours = run(on_cuda(START)), run(np.asarray(START))
    assert isinstance(theirs.x, torch.Tensor)
    assert theirs.x.is_cuda
    assert theirs.steps == ours.steps
    np.testing.assert_allclose(to_host(theirs.x), ours.x, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("part", "options"),
    [
        ("NewtonCG", {"step_rule": NewtonCG()}),
        ("TrustNCG", {"step_rule": TrustNCG()}),
        ("Richardson", {"step_rule": LBFGS(), "estimator": Richardson()}),
        ("ComplexStep", {"step_rule": LBFGS(), "estimator": ComplexStep()}),
    ],
)
def test_what_cannot_run_on_the_gpu_is_refused_in_one_line(part, options, on_gpu):
    x0 = on_gpu(START)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the message is the test
        Optimizer(ARRAY_API_PROBLEM, max_steps=5, **options).run(x0)
    message = str(caught.value)
    assert "\n" not in message
    assert part in message
    assert library(x0) in message
    for raw in ("can't convert", "Implicit conversion"):  # numpy's own errors
        assert raw not in message

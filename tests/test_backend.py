"""The array-namespace seam (optim.backend) and the numpy-only boundary of a run."""

import builtins
import subprocess
import sys

import array_api_strict as xps
import numpy as np
import pytest

import optim
from optim import Adam, FunctionObjective, Optimizer, backend
from optim.errors import MissingExtraError
from optim.problems import Sphere

REFUSAL = (
    r"x0 is an array of {} on device {}, but this version of optim computes in numpy"
)


def _without_compat(monkeypatch):
    real_import = builtins.__import__

    def no_compat(name, *args, **kwargs):
        if name == "array_api_compat" or name.startswith("array_api_compat."):
            raise ImportError("No module named 'array_api_compat'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_compat)


def test_numpy_is_its_own_namespace_without_array_api_compat():
    """A numpy-only user imports nothing new: the fast path never loads compat."""
    code = (
        "import sys, numpy as np\n"
        "sys.modules['array_api_compat'] = None\n"  # importing it would fail
        "import optim\n"
        "from optim import backend\n"
        "assert backend.namespace(np.zeros(2)) is np\n"
        "assert backend.namespace(np.float64(1.0)) is np\n"
        "assert backend.device(np.zeros(2)) == 'cpu'\n"
        "assert not backend.is_foreign([1.0, 2.0])\n"
        "result = optim.Optimizer(optim.problems.Sphere(), step_rule=optim.Adam(0.1),"
        " max_steps=3).run([1.0, 2.0])\n"
        "print(result.x.dtype)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import optim.problems\n" + code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "float64"


def test_namespace_of_another_library_needs_the_extra(monkeypatch):
    _without_compat(monkeypatch)
    with pytest.raises(ImportError) as info:
        backend.namespace(xps.zeros(2))
    expected = MissingExtraError("arrays", "an array that is not numpy's")
    assert str(info.value) == str(expected)


def test_foreign_arrays_are_recognized_without_the_extra(monkeypatch):
    _without_compat(monkeypatch)
    assert backend.is_foreign(xps.zeros(2))
    assert not backend.is_foreign(np.zeros(2))
    with pytest.raises(TypeError, match="x0 is an array of array_api_strict"):
        backend.refuse_foreign(xps.zeros(2))


def test_host_round_trip_keeps_library_device_and_dtype():
    x = xps.asarray([1.0, -2.5], dtype=xps.float32)
    host = backend.to_host(x)
    assert type(host) is np.ndarray
    assert host.dtype == np.float32
    np.testing.assert_array_equal(host, [1.0, -2.5])
    back = backend.from_host(host, like=x)
    assert backend.library(back) == "array_api_strict"
    assert back.device == x.device
    assert back.dtype == xps.float32
    assert backend.scalar(xps.sum(back)) == -1.5


def test_from_host_for_numpy_does_not_copy():
    a = np.zeros(3)
    assert backend.from_host(a, like=np.ones(1)) is a
    assert backend.to_host(a) is a


def _never_called(x):
    raise AssertionError("the objective must not be evaluated")


def test_the_scipy_face_refuses_another_library_in_one_line():
    """scipy converts to numpy; its face says so instead of copying every call."""
    with pytest.raises(
        TypeError, match=REFUSAL.format("array_api_strict", "CPU_DEVICE")
    ) as info:
        optim.minimize(_never_called, xps.zeros(2))
    assert "\n" not in str(info.value)
    assert "numpy.asarray(x0)" in str(info.value)


def test_an_array_api_strict_start_runs_in_its_library():
    result = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=5).run(
        xps.asarray([1.0, -2.0])
    )
    assert backend.library(result.x) == "array_api_strict"
    host = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=5).run([1.0, -2.0])
    np.testing.assert_array_equal(backend.to_host(result.x), host.x)


def test_a_jax_start_runs_in_jax_not_silently_converted():
    """A JAX x0 stays JAX: the run computes in JAX, with no host copy per step."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    result = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=5).run(
        jax.numpy.asarray([1.0, -2.0])
    )
    assert backend.library(result.x) == "jax"
    host = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=5).run([1.0, -2.0])
    np.testing.assert_allclose(backend.to_host(result.x), host.x, rtol=1e-14)


def test_a_torch_start_runs_on_its_device():
    torch = pytest.importorskip("torch")
    objective = FunctionObjective(lambda x: (x * x).sum(), lambda x: 2.0 * x)
    x0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    result = Optimizer(objective, step_rule=Adam(0.1), max_steps=5).run(x0)
    assert type(result.x) is torch.Tensor
    assert result.x.device == x0.device
    host = Optimizer(objective, step_rule=Adam(0.1), max_steps=5).run([1.0, -2.0])
    np.testing.assert_allclose(result.x.numpy(), host.x, rtol=1e-14)
    np.testing.assert_array_equal(x0.numpy(), [1.0, -2.0])  # not modified


def test_structured_leaves_of_two_libraries_are_refused_by_the_path():
    objective = FunctionObjective(lambda params: 0.0)
    with pytest.raises(
        TypeError, match=r"x0\['b'\] is an array of numpy, but x0\['w'\] is of "
    ):
        Optimizer(objective, step_rule=Adam(0.1)).run(
            {"w": xps.zeros(2), "b": np.zeros(1)}
        )


def test_numpy_host_copy_runs_like_the_numpy_start():
    """The advice of the message works: the host copy runs as numpy does."""
    x0 = xps.asarray([1.0, -2.0])
    optimizer = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=5)
    from_host = optimizer.run(backend.to_host(x0))
    direct = optimizer.run(np.array([1.0, -2.0]))
    np.testing.assert_array_equal(from_host.x, direct.x)


def test_host_copies_share_no_memory_and_are_writeable():
    """What crosses to the host is a copy the engine may reuse as a buffer."""
    x = xps.asarray([1.0, 2.0])
    host = backend.to_host(x)
    assert host.flags.writeable
    host[0] = 5.0
    np.testing.assert_array_equal(backend.to_host(x), [1.0, 2.0])
    torch = pytest.importorskip("torch")
    tensor = torch.tensor([1.0, 2.0], dtype=torch.float64)
    on_host = backend.to_host(tensor)
    on_host[0] = 5.0
    assert tensor[0].item() == 1.0


_PAIRS = [
    (np.array([1.0, 2.0]), np.array([1.0, 2.0])),
    (np.array([1.0, np.nan]), np.array([1.0, np.nan])),
    (np.array([0.0, -0.0]), np.array([-0.0, 0.0])),
    (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 2e-16])),
    (np.array([1.0, 2.0]), np.array([[1.0, 2.0]])),
    (np.array(3.0), np.array(3.0)),
    (np.array(3.0), np.array(np.inf)),
    (np.zeros(0), np.zeros(0)),
    (np.arange(6.0).reshape(2, 3)[:, ::2], np.array([[0.0, 2.0], [3.0, 5.0]])),
]


@pytest.mark.parametrize(("a", "b"), _PAIRS)
def test_array_equal_is_numpy_s(a, b):
    """The numpy fast path answers as numpy.array_equal (NaN equals nothing)."""
    assert backend.array_equal(a, b) is np.array_equal(a, b)
    assert backend.array_equal(b, a) is np.array_equal(b, a)


@pytest.mark.parametrize(
    "x",
    [
        np.zeros(3),
        np.array([0.0, -0.0]),
        np.array([0.0, 5e-324]),
        np.array([0.0, np.nan]),
        np.array(0.0),
        np.array(-1.0),
        np.zeros(0),
        np.eye(2)[:, 1],
    ],
)
def test_any_true_is_numpy_s(x):
    """Whether any entry is nonzero, as `any()` says (NaN is nonzero)."""
    assert backend.any_true(x) is bool(x.any())

"""Bounds, Ball and Simplex on array-api-strict arrays: numpy's points, x's library."""

import array_api_strict as xps
import numpy as np
import pytest

from optim import Ball, Bounds, Simplex
from optim.backend import device, library, to_host

SETS = {
    "bounds": Bounds(0.1, [0.7, 0.9, 1.3]),
    "half-open bounds": Bounds(-np.inf, 0.3),
    "ball": Ball(0.1, 0.7),
    "tiny ball": Ball([0.1, 0.2, 0.3], 1e-3),
    "simplex": Simplex(),
    "simplex of 2.5": Simplex(2.5),
}

DTYPES = [(np.float64, xps.float64), (np.float32, xps.float32), (np.int64, xps.int64)]


def _points(dtype):
    rng = np.random.default_rng(7)
    for scale in (1e-3, 1.0, 1e3):
        yield (rng.standard_normal(3) * scale).astype(dtype)
    yield np.array([0.2, 0.3, 0.5]).astype(dtype)  # inside the simplex


@pytest.mark.parametrize("dtypes", DTYPES, ids=["float64", "float32", "int64"])
@pytest.mark.parametrize("name", SETS)
def test_projection_matches_numpy_and_stays_in_the_library(name, dtypes):
    constraint = SETS[name]
    host_dtype, strict_dtype = dtypes
    for point in _points(host_dtype):
        x = xps.asarray(point, dtype=strict_dtype)
        projected = constraint.project(x)
        expected = constraint.project(point)

        assert library(projected) == "array_api_strict"
        assert device(projected) == device(x)
        assert to_host(projected).dtype == expected.dtype
        # float32 within a few ulps: numpy 1.x computes some float32 expressions
        # in float64 (value-based casting) where the array API stays in float32.
        tight = host_dtype is not np.float32
        rtol = 1e-12 if tight else 4 * float(np.finfo(np.float32).eps)
        np.testing.assert_allclose(to_host(projected), expected, rtol=rtol, atol=0)
        assert constraint.contains(x) == constraint.contains(point)
        assert constraint.contains(projected)


def test_projection_leaves_the_input_alone():
    x = xps.asarray([2.0, -1.0, 0.5])
    for constraint in SETS.values():
        constraint.project(x)
    np.testing.assert_array_equal(to_host(x), [2.0, -1.0, 0.5])


def test_float32_bounds_round_inward_as_on_numpy():
    """A float64 bound cast to float32 may round outward; both paths move it in."""
    box = Bounds(0.1, 0.7)
    point = np.array([-1.0, 2.0], dtype=np.float32)
    projected = to_host(box.project(xps.asarray(point)))
    np.testing.assert_array_equal(projected, box.project(point))
    assert np.all(projected >= 0.1)
    assert np.all(projected <= 0.7)


def test_projected_gradient_on_strict_arrays():
    box = Bounds(0.0, 1.0)
    x, gradient = np.array([0.0, 0.5]), np.array([5.0, -1.0])
    strict = box.projected_gradient(xps.asarray(x), xps.asarray(gradient))
    np.testing.assert_array_equal(to_host(strict), box.projected_gradient(x, gradient))


@pytest.mark.parametrize("name", SETS)
def test_projection_of_a_torch_tensor_is_a_torch_tensor(name):
    torch = pytest.importorskip("torch")
    constraint = SETS[name]
    for point in _points(np.float64):
        projected = constraint.project(torch.asarray(point))
        assert isinstance(projected, torch.Tensor)
        np.testing.assert_allclose(
            projected.numpy(), constraint.project(point), rtol=1e-12, atol=0
        )

"""The gradient estimators called directly on array-api-strict (and torch) arrays."""

import array_api_strict as xps
import numpy as np
import pytest

from optim import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    FunctionObjective,
    Objective,
    Richardson,
)
from optim.backend import device, library, namespace, to_host

POINT = np.array([[0.3, -1.2], [2.0, 0.7]])

ESTIMATORS = {
    "forward": ForwardDifference(),
    "backward": BackwardDifference(),
    "central": CentralDifference(),
    "central, given step": CentralDifference(step=1e-4),
    "forward, per-coordinate step": ForwardDifference(step=np.full((2, 2), 1e-6)),
}


NEP50 = int(np.__version__.split(".")[0]) >= 2
"""numpy 2 keeps float32 arithmetic with Python floats in float32, as the array
API does (NEP 50); numpy 1.x promotes by value."""


class Cubic(Objective):
    """sum(x**3) + sum(x)**2 in the array API of whatever arrays it is given.

    Powers are written as products, correctly rounded in every library: the
    array API's `**` is numpy's `power` with an array exponent, which numpy 1.x
    computes on AVX-512 with a SIMD `pow` that may round the last bit otherwise
    than numpy's own `a**2` (a square), and an ulp of f is 1e5 ulps of a
    difference quotient, so the comparisons of bits below would compare the
    libraries' `pow` kernels, not the estimators.
    """

    def value(self, x):
        xp = namespace(x)
        total = xp.sum(x)
        return float(xp.sum(x * x * x) + total * total)

    def values(self, xs):
        xp = namespace(xs)
        axes = tuple(range(1, xs.ndim))
        totals = xp.sum(xs, axis=axes)
        return xp.sum(xs * xs * xs, axis=axes) + totals * totals


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_differences_compute_in_the_point_library_with_numpy_bits(name, dtype):
    estimator = ESTIMATORS[name]
    x = xps.asarray(POINT, dtype=getattr(xps, dtype))
    on_host = to_host(x)

    gradient, error = estimator.estimate_with_error(Cubic(), x)
    value, gradient_too, _ = estimator.value_and_estimate(Cubic(), x)
    expected, expected_error = estimator.estimate_with_error(Cubic(), on_host)

    for array in (gradient, error, gradient_too):
        assert library(array) == "array_api_strict"
        assert device(array) == device(x)
        assert array.dtype == x.dtype
    if dtype == "float64" or NEP50:
        np.testing.assert_array_equal(to_host(gradient), expected)
        np.testing.assert_array_equal(to_host(error), expected_error)
        np.testing.assert_array_equal(to_host(gradient_too), expected)
        assert value == Cubic().value(on_host)
    else:
        # numpy 1.x computes float32 expressions with Python floats in float64
        # (value-based casting) where the array API stays in float32: the values
        # differ in their last bits, which a difference quotient magnifies. The
        # two estimates then agree within their error bounds.
        gap = np.abs(to_host(gradient) - expected)
        assert np.all(gap <= np.minimum(to_host(error), expected_error))
        np.testing.assert_allclose(to_host(error), expected_error, rtol=1e-3)
        assert value == pytest.approx(Cubic().value(on_host), rel=1e-6)


def test_differences_agree_with_the_closed_form():
    x = xps.asarray(POINT)
    exact = 3 * POINT**2 + 2 * POINT.sum()
    gradient = to_host(CentralDifference().estimate(Cubic(), x))
    np.testing.assert_allclose(gradient, exact, rtol=1e-9)


def test_analytic_gradient_keeps_the_library():
    objective = FunctionObjective(lambda x: float(xps.sum(x**2)), lambda x: 2.0 * x)
    x = xps.asarray([1.0, -2.0])
    gradient = AnalyticGradient().estimate(objective, x)
    value, gradient_too, _ = AnalyticGradient().value_and_estimate(objective, x)
    assert library(gradient) == "array_api_strict"
    np.testing.assert_array_equal(to_host(gradient), [2.0, -4.0])
    assert value == 5.0
    np.testing.assert_array_equal(to_host(gradient_too), [2.0, -4.0])


@pytest.mark.parametrize("estimator", [Richardson(), ComplexStep()], ids=type)
def test_numpy_only_estimators_refuse_in_one_line(estimator):
    with pytest.raises(
        TypeError, match="computes in numpy only, got an array of array_api_strict"
    ) as info:
        estimator.estimate(Cubic(), xps.asarray([1.0, 2.0]))
    assert "\n" not in str(info.value)


SPSAS = {
    "one sample": SPSA(rng=0),
    "five samples": SPSA(samples=5, rng=1),
    "chunks of one": SPSA(samples=7, rng=2, max_batch_bytes=64),
    "given step": SPSA(samples=3, rng=3, step=1e-3),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", SPSAS)
def test_spsa_draws_on_the_host_and_gives_numpy_bits(name, dtype):
    """The signs come from the run's numpy stream: the same draws, the same bits."""
    estimator = SPSAS[name]
    x = xps.asarray(POINT, dtype=getattr(xps, dtype))
    stream, host_stream = np.random.default_rng(9), np.random.default_rng(9)
    gradient, error = estimator.estimate_with_error(Cubic(), x, rng=stream)
    expected, expected_error = estimator.estimate_with_error(
        Cubic(), to_host(x), rng=host_stream
    )
    assert stream.bit_generator.state == host_stream.bit_generator.state
    assert library(gradient) == "array_api_strict"
    assert gradient.dtype == x.dtype
    assert (error is None) == (expected_error is None)
    if dtype == "float64" or NEP50:
        np.testing.assert_array_equal(to_host(gradient), expected)
        if error is not None:
            np.testing.assert_array_equal(to_host(error), expected_error)
    else:  # numpy 1.x: float32 values differ in their last bits (see above)
        np.testing.assert_allclose(to_host(gradient), expected, rtol=1e-2)


def test_a_box_needs_a_numpy_point():
    with pytest.raises(TypeError, match="bounds: finite differences in a box"):
        CentralDifference().estimate(
            Cubic(), xps.asarray([1.0, 2.0]), bounds=(np.zeros(2), np.ones(2) * 3)
        )


def test_torch_tensor_gradient_is_a_torch_tensor():
    torch = pytest.importorskip("torch")
    x = torch.asarray(POINT)
    gradient = CentralDifference().estimate(Cubic(), x)
    assert isinstance(gradient, torch.Tensor)
    # torch sums in another order than numpy: the values differ by rounding,
    # which the difference quotient divides by its step (about 6e-6).
    np.testing.assert_allclose(
        gradient.numpy(), CentralDifference().estimate(Cubic(), POINT), rtol=1e-8
    )

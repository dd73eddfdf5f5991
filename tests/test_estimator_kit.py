"""The estimator conformance kit: built-ins pass, broken estimators fail by name."""

import math

import attrs
import numpy as np
import pytest

from optim import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    GradientEstimator,
    Richardson,
)
from optim.testing import (
    check_deterministic,
    check_error_estimate,
    check_estimator,
    check_exact_on_polynomials,
    check_gradient_shapes,
    check_paths_agree,
    check_step_validation,
    check_unbiased,
    default_order,
)

BUILT_INS = [
    pytest.param(AnalyticGradient(), id="analytic"),
    pytest.param(ForwardDifference(), id="forward"),
    pytest.param(ForwardDifference(step=1e-5, noise=1e-12), id="forward-1e-5"),
    pytest.param(BackwardDifference(), id="backward"),
    pytest.param(CentralDifference(), id="central"),
    pytest.param(ComplexStep(), id="complex-step"),
    pytest.param(Richardson(), id="richardson"),
    pytest.param(Richardson(order=4, levels=6), id="richardson-4"),
    pytest.param(Richardson(order=8), id="richardson-8"),
    pytest.param(SPSA(rng=0), id="spsa"),
    pytest.param(SPSA(samples=30, rng=1, batch_size=7), id="spsa-30"),
]
"""Every built-in estimator; every new one MUST be added here."""


@pytest.mark.parametrize("estimator", BUILT_INS)
def test_built_in_estimators_pass(estimator):
    """Every built-in passes every check that applies to it."""
    ran = check_estimator(estimator)

    assert ran[:5] == [
        "check_x_unchanged",
        "check_deterministic",
        "check_gradient_shapes",
        "check_exact_on_polynomials",
        "check_paths_agree",
    ]
    assert ("check_step_validation" in ran) == hasattr(estimator, "step")
    assert ("check_unbiased" in ran) == isinstance(estimator, SPSA)


def test_every_built_in_is_listed():
    """BUILT_INS covers every concrete estimator class optim exports."""
    import optim

    exported = {
        value
        for value in vars(optim).values()
        if isinstance(value, type)
        and issubclass(value, GradientEstimator)
        and value is not GradientEstimator
    }

    assert exported <= {type(p.values[0]) for p in BUILT_INS}


def test_orders_of_the_built_ins():
    """The default orders are the schemes' orders of exactness."""
    orders = [
        default_order(e)
        for e in (
            ForwardDifference(),
            BackwardDifference(),
            CentralDifference(),
            ComplexStep(),
            SPSA(rng=0),
            Richardson(order=4),
        )
    ]

    assert orders == [1, 1, 2, 2, 2, 4]


@pytest.mark.parametrize(
    ("estimator", "order"),
    [
        pytest.param(ForwardDifference(), 2, id="forward"),
        pytest.param(BackwardDifference(), 2, id="backward"),
        pytest.param(CentralDifference(), 3, id="central"),
        pytest.param(ComplexStep(), 3, id="complex-step"),
        pytest.param(SPSA(rng=0), 3, id="spsa"),
    ],
)
def test_exactness_stops_at_the_order(estimator, order):
    """One degree above its order, a fixed-step scheme is no longer exact."""
    with pytest.raises(AssertionError, match=r"^exactness: .*degree"):
        check_exact_on_polynomials(estimator, order)


def _forward(objective, x, h):
    x = np.asarray(x, dtype=np.float64)
    points = x.reshape(1, -1) + h * np.eye(x.size)
    values = objective.values(points.reshape(x.size, *x.shape))
    return ((values - objective.value(x)) / h).reshape(x.shape)


class OnlyEstimate(GradientEstimator):
    """A user's estimator: only `estimate`, no fields."""

    def estimate(self, objective, x):
        return _forward(objective, x, 2.0**-20)


def test_a_plain_user_estimator_gets_the_basic_checks():
    """No step, no batching, no error estimate: the five basic checks run."""
    ran = check_estimator(OnlyEstimate())

    assert ran == [
        "check_x_unchanged",
        "check_deterministic",
        "check_gradient_shapes",
        "check_exact_on_polynomials",
        "check_paths_agree",
    ]


def test_the_inapplicable_checks_refuse_with_type_error():
    """Step validation needs a step field; unbiasedness a random estimator."""
    with pytest.raises(TypeError, match="no step field"):
        check_step_validation(OnlyEstimate())
    with pytest.raises(TypeError, match="not random"):
        check_unbiased(CentralDifference())


# Deliberately broken estimators -----------------------------------------------------


class WrongSign(GradientEstimator):
    def estimate(self, objective, x):
        return -_forward(objective, x, 2.0**-20)


class MutatesX(GradientEstimator):
    def estimate(self, objective, x):
        if x.dtype == np.float64:
            np.clip(x, -1.0, 1.0, out=x)  # "sanitizes" the caller's array
        return _forward(objective, x, 2.0**-20)


class Flattens(GradientEstimator):
    def estimate(self, objective, x):
        return _forward(objective, x, 2.0**-20).reshape(-1)


class SinglePrecision(GradientEstimator):
    def estimate(self, objective, x):
        return _forward(objective, x, 2.0**-20).astype(np.float32)


class Unseeded(GradientEstimator):
    def estimate(self, objective, x):
        h = np.random.default_rng().uniform(1e-6, 2e-6)
        return _forward(objective, x, h)


@attrs.frozen
class BatchDependent(GradientEstimator):
    """Its step depends on its batch size."""

    batch_size: int | None = None

    def estimate(self, objective, x):
        return _forward(objective, x, 2.0**-20 * (self.batch_size or 2))


class PathsDisagree(GradientEstimator):
    """`estimate_with_error` uses another step than `estimate`."""

    def estimate(self, objective, x):
        return _forward(objective, x, 2.0**-20)

    def estimate_with_error(self, objective, x, *, rng=None, bounds=None):
        return _forward(objective, x, 2.0**-21), np.full(np.shape(x), 1e-3)


class ErrorTooSmall(GradientEstimator):
    def estimate(self, objective, x):
        return _forward(objective, x, 2.0**-20)

    def estimate_with_error(self, objective, x, *, rng=None, bounds=None):
        g = self.estimate(objective, x)
        return g, 1e-20 * np.abs(g)


@attrs.frozen
class AcceptsZeroStep(GradientEstimator):
    step: float = 1e-6

    def estimate(self, objective, x):
        return _forward(objective, x, self.step)


def _positive(instance, attribute, value):
    if not (isinstance(value, float) and 0.0 < value < math.inf):
        raise ValueError(f"must be a finite float > 0, got {value!r}")


@attrs.frozen
class UnnamedStepError(GradientEstimator):
    step: float = attrs.field(default=1e-6, validator=_positive)

    def estimate(self, objective, x):
        return _forward(objective, x, self.step)


class Lopsided(GradientEstimator):
    """A 'central' difference whose backward point is only half a step away."""

    def estimate(self, objective, x):
        x = np.asarray(x, dtype=np.float64)
        h = 2.0**-10
        return (
            _forward(objective, x, h) * h + _forward(objective, x, -h / 2) * h / 2
        ) / (1.5 * h)


@attrs.frozen
class BiasedSPSA(GradientEstimator):
    """SPSA whose signs are +1 four times out of five."""

    seed: int = 0

    def random_stream(self):
        return np.random.default_rng(self.seed)

    def estimate(self, objective, x):
        return self.estimate_with_error(objective, x)[0]

    def estimate_with_error(self, objective, x, *, rng=None, bounds=None):
        rng = self.random_stream() if rng is None else rng
        x = np.asarray(x, dtype=np.float64)
        signs = np.where(rng.uniform(size=x.shape) < 0.8, 1.0, -1.0)
        h = 1e-4 * signs
        difference = objective.value(x + h) - objective.value(x - h)
        return difference / (2.0 * h), None


BROKEN = [
    pytest.param(WrongSign(), "exactness", id="wrong-sign"),
    pytest.param(MutatesX(), "x unchanged", id="mutates-x"),
    pytest.param(Flattens(), "shape and dtype", id="wrong-shape"),
    pytest.param(SinglePrecision(), "shape and dtype", id="float32"),
    pytest.param(Unseeded(), "determinism", id="unseeded"),
    pytest.param(BatchDependent(), "path agreement", id="batch-dependent"),
    pytest.param(PathsDisagree(), "path agreement", id="paths-disagree"),
    pytest.param(ErrorTooSmall(), "error estimate", id="error-too-small"),
    pytest.param(AcceptsZeroStep(), "step validation", id="accepts-step-0"),
    pytest.param(UnnamedStepError(), "step validation", id="unnamed-step-error"),
    pytest.param(BiasedSPSA(), "unbiasedness", id="biased"),
]


@pytest.mark.parametrize(("estimator", "prop"), BROKEN)
def test_broken_estimators_fail_naming_the_property(estimator, prop):
    """check_estimator fails at the broken property, naming it and the estimator."""
    with pytest.raises(AssertionError, match=f"^{prop}: {type(estimator).__name__}"):
        check_estimator(estimator)


def test_a_scheme_not_exact_on_its_claimed_order_fails():
    """Exact on lines but claimed exact on parabolas: the exactness check fails."""
    check_estimator(Lopsided(), order=1)

    with pytest.raises(AssertionError, match=r"^exactness: .*degree 2"):
        check_estimator(Lopsided(), order=2)


def test_the_parts_fail_alone():
    """Each part names its property when called on its own."""
    with pytest.raises(AssertionError, match=r"^determinism"):
        check_deterministic(Unseeded())
    with pytest.raises(AssertionError, match=r"^shape and dtype"):
        check_gradient_shapes(Flattens())
    with pytest.raises(AssertionError, match=r"^path agreement.*batch_size"):
        check_paths_agree(BatchDependent())
    with pytest.raises(AssertionError, match=r"^error estimate.*covers 0%"):
        check_error_estimate(ErrorTooSmall())


def test_spsa_error_needs_enough_samples():
    """SPSA's standard error from few samples can vanish: the check says so.

    With seed 0 the first two sign vectors are opposite, which give the same
    estimate, so the sample spread (the error estimate) is zero.
    """
    with pytest.raises(AssertionError, match=r"^error estimate"):
        check_error_estimate(SPSA(samples=2, rng=0))

    assert check_error_estimate(SPSA(samples=30, rng=0)) >= 0.9

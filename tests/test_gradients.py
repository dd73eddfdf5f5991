import concurrent.futures
import math
import pickle

import attrs
import numpy as np
import pytest

from optim import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    GradientEstimator,
    Objective,
    Optimizer,
    Richardson,
    Status,
    StopOnZeroGradient,
)
from optim.evaluator import _Counted
from optim.problems import Sphere

N = 5
_RNG = np.random.default_rng(20261128)
_A = _RNG.standard_normal((N, N))
_A = _A @ _A.T + N * np.eye(N)
_B = _RNG.standard_normal(N)
POINTS = _RNG.uniform(-2.0, 2.0, size=(8, N))


def quadratic(x):
    return 0.5 * x @ _A @ x + _B @ x


def quadratic_gradient(x):
    return _A @ x + _B


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def exp_trig(x):
    return np.sum(np.exp(0.5 * x) * np.sin(x)) + np.cos(x[0] * x[1])


def exp_trig_gradient(x):
    g = np.exp(0.5 * x) * (0.5 * np.sin(x) + np.cos(x))
    g[0] -= np.sin(x[0] * x[1]) * x[1]
    g[1] -= np.sin(x[0] * x[1]) * x[0]
    return g


FUNCTIONS = [
    pytest.param(quadratic, quadratic_gradient, id="quadratic"),
    pytest.param(rosenbrock, rosenbrock_gradient, id="rosenbrock"),
    pytest.param(exp_trig, exp_trig_gradient, id="exp-trig"),
]

ACCURACY = [
    pytest.param(CentralDifference(), 1e-8, id="central"),
    pytest.param(ForwardDifference(), 1e-6, id="forward"),
    pytest.param(BackwardDifference(), 1e-6, id="backward"),
    pytest.param(Richardson(), 1e-11, id="richardson"),
    pytest.param(Richardson(order=4), 1e-10, id="richardson-4"),
    pytest.param(Richardson(order=8), 1e-11, id="richardson-8"),
    pytest.param(ComplexStep(), 1e-14, id="complex-step"),
]


def relative_error(estimate, exact):
    return np.max(np.abs(estimate - exact)) / np.max(np.abs(exact))


@pytest.mark.parametrize(("fun", "grad"), FUNCTIONS)
@pytest.mark.parametrize(("estimator", "tolerance"), ACCURACY)
def test_accuracy_at_random_points(fun, grad, estimator, tolerance):
    """Each estimator meets its relative-error target at seeded random points."""
    objective = FunctionObjective(fun)

    errors = [relative_error(estimator.estimate(objective, x), grad(x)) for x in POINTS]

    assert max(errors) <= tolerance


@pytest.mark.parametrize(("fun", "grad"), FUNCTIONS)
@pytest.mark.parametrize("order", [4, 6, 8])
def test_richardson_error_estimate_bounds_true_error(fun, grad, order):
    """Richardson's per-coordinate error estimate bounds the true error."""
    objective = FunctionObjective(fun)

    for x in POINTS:
        estimate, error = Richardson(order=order).estimate_with_error(objective, x)

        assert error is not None
        assert error.shape == x.shape
        assert np.all(np.abs(estimate - grad(x)) <= error)


def test_richardson_error_estimate_is_tight_enough():
    """The default Richardson error estimate is small on a smooth function."""
    x = POINTS[0]

    _, error = Richardson().estimate_with_error(FunctionObjective(exp_trig), x)

    assert np.max(error) / np.max(np.abs(exp_trig_gradient(x))) < 1e-9


def test_richardson_extrapolates_a_polynomial_exactly():
    """Order 4 cancels the h^2 term, so a cubic's derivative is exact up to rounding."""
    objective = FunctionObjective(lambda x: x[0] ** 5)

    estimate = Richardson(step=0.5, order=6).estimate(objective, np.array([1.0]))

    assert estimate[0] == pytest.approx(5.0, rel=1e-13)


def test_central_difference_absolute_step_is_the_textbook_formula():
    """CentralDifference(step=1e-4) is (f(x+h e_i) - f(x-h e_i)) / (2h), bit for bit."""
    h = 1e-4
    x = POINTS[1]
    expected = np.empty(N)
    for i in range(N):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        expected[i] = (exp_trig(up) - exp_trig(down)) / (2 * h)

    estimate = CentralDifference(step=h).estimate(FunctionObjective(exp_trig), x)

    np.testing.assert_array_equal(estimate, expected)


def test_per_coordinate_steps_are_used_as_given():
    """An array step gives each coordinate its own absolute step."""
    steps = np.array([1e-3, 1e-4, 1e-5, 1e-2, 1e-6])
    x = POINTS[2]
    expected = np.empty(N)
    for i in range(N):
        up, down = x.copy(), x.copy()
        up[i] += steps[i]
        down[i] -= steps[i]
        expected[i] = (rosenbrock(up) - rosenbrock(down)) / (2 * steps[i])

    estimate = CentralDifference(step=steps).estimate(FunctionObjective(rosenbrock), x)

    np.testing.assert_array_equal(estimate, expected)


def test_forward_and_backward_mirror_each_other():
    """Backward differences at x equal forward differences of f(-x), negated."""
    x = POINTS[3]
    step = np.full(N, 1e-5)

    forward = ForwardDifference(step=step).estimate(
        FunctionObjective(lambda y: exp_trig(-y)), -x
    )
    backward = BackwardDifference(step=step).estimate(FunctionObjective(exp_trig), x)

    np.testing.assert_array_equal(backward, -forward)


def test_automatic_step_rule_is_the_documented_one():
    """step=None uses eps**(1/2) * max(1, |x_i|), rounded so x + h is exact."""
    x = np.array([0.1, -3.0, 250.0])
    raw = np.finfo(float).eps ** 0.5 * np.maximum(1.0, np.abs(x))
    h = (x + raw) - x
    expected = np.array(
        [
            (quadratic_3(x + h[i] * np.eye(3)[i]) - quadratic_3(x)) / h[i]
            for i in range(3)
        ]
    )

    estimate = ForwardDifference().estimate(FunctionObjective(quadratic_3), x)

    np.testing.assert_array_equal(estimate, expected)


def quadratic_3(x):
    return x[0] ** 2 + 3.0 * x[1] ** 2 + 0.5 * x[2] ** 2


def test_matrix_shaped_points_and_steps():
    """Points and per-coordinate steps may have any shape; the gradient follows it."""
    x = np.arange(6.0).reshape(2, 3)
    steps = np.full((2, 3), 1e-3)

    estimate = CentralDifference(step=steps).estimate(Sphere(), x)

    np.testing.assert_allclose(estimate, 2 * x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "step", [0.0, -1e-3, math.nan, math.inf, [1e-3, 0.0], [[]], True, "1e-3"]
)
def test_invalid_steps_are_refused(step):
    """A step that is not a positive finite number (or array of them) is an error."""
    with pytest.raises((TypeError, ValueError), match="step"):
        CentralDifference(step=step)


def test_step_shape_must_match_x():
    """A per-coordinate step with the wrong shape names the problem."""
    estimator = CentralDifference(step=np.full(3, 1e-4))

    with pytest.raises(ValueError, match="step has shape"):
        estimator.estimate(Sphere(), np.zeros(4))


def test_step_array_is_a_private_read_only_copy():
    """The estimator copies an array step, so the caller's array stays theirs."""
    steps = np.full(2, 1e-3)
    estimator = CentralDifference(step=steps)
    steps[0] = 99.0

    assert estimator.step[0] == 1e-3
    assert not estimator.step.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_batch_bytes": 0}, "max_batch_bytes"),
        ({"batch_size": 0}, "batch_size"),
        ({"executor": "pool"}, "executor"),
    ],
)
@pytest.mark.parametrize(
    "cls",
    [
        CentralDifference,
        ForwardDifference,
        BackwardDifference,
        ComplexStep,
        Richardson,
        SPSA,
    ],
)
def test_invalid_batch_settings_are_refused(cls, kwargs, field):
    """Batch and executor settings are validated, and errors name the field."""
    with pytest.raises((TypeError, ValueError), match=field):
        cls(**kwargs)


@pytest.mark.parametrize("order", [2, 5, 0, -4])
def test_richardson_order_must_be_even_and_at_least_four(order):
    """Richardson's order is validated."""
    with pytest.raises(ValueError, match="order"):
        Richardson(order=order)


@pytest.mark.parametrize(
    "cls", [CentralDifference, ForwardDifference, BackwardDifference]
)
@pytest.mark.parametrize("noise", [-1e-6, math.inf, math.nan, "1e-6"])
def test_invalid_noise_is_refused(cls, noise):
    """The noise level must be a finite number >= 0 (or None)."""
    with pytest.raises((TypeError, ValueError), match="noise"):
        cls(noise=noise)


@pytest.mark.parametrize(
    "cls", [CentralDifference, ForwardDifference, BackwardDifference]
)
def test_noise_changes_the_error_not_the_gradient(cls):
    """`noise` adds noise / h-sized terms to the error; the gradient is the same."""
    objective = FunctionObjective(exp_trig)
    x = POINTS[3]

    plain = cls().estimate_with_error(objective, x)
    noisy = cls(noise=1e-6).estimate_with_error(objective, x)

    np.testing.assert_array_equal(plain[0], noisy[0])
    assert np.all(noisy[1] > plain[1] + 1e-6 / 1e-3)
    assert cls(noise=1e-6) != cls()
    assert cls(noise=1e-6) == cls(noise=1e-6)
    assert repr(cls(noise=1e-6)).startswith(f"{cls.__name__}(step=None, noise=1e-06, ")


def test_spsa_samples_validated():
    """SPSA needs at least one sample."""
    with pytest.raises(ValueError, match="samples"):
        SPSA(samples=0)


def test_estimators_are_frozen_comparable_and_evolvable():
    """Estimators are frozen attrs records with a readable repr."""
    a = CentralDifference(step=np.array([1e-3, 1e-4]))
    b = CentralDifference(step=np.array([1e-3, 1e-4]))

    assert a == b
    assert a != CentralDifference(step=1e-3)
    assert attrs.evolve(a, step=None) == CentralDifference()
    assert "Richardson(step=None, order=6" in repr(Richardson())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.step = None


# --- evaluation counts -------------------------------------------------------

COUNTS = [
    pytest.param(
        CentralDifference(), lambda n: 2 * n, lambda n: 2 * n + 1, id="central"
    ),
    pytest.param(ForwardDifference(), lambda n: n + 1, lambda n: n + 1, id="forward"),
    pytest.param(BackwardDifference(), lambda n: n + 1, lambda n: n + 1, id="backward"),
    pytest.param(ComplexStep(), lambda n: n, lambda n: n + 1, id="complex-step"),
    pytest.param(Richardson(), lambda n: 26 * n, lambda n: 26 * n + 1, id="richardson"),
    pytest.param(
        Richardson(order=4, levels=5),
        lambda n: 10 * n,
        lambda n: 10 * n + 1,
        id="richardson-4",
    ),
    pytest.param(SPSA(samples=3, rng=0), lambda n: 6, lambda n: 7, id="spsa-3"),
]


@pytest.mark.parametrize(("estimator", "per_gradient", "per_step"), COUNTS)
def test_evaluation_counts_match_the_docstrings(estimator, per_gradient, per_step):
    """Counts per gradient and per optimizer step are what each docstring states."""
    n = 4
    objective = FunctionObjective(lambda x: np.sum(x**2) + x[0] * x[1])
    counted = _Counted(objective)

    estimator.estimate(counted, np.ones(n))
    result = Optimizer(
        objective, step_rule=FixedStep(0.01), estimator=estimator, max_steps=3
    ).run(np.ones(n))

    assert counted.evaluations == per_gradient(n)
    assert result.evaluations == 4 * per_step(n)
    assert result.gradient_evaluations == 0


def test_counts_with_chunks_and_vectorized_objective():
    """Chunking changes the number of calls, never the number of evaluations."""
    calls = []

    def fun(xs):
        if xs.ndim == 2:  # a batch, not the value at the iterate
            calls.append(len(xs))
        return np.sum(xs**2, axis=-1)

    objective = FunctionObjective(fun, vectorized=True)
    estimator = CentralDifference(max_batch_bytes=3 * 8 * 10)

    result = Optimizer(
        objective, step_rule=FixedStep(0.1), estimator=estimator, max_steps=1
    ).run(np.ones(10))

    assert result.evaluations == 2 * (2 * 10 + 1)
    assert max(calls) == 3
    assert sum(calls) == result.evaluations - 2


# --- same result on every evaluation path ------------------------------------


def smooth(x):
    return np.sum(np.sin(x) * x**2 + np.exp(0.1 * x), axis=-1)


DETERMINISTIC = [
    pytest.param(CentralDifference(), id="central"),
    pytest.param(CentralDifference(step=1e-4), id="central-textbook"),
    pytest.param(ForwardDifference(), id="forward"),
    pytest.param(BackwardDifference(), id="backward"),
    pytest.param(Richardson(), id="richardson"),
]


@pytest.mark.parametrize("estimator", DETERMINISTIC)
def test_sequential_vectorized_chunked_threads_agree_bit_for_bit(estimator):
    """The gradient does not depend on how the points are evaluated."""
    x = np.linspace(-1.0, 2.0, 7)
    sequential = FunctionObjective(smooth)
    vectorized = FunctionObjective(smooth, vectorized=True)
    reference = estimator.estimate(sequential, x)

    results = [
        estimator.estimate(vectorized, x),
        attrs.evolve(estimator, max_batch_bytes=1).estimate(vectorized, x),
        attrs.evolve(estimator, batch_size=3).estimate(vectorized, x),
    ]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results.append(attrs.evolve(estimator, executor=pool).estimate(vectorized, x))

    for result in results:
        np.testing.assert_array_equal(result, reference)


@pytest.mark.parametrize(
    "estimator",
    [*DETERMINISTIC, pytest.param(ComplexStep(), id="complex-step")],
)
def test_error_estimates_agree_bit_for_bit_on_every_path(estimator):
    """The error estimate does not depend on how the points are evaluated either."""
    x = np.linspace(-1.0, 2.0, 7)
    _, reference = estimator.estimate_with_error(FunctionObjective(smooth), x)
    vectorized = FunctionObjective(smooth, vectorized=True)
    variants = [
        estimator,
        attrs.evolve(estimator, max_batch_bytes=1),
        attrs.evolve(estimator, batch_size=3),
    ]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        variants.append(attrs.evolve(estimator, executor=pool))
        errors = [v.estimate_with_error(vectorized, x)[1] for v in variants]

    for error in errors:
        np.testing.assert_array_equal(error, reference)


def test_complex_step_paths_agree_bit_for_bit():
    """ComplexStep gives the same bits sequentially, vectorized and chunked."""
    x = np.linspace(-1.0, 2.0, 7)
    reference = ComplexStep().estimate(FunctionObjective(smooth), x)
    vectorized = FunctionObjective(smooth, vectorized=True)

    np.testing.assert_array_equal(ComplexStep().estimate(vectorized, x), reference)
    np.testing.assert_array_equal(
        ComplexStep(max_batch_bytes=1).estimate(vectorized, x), reference
    )


def test_spsa_is_reproducible_and_independent_of_batching():
    """A seeded SPSA gives the same estimate whatever the batching."""
    x = np.linspace(-1.0, 2.0, 7)
    objective = FunctionObjective(smooth, vectorized=True)

    a = SPSA(samples=5, rng=1).estimate(objective, x)
    b = SPSA(samples=5, rng=1, batch_size=1).estimate(FunctionObjective(smooth), x)

    np.testing.assert_array_equal(a, b)


def test_batches_respect_the_memory_bound_at_n_10000():
    """At n = 10,000 no batch exceeds max_batch_bytes (never the 2n x n matrix)."""
    n = 10_000
    largest = []

    def fun(xs):
        largest.append(xs.nbytes)
        return np.sum(xs, axis=-1)

    estimator = ForwardDifference(step=1.0, max_batch_bytes=4 * 2**20)

    gradient = estimator.estimate(FunctionObjective(fun, vectorized=True), np.zeros(n))

    assert max(largest) <= 4 * 2**20
    assert len(largest) > 1
    np.testing.assert_array_equal(gradient, np.ones(n))


def test_one_point_is_built_even_if_it_exceeds_the_bound():
    """A bound smaller than one point still evaluates one point at a time."""
    sizes = []

    def fun(xs):
        sizes.append(len(xs))
        return np.sum(xs**2, axis=-1)

    CentralDifference(max_batch_bytes=1).estimate(
        FunctionObjective(fun, vectorized=True), np.ones(3)
    )

    assert sizes == [1] * 6


# --- complex step specifics --------------------------------------------------


def test_complex_step_refuses_functions_that_drop_the_imaginary_part():
    """A function that is not complex-analytic gets a clear TypeError."""
    with pytest.raises(TypeError, match="imaginary part"):
        ComplexStep().estimate(FunctionObjective(lambda x: abs(x[0])), np.ones(2))
    with pytest.raises(TypeError, match="imaginary part"):
        ComplexStep().estimate(
            FunctionObjective(lambda xs: np.abs(xs[:, 0]), vectorized=True), np.ones(2)
        )


def test_complex_step_with_a_subclassed_objective():
    """The default Objective.values keeps complex values for complex points."""

    class Cubic(Objective):
        def value(self, x):
            return np.sum(x**3)

    gradient = ComplexStep().estimate(Cubic(), np.array([1.0, -2.0]))

    np.testing.assert_array_equal(gradient, [3.0, 12.0])


def test_real_path_still_refuses_complex_values():
    """Outside the complex-step path a complex objective value is an error."""
    objective = FunctionObjective(lambda x: complex(x[0], 1.0))

    with pytest.raises(TypeError, match="real"):
        objective.value(np.ones(1))
    with pytest.raises(TypeError, match="real"):
        CentralDifference().estimate(_Counted(objective), np.ones(1))


def test_estimators_never_modify_x():
    """Estimators leave the caller's point untouched."""
    x = POINTS[4].copy()
    before = x.copy()

    for estimator in [
        CentralDifference(),
        ForwardDifference(),
        BackwardDifference(),
        ComplexStep(),
        Richardson(),
        SPSA(rng=0),
    ]:
        estimator.estimate(FunctionObjective(exp_trig), x)

    np.testing.assert_array_equal(x, before)


# --- SPSA ---------------------------------------------------------------------


def test_spsa_in_one_dimension_is_central_difference():
    """With n = 1 the random sign cancels and SPSA is the central difference."""
    objective = FunctionObjective(lambda x: np.exp(x[0]))
    x = np.array([0.3])

    np.testing.assert_allclose(
        SPSA(samples=2, rng=3, step=1e-5).estimate(objective, x),
        CentralDifference(step=1e-5).estimate(objective, x),
        rtol=1e-15,
    )


def test_spsa_error_estimate_is_the_standard_error():
    """SPSA's error is std/sqrt(k) over samples, and None for a single sample."""
    objective = FunctionObjective(quadratic)
    x = POINTS[5]

    single = SPSA(samples=1, rng=0).estimate_with_error(objective, x)
    many, error = SPSA(samples=400, rng=0).estimate_with_error(objective, x)

    assert single[1] is None
    assert np.all(np.abs(many - quadratic_gradient(x)) <= 5 * error)


def test_spsa_is_stateless_configuration():
    """Outside a run, SPSA repeats itself; a run's stream gives fresh draws."""
    spsa = SPSA(rng=0)
    objective = FunctionObjective(quadratic)
    stream = spsa.random_stream()

    first = spsa.estimate(objective, POINTS[0])
    again = spsa.estimate(objective, POINTS[0])
    drawn = spsa.estimate(objective, POINTS[0], rng=stream)
    next_draw = spsa.estimate(objective, POINTS[0], rng=stream)

    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, drawn)  # the same seed, the same draw
    assert not np.array_equal(drawn, next_draw)


def test_spsa_refuses_a_generator():
    """A Generator would carry state between runs: a seed is required."""
    with pytest.raises(TypeError, match="rng must be an integer seed"):
        SPSA(rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        SPSA(rng=-1)


def test_unseeded_spsa_repeats_itself():
    """rng=None draws entropy once, when the estimator is made."""
    spsa = SPSA()
    objective = FunctionObjective(quadratic)

    assert isinstance(spsa.rng, int)
    np.testing.assert_array_equal(
        spsa.estimate(objective, POINTS[0]), spsa.estimate(objective, POINTS[0])
    )


# --- optimizer integration ---------------------------------------------------


class _NoisyEstimate(GradientEstimator):
    """Central differences that report a fixed error estimate."""

    def __init__(self, error):
        self.error = error

    def estimate(self, objective, x):
        return CentralDifference().estimate(objective, x)

    def estimate_with_error(self, objective, x):
        return self.estimate(objective, x), np.full(x.shape, self.error)


def test_a_small_gradient_with_a_large_error_is_confirmed_independently():
    """An error estimate above tol proves nothing; an independent estimate decides.

    At the sphere's minimum the claim is confirmed by Richardson extrapolation
    (the estimator's own second step cannot tell: its error is fixed at 1e-3).
    """
    optimizer = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=_NoisyEstimate(1e-3),
        callbacks=[StopOnZeroGradient(1e-6)],
    )

    result = optimizer.run(np.zeros(2))

    assert result.status is Status.CONVERGED
    assert "confirmed by Richardson" in result.message
    assert result.evaluations > 4  # the confirmation is counted


def test_a_random_estimate_that_cannot_tell_is_a_noise_floor():
    """SPSA at a point whose gradient it cannot resolve: NOISE_FLOOR, no success."""
    from optim import SPSA

    optimizer = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=SPSA(rng=3, step=1e-1),
        callbacks=[StopOnZeroGradient(1e-6)],
        max_steps=50,
    )

    result = optimizer.run(np.array([1e-7, -1e-7]))

    assert not result.success or np.linalg.norm(2.0 * result.x) <= 2e-6
    assert result.status is not Status.MAX_STEPS


def test_zero_gradient_with_small_error_converges():
    """With an error estimate below tol the usual CONVERGED status is kept."""
    optimizer = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=_NoisyEstimate(1e-9),
        callbacks=[StopOnZeroGradient(1e-6)],
    )

    result = optimizer.run(np.zeros(2))

    assert result.status is Status.CONVERGED


def test_richardson_error_reaches_callbacks():
    """The optimizer passes the estimator's error norm to callbacks."""
    seen = []
    optimizer = Optimizer(
        FunctionObjective(exp_trig),
        step_rule=FixedStep(0.01),
        estimator=Richardson(),
        callbacks=[lambda info: seen.append(info.gradient_error)],
        max_steps=2,
    )

    optimizer.run(POINTS[0])

    assert len(seen) == 3
    assert all(0.0 < error < 1e-8 for error in seen)


@pytest.mark.parametrize(
    "estimator",
    [CentralDifference(), ForwardDifference(), BackwardDifference(), ComplexStep()],
)
def test_difference_errors_reach_callbacks(estimator):
    """The difference estimators' error norms reach callbacks, at no extra cost."""
    seen = []
    objective = FunctionObjective(exp_trig)
    counted = _Counted(objective)
    estimator.value_and_estimate(counted, POINTS[0])

    result = Optimizer(
        objective,
        step_rule=FixedStep(0.01),
        estimator=estimator,
        callbacks=[lambda info: seen.append(info.gradient_error)],
        max_steps=2,
    ).run(POINTS[0])

    assert len(seen) == 3
    assert all(0.0 < error < 1e-5 for error in seen)
    assert result.evaluations == 3 * counted.evaluations


def test_central_difference_converges_on_a_quadratic_bowl():
    """The textbook's central differences still report CONVERGED at the minimum."""
    errors = []
    result = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=CentralDifference(step=1e-4),
        callbacks=[
            lambda info: errors.append(info.gradient_error),
            StopOnZeroGradient(1e-8),
        ],
        max_steps=200,
    ).run(np.array([3.0, 2.0]))

    assert result.status is Status.CONVERGED
    assert 0.0 < errors[-1] < 1e-12


def test_richardson_drives_an_optimizer_to_the_minimum():
    """An optimizer using Richardson converges on a quadratic."""
    result = Optimizer(
        FunctionObjective(quadratic),
        step_rule=FixedStep(0.05),
        estimator=Richardson(),
        callbacks=[StopOnZeroGradient(1e-6)],
        max_steps=2000,
    ).run(np.zeros(N))

    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, np.linalg.solve(_A, -_B), atol=1e-6)


def test_analytic_gradient_is_unchanged():
    """AnalyticGradient still returns the objective's gradient."""
    np.testing.assert_array_equal(
        AnalyticGradient().estimate(Sphere(), np.array([1.0, 2.0])), [2.0, 4.0]
    )


# --- map_values hook -----------------------------------------------------------


def test_counted_map_values_checks_shapes():
    """The optimizer's wrapper refuses map_values results with the wrong shape."""

    class Bad(Objective):
        def value(self, x):
            return 0.0

        def map_values(self, batches, executor=None):
            return [np.zeros(len(b) + 1) for b in batches]

    with pytest.raises(ValueError, match="shape"):
        _Counted(Bad()).map_values([np.zeros((2, 3))])


def test_counted_map_values_counts_each_point():
    """_Counted counts every point it forwards, batch by batch."""
    counted = _Counted(Sphere())

    values = counted.map_values([np.ones((2, 3)), np.ones((4, 3))])

    assert counted.evaluations == 6
    np.testing.assert_array_equal(values[1], [3.0] * 4)


def test_sphere_is_picklable():
    """The reference objective used with process pools pickles."""
    assert pickle.loads(pickle.dumps(Sphere())) == Sphere()


# --- process pool -------------------------------------------------------------


@pytest.fixture(scope="module")
def process_pool():
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        yield pool


PARALLEL = [
    *DETERMINISTIC,
    pytest.param(SPSA(samples=4, rng=7), id="spsa"),
]


@pytest.mark.parametrize("estimator", PARALLEL)
def test_process_pool_gives_the_same_bits(estimator, process_pool):
    """Evaluating in a process pool gives exactly the sequential gradient."""
    x = np.linspace(-1.0, 2.0, 9)
    here = attrs.evolve(estimator)
    there = attrs.evolve(estimator, executor=process_pool)
    if isinstance(estimator, SPSA):
        here = attrs.evolve(estimator, rng=7)
        there = attrs.evolve(estimator, rng=7, executor=process_pool)

    np.testing.assert_array_equal(
        there.estimate(Sphere(), x), here.estimate(Sphere(), x)
    )


def test_process_pool_counts_in_the_optimizer(process_pool):
    """Points evaluated on workers are counted in the optimizer's result."""
    run = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=CentralDifference(executor=process_pool, batch_size=2),
        max_steps=2,
    ).run(np.ones(3))
    local = Optimizer(
        Sphere(), step_rule=FixedStep(0.1), estimator=CentralDifference(), max_steps=2
    ).run(np.ones(3))

    assert run.evaluations == local.evaluations == 3 * (2 * 3 + 1)
    np.testing.assert_array_equal(run.x, local.x)


def test_unpicklable_objective_gets_a_clear_error(process_pool):
    """A lambda sent to a process pool fails at once, naming the objective."""
    objective = FunctionObjective(lambda x: float(np.sum(x**2)))
    counted = _Counted(objective)

    with pytest.raises(TypeError, match=r"FunctionObjective.*cannot be sent") as info:
        CentralDifference(executor=process_pool).estimate(counted, np.ones(2))

    assert "ProcessPoolExecutor" in str(info.value)


# --- sendability is checked once ---------------------------------------------


class _InlineExecutor(concurrent.futures.Executor):
    """Runs tasks here, but is not a thread pool: objectives are checked for it."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


@attrs.frozen
class _PickleCounter(Objective):
    """A sphere that counts how often it is pickled (in a shared list)."""

    calls: list = attrs.field(eq=False)

    def value(self, x):
        return float(np.sum(x**2))

    def __reduce__(self):
        self.calls.append(1)
        return (_PickleCounter, ([],))


def test_sendability_is_checked_once_per_run():
    """A 20-step run with a process-like executor pickles the objective once."""
    calls = []
    executor = _InlineExecutor()
    objective = _PickleCounter(calls)
    optimizer = Optimizer(
        objective,
        step_rule=FixedStep(0.1),
        estimator=CentralDifference(executor=executor),
        max_steps=20,
    )
    result = optimizer.run(np.ones(3))

    assert result.steps == 20
    assert len(calls) == 1


def test_sendability_is_checked_again_for_another_executor():
    """The memo is per (objective, executor) pair and forgets dead executors."""
    calls = []
    objective = _PickleCounter(calls)
    for _ in range(3):
        CentralDifference(executor=_InlineExecutor()).estimate(objective, np.ones(2))
    executor = _InlineExecutor()
    for _ in range(3):
        CentralDifference(executor=executor).estimate(objective, np.ones(2))

    assert len(calls) == 4

import numpy as np
import pytest
from scipy.optimize import approx_fprime, rosen, rosen_der

from optim.problems import (
    Beale,
    Booth,
    Himmelblau,
    LogisticRegression,
    Quadratic,
    Rastrigin,
    Rosenbrock,
    Sphere,
    StyblinskiTang,
)
from optim.registry import PROBLEMS, get_problem

_RNG_DATA = np.random.default_rng(0)
_FEATURES = _RNG_DATA.normal(size=(30, 3))
_LABELS = (_FEATURES @ [1.0, -2.0, 0.5] + _RNG_DATA.normal(size=30) > 0).astype(int)

ALL_PROBLEMS = [
    pytest.param(Sphere(), id="sphere"),
    pytest.param(Sphere(dimension=5), id="sphere-5"),
    pytest.param(Quadratic(dimension=6, condition_number=1e3), id="quadratic"),
    pytest.param(
        Quadratic(dimension=6, condition_number=1e3, rotation_seed=3),
        id="quadratic-rotated",
    ),
    pytest.param(Rosenbrock(), id="rosenbrock"),
    pytest.param(Rosenbrock(dimension=6), id="rosenbrock-extended"),
    pytest.param(Rosenbrock(dimension=5, chained=True), id="rosenbrock-chained"),
    pytest.param(Beale(), id="beale"),
    pytest.param(Booth(), id="booth"),
    pytest.param(Himmelblau(), id="himmelblau"),
    pytest.param(Rastrigin(dimension=3), id="rastrigin"),
    pytest.param(StyblinskiTang(dimension=3), id="styblinski-tang"),
    pytest.param(LogisticRegression(_FEATURES, _LABELS, l2=0.1), id="logistic"),
    pytest.param(
        LogisticRegression(_FEATURES, _LABELS, l2=0.0, fit_intercept=False),
        id="logistic-no-intercept",
    ),
]


def _points(problem, rng, count=4):
    start = problem.start
    return start + rng.normal(scale=0.7, size=(count, start.size))


@pytest.mark.parametrize("problem", ALL_PROBLEMS)
def test_gradient_matches_central_differences(problem):
    """The analytic gradient agrees with scipy's finite differences at random points."""
    rng = np.random.default_rng(1)
    for x in _points(problem, rng):
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        numeric = np.array(
            [
                (problem.value(x + h[i] * e) - problem.value(x - h[i] * e)) / (2 * h[i])
                for i, e in enumerate(np.eye(x.size))
            ]
        )
        np.testing.assert_allclose(problem.gradient(x), numeric, rtol=1e-6, atol=1e-6)
        forward = approx_fprime(x, problem.value, 1e-7)
        np.testing.assert_allclose(problem.gradient(x), forward, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("problem", ALL_PROBLEMS)
def test_values_is_vectorized_value(problem):
    """values() on a stack equals value() point by point, and never mutates input."""
    xs = _points(problem, np.random.default_rng(2), count=5)
    copy = xs.copy()
    expected = [problem.value(x) for x in xs]
    np.testing.assert_allclose(problem.values(xs), expected, rtol=1e-13)
    np.testing.assert_array_equal(xs, copy)
    assert problem.values(xs).shape == (5,)


@pytest.mark.parametrize("problem", ALL_PROBLEMS)
def test_value_and_gradient_consistent(problem):
    """value_and_gradient returns exactly value and gradient."""
    x = _points(problem, np.random.default_rng(3), count=1)[0]
    value, gradient = problem.value_and_gradient(x)
    assert value == pytest.approx(problem.value(x), rel=1e-14)
    np.testing.assert_allclose(gradient, problem.gradient(x), rtol=1e-14)


@pytest.mark.parametrize(
    "problem",
    [p for p in ALL_PROBLEMS if p.values[0].minimizer is not None],
)
def test_known_minimizer_is_stationary_with_known_minimum(problem):
    """The stated minimizer has zero gradient and the stated minimum value."""
    x = problem.minimizer
    assert problem.value(x) == pytest.approx(problem.minimum, abs=1e-10)
    np.testing.assert_allclose(problem.gradient(x), 0.0, atol=1e-9)
    assert problem.start.shape == x.shape == (problem.dimension,)
    # nearby points are not lower (local check of minimality)
    rng = np.random.default_rng(4)
    nearby = x + 1e-3 * rng.normal(size=(20, x.size))
    assert np.all(problem.values(nearby) >= problem.minimum - 1e-12)


def test_closed_form_values():
    """Values at the standard starts match hand computation."""
    assert Sphere().value(Sphere().start) == 25.0
    assert Rosenbrock().value(np.array([-1.2, 1.0])) == pytest.approx(24.2)
    assert Booth().value(np.zeros(2)) == 74.0
    assert Himmelblau().value(np.zeros(2)) == 170.0
    # Beale at (1, 1): 1.5^2 + 2.25^2 + 2.625^2
    assert Beale().value(np.ones(2)) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert Rastrigin(dimension=2).value(np.full(2, 0.5)) == pytest.approx(40.5)
    np.testing.assert_allclose(
        Quadratic(dimension=3, condition_number=1e4).curvatures, [1.0, 100.0, 1e4]
    )


def test_quadratic_condition_number():
    """The quadratic's Hessian has exactly the requested condition number."""
    problem = Quadratic(dimension=100, condition_number=1e4)
    hessian = np.array([problem.gradient(e) for e in np.eye(100)])
    assert np.linalg.cond(hessian) == pytest.approx(1e4, rel=1e-10)


def test_rotated_quadratic_hessian():
    """The rotated quadratic's Hessian is Q diag(d) Q^T with Q orthogonal."""
    problem = Quadratic(dimension=20, condition_number=1e4, rotation_seed=1)
    q = problem.rotation
    np.testing.assert_allclose(q.T @ q, np.eye(20), atol=1e-12)
    hessian = np.array([problem.gradient(e) for e in np.eye(20)])
    np.testing.assert_allclose(hessian, q @ np.diag(problem.curvatures) @ q.T)
    assert np.linalg.cond(hessian) == pytest.approx(1e4, rel=1e-8)
    assert not np.allclose(hessian, np.diag(np.diag(hessian)))
    assert Quadratic(3).rotation is None
    with pytest.raises(ValueError, match="rotation_seed"):
        Quadratic(3, rotation_seed=-1)


def test_rosenbrock_matches_scipy():
    """The chained Rosenbrock equals scipy.optimize.rosen and rosen_der."""
    rng = np.random.default_rng(5)
    problem = Rosenbrock(dimension=7, chained=True)
    for x in rng.normal(size=(3, 7)):
        assert problem.value(x) == pytest.approx(rosen(x), rel=1e-14)
        np.testing.assert_allclose(problem.gradient(x), rosen_der(x), rtol=1e-13)


def test_extended_rosenbrock_is_sum_of_pairs():
    """Extended Rosenbrock is a sum of independent 2-D Rosenbrock terms."""
    x = np.array([0.3, -0.2, 1.5, 2.0])
    two = Rosenbrock()
    expected = two.value(x[:2]) + two.value(x[2:])
    assert Rosenbrock(dimension=4).value(x) == pytest.approx(expected)


def test_himmelblau_four_minimizers():
    """All four Himmelblau minimizers are stationary with value 0."""
    problem = Himmelblau()
    for m in problem.minimizers:
        assert problem.value(m) == pytest.approx(0.0, abs=1e-20)
        np.testing.assert_allclose(problem.gradient(m), 0.0, atol=1e-11)


def test_styblinski_tang_minimum():
    """The Styblinski-Tang minimum is -39.16617 per dimension (published value)."""
    problem = StyblinskiTang(dimension=4)
    assert problem.minimum == pytest.approx(-39.16616570377142 * 4, rel=1e-12)
    grid = np.linspace(-5, 5, 100001)
    assert problem.minimizer[0] == pytest.approx(
        grid[np.argmin(grid**4 - 16 * grid**2 + 5 * grid)], abs=1e-4
    )


def test_logistic_regression_closed_form():
    """Logistic loss at zero is log 2 and the sklearn C mapping is 1/(C m)."""
    problem = LogisticRegression(_FEATURES, _LABELS, l2=0.3)
    assert problem.value(problem.start) == pytest.approx(np.log(2.0))
    assert problem.dimension == 4
    mapped = LogisticRegression.from_sklearn_c(_FEATURES, _LABELS, c=2.0)
    assert mapped.l2 == pytest.approx(1.0 / 60.0)
    w = np.array([0.1, -0.2, 0.3, 0.05])
    margins = np.where(_LABELS == 1, 1.0, -1.0) * (_FEATURES @ w[:3] + w[3])
    expected = np.mean(np.log1p(np.exp(-margins))) + 0.15 * np.sum(w[:3] ** 2)
    assert problem.value(w) == pytest.approx(expected, rel=1e-13)


def test_logistic_regression_extreme_margins_are_finite():
    """Huge margins neither overflow nor lose the gradient's sign."""
    problem = LogisticRegression([[1.0], [-1.0]], [1, 0], l2=0.0)
    value, gradient = problem.value_and_gradient(np.array([-1e4, 0.0]))
    assert value == pytest.approx(1e4)
    np.testing.assert_allclose(gradient, [-1.0, 0.0])


def test_logistic_regression_copies_data():
    """The problem keeps its own read-only copy of the data."""
    features = _FEATURES.copy()
    problem = LogisticRegression(features, _LABELS)
    features[0, 0] = 1e9
    assert problem.features[0, 0] == _FEATURES[0, 0]
    assert not problem.features.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": np.ones(3), "labels": [0, 1, 0]}, "features"),
        ({"features": np.ones((3, 2)), "labels": [0, 0, 0]}, "labels"),
        ({"features": np.ones((3, 2)), "labels": [0, 1]}, "labels"),
        ({"features": np.ones((2, 2)), "labels": [0, 1], "l2": -1.0}, "l2"),
    ],
)
def test_logistic_regression_validation(kwargs, match):
    """Bad data or regularization raise errors naming the field."""
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**kwargs)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Sphere(dimension=0), "dimension"),
        (lambda: Quadratic(condition_number=0.5), "condition_number"),
        (lambda: Rosenbrock(dimension=3), "dimension"),
        (lambda: Rosenbrock(dimension=1, chained=True), "dimension"),
        (lambda: get_problem("nope"), "unknown problem"),
        (lambda: get_problem("beale", 3), "dimension"),
    ],
)
def test_invalid_problem_arguments(factory, match):
    """Invalid dimensions, condition numbers and names raise clear errors."""
    with pytest.raises(ValueError, match=match):
        factory()


def test_registry():
    """Every registry entry builds a problem of the requested dimension."""
    for name in PROBLEMS:
        problem = get_problem(name)
        assert problem.dimension == 2
        if name not in {"beale", "booth", "himmelblau"}:
            assert get_problem(name, 4).dimension == 4
    assert get_problem("quadratic", 3, condition_number=5.0).condition_number == 5.0


def test_sphere_still_works_on_any_shape():
    """Sphere() evaluates matrices as before (the textbook demo and doctests)."""
    x = np.arange(6.0).reshape(2, 3)
    assert Sphere().value(x) == 55.0
    np.testing.assert_array_equal(Sphere().gradient(x), 2 * x)
    assert Sphere().values(np.stack([x, x])).tolist() == [55.0, 55.0]

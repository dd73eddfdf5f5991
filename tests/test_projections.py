"""Constraints: projections, projected runs, bad input, NNLS, the simplex, SPG."""

import itertools

import attrs
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

import optim
from optim import (
    LBFGS,
    AnalyticGradient,
    Ball,
    BarzilaiBorwein,
    Bounds,
    FunctionObjective,
    Objective,
    Optimizer,
    Projection,
    Simplex,
    StopOnZeroGradient,
    maximize,
    minimize,
)
from optim.checkpoint import fingerprint
from optim.problems import Rosenbrock, Sphere
from optim.testing import check_projection
from tests.test_step_rules import CONSTRAINABLE_RULES

PROJECTIONS = [
    pytest.param(Bounds(-1.0, 2.0), np.zeros(3), id="bounds-scalar"),
    pytest.param(
        Bounds([0.0, -np.inf, 1.0], [np.inf, 0.0, 1.0]), np.zeros(3), id="box"
    ),
    pytest.param(Bounds(np.zeros((2, 1)), np.ones((1, 3))), np.zeros((2, 3)), id="2-d"),
    pytest.param(Ball([1.0, 0.0, 0.0], 0.5), np.zeros(3), id="ball"),
    pytest.param(Ball(0.0, 0.0), np.zeros(2), id="ball-point"),
    pytest.param(Simplex(), np.full(4, 0.25), id="simplex"),
    pytest.param(Simplex(total=3.0), np.ones((2, 2)), id="simplex-2-d"),
]


@pytest.mark.parametrize(("projection", "x"), PROJECTIONS)
def test_built_in_projections_conform(projection, x):
    check_projection(projection, x)


@pytest.mark.parametrize("rule", CONSTRAINABLE_RULES)
@pytest.mark.parametrize(
    "projection",
    [Bounds([-0.5, 0.0, -np.inf], [0.5, np.inf, 0.2]), Ball(0.0, 0.7), Simplex()],
    ids=["bounds", "ball", "simplex"],
)
def test_every_rule_with_a_constraint_conforms(rule, projection):
    x = projection.project(np.full(3, 0.1))
    check_projection(projection, x, rule=rule, samples=3)


def _brute_force_simplex(y, total):
    """The nearest point of the simplex: try every support, solve it in closed form."""
    best, best_distance = None, np.inf
    n = y.size
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            index = list(support)
            point = np.zeros(n)
            point[index] = y[index] - (y[index].sum() - total) / size
            if np.all(point >= 0):
                distance = np.linalg.norm(point - y)
                if distance < best_distance:
                    best, best_distance = point, distance
    return best


@pytest.mark.parametrize("total", [1.0, 2.5])
def test_simplex_projection_matches_brute_force(rng, total):
    for _ in range(30):
        y = rng.standard_normal(5) * rng.choice([0.1, 1.0, 5.0])
        expected = _brute_force_simplex(y, total)
        np.testing.assert_allclose(Simplex(total).project(y), expected, atol=1e-12)


def test_nnls_matches_scipy(rng):
    a, b = rng.standard_normal((50, 20)), rng.standard_normal(50)
    objective = FunctionObjective(
        lambda x: 0.5 * float(np.sum((a @ x - b) ** 2)), lambda x: a.T @ (a @ x - b)
    )
    options = {"gtol": 1e-9, "ftol": 1e-15}  # tol would set ftol too, as scipy
    result = minimize(objective, np.ones(20), bounds=[(0, None)] * 20, options=options)
    expected, _ = scipy.optimize.nnls(a, b)
    # A correct answer is a success, even where tol is below the precision floor.
    assert result.result.status.name == "CONVERGED"
    np.testing.assert_allclose(result.x, expected, atol=1e-8)
    assert np.any(expected == 0.0)  # the bounds are active
    assert np.all(result.x[expected == 0.0] == 0.0)


def test_spectral_projected_gradient_solves_a_simplex_quadratic(rng):
    m = rng.standard_normal((8, 8))
    q, c = m @ m.T + np.eye(8), rng.standard_normal(8)
    objective = FunctionObjective(
        lambda x: 0.5 * float(x @ q @ x) + float(c @ x), lambda x: q @ x + c
    )
    result = Optimizer(
        objective,
        step_rule=BarzilaiBorwein(),
        constraint=Simplex(),
        callbacks=[StopOnZeroGradient(1e-8)],
    ).run(np.full(8, 1 / 8))
    assert result.status.name == "CONVERGED"
    # The KKT conditions of min f on the simplex: g_i = mu where x_i > 0, >= mu else.
    gradient = q @ result.x + c
    support = result.x > 1e-10
    mu = gradient[support].mean()
    np.testing.assert_allclose(gradient[support], mu, atol=1e-7)
    assert np.all(gradient[~support] >= mu - 1e-8)
    np.testing.assert_allclose(result.x.sum(), 1.0, atol=1e-12)
    assert np.all(result.x >= 0.0)


@pytest.mark.parametrize("mode", ["descent", "ascent"])
def test_a_run_ending_on_a_bound_converges(mode):
    sign = 1.0 if mode == "descent" else -1.0
    objective = FunctionObjective(
        lambda x: sign * float(np.sum((x - 3.0) ** 2)), lambda x: sign * 2 * (x - 3.0)
    )
    result = Optimizer(
        objective,
        step_rule=LBFGS(),
        mode=mode,
        constraint=Bounds(-1.0, [1.0, 5.0]),
        callbacks=[StopOnZeroGradient(1e-9)],
    ).run([0.0, 0.0])
    assert result.status.name == "CONVERGED"
    np.testing.assert_allclose(result.x, [1.0, 3.0], atol=1e-9)
    assert result.gradient_norm <= 1e-9
    assert abs(result.gradient[0]) == pytest.approx(4.0)  # the raw gradient is not 0


def test_maximum_likelihood_with_a_variance_and_a_probability(rng):
    data = rng.normal(0.0, 1.0, 200)

    def log_likelihood(theta):
        mean, variance = theta
        return -0.5 * np.sum((data - mean) ** 2) / variance - 100 * np.log(variance)

    def gradient(theta):
        mean, variance = theta
        squares = np.sum((data - mean) ** 2)
        return np.array(
            [
                np.sum(data - mean) / variance,
                0.5 * squares / variance**2 - 100 / variance,
            ]
        )

    result = maximize(
        log_likelihood,
        [5.0, 3.0],
        gradient=gradient,
        bounds=[(0.5, None), (1e-6, None)],
        options={"gtol": 1e-6, "ftol": 1e-15},
    )
    assert result.result.status.name == "CONVERGED"
    assert result.x[0] == 0.5  # the mean is held at its bound
    assert result.x[1] == pytest.approx(np.mean((data - 0.5) ** 2), rel=1e-6)


def test_x0_outside_the_set_is_projected_and_the_result_says_so():
    result = Optimizer(Sphere(), step_rule=LBFGS(), constraint=Bounds(1.0, 2.0)).run(
        [5.0, -5.0]
    )
    assert "x0 was outside the constraint and was projected" in result.message
    np.testing.assert_array_equal(result.x, [1.0, 1.0])


class _Exploding(Objective):
    def value(self, x):
        raise AssertionError("evaluated")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Bounds(1.0, 0.0), r"lower must be <= upper, but lower\[\(\)\]"),
        (lambda: Bounds([0.0, 2.0], [1.0, 1.0]), r"lower\[1\] = 2.0 > upper\[1\]"),
        (lambda: Bounds(np.nan, 1.0), "lower must not contain NaN"),
        (lambda: Bounds(0.0, [1.0, np.nan]), "upper must not contain NaN"),
        (lambda: Bounds([0.0, 0.0], [1.0, 1.0, 1.0]), "do not broadcast together"),
        (lambda: Ball(0.0, -1.0), "radius"),
        (lambda: Ball([np.nan], 1.0), "center must be finite"),
        (lambda: Simplex(0.0), "total"),
    ],
)
def test_bad_constraints_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("constraint", "match"),
    [(Bounds([0.0, 0.0, 0.0], 1.0), "lower has shape"), (Ball(np.zeros(3)), "center")],
)
def test_shapes_that_do_not_fit_x_are_refused_before_any_evaluation(constraint, match):
    optimizer = Optimizer(
        FunctionObjective(lambda x: 1 / 0), step_rule=LBFGS(), constraint=constraint
    )
    with pytest.raises(ValueError, match=match):
        optimizer.run([0.0, 0.0])


def test_scipy_forms_of_bounds():
    class ScipyBounds:
        lb = np.array([0.0, -np.inf])
        ub = np.array([1.0, 2.0])

    for bounds in ([(0, 1), (None, 2)], ScipyBounds()):
        result = minimize(Sphere(), [3.0, 3.0], bounds=bounds)
        np.testing.assert_allclose(result.x, [0.0, 0.0], atol=1e-8)
    with pytest.raises(ValueError, match="number of bounds is not compatible"):
        minimize(Sphere(), [3.0, 3.0], bounds=[(0, 1)] * 3)
    with pytest.raises(ValueError, match=r"bounds\[1\] must be a \(low, high\) pair"):
        minimize(Sphere(), [3.0, 3.0], bounds=[(0, 1), (1, 2, 3)])
    with pytest.raises(
        ValueError, match="upper bound is less than the corresponding lower"
    ):
        minimize(Sphere(), [3.0, 3.0], bounds=[(0, 1), (2, 1)])


def test_the_fingerprint_records_the_constraint():
    plain = Optimizer(Sphere(), step_rule=LBFGS())
    boxed = attrs.evolve(plain, constraint=Bounds(0.0, 1.0))
    assert "constraint" not in fingerprint(plain)
    assert fingerprint(boxed)["constraint"]["class"] == "optim.projections.Bounds"
    other = attrs.evolve(plain, constraint=Bounds(0.0, 2.0))
    assert fingerprint(other) != fingerprint(boxed)


def test_a_checkpointed_constrained_run_resumes_exactly(tmp_path):
    from optim import Checkpoint

    path = tmp_path / "run.npz"
    optimizer = Optimizer(
        Rosenbrock(),
        step_rule=BarzilaiBorwein(),
        constraint=Bounds(-2.0, [0.5, 2.0]),
        callbacks=[Checkpoint(path)],
    )
    full = attrs.evolve(optimizer, max_steps=12).run([-1.2, 1.0])
    attrs.evolve(optimizer, max_steps=5).run([-1.2, 1.0])
    resumed = attrs.evolve(optimizer, max_steps=12).resume(path)
    np.testing.assert_array_equal(resumed.x, full.x)
    with pytest.raises(Exception, match="constraint"):
        attrs.evolve(optimizer, constraint=Bounds(-1.0, 1.0), max_steps=12).resume(path)


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    rule_index=st.integers(0, len(CONSTRAINABLE_RULES) - 1),
    mode=st.sampled_from(["descent", "ascent"]),
)
def test_every_rule_keeps_every_evaluation_in_a_random_box(seed, rule_index, mode):
    """Every iterate and every trial point lies in the box, in both modes."""
    rng = np.random.default_rng(seed)
    lower = rng.uniform(-2.0, 1.0, 3)
    upper = lower + rng.uniform(0.0, 2.0, 3)
    lower[rng.random(3) < 0.2] = -np.inf
    upper[rng.random(3) < 0.2] = np.inf
    center = rng.normal(0.0, 2.0, 3)
    points = []
    sign = 1.0 if mode == "descent" else -1.0

    def value_and_gradient(x):
        points.append(x.copy())
        return sign * float(np.sum((x - center) ** 2)), sign * 2.0 * (x - center)

    objective = FunctionObjective(
        lambda x: value_and_gradient(x)[0], lambda x: value_and_gradient(x)[1]
    )
    rule = CONSTRAINABLE_RULES[rule_index].values[0]
    Optimizer(
        objective,
        step_rule=rule,
        estimator=AnalyticGradient(),
        mode=mode,
        constraint=Bounds(lower, upper),
        max_steps=15,
        max_growth=None,
    ).run(rng.normal(0.0, 3.0, 3))
    evaluated = np.array(points)
    assert np.all(evaluated >= lower)
    assert np.all(evaluated <= upper)


def test_cli_bounds(capsys):
    from optim.cli import main

    code = main(["run", "rosenbrock", "--rule", "lbfgs", "--bounds=-2,0.5", "--json"])
    assert code == 0
    import json

    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "converged"
    assert answer["x"] == [0.5, 0.25]
    code = main(
        ["run", "rosenbrock", "--rule", "lbfgs", "--bounds=0,1", "--bounds=0,2"]
    )
    assert code == 0
    capsys.readouterr()
    assert main(["run", "rosenbrock", "--rule", "lbfgs", "--bounds=1,0"]) == 2
    assert "lower must be <= upper" in capsys.readouterr().err
    three = ["--bounds=0,1"] * 3
    assert main(["run", "rosenbrock", "--rule", "lbfgs", *three]) == 2
    assert "once per coordinate (2)" in capsys.readouterr().err


def test_plot_draws_the_feasible_box():
    import matplotlib

    matplotlib.use("Agg")
    from optim import History
    from optim.plot import plot_run

    history = History()
    box = Bounds([-2.0, -np.inf], [0.5, 2.0])
    Optimizer(Rosenbrock(), step_rule=LBFGS(), constraint=box, callbacks=[history]).run(
        [-1.2, 1.0]
    )
    figure = plot_run(Rosenbrock(), history, constraint=box)
    (patch,) = figure.axes[0].patches
    assert patch.get_label() == "feasible box"
    assert patch.get_x() == -2.0
    assert patch.get_x() + patch.get_width() == 0.5


FD_ESTIMATORS = [
    optim.CentralDifference(),
    optim.ForwardDifference(),
    optim.BackwardDifference(),
    optim.Richardson(),
    optim.SPSA(samples=3, rng=5),
    optim.CentralDifference(step=1e-2),
]


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    rule_index=st.integers(0, len(CONSTRAINABLE_RULES) - 1),
    estimator_index=st.integers(0, len(FD_ESTIMATORS) - 1),
    mode=st.sampled_from(["descent", "ascent"]),
)
def test_finite_differences_never_leave_the_box(
    seed, rule_index, estimator_index, mode
):
    """Every point any estimator evaluates (value or batch) lies in the box."""
    rng = np.random.default_rng(seed)
    lower = rng.uniform(-2.0, 1.0, 3)
    upper = lower + rng.uniform(1e-3, 2.0, 3)
    lower[rng.random(3) < 0.2] = -np.inf
    upper[rng.random(3) < 0.2] = np.inf
    center = rng.normal(0.0, 2.0, 3)
    sign = 1.0 if mode == "descent" else -1.0

    class Watched(optim.Objective):
        def value(self, x):
            assert np.all(x >= lower), (x, lower)
            assert np.all(x <= upper), (x, upper)
            return sign * float(np.sum((x - center) ** 2))

    result = Optimizer(
        Watched(),
        step_rule=CONSTRAINABLE_RULES[rule_index].values[0],
        estimator=FD_ESTIMATORS[estimator_index],
        mode=mode,
        constraint=Bounds(lower, upper),
        max_steps=10,
        max_growth=None,
        callbacks=[optim.StopOnZeroGradient(1e-6)],
    ).run(rng.normal(0.0, 3.0, 3))

    assert np.all(result.x >= lower)
    assert np.all(result.x <= upper)


def test_minimize_with_bounds_and_no_gradient_matches_scipy():
    """A plain function with bounds: box-aware differences, scipy's optimum."""
    import scipy.optimize

    def f(x):
        return float((x[0] - 1) ** 2 + 4 * (x[1] + 2) ** 2 + x[0] * x[1])

    bounds = [(0.0, 0.5), (0.0, 1.0)]
    reference = scipy.optimize.minimize(f, [0.2, 0.2], bounds=bounds)

    result = minimize(f, [0.2, 0.2], bounds=bounds)

    assert result.success, result.message
    np.testing.assert_allclose(result.x, reference.x, atol=1e-8)
    assert result.fun == pytest.approx(reference.fun, rel=1e-8)


def _ball_cases(rng):
    """Balls of many centers and radii, with their point shapes."""
    cases = [(Ball(0.0, 1.0), (3,)), (Ball(0.0, 0.0), (2,)), (Ball(0.0, 1e-3), (50,))]
    for _ in range(6):
        n = int(rng.integers(1, 8))
        center = rng.standard_normal(n) * 10.0 ** rng.integers(-2, 4)
        cases.append((Ball(center, float(rng.uniform(0.01, 5.0))), (n,)))
    cases.append((Ball(np.full((2, 2), 100.0), 0.25), (2, 2)))
    return cases


def _random_points(rng, projection, shape, dtype, count):
    """Points far outside, just outside (a few ulps), on and inside the set."""
    eps = np.finfo(dtype).eps
    points = []
    for k in range(count):
        y = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 6)
        if isinstance(projection, Ball):
            y = y + projection.center
        p = projection.project(y)
        kind = k % 4
        if kind == 1:  # just outside: a few ulps past the projection
            ulps = rng.integers(1, 16) * eps * max(1.0, float(np.max(np.abs(p))))
            y = p + (y - p) * (ulps / max(float(np.linalg.norm(y - p)), 1e-300))
        elif kind == 2:  # on the boundary (or near it) and inside
            y = p
        elif kind == 3:
            y = 0.5 * (p + projection.project(rng.standard_normal(shape)))
        points.append(np.asarray(y).astype(dtype))
    return points


class TestMembershipAfterRounding:
    """Projections land in their own set exactly, in float32 and float64."""

    def cases(self, rng):
        boxes = [
            (Bounds(0.1, 0.3), (4,)),
            (Bounds([-np.inf, -1e-3, 1.0 / 3.0], [0.7, 1e-3, np.inf]), (3,)),
        ]
        simplices = [(Simplex(), (3,)), (Simplex(2.5), (7,)), (Simplex(0.1), (40,))]
        return _ball_cases(rng) + boxes + simplices

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_every_projection_is_a_member_and_a_fixed_point(self, dtype):
        rng = np.random.default_rng(18)
        for projection, shape in self.cases(rng):
            for y in _random_points(rng, projection, shape, dtype, 400):
                p = projection.project(y)

                assert p.dtype == dtype
                assert projection.contains(p), (projection, y, p)
                np.testing.assert_array_equal(projection.project(p), p)

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_ball_projection_is_the_radial_point_to_a_few_ulps(self, dtype):
        """Membership costs at most a few ulps: P(y) = c + r (y - c) / |y - c|."""
        rng = np.random.default_rng(7)
        eps = np.finfo(dtype).eps
        for ball, shape in _ball_cases(rng):
            center = np.broadcast_to(ball.center, shape)
            for _ in range(300):
                y = (center + rng.standard_normal(shape) * 10.0).astype(dtype)
                offset = y.astype(np.float64) - center
                norm = np.linalg.norm(offset)
                exact = center + offset * min(1.0, ball.radius / norm)

                p = ball.project(y)

                error = np.abs(p - exact)
                assert np.all(error <= 8 * eps * (np.abs(center) + ball.radius))
                # Membership as the ball itself tests it, in the point's dtype: a
                # float64 recomputation of a float32 point's norm may differ by an
                # ulp with numpy's version and kernels.
                assert ball.contains(p)

    def test_the_plain_formula_often_lands_outside(self):
        """The rounding this guards against is common: the plain formula misses."""
        rng = np.random.default_rng(3)
        ball = Ball([0.3, -1.0, 2.0], 0.7)
        outside = 0
        for _ in range(1000):
            y = ball.center + rng.standard_normal(3) * 5.0
            offset = y - ball.center
            plain = ball.center + offset * (ball.radius / np.linalg.norm(offset))
            outside += not ball.contains(plain)

            assert ball.contains(ball.project(y))
        assert outside > 50

    def test_points_inside_are_returned_unchanged(self):
        rng = np.random.default_rng(5)
        for projection, shape in self.cases(rng):
            for dtype in (np.float64, np.float32):
                y = projection.project(rng.standard_normal(shape).astype(dtype))
                assert projection.contains(y)

                p = projection.project(y)

                assert p is not y
                np.testing.assert_array_equal(p, y)

    def test_simplex_is_accurate_for_huge_entries(self):
        """Shifting by the largest entry keeps the total: no cancellation."""
        p = Simplex().project(np.array([1e20, 1e20, 0.0]))
        np.testing.assert_array_equal(p, [0.5, 0.5, 0.0])
        q = Simplex(3.0).project(np.array([-5e15, 1e16, 1e16 + 2.0]))
        np.testing.assert_allclose(q, [0.0, 0.5, 2.5], rtol=0, atol=4e-16 * 1e16)
        wide = Simplex().project(np.array([1e308, -1e308, 1e308]))  # no overflow
        np.testing.assert_array_equal(wide, [0.5, 0.0, 0.5])
        np.testing.assert_array_equal(
            Simplex().project(np.array([1e20, -1e20])), [1, 0]
        )

    def test_simplex_tolerance_is_n_ulps_of_the_total(self):
        n, eps = 4, np.finfo(np.float64).eps
        inside = np.array([0.25, 0.25, 0.25, 0.25 + 3 * eps])
        outside = np.array([0.25, 0.25, 0.25, 0.25 + 8 * eps])

        assert Simplex().contains(inside)
        assert not Simplex().contains(outside)
        assert not Simplex().contains(np.array([1.5, -0.5]))
        assert Simplex().contains(np.array([1.0, 0.0], dtype=np.float32))
        np.testing.assert_array_equal(Simplex().project(inside), inside)
        assert Simplex().contains(Simplex().project(outside))
        assert n * eps == pytest.approx(Simplex()._tolerance(inside))

    def test_ball_whose_center_float32_cannot_hold(self):
        """No float32 point lies within 1e-12 of 0.1: the rounded center comes back."""
        ball = Ball([0.1, 0.0], 1e-12)
        y = np.array([1.0, 1.0], dtype=np.float32)

        p = ball.project(y)

        np.testing.assert_array_equal(p, np.array([0.1, 0.0], dtype=np.float32))
        assert ball.contains(ball.project(y.astype(np.float64)))

    def test_huge_points_do_not_overflow_the_norm(self):
        p = Ball(0.0, 1.0).project(np.array([1e300, -1e300]))
        np.testing.assert_allclose(p, [2**-0.5, -(2**-0.5)], rtol=1e-15)
        assert Ball(0.0, 1.0).contains(p)

    def test_default_membership_is_the_fixed_point(self):
        class NonNegative(Projection):
            def project(self, x):
                return np.maximum(x, 0.0)

        assert NonNegative().contains(np.array([0.0, 2.0]))
        assert not NonNegative().contains(np.array([-1e-300, 2.0]))


class _Rounding(Projection):
    """A ball whose projection skips the ulp correction: outside by rounding."""

    def project(self, x):
        norm = np.linalg.norm(x)
        return x.copy() if norm <= 1.0 else x / norm

    def contains(self, x):
        return bool(np.linalg.norm(x) <= 1.0)


def test_check_projection_finds_a_projection_outside_its_set():
    with pytest.raises(AssertionError, match="outside the set by its own membership"):
        check_projection(_Rounding(), np.zeros(3))


class _Float64Only(Projection):
    def project(self, x):
        return np.clip(x, -1.0, 1.0).astype(np.float64)


def test_check_projection_checks_float32():
    check_projection(_Float64Only(), np.zeros(2), dtypes=["float64"])
    with pytest.raises(AssertionError, match="returned dtype float64"):
        check_projection(_Float64Only(), np.zeros(2))

"""The Optimizer loop: statuses, ascent, stopping, counting, validation."""

import attrs
import numpy as np
import pytest

from optim import (
    AnalyticGradient,
    CentralDifference,
    FixedStep,
    ForwardDifference,
    FunctionObjective,
    History,
    Mode,
    Objective,
    Optimizer,
    Status,
    StepRule,
    StopOnZeroGradient,
    maximize,
    minimize,
)
from optim.problems import Sphere

TEXTBOOK = CentralDifference(step=1e-4)


def sphere_optimizer(rate, **kwargs):
    kwargs.setdefault("estimator", TEXTBOOK)
    kwargs.setdefault("max_steps", 100)
    return Optimizer(Sphere(), step_rule=FixedStep(rate), **kwargs)


class TestTextbookLessons:
    def test_good_rate_converges(self):
        """Rate 0.1 from (3, 2) with StopOnZeroGradient(1e-8) ends CONVERGED at 0."""
        result = sphere_optimizer(0.1, callbacks=[StopOnZeroGradient(tol=1e-8)]).run(
            np.array([3, 2])
        )

        assert result.status is Status.CONVERGED
        assert result.success
        assert result.gradient_norm <= 1e-8
        # |g_k| = 0.8**k * |(6, 4)| first drops below 1e-8 at k = 92.
        assert result.steps == 92
        np.testing.assert_allclose(result.x, np.array([3.0, 2.0]) * 0.8**92, rtol=1e-6)

    def test_rate_one_oscillates(self):
        """Rate 1.0 flips x to -x forever: the progress stop ends it, saying why.

        The objective never improves on its start, so the run ends NO_PROGRESS
        after `patience` (20) steps instead of spending its 100, diagnosed as
        oscillating with the learning rate to blame.
        """
        result = sphere_optimizer(1.0, callbacks=[StopOnZeroGradient(1e-8)]).run(
            [3.0, 2.0]
        )

        assert result.status is Status.NO_PROGRESS
        assert not result.success
        assert result.steps == 20
        assert result.diagnosis == "oscillating"
        assert "oscillate" in result.message
        assert "too large" in result.message
        np.testing.assert_allclose(np.abs(result.x), [3.0, 2.0], rtol=1e-9)

    def test_rate_one_without_the_progress_stop_uses_its_budget(self):
        """ftol=None: the textbook's run of 100 steps, MAX_STEPS, oscillating."""
        optimizer = attrs.evolve(
            sphere_optimizer(1.0, callbacks=[StopOnZeroGradient(1e-8)]), ftol=None
        )

        result = optimizer.run([3.0, 2.0])

        assert result.status is Status.MAX_STEPS
        assert result.steps == 100
        assert result.diagnosis == "oscillating"
        assert "max_steps=100" in result.message

    def test_tiny_rate_stalls(self):
        """Rate 1e-6 ends MAX_STEPS with a message that the rate may be too small."""
        result = sphere_optimizer(1e-6).run([3.0, 2.0])

        assert result.status is Status.MAX_STEPS
        assert "too small" in result.message
        assert f"{result.gradient_norm:.3g}" in result.message

    def test_rate_ten_diverges_quickly(self):
        """The book's (-3, 4) at rate 10 (f grows 361x a step) soon ends DIVERGED."""
        result = sphere_optimizer(10.0).run([-3.0, 4.0])

        assert result.status is Status.DIVERGED
        assert result.steps <= 5
        assert "learning rate" in result.message
        assert "too large" in result.message
        assert np.isfinite(result.x).all()
        np.testing.assert_allclose(result.best_x, [-3.0, 4.0])
        assert result.best_value == pytest.approx(25.0)

    def test_non_finite_values_keep_last_finite_iterate(self):
        """Overflow ends DIVERGED at the last finite point, even without max_growth."""
        result = Optimizer(
            Sphere(), step_rule=FixedStep(1e150), max_growth=None, max_steps=50
        ).run([1.0, 1.0])

        assert result.status is Status.DIVERGED
        assert np.isfinite(result.x).all()
        assert np.isfinite(result.value)
        assert "non-finite" in result.message

    def test_explicit_growth_threshold(self):
        """max_growth is configurable: a looser threshold triggers later."""
        strict = sphere_optimizer(10.0, max_growth=10.0).run([-3.0, 4.0])
        loose = sphere_optimizer(10.0, max_growth=1e12).run([-3.0, 4.0])

        assert strict.status is loose.status is Status.DIVERGED
        assert strict.steps == 1
        assert loose.steps > strict.steps


class TestAscent:
    def test_maximizes_concave_function(self):
        """Ascent on -(x-1)^2 - (y+2)^2 reaches (1, -2); values keep the user's sign."""

        def hill(x):
            return -((x[0] - 1) ** 2) - (x[1] + 2) ** 2

        result = Optimizer(
            hill,
            step_rule=FixedStep(0.1),
            mode="ascent",
            callbacks=[StopOnZeroGradient(1e-8)],
        ).run([0, 0])

        assert result.status is Status.CONVERGED
        assert result.mode is Mode.ASCENT
        np.testing.assert_allclose(result.x, [1.0, -2.0], atol=1e-8)
        assert result.value <= 0.0
        assert result.best_value == result.value
        assert result.value == pytest.approx(0.0, abs=1e-15)

    @pytest.mark.parametrize(
        "estimator", [AnalyticGradient(), CentralDifference(), ForwardDifference()]
    )
    def test_ascent_on_f_equals_descent_on_minus_f(self, estimator):
        """Ascent on f visits exactly the points descent on -f visits."""

        def f(x):
            return -(x[0] ** 2) - 3 * x[1] ** 2 + x[0] * x[1]

        def grad(x):
            return np.array([-2 * x[0] + x[1], -6 * x[1] + x[0]])

        up, down = History(), History()
        Optimizer(
            FunctionObjective(f, grad),
            step_rule=FixedStep(0.05),
            estimator=estimator,
            mode=Mode.ASCENT,
            callbacks=[up],
            max_steps=20,
        ).run([1.0, -2.0])
        Optimizer(
            FunctionObjective(lambda x: -f(x), lambda x: -grad(x)),
            step_rule=FixedStep(0.05),
            estimator=estimator,
            callbacks=[down],
            max_steps=20,
        ).run([1.0, -2.0])

        np.testing.assert_array_equal(up.x, down.x)
        np.testing.assert_array_equal(up.values, -down.values)


class TestStopping:
    def test_callback_stop_equals_max_steps(self):
        """A run stopped by a callback at step k equals a run with max_steps=k."""
        k = 7

        stopped = sphere_optimizer(0.1, callbacks=[lambda info: info.step == k]).run(
            [3.0, 2.0]
        )
        limited = sphere_optimizer(0.1, max_steps=k).run([3.0, 2.0])

        assert stopped.status is Status.STOPPED
        assert limited.status is Status.MAX_STEPS
        assert stopped.steps == limited.steps == k
        np.testing.assert_array_equal(stopped.x, limited.x)
        assert stopped.value == limited.value
        assert stopped.evaluations == limited.evaluations
        assert "step 7" in stopped.message

    def test_zero_gradient_at_start_stops_at_step_zero(self):
        """Started at the optimum, StopOnZeroGradient stops before any update."""
        result = Optimizer(
            Sphere(), step_rule=FixedStep(0.1), callbacks=[StopOnZeroGradient()]
        ).run([0.0, 0.0])

        assert result.status is Status.CONVERGED
        assert result.steps == 0
        assert result.evaluations == 1
        assert result.gradient_evaluations == 1

    def test_every_callback_runs_on_the_stopping_step(self):
        """All callbacks see the step on which one of them asks to stop."""
        seen = []

        result = Optimizer(
            Sphere(),
            step_rule=FixedStep(0.1),
            callbacks=[lambda info: True, lambda info: seen.append(info.step)],
        ).run([1.0, 1.0])

        assert seen == [0]
        assert result.steps == 0
        assert result.status is Status.STOPPED

    def test_max_steps_zero_evaluates_only_the_start(self):
        """max_steps=0 returns x0 with its value and gradient."""
        result = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=0).run([3, 4])

        assert result.steps == 0
        assert result.value == 25.0
        np.testing.assert_array_equal(result.gradient, [6.0, 8.0])
        assert result.gradient_norm == 10.0


class TestIterate:
    def test_iterate_matches_run(self):
        """iterate() yields every step run() takes and returns the same result."""
        optimizer = sphere_optimizer(0.1, max_steps=5)
        steps = optimizer.iterate([3.0, 2.0])

        infos = []
        while True:
            try:
                infos.append(next(steps))
            except StopIteration as done:
                result = done.value
                break

        assert [info.step for info in infos] == [0, 1, 2, 3, 4, 5]
        assert result == optimizer.run([3.0, 2.0])
        np.testing.assert_array_equal(infos[-1].x, result.x)

    def test_first_record_is_the_start(self):
        """Step 0 carries x0, f(x0) and the gradient there."""
        info = next(Optimizer(Sphere(), step_rule=FixedStep(0.1)).iterate([3, 4]))

        assert info.step == 0
        np.testing.assert_array_equal(info.x, [3.0, 4.0])
        assert info.value == 25.0
        assert info.gradient_norm == 10.0
        assert info.gradient_error is None


class TestCounting:
    def test_analytic_counts(self):
        """Analytic gradients: one value and one gradient call per evaluated point."""
        result = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=4).run([1, 1])

        assert result.evaluations == 5
        assert result.gradient_evaluations == 5

    def test_central_difference_counts(self):
        """Central differences: 2n + 1 value calls per point (2n for the gradient)."""
        n, steps = 3, 4

        result = Optimizer(
            FunctionObjective(lambda x: float(np.sum(x**2))),
            step_rule=FixedStep(0.1),
            max_steps=steps,
        ).run(np.ones(n))

        assert result.evaluations == (steps + 1) * (2 * n + 1)
        assert result.gradient_evaluations == 0

    def test_forward_difference_shares_the_value(self):
        """Forward differences reuse f(x): n + 1 value calls per point."""
        n, steps = 3, 4

        result = Optimizer(
            FunctionObjective(lambda x: float(np.sum(x**2))),
            step_rule=FixedStep(0.1),
            estimator=ForwardDifference(),
            max_steps=steps,
        ).run(np.ones(n))

        assert result.evaluations == (steps + 1) * (n + 1)

    def test_default_estimator_choice(self):
        """estimator=None: analytic if the objective has a gradient, else central."""
        with_gradient = Optimizer(Sphere(), step_rule=FixedStep(0.1))
        without = Optimizer(lambda x: float(np.sum(x**2)), step_rule=FixedStep(0.1))

        assert with_gradient.gradient_estimator == AnalyticGradient()
        assert without.gradient_estimator == CentralDifference()


class TestCustomPieces:
    def test_objective_with_and_without_gradient(self):
        """A subclass with an analytic gradient and one without both optimize."""

        class Bowl(Objective):
            def value(self, x):
                return float((x[0] - 2.0) ** 2 + 2.0 * (x[1] + 1.0) ** 2)

        class BowlWithGradient(Bowl):
            def gradient(self, x):
                return np.array([2.0 * (x[0] - 2.0), 4.0 * (x[1] + 1.0)])

        stop = StopOnZeroGradient(1e-6)
        numeric = Optimizer(Bowl(), step_rule=FixedStep(0.1), callbacks=[stop])
        exact = Optimizer(
            BowlWithGradient(), step_rule=FixedStep(0.1), callbacks=[stop]
        )

        r_numeric, r_exact = numeric.run([0.0, 0.0]), exact.run([0.0, 0.0])

        assert not Bowl().has_gradient
        assert BowlWithGradient().has_gradient
        assert r_numeric.gradient_evaluations == 0
        assert r_exact.gradient_evaluations > 0
        for result in (r_numeric, r_exact):
            assert result.status is Status.CONVERGED
            np.testing.assert_allclose(result.x, [2.0, -1.0], atol=1e-6)

    def test_custom_step_rule_with_state(self):
        """A user-written stateful rule runs; its state threads through the steps."""

        class CountingStep(StepRule[int]):
            def init(self, x0):
                return 0

            def update(self, gradient, state, *, x, value, evaluator):
                # Step k moves by -gradient / (k + 2): 1/2, 1/3, 1/4, ...
                return -gradient / (state + 2), state + 1

        history = History()
        Optimizer(
            Sphere(), step_rule=CountingStep(), callbacks=[history], max_steps=3
        ).run([1.0, 0.0])

        # x_{k+1} = x_k - 2 x_k / (k + 2): 1 -> 0, an exact stationary point.
        history2 = History()
        result = Optimizer(
            Sphere(), step_rule=CountingStep(), callbacks=[history2], max_steps=3
        ).run([3.0, 0.0])
        np.testing.assert_allclose(history2.x[:, 0], [3.0, 0.0], atol=1e-15)
        np.testing.assert_allclose(history.values, [1.0, 0.0])
        assert result.status is Status.CONVERGED
        assert result.run_state.rule_state == 1

    def test_rule_trial_evaluation_is_counted_and_reused(self):
        """A rule's value_and_gradient at the point it moves to is counted once."""

        class ExactLineSearchOnSphere(StepRule[None]):
            def init(self, x0):
                return None

            def update(self, gradient, state, *, x, value, evaluator):
                delta = -0.5 * gradient
                trial_value, _ = evaluator.value_and_gradient(x + delta)
                assert trial_value == 0.0
                return delta, None

        result = Optimizer(
            Sphere(), step_rule=ExactLineSearchOnSphere(), max_steps=1
        ).run([3.0, 4.0])

        assert result.value == 0.0
        assert result.evaluations == 2
        assert result.gradient_evaluations == 2

    def test_rule_sees_minimization_convention_in_ascent(self):
        """In ascent the rule gets -f and -grad, and its evaluator answers for -f."""
        seen = {}

        class Spy(StepRule[None]):
            def init(self, x0):
                return None

            def update(self, gradient, state, *, x, value, evaluator):
                seen["gradient"] = gradient
                seen["value"] = value
                seen["trial"] = evaluator.value(x)
                return np.zeros_like(x), None

        Optimizer(Sphere(), step_rule=Spy(), mode="ascent", max_steps=1).run([1.0, 2.0])

        np.testing.assert_array_equal(seen["gradient"], [-2.0, -4.0])
        assert seen["value"] == -5.0
        assert seen["trial"] == -5.0


class TestInputsAreNotModified:
    def test_run_copies_x0(self):
        """run() never writes into the caller's array, nor returns a view of it."""
        x0 = np.array([3.0, 2.0])

        result = sphere_optimizer(0.1).run(x0)

        np.testing.assert_array_equal(x0, [3.0, 2.0])
        assert not np.shares_memory(result.x, x0)
        assert not np.shares_memory(result.best_x, x0)

    def test_matrix_shaped_points(self):
        """Points may be matrices; results keep the shape."""
        x0 = np.arange(6.0).reshape(3, 2)

        result = Optimizer(
            Sphere(), step_rule=FixedStep(0.25), callbacks=[StopOnZeroGradient(1e-10)]
        ).run(x0)

        assert result.x.shape == (3, 2)
        assert result.gradient.shape == (3, 2)
        np.testing.assert_allclose(result.x, 0.0, atol=1e-10)


class TestValidation:
    @pytest.mark.parametrize("rate", [0.0, -0.1, float("inf"), float("nan")])
    def test_bad_learning_rate(self, rate):
        """Non-positive or non-finite learning rates name the argument."""
        with pytest.raises(ValueError, match="learning_rate"):
            FixedStep(rate)

    def test_non_numeric_learning_rate(self):
        """A string learning rate is a TypeError naming the argument."""
        with pytest.raises(TypeError, match="learning_rate"):
            FixedStep("0.1")

    def test_unknown_mode(self):
        """An unknown mode names the argument and the accepted values."""
        with pytest.raises(ValueError, match="mode must be 'descent' or 'ascent'"):
            Optimizer(Sphere(), step_rule=FixedStep(0.1), mode="sideways")

    @pytest.mark.parametrize(("steps", "error"), [(-1, ValueError), (2.5, TypeError)])
    def test_bad_max_steps(self, steps, error):
        """max_steps must be a non-negative integer."""
        with pytest.raises(error, match="max_steps"):
            Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=steps)

    def test_non_scalar_objective(self):
        """An objective returning an array is refused at x0, before any step."""
        calls = []

        def vector_valued(x):
            calls.append(1)
            return x * 2

        with pytest.raises(ValueError, match="objective value must be a scalar"):
            Optimizer(vector_valued, step_rule=FixedStep(0.1)).run([1.0, 2.0])
        assert len(calls) == 1

    @pytest.mark.parametrize("bad", [None, "1.0"])
    def test_objective_returning_none_or_string(self, bad):
        """None or a string is a TypeError naming the objective value."""
        with pytest.raises(TypeError, match="objective value"):
            Optimizer(lambda x: bad, step_rule=FixedStep(0.1)).run([1.0])

    def test_wrong_gradient_shape(self):
        """An analytic gradient of the wrong shape is refused, naming the gradient."""
        objective = FunctionObjective(lambda x: 0.0, lambda x: np.zeros(3))

        with pytest.raises(ValueError, match=r"expected an array of shape \(2,\)"):
            Optimizer(objective, step_rule=FixedStep(0.1)).run([1.0, 2.0])

    @pytest.mark.parametrize(
        ("x0", "error", "match"),
        [
            ([], ValueError, "x0 must not be empty"),
            ([1.0, np.nan], ValueError, "x0 must be finite"),
            (["a", "b"], TypeError, "x0 must be a real numeric array"),
            ([1 + 2j], TypeError, "x0 must be a real numeric array"),
        ],
    )
    def test_bad_start(self, x0, error, match):
        """Bad starting points name x0."""
        with pytest.raises(error, match=match):
            Optimizer(Sphere(), step_rule=FixedStep(0.1)).run(x0)

    def test_nan_at_start(self):
        """An objective that is NaN at x0 is refused before any step."""
        with pytest.raises(ValueError, match="at x0 must be finite"):
            Optimizer(lambda x: float("nan"), step_rule=FixedStep(0.1)).run([1.0])

    def test_analytic_estimator_needs_gradient(self):
        """AnalyticGradient with a gradient-less objective names the estimator."""
        with pytest.raises(ValueError, match="estimator"):
            Optimizer(
                lambda x: 0.0, step_rule=FixedStep(0.1), estimator=AnalyticGradient()
            )

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"step_rule": 0.1}, "step_rule"),
            ({"step_rule": FixedStep(0.1), "estimator": "central"}, "estimator"),
            ({"step_rule": FixedStep(0.1), "callbacks": [3]}, "callbacks"),
            ({"step_rule": FixedStep(0.1), "max_growth": 0.0}, "max_growth"),
        ],
    )
    def test_bad_configuration(self, kwargs, match):
        """Wrong types and values of the other arguments name them."""
        with pytest.raises((TypeError, ValueError), match=match):
            Optimizer(Sphere(), **kwargs)

    def test_bad_objective(self):
        """A non-callable objective names the argument."""
        with pytest.raises(TypeError, match="objective"):
            Optimizer(42, step_rule=FixedStep(0.1))


class TestShortcuts:
    def test_minimize(self):
        """minimize() converges on a shifted quadratic with its default tolerance."""
        result = minimize(
            lambda x: (x[0] - 1) ** 2 + 4 * x[1] ** 2,
            [0.0, 1.0],
            step_rule=FixedStep(0.1),
        )

        assert result.result.status is Status.CONVERGED
        assert (result.status, result.success) == (0, True)
        assert result.gradient_norm <= 1e-6
        np.testing.assert_allclose(result.x, [1.0, 0.0], atol=1e-6)

    def test_maximize_with_gradient(self):
        """maximize() uses a supplied gradient and reaches the maximum."""
        result = maximize(
            lambda x: 5 - np.sum((x - 3) ** 2),
            [0.0],
            gradient=lambda x: -2 * (x - 3),
            step_rule=FixedStep(0.2),
            tol=1e-10,
        )

        assert result.mode is Mode.ASCENT
        assert result.gradient_evaluations > 0
        np.testing.assert_allclose(result.x, [3.0], atol=1e-10)
        assert result.value == pytest.approx(5.0)

    def test_minimize_gradient_with_objective_is_refused(self):
        """Passing gradient= with an Objective is ambiguous and refused."""
        with pytest.raises(ValueError, match="gradient"):
            minimize(Sphere(), [1.0], gradient=lambda x: 2 * x)


def test_outcomes_of_the_textbook_rates():
    """The four textbook runs are converged, oscillating, stalled and diverged."""
    stop = StopOnZeroGradient(tol=1e-8)
    runs = [
        sphere_optimizer(0.1, callbacks=[stop]).run([3.0, 2.0]),
        sphere_optimizer(1.0, callbacks=[stop]).run([3.0, 2.0]),
        sphere_optimizer(1e-6, callbacks=[stop]).run([3.0, 2.0]),
        sphere_optimizer(10.0, callbacks=[stop]).run([-3.0, 4.0]),
    ]

    assert [r.outcome for r in runs] == [
        "converged",
        "oscillating",
        "stalled",
        "diverged",
    ]
    assert [r.diagnosis for r in runs] == ["", "oscillating", "stalled", ""]


@pytest.mark.parametrize("ulps", [0, 1, 3])
def test_minimize_default_rule_needs_no_learning_rate(ulps):
    """minimize() without a step rule runs scipy's default, BFGS, and solves it.

    `tol` bounds the gradient, not the error in x: near (1, 1) the Hessian's
    smallest eigenvalue is 0.4, so x is within about 1e-5 / 0.4 plus the finite
    differences' error of the minimizer (1.0e-5 to 1.6e-5 from these starts on
    one machine, on both sides; the last digits depend on the CPU's rounding).
    """
    import scipy.optimize

    def rosen(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    x0 = np.array([-1.2, 1.0])
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    result = minimize(rosen, x0, tol=1e-5)
    theirs = scipy.optimize.minimize(rosen, x0, tol=1e-5)

    assert result.success == theirs.success
    assert result.result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-4)


def test_result_answers_scipy_names():
    """fun, jac, nit, nfev and njev read the result's own fields; print summarizes."""
    result = Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=5).run([3.0])

    assert result.fun == result.value
    np.testing.assert_array_equal(result.jac, result.gradient)
    assert (result.nit, result.nfev, result.njev) == (5, 6, 6)
    text = str(result)
    assert "max_steps" in text
    assert "nfev" in text
    assert "x: [" in text
    with pytest.raises(AttributeError):
        result.fun = 0.0

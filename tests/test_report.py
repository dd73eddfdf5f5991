"""A run's report is true: precision limits, diagnoses, checked plug-ins, buffers."""

import json
import math

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

import optim
from optim import (
    LBFGS,
    SPSA,
    AdaGrad,
    Adam,
    AnalyticGradient,
    CentralDifference,
    ConjugateGradient,
    FixedStep,
    FunctionObjective,
    GradientEstimator,
    Objective,
    OptimizationError,
    Optimizer,
    Status,
    StepRule,
    StopOnZeroGradient,
)
from optim.problems import LogisticRegression, Rosenbrock, Sphere


class TestPrecisionLimits:
    def test_exact_minimum_in_one_step_ends_at_once(self):
        """FixedStep(0.5) on the sphere lands on 0 in one step and stops there."""
        result = Optimizer(Sphere(), step_rule=FixedStep(0.5)).run([3.0, 2.0])

        assert result.status is Status.CONVERGED
        assert result.steps == 1
        assert "learning rate" not in result.message
        np.testing.assert_array_equal(result.x, [0.0, 0.0])

    @pytest.mark.parametrize("rule", [LBFGS(), ConjugateGradient()])
    def test_line_search_rules_end_by_themselves(self, rule):
        """Without any callback, L-BFGS and CG on Rosenbrock stop well before 1000."""
        result = Optimizer(Rosenbrock(), step_rule=rule).run([-1.2, 1.0])

        assert result.status in (Status.CONVERGED, Status.PRECISION_LIMIT)
        assert result.steps < 500
        assert "learning rate" not in result.message
        np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-6)

    def test_underflow_is_not_a_crash(self):
        """L-BFGS on sum(x**4) reaches the limit of precision without dividing by 0."""
        result = Optimizer(
            lambda x: np.sum(x**4), step_rule=LBFGS(), max_steps=3000
        ).run([1.0, -0.5])

        assert result.status in (
            Status.PRECISION_LIMIT,
            Status.CONVERGED,
            Status.NOISE_FLOOR,
        )
        assert result.steps < 3000
        assert np.all(np.isfinite(result.x))

    def test_logistic_regression_matches_scipy(self):
        """tol=1e-10 is out of reach: L-BFGS stops near L-BFGS-B's count, same f."""
        rng = np.random.default_rng(1)
        features = rng.normal(size=(500, 8)) * 100
        labels = (features @ rng.normal(size=8) + 100 * rng.normal(size=500)) > 0
        problem = LogisticRegression(features, labels.astype(int), l2=1e-3)

        result = Optimizer(
            problem, step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-10)]
        ).run(problem.start)
        reference = scipy.optimize.minimize(
            problem.value,
            problem.start,
            jac=problem.gradient,
            method="L-BFGS-B",
            options={"gtol": 1e-10, "maxiter": 5000},
        )

        assert result.status in (Status.CONVERGED, Status.PRECISION_LIMIT)
        assert result.steps <= 2 * reference.nit
        assert result.value <= reference.fun + 1e-9 * abs(reference.fun)
        assert "floating point" in result.message or result.success


class TestDiagnoses:
    def test_adam_at_a_stationary_point_gets_no_step_advice(self):
        """Adam whose gradient is at rounding level is not told to change its rate."""
        result = Optimizer(Sphere(), step_rule=Adam(0.1), max_steps=1000).run([1.0])

        assert result.gradient_norm < 1e-12
        assert "stationary point" in result.message
        assert "learning rate" not in result.message

    def test_learning_rate_advice_names_the_parameter(self):
        """An oscillating FixedStep run is told about its learning_rate, by name."""
        result = Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=10).run(
            [3.0, 2.0]
        )

        assert result.diagnosis == "oscillating"
        assert "learning_rate=1.0" in result.message

    def test_line_search_advice_does_not_mention_a_learning_rate(self):
        """An oscillating run diagnosed for a line-search rule blames the search."""
        from optim.stopping import diagnose

        state = (
            Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=10)
            .run([3.0, 2.0])
            .run_state
        )

        clause, diagnosis = diagnose(state, sign=1.0, max_steps=10, rule=LBFGS())

        assert diagnosis == "oscillating"
        assert "line search" in clause
        assert "learning rate" not in clause

    @pytest.mark.parametrize("rule", [FixedStep(0.1), Adam(0.1), LBFGS()])
    def test_sign_error_in_gradient_is_reported(self, rule):
        """A gradient of the wrong sign is blamed, not the learning rate."""
        wrong = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: -2.0 * x)

        result = Optimizer(wrong, step_rule=rule, max_steps=200).run([1.0, 1.0])

        assert not result.success
        assert result.diagnosis == "gradient_mismatch"
        assert "check_gradient" in result.message
        assert "learning rate" not in result.message

    def test_scale_error_in_gradient_is_reported(self):
        """A gradient ten times too large is reported as disagreeing with f."""
        wrong = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: 20.0 * x)

        result = Optimizer(wrong, step_rule=FixedStep(0.1), max_steps=50).run([1.0])

        assert result.diagnosis == "gradient_mismatch"

    def test_correct_gradients_are_not_accused(self):
        """An oscillating run with a correct gradient gets the rule's advice."""
        result = Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=20).run(
            [3.0, 2.0]
        )

        assert result.diagnosis == "oscillating"
        assert "check_gradient" not in result.message


class ReturnsOnlyStep(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return -0.1 * gradient


class ReturnsScalarStep(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return -0.1, state


class ReturnsWrongShape(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return np.zeros(3), state


class ReturnsComplex(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return -0.1j * gradient, state


class ReturnsMatrix(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return np.zeros((2, 2)), state


class ListValue(Objective):
    def value(self, x):
        return [float(x @ x)]


class ArrayValue(Objective):
    def value(self, x):
        return np.array([float(x @ x)])


class WrongGradient(Objective):
    def value(self, x):
        return float(x @ x)

    def gradient(self, x):
        return np.zeros(3)


class StringGradient(Objective):
    def value(self, x):
        return float(x @ x)

    def gradient(self, x):
        return "steep"


class WrongEstimate(GradientEstimator):
    def estimate(self, objective, x):
        return np.zeros(x.size + 1)


class ListEstimate(GradientEstimator):
    def estimate(self, objective, x):
        return list(2 * x)


MALFORMED = [
    # (objective, rule, estimator, class.method named, what is said)
    (Sphere(), ReturnsOnlyStep(), None, "ReturnsOnlyStep.update", "2-element"),
    (Sphere(), ReturnsScalarStep(), None, "ReturnsScalarStep.update", "float"),
    (Sphere(), ReturnsWrongShape(), None, "ReturnsWrongShape.update", r"\(3,\)"),
    (Sphere(), ReturnsComplex(), None, "ReturnsComplex.update", "complex"),
    (Sphere(), ReturnsMatrix(), None, "ReturnsMatrix.update", r"\(2, 2\)"),
    (ListValue(), FixedStep(0.1), None, "ListValue.value", "list"),
    (ArrayValue(), FixedStep(0.1), None, "ArrayValue.value", r"shape \(1,\)"),
    (WrongGradient(), FixedStep(0.1), None, "WrongGradient", r"\(3,\)"),
    (StringGradient(), FixedStep(0.1), None, "StringGradient", "str"),
    (Sphere(), FixedStep(0.1), WrongEstimate(), "WrongEstimate", r"\(3,\)"),
    (Sphere(), FixedStep(0.1), ListEstimate(), "ListEstimate", "list"),
    (
        FunctionObjective(lambda x: [float(x @ x)]),
        FixedStep(0.1),
        None,
        "function",
        "list",
    ),
]


@pytest.mark.parametrize(
    ("objective", "rule", "estimator", "named", "said"),
    MALFORMED,
    ids=[row[3] for row in MALFORMED],
)
def test_malformed_plug_in_returns_are_named(objective, rule, estimator, named, said):
    """What user code returns is checked before use; the error names class.method."""
    optimizer = Optimizer(objective, step_rule=rule, estimator=estimator, max_steps=3)

    with pytest.raises((TypeError, ValueError, OptimizationError)) as caught:
        optimizer.run([1.0, 2.0])

    error = caught.value
    if isinstance(error, OptimizationError):
        assert error.result.steps == 0  # nothing bad was used: x is x0
        np.testing.assert_array_equal(error.result.x, [1.0, 2.0])
        error = error.__cause__
    assert isinstance(error, TypeError | ValueError)
    message = str(error)
    assert named in message
    assert __import__("re").search(said, message), message


def test_scalar_types_that_are_accepted():
    """Python and numpy numbers and 0-d arrays are real scalars."""
    for value in (lambda x: 1.0 + x @ x, lambda x: np.float32(x @ x)):
        result = Optimizer(value, step_rule=FixedStep(0.1), max_steps=2).run([1.0])
        assert result.steps == 2
    zero_d = Optimizer(
        lambda x: np.asarray(x @ x), step_rule=FixedStep(0.1), max_steps=2
    ).run([1.0])
    assert zero_d.steps == 2


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: Adam(amsgrad="no"), "amsgrad"),
        (lambda: optim.RMSProp(0.1, centered=1), "centered"),
        (lambda: FunctionObjective(abs, vectorized="yes"), "vectorized"),
        (
            lambda: Optimizer(Sphere(), step_rule=FixedStep(1), errors="ignore"),
            "errors",
        ),
    ],
)
def test_configuration_errors_are_clean(build, named):
    """Booleans refuse strings; choices list themselves; no attrs internals."""
    with pytest.raises((TypeError, ValueError), match=named) as caught:
        build()

    assert "Attribute(" not in str(caught.value)


class BufferSphere(Objective):
    """A sphere (plus a quartic) whose gradient() writes into one reused buffer."""

    def __init__(self, reuse):
        self.reuse = reuse
        self.buffer = None

    def value(self, x):
        return float(x @ x + 0.1 * np.sum(x**4))

    def gradient(self, x):
        fresh = 2 * x + 0.4 * x**3
        if not self.reuse:
            return fresh
        if self.buffer is None:
            self.buffer = np.empty_like(fresh)
        self.buffer[...] = fresh
        return self.buffer


def _rules():
    from tests.test_step_rules import ALL_RULES

    return [param.values[0] for param in ALL_RULES]


@settings(max_examples=25, deadline=None)
@given(rule=st.sampled_from(_rules()), start=st.floats(0.5, 3.0))
def test_reused_gradient_buffer_gives_identical_runs(rule, start):
    """Every rule runs bit-identically on a reused and an allocated gradient."""
    x0 = np.array([start, -0.5 * start, 0.25])
    runs = [
        Optimizer(BufferSphere(reuse), step_rule=rule, max_steps=30).run(x0)
        for reuse in (False, True)
    ]

    np.testing.assert_array_equal(runs[0].x, runs[1].x)
    assert runs[0].steps == runs[1].steps
    assert runs[0].status is runs[1].status


class NaNAfter(Objective):
    """A quartic bowl that answers NaN (value or gradient) after some calls."""

    def __init__(self, after, where):
        self.calls = 0
        self.after = after
        self.where = where

    def value(self, x):
        self.calls += 1
        if self.where == "value" and self.calls > self.after:
            return math.nan
        return float(np.sum(x**2) + np.sum(x**4))

    def gradient(self, x):
        if self.where == "gradient" and self.calls > self.after:
            return np.full_like(x, np.nan)
        return 2 * x + 4 * x**3


@settings(max_examples=60, deadline=None)
@given(
    rule=st.sampled_from(
        [*_rules(), AdaGrad(0.1, eps=0.0), FixedStep(5.0), optim.Momentum(2.0)]
    ),
    after=st.integers(1, 20),
    where=st.sampled_from(["value", "gradient", "never"]),
    start=st.floats(-3.0, 3.0),
)
def test_results_are_always_finite(rule, after, where, start):
    """Result.x and best_x are finite whatever the rule, and NaN mid-run."""
    objective = NaNAfter(after, where)
    x0 = np.array([start, 0.0])

    try:
        result = Optimizer(objective, step_rule=rule, max_steps=40).run(x0)
    except OptimizationError as error:
        result = error.result

    assert np.all(np.isfinite(result.x))
    assert np.all(np.isfinite(result.best_x))
    assert math.isfinite(result.value)
    json.loads(
        json.dumps(result.to_dict(), allow_nan=False),
        parse_constant=lambda token: pytest.fail(f"non-standard JSON {token}"),
    )


def test_spsa_one_draw_is_never_enough():
    """A single SPSA sample that looks small is confirmed before CONVERGED."""
    small = []
    result = Optimizer(
        Rosenbrock(),
        step_rule=Adam(0.01),
        estimator=SPSA(rng=0),
        callbacks=[
            lambda info: (
                small.append(info.step) if info.gradient_norm <= 1e-3 else None
            ),
            StopOnZeroGradient(1e-3),
        ],
        max_steps=3000,
    ).run([0.9, 0.8])

    true_norm = float(np.linalg.norm(Rosenbrock().gradient(result.x)))
    assert small  # the one-draw estimate did look converged, more than once
    assert result.evaluations > 3 * (result.steps + 1)  # confirmations, counted
    assert result.status is not Status.CONVERGED or true_norm <= 10 * 1e-3


def test_confirmation_is_counted_and_certifies_central_differences():
    """Central differences: a small gradient is confirmed cheaply, and counted."""
    plain = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=CentralDifference(),
        max_steps=200,
    ).run([3.0, 2.0])
    stopped = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=CentralDifference(),
        callbacks=[StopOnZeroGradient(1e-6)],
    ).run([3.0, 2.0])

    assert stopped.status is Status.CONVERGED
    # Checked by a second central difference at twice the step: 2n evaluations.
    assert "confirmed by CentralDifference" in stopped.message
    per_step = 2 * 2 + 1
    assert stopped.evaluations == (stopped.steps + 1) * per_step + 2 * 2
    assert plain.evaluations == (plain.steps + 1) * per_step


def test_exact_gradients_need_no_confirmation():
    """With AnalyticGradient, CONVERGED costs nothing extra."""
    result = Optimizer(
        Sphere(),
        step_rule=FixedStep(0.1),
        estimator=AnalyticGradient(),
        callbacks=[StopOnZeroGradient(1e-6)],
    ).run([3.0, 2.0])

    assert result.status is Status.CONVERGED
    assert result.evaluations == result.gradient_evaluations == result.steps + 1


class ClaimsZero(GradientEstimator):
    """An estimator that always says the gradient is zero (and has no error)."""

    def estimate(self, objective, x):
        return np.zeros_like(x)


def test_a_refuted_claim_never_loses_the_budget():
    """A zero-gradient claim that confirmation refutes still ends at max_steps."""
    result = Optimizer(
        Sphere(), step_rule=FixedStep(0.1), estimator=ClaimsZero(), max_steps=5
    ).run([3.0, 2.0])

    assert result.status is Status.MAX_STEPS
    assert result.steps == 5


def test_an_estimate_of_exactly_zero_with_an_error_is_below_the_floor():
    """Central differences that round to zero: CONVERGED, saying tol is below the floor.

    The estimate is exactly 0 while the true gradient (2x, about 1e-22) is not:
    the run's estimator cannot resolve it, and the message says so rather than
    claiming a confirmed zero.
    """
    result = Optimizer(
        lambda x: float(x @ x),
        step_rule=FixedStep(0.4),
        estimator=CentralDifference(),
        max_steps=2000,
    ).run([1.0])

    assert result.status is Status.CONVERGED
    assert "below the floor" in result.message
    assert "confirmed" not in result.message
    floor = float(result.message.split("below the floor ")[1].split(" ")[0])
    assert abs(2.0 * result.x[0]) <= floor
    assert result.steps < 2000

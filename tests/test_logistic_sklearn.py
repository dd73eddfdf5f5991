"""L2-regularized logistic regression on breast cancer, checked against scikit-learn."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import StandardScaler

from optim import LBFGS, Adam, Optimizer, StopOnZeroGradient
from optim.problems import LogisticRegression

C = 1.0


@pytest.fixture(scope="module")
def data():
    features, labels = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(features), labels


@pytest.fixture(scope="module")
def reference(data):
    features, labels = data
    model = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=10_000)
    model.fit(features, labels)
    problem = LogisticRegression.from_sklearn_c(features, labels, C)
    point = np.concatenate([model.coef_[0], model.intercept_])
    return problem, problem.value(point)


def test_objective_matches_sklearn_scaling(data):
    """Our objective times C m equals sklearn's C sum(loss) + |w|^2 / 2."""
    features, labels = data
    problem = LogisticRegression.from_sklearn_c(features, labels, C)
    rng = np.random.default_rng(0)
    point = rng.normal(scale=0.1, size=problem.dimension)
    w, b = point[:-1], point[-1]
    signs = np.where(labels == 1, 1.0, -1.0)
    sklearn_objective = C * np.sum(
        np.logaddexp(0.0, -signs * (features @ w + b))
    ) + 0.5 * (w @ w)
    assert problem.value(point) * C * len(labels) == pytest.approx(
        sklearn_objective, rel=1e-12
    )


def test_lbfgs_matches_sklearn_within_1e_8(reference):
    """Acceptance: LBFGS reaches sklearn's objective value within 1e-8 relative."""
    problem, sklearn_value = reference
    result = Optimizer(
        problem, step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
    ).run(problem.start)
    assert result.success
    assert abs(result.value - sklearn_value) <= 1e-8 * sklearn_value
    assert result.steps < 200


def test_adam_matches_sklearn_within_1e_4(reference):
    """Acceptance: Adam(0.05) reaches sklearn's value within 1e-4 in 1000 steps."""
    problem, sklearn_value = reference
    result = Optimizer(problem, step_rule=Adam(0.05), max_steps=1000).run(problem.start)
    assert abs(result.value - sklearn_value) <= 1e-4 * sklearn_value

"""The Hessian-vector-product seam, TrustNCG, and `optim.minimize` as scipy's."""

import numpy as np
import pytest
import scipy.optimize as so

import optim
import optim.scipy as oo
from optim import (
    AnalyticGradient,
    Bounds,
    Evaluator,
    Mode,
    Objective,
    OptimizationError,
    Optimizer,
    StopOnZeroGradient,
)
from optim.mgh import by_name
from optim.newton import NewtonCG, TrustNCG
from optim.problems import Quadratic, Rosenbrock


def _nudged(x0, ulps):
    x = np.array(x0, dtype=np.float64)
    for _ in range(ulps):
        x = np.nextafter(x, np.inf)
    return x


def _hessp_of(problem):
    """A Hessian-vector product from the problem's (complex-step) gradient."""

    def hessp(x, v):
        size = max(float(np.linalg.norm(v)), 1e-300)
        h = 1e-6 * max(1.0, float(np.linalg.norm(x))) / size
        return (problem.gradient(x + h * v) - problem.gradient(x - h * v)) / (2 * h)

    return hessp


class _Counting(Objective):
    """A rotated quadratic with its own Hessian-vector product, counted."""

    def __init__(self, sign=1.0):
        self.problem = Quadratic(3, condition_number=50.0)
        self.sign = sign
        self.products = 0

    def value(self, x):
        return self.sign * self.problem.value(x)

    def gradient(self, x):
        return self.sign * self.problem.gradient(x)

    def hessian_vector_product(self, x, v):
        self.products += 1
        return self.sign * (self.problem.gradient(v) - self.problem.gradient(0 * v))


# ---------------------------------------------------------- the seam


def test_an_objectives_product_is_used_instead_of_differences():
    objective = _Counting()
    evaluator = Evaluator(objective, AnalyticGradient(), Mode.ASCENT)
    v = np.array([1.0, 0.0, 0.0])
    expected = -objective.hessian_vector_product(np.zeros(3), v)
    np.testing.assert_array_equal(
        optim.evaluation.hessian_vector_product_of(evaluator)(np.zeros(3), v), expected
    )
    for rule in (NewtonCG(), TrustNCG()):
        objective = _Counting()
        result = Optimizer(
            objective, step_rule=rule, callbacks=[StopOnZeroGradient(1e-9)]
        ).run(np.ones(3))
        assert result.status.name == "CONVERGED"
        assert objective.products > 0
        # Only the iterates' gradients: no gradient spent on a product.
        assert result.gradient_evaluations == result.steps + 1


@pytest.mark.parametrize("rule", [NewtonCG(), TrustNCG()], ids=["newton", "trust"])
def test_ascent_on_minus_f_is_descent_on_f_with_an_objectives_product(rule):
    down = Optimizer(_Counting(), step_rule=rule, max_steps=6).run(np.ones(3))
    up = Optimizer(_Counting(-1.0), step_rule=rule, mode="ascent", max_steps=6).run(
        np.ones(3)
    )
    np.testing.assert_array_equal(down.x, up.x)
    assert down.value == -up.value


# ---------------------------------------------------------- TrustNCG


PROBLEMS = ["Rosenbrock", "Helical valley", "Powell singular", "Wood", "Beale"]


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("ulps", [0, 1, 3])
def test_trust_ncg_follows_scipys_trust_ncg_on_mgh_problems(name, ulps):
    problem = by_name(name)
    x0 = _nudged(problem.x0, ulps)
    keywords = {
        "method": "trust-ncg",
        "jac": problem.gradient,
        "hessp": _hessp_of(problem),
        "tol": 1e-8,
    }
    theirs = so.minimize(problem.value, x0, **keywords)
    ours = oo.minimize(problem.value, x0, **keywords)

    assert ours.status == theirs.status == 0
    assert ours.fun == pytest.approx(theirs.fun, rel=1e-8, abs=1e-20)
    np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-6, atol=1e-8)
    assert ours.nfev <= theirs.nfev + 2
    assert ours.njev <= theirs.njev + 2
    assert ours.nhev <= theirs.nhev + 2
    assert ours.nit <= theirs.nit  # a rejected trial is no iteration here


@pytest.mark.parametrize("form", ["hess", "hessp", "2-point"])
def test_trust_ncg_hessian_forms_in_the_scipy_face(form):
    keywords = {"hess": so.rosen_hess} if form == "hess" else {}
    if form == "hessp":
        keywords = {"hessp": so.rosen_hess_prod}
    if form == "2-point":
        keywords = {"hess": "2-point"}
    res = oo.minimize(
        so.rosen, [-1.2, 1.0], method="trust-ncg", jac=so.rosen_der, **keywords
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-4)
    if form == "2-point":
        assert res.nhev == 0
        assert res.njev > res.nfev  # each product is one more gradient
    else:
        assert res.nhev > 0
    assert ("hess" in res) == (form == "hess")
    if form == "hess":
        np.testing.assert_allclose(res.hess, so.rosen_hess(res.x))


def test_trust_ncg_needs_what_scipy_needs_and_warns_as_scipy():
    for module in (so, oo):
        with pytest.raises(ValueError, match="Jacobian is required"):
            module.minimize(so.rosen, [0.0, 0.0], method="trust-ncg")
        with pytest.raises(ValueError, match="Hessian-vector product is required"):
            module.minimize(so.rosen, [0.0, 0.0], method="trust-ncg", jac=so.rosen_der)
    call = {"method": "trust-ncg", "jac": so.rosen_der, "hessp": so.rosen_hess_prod}
    with pytest.warns(RuntimeWarning, match="cannot handle bounds"):
        ours = oo.minimize(so.rosen, [0.0, 0.0], bounds=[(0, 2), (0, 2)], **call)
    with pytest.warns(RuntimeWarning, match="cannot handle bounds"):
        theirs = so.minimize(so.rosen, [0.0, 0.0], bounds=[(0, 2), (0, 2)], **call)
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)


def test_trust_ncg_refuses_a_constraint_by_name():
    with pytest.raises(
        OptimizationError, match="TrustNCG does not support a constraint"
    ):
        Optimizer(Rosenbrock(), step_rule=TrustNCG(), constraint=Bounds(-2.0, 0.5)).run(
            [-1.2, 1.0]
        )


def test_trust_ncg_maximizes():
    def hill(x):
        return -so.rosen(x)

    res = optim.maximize(
        hill,
        [-1.2, 1.0],
        method="trust-ncg",
        jac=lambda x: -so.rosen_der(x),
        hessp=lambda x, p: -so.rosen_hess_prod(x, p),
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-5)
    assert res.fun == hill(res.x)  # the function's own sign
    assert res.mode is Mode.ASCENT


@pytest.mark.parametrize(
    ("keywords", "field"),
    [
        ({"initial_trust_radius": 0.0}, "initial_trust_radius"),
        ({"initial_trust_radius": 5.0, "max_trust_radius": 2.0}, "initial_trust"),
        ({"eta": 0.25}, "eta"),
        ({"eta": -0.1}, "eta"),
        ({"max_trust_radius": -1.0}, "max_trust_radius"),
    ],
)
def test_trust_ncg_hyperparameters_are_checked(keywords, field):
    with pytest.raises(ValueError, match=field):
        TrustNCG(**keywords)


# ---------------------------------------------------------- optim.minimize


def test_optim_minimize_is_the_scipy_face():
    assert optim.minimize is oo.minimize
    assert optim.maximize is oo.maximize
    res = optim.minimize(Rosenbrock(), [-1.2, 1.0], method="trust-ncg")
    assert res.success
    assert res.outcome == "converged"
    assert res.steps == res.nit == res.result.steps
    assert isinstance(res, so.OptimizeResult)
    assert "result" not in repr(res)


def test_optims_extras_follow_scipys_parameters():
    def f(x, a):
        return float((x[0] - a) ** 2 + 2 * x[1] ** 2)

    by_estimator = optim.minimize(
        f, [0.0, 1.0], args=(3.0,), estimator=optim.CentralDifference(), tol=1e-8
    )
    assert by_estimator.success
    np.testing.assert_allclose(by_estimator.x, [3.0, 0.0], atol=1e-6)
    assert by_estimator.njev == by_estimator.nit + 1 or by_estimator.njev > 0
    by_gradient = optim.minimize(
        f,
        [0.0, 1.0],
        args=(3.0,),
        gradient=lambda x: np.array([2 * x[0] - 6, 4 * x[1]]),
    )
    np.testing.assert_allclose(by_gradient.x, [3.0, 0.0], atol=1e-6)
    seen = []
    optim.minimize(f, [0.0, 1.0], args=(3.0,), callbacks=[seen.append], max_steps=3)
    assert 1 <= len(seen) <= 5
    with pytest.raises(ValueError, match="not both"):
        optim.minimize(f, [0.0], args=(3.0,), method="BFGS", step_rule=optim.Adam(0.1))
    with pytest.raises(ValueError, match="not both"):
        optim.minimize(f, [0.0], args=(3.0,), jac="2-point", estimator=optim.SPSA())

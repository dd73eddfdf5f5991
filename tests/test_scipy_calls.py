"""scipy.optimize.minimize calls, unchanged, against optim.minimize."""

import numpy as np
import pytest
import scipy.optimize

import optim


def rosen(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def rosen_der(x):
    return scipy.optimize.rosen_der(x)


def shifted(x, a, b):
    return float((x[0] - a) ** 2 + 3 * (x[1] - b) ** 2 + 0.5 * x[0] * x[1])


def shifted_der(x, a, b):
    return np.array([2 * (x[0] - a) + 0.5 * x[1], 6 * (x[1] - b) + 0.5 * x[0]])


def shifted_both(x, a, b):
    return shifted(x, a, b), shifted_der(x, a, b)


def quartic(x):
    return float(np.sum((x - np.arange(len(x))) ** 4) + np.sum(x**2))


def logistic(w, features, labels):
    z = features @ w
    return float(np.mean(np.logaddexp(0.0, z) - labels * z) + 0.01 * w @ w)


def logistic_der(w, features, labels):
    z = features @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return features.T @ (p - labels) / len(labels) + 0.02 * w


RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(80, 3))
LABELS = (FEATURES @ [1.0, -2.0, 0.5] + RNG.normal(size=80) > 0).astype(float)

# (call, keyword arguments); each is run by scipy and by optim, unchanged.
CALLS = [
    pytest.param((rosen, [-1.2, 1.0]), {"jac": rosen_der}, id="jac-function"),
    pytest.param((rosen, [-1.2, 1.0]), {"method": "BFGS", "jac": rosen_der}, id="bfgs"),
    pytest.param(
        (rosen, [1.3, 0.7, 0.8, 1.9, 1.2]),
        {"method": "L-BFGS-B", "jac": rosen_der, "options": {"maxiter": 500}},
        id="l-bfgs-b-options",
    ),
    pytest.param(
        (shifted, [0.0, 0.0], (1.0, -2.0)),
        {"jac": shifted_der},
        id="positional-args",
    ),
    pytest.param(
        (shifted_both, [0.0, 0.0]),
        {"args": (3.0, 1.0), "jac": True},
        id="jac-true",
    ),
    pytest.param((quartic, np.zeros(3)), {"method": "CG", "tol": 1e-6}, id="cg-no-jac"),
    pytest.param(
        (quartic, np.ones(3)), {"jac": "3-point", "tol": 1e-7}, id="jac-3-point"
    ),
    pytest.param(
        (logistic, np.zeros(3)),
        {
            "args": (FEATURES, LABELS),
            "jac": logistic_der,
            "method": "L-BFGS-B",
            "tol": 1e-12,
        },
        id="logistic",
    ),
    pytest.param(
        (shifted, np.array([5.0, 5.0])),
        {"args": (0.5, 0.5), "method": "bfgs", "jac": shifted_der, "tol": 1e-10},
        id="lowercase-method",
    ),
    pytest.param(
        (rosen, [-1.2, 1.0]),
        {"method": "L-BFGS-B", "jac": rosen_der, "bounds": [(-2.0, 0.5), (None, 2)]},
        id="bounds",
    ),
    pytest.param(
        (rosen, [-1.2, 1.0]),
        {
            "method": "L-BFGS-B",
            "jac": rosen_der,
            "options": {"gtol": 1e-10, "maxcor": 5},
        },
        id="gtol-maxcor",
    ),
]


@pytest.mark.parametrize(("positional", "keywords"), CALLS)
def test_scipy_call_runs_unchanged(positional, keywords):
    """The same call gives the same optimum as scipy, within 1e-8."""
    reference = scipy.optimize.minimize(*positional, **keywords)

    result = optim.minimize(*positional, **keywords)

    assert result.success, result.message
    assert result.fun == pytest.approx(reference.fun, rel=1e-8, abs=1e-8)
    np.testing.assert_allclose(result.x, reference.x, rtol=1e-5, atol=1e-5)
    assert result.nit == result.steps == result.result.steps
    assert result.nfev >= result.evaluations  # finite-difference points too
    np.testing.assert_array_equal(result.jac, result.gradient)
    assert optim.minimize is optim.scipy.minimize


def test_callback_forms():
    """callback(xk) and callback(intermediate_result) as scipy calls them."""
    seen, intermediate = [], []

    optim.minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=seen.append)

    def by_name(intermediate_result):
        intermediate.append(intermediate_result.fun)
        if len(intermediate) == 3:
            raise StopIteration

    stopped = optim.minimize(rosen, [-1.2, 1.0], jac=rosen_der, callback=by_name)
    ours, intermediate[:] = list(intermediate), []
    theirs = scipy.optimize.minimize(
        rosen, [-1.2, 1.0], jac=rosen_der, callback=by_name
    )

    assert len(seen) > 5
    assert all(isinstance(x, np.ndarray) for x in seen)
    assert (stopped.status, stopped.message) == (theirs.status, theirs.message)
    assert stopped.status == 99
    assert stopped.nit == 3
    assert stopped.result.status is optim.Status.STOPPED
    assert ours == sorted(ours, reverse=True)
    assert len(ours) == len(intermediate) == 3


def test_what_optim_does_not_have_is_refused():
    """scipy's other methods name scipy; the gradient method needs its rate."""
    with pytest.raises(NotImplementedError, match=r"scipy\.optimize"):
        optim.minimize(rosen, [-1.2, 1.0], method="Nelder-Mead")
    with pytest.raises(ValueError, match="learning_rate"):
        optim.minimize(rosen, [-1.2, 1.0], method="GD")


@pytest.mark.parametrize(
    "keywords",
    [{"jac": "4-point"}, {"options": {"eps": 1e-7}}, {"options": {"disp": True}}],
)
def test_what_scipy_accepts_is_accepted(keywords, capsys):
    """An unknown jac string is forward differences, eps and disp are options."""
    theirs = scipy.optimize.minimize(rosen, [-1.2, 1.0], **keywords)
    printed = capsys.readouterr().out

    ours = optim.minimize(rosen, [-1.2, 1.0], **keywords)

    assert ours.status == theirs.status
    np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-4)
    assert (capsys.readouterr().out != "") == (printed != "")


def test_gradient_descent_method():
    """method='gradient-descent' with a learning rate is the textbook's method."""
    result = optim.minimize(
        lambda x: float(x @ x),
        [3.0, 2.0],
        method="gradient-descent",
        options={"learning_rate": 0.1},
    )

    assert result.success
    np.testing.assert_allclose(result.x, 0.0, atol=1e-6)


def test_scipys_positional_order_and_ignored_hessians():
    """fun, x0, args, method, jac, hess, hessp, bounds, constraints, tol, ..."""
    call = (shifted, [0.0, 0.0], (1.0, -2.0), "L-BFGS-B", shifted_der)
    with pytest.warns(RuntimeWarning) as caught:
        ours = optim.minimize(*call, lambda x, *a: np.eye(2), None, None, (), 1e-8)
    with pytest.warns(RuntimeWarning) as scipys:
        theirs = scipy.optimize.minimize(
            *call, lambda x, *a: np.eye(2), None, None, (), 1e-8
        )
    assert [str(w.message) for w in caught] == [str(w.message) for w in scipys]
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)


@pytest.mark.parametrize("constraints", [(), None, []])
def test_empty_constraints_are_accepted_silently(constraints):
    result = optim.minimize(rosen, [0.0, 0.0], jac=rosen_der, constraints=constraints)
    assert result.success


def test_a_non_tuple_args_and_a_float_maxiter():
    result = optim.minimize(
        lambda x, a: float((x[0] - a) ** 2), [0.0], args=2.0, options={"maxiter": 2.5}
    )
    assert result.steps <= 3
    np.testing.assert_allclose(result.x, [2.0], atol=1e-3)

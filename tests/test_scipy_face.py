"""optim.scipy against scipy.optimize: each rule asserts what scipy itself does."""

import math
import warnings

import numpy as np
import pytest
import scipy.optimize as so

import optim.scipy as oo

METHODS = ["BFGS", "CG", "L-BFGS-B"]
QUAD_MIN = [70 / 19, 6 - 140 / 19]  # the minimum of `quadratic`


def rosen(x):
    return so.rosen(x)


def rosen_der(x):
    return so.rosen_der(x)


def quadratic(x, a=3.0):
    return float((x[0] - a) ** 2 + 5 * (x[1] + 1) ** 2 + x[0] * x[1])


def quadratic_der(x, a=3.0):
    return np.array([2 * (x[0] - a) + x[1], 10 * (x[1] + 1) + x[0]])


def both(module, *args, **kwargs):
    """The same call with scipy and with optim.scipy."""
    return module_call(so, *args, **kwargs), module_call(oo, *args, **kwargs)


def module_call(module, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return module.minimize(*args, **kwargs)


class Counted:
    """A function that counts and records its calls."""

    def __init__(self, function):
        self.function = function
        self.points = []

    def __call__(self, x, *args):
        self.points.append(np.array(x, copy=True))
        return self.function(x, *args)


# ---------------------------------------------------------------- the result


@pytest.mark.parametrize("method", METHODS)
def test_result_has_scipys_keys_types_and_mapping_access(method):
    theirs, ours = both(None, rosen, [-1.2, 1.0], method=method, jac=rosen_der)
    assert sorted(set(ours) - OPTIMS_KEYS) == sorted(theirs)
    assert set(ours) >= OPTIMS_KEYS
    assert isinstance(ours, dict)
    for key in theirs:
        assert getattr(ours, key) is ours[key]
    assert type(ours.status) is type(theirs.status) is int
    assert isinstance(ours.success, bool)
    assert isinstance(ours.nit, int)
    assert isinstance(ours.fun, float)
    assert ours.x.shape == theirs.x.shape == (2,)
    assert ours.status == theirs.status == 0
    assert ours.success
    assert theirs.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)
    assert "x" in dir(ours)
    assert "success" in repr(ours)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", [None, "2-point", "3-point", "cs", True])
def test_every_jac_form_reaches_scipys_answer(method, jac):
    fun = (lambda x: (quadratic(x), quadratic_der(x))) if jac is True else quadratic
    theirs, ours = both(None, fun, [0.0, 0.0], method=method, jac=jac)
    assert ours.success
    assert theirs.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", [None, "2-point", "3-point", "function", True])
def test_nfev_and_njev_count_calls_as_scipy_does(method, jac):
    counts = {}
    for module in (so, oo):
        fun = Counted(quadratic)
        gradient = Counted(quadratic_der)
        if jac is True:
            fun = Counted(lambda x: (quadratic(x), quadratic_der(x)))
            res = module_call(module, fun, [0.0, 0.0], method=method, jac=True)
            assert res.nfev == len(fun.points)
        elif jac == "function":
            res = module_call(module, fun, [0.0, 0.0], method=method, jac=gradient)
            assert res.njev == len(gradient.points)
            assert res.nfev == len(fun.points)
        else:
            res = module_call(module, fun, [0.0, 0.0], method=method, jac=jac)
            assert res.nfev == len(fun.points)
            assert res.njev > 0  # each finite-difference gradient counts one
            per_gradient = {None: 2, "2-point": 2, "3-point": 4}[jac]
            assert res.nfev >= per_gradient * res.njev
        counts[module] = res
    assert counts[oo].njev > 0
    assert counts[so].njev > 0


def test_optimize_result_is_a_dict_with_attributes():
    res = oo.OptimizeResult(x=np.ones(2), fun=1.0)
    res.nit = 4
    assert res["nit"] == 4
    del res.nit
    assert "nit" not in res
    with pytest.raises(AttributeError):
        _ = res.nit


# ---------------------------------------------------- options and keywords


DOCUMENTED = {
    "BFGS": {
        "gtol": 1e-6,
        "norm": 2,
        "eps": 1e-7,
        "maxiter": 300,
        "disp": False,
        "return_all": True,
        "finite_diff_rel_step": 1e-7,
        "xrtol": 1e-12,
        "c1": 1e-3,
        "c2": 0.8,
        "hess_inv0": np.eye(2),
        "workers": map,
    },
    "CG": {
        "gtol": 1e-6,
        "norm": 2,
        "eps": 1e-7,
        "maxiter": 300,
        "disp": False,
        "return_all": True,
        "finite_diff_rel_step": 1e-7,
        "c1": 1e-3,
        "c2": 0.3,
        "workers": map,
    },
    "L-BFGS-B": {
        "maxcor": 5,
        "ftol": 1e-12,
        "gtol": 1e-7,
        "eps": 1e-7,
        "maxfun": 1000,
        "maxiter": 300,
        "maxls": 30,
        "finite_diff_rel_step": 1e-7,
        "workers": map,
    },
}


@pytest.mark.parametrize(
    ("method", "option"),
    [(method, option) for method, options in DOCUMENTED.items() for option in options],
)
def test_each_documented_option_is_accepted_without_warning(method, option):
    options = {option: DOCUMENTED[method][option]}
    for module in (so, oo):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = module.minimize(quadratic, [0.0, 0.0], method=method, options=options)
        assert res.success
        np.testing.assert_allclose(res.x, QUAD_MIN, atol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_unknown_options_warn_as_scipy_does(method):
    options = {"bogus": 1, "xatol": 2}
    messages = []
    for module in (so, oo):
        with pytest.warns(module.OptimizeWarning) as caught:
            module.minimize(quadratic, [0.0, 0.0], method=method, options=options)
        messages.append([str(w.message) for w in caught])
    assert messages[0] == messages[1] == ["Unknown solver options: bogus, xatol"]
    assert issubclass(oo.OptimizeWarning, UserWarning)


@pytest.mark.parametrize("method", METHODS)
def test_float_maxiter_is_a_bound_on_iterations(method):
    theirs, ours = both(
        None, rosen, [-1.2, 1.0], method=method, jac=rosen_der, options={"maxiter": 4.5}
    )
    assert ours.status == theirs.status == 1
    assert ours.message == theirs.message
    assert ours.nit == theirs.nit == 5
    assert not ours.success


@pytest.mark.parametrize(("method", "norm"), [("BFGS", np.inf), ("CG", 1)])
def test_gtol_and_norm_stop_on_that_norm(method, norm):
    for module in (so, oo):
        res = module_call(
            module,
            rosen,
            [-1.2, 1.0],
            method=method,
            jac=rosen_der,
            options={"gtol": 1e-2, "norm": norm},
        )
        assert res.status == 0
        assert np.linalg.norm(res.jac, ord=norm) <= 1e-2


def test_lbfgsb_gtol_is_on_the_largest_projected_gradient_component():
    bounds = [(-2, 0.5), (None, None)]
    for module in (so, oo):
        res = module_call(
            module, rosen, [0.0, 0.0], jac=rosen_der, bounds=bounds, tol=1e-8
        )
        assert res.message == "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
        np.testing.assert_allclose(res.x, [0.5, 0.25], atol=1e-6)


def test_lbfgsb_ftol_stops_on_relative_reduction():
    for module in (so, oo):
        res = module_call(
            module, rosen, [-1.2, 1.0], method="L-BFGS-B", options={"ftol": 1e-2}
        )
        assert res.status == 0
        assert res.message == "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
        assert res.fun > 1e-6  # stopped early, well before the minimum


def test_lbfgsb_maxfun_stops_with_scipys_status_and_message():
    theirs, ours = both(
        None, rosen, [-1.2, 1.0], method="L-BFGS-B", options={"maxfun": 20}
    )
    assert ours.status == theirs.status == 1
    assert ours.message == theirs.message
    assert ours.nfev > 20
    assert theirs.nfev > 20


def test_lbfgsb_maxcor_bounds_the_stored_pairs():
    for module in (so, oo):
        res = module_call(
            module, rosen, [-1.2, 1.0], method="L-BFGS-B", options={"maxcor": 3}
        )
        assert res.hess_inv.sk.shape[0] <= 3


@pytest.mark.parametrize("method", ["BFGS", "CG"])
def test_return_all_lists_every_iterate(method):
    x0 = np.array([-1.2, 1.0])
    for module in (so, oo):
        res = module_call(
            module,
            rosen,
            x0,
            method=method,
            jac=rosen_der,
            options={"return_all": True},
        )
        assert len(res.allvecs) == res.nit + 1
        np.testing.assert_array_equal(res.allvecs[0], x0)
        np.testing.assert_array_equal(res.allvecs[-1], res.x)


def test_return_all_with_lbfgsb_warns_as_scipy_does():
    messages = []
    for module in (so, oo):
        with (
            pytest.warns(RuntimeWarning, match="return_all") as caught,
            pytest.warns(module.OptimizeWarning, match="return_all"),
        ):
            module.minimize(rosen, [0, 0], method="L-BFGS-B", options={"return_all": 1})
        messages.append([(w.category.__name__, str(w.message)) for w in caught])
    assert messages[0] == messages[1]
    assert "RuntimeWarning" in dict(messages[1])


def test_xrtol_stops_on_a_small_step():
    for module in (so, oo):
        res = module_call(
            module, rosen, [-1.2, 1.0], method="BFGS", options={"xrtol": 0.5}
        )
        assert res.status == 0
        assert res.nit < 10


@pytest.mark.parametrize("method", ["BFGS", "CG"])
@pytest.mark.parametrize(("c1", "c2"), [(0.5, 0.4), (0.0, 0.5), (0.1, 1.0)])
def test_bad_wolfe_constants_are_refused(method, c1, c2):
    for module in (so, oo):
        with pytest.raises(ValueError, match="c1"):
            module.minimize(rosen, [0, 0], method=method, options={"c1": c1, "c2": c2})


def test_hess_inv0_sets_the_first_direction():
    h0 = np.diag([1e-3, 2e-3])
    for module in (so, oo):
        f = Counted(quadratic)
        module_call(
            module,
            f,
            [0.0, 0.0],
            method="BFGS",
            jac=quadratic_der,
            options={"hess_inv0": h0, "maxiter": 1},
        )
        # the first trial point lies along -H0 g (a short step: |H0 g| < 1)
        step = f.points[1] - f.points[0]
        direction = -h0 @ quadratic_der(np.zeros(2))
        np.testing.assert_allclose(
            step / np.linalg.norm(step), direction / np.linalg.norm(direction)
        )


def test_hess_inv0_must_be_positive_definite():
    for module in (so, oo):
        with pytest.raises(ValueError, match="positive definite"):
            module.minimize(
                quadratic, [0, 0], method="BFGS", options={"hess_inv0": -np.eye(2)}
            )


@pytest.mark.parametrize(
    ("method", "jac", "options", "calls"),
    [
        ("BFGS", None, {}, 3),
        ("BFGS", None, {"eps": 1e-3}, 3),
        ("L-BFGS-B", None, {}, 3),
        ("CG", "2-point", {}, 3),
        ("CG", "2-point", {"finite_diff_rel_step": 1e-4}, 3),
        ("BFGS", "3-point", {}, 5),
    ],
)
def test_finite_difference_points_are_scipys(method, jac, options, calls):
    """The first gradient's points: scipy's steps (absolute `eps`, relative)."""
    x0 = [0.5, -3.0]
    points = []
    for module in (so, oo):
        f = Counted(quadratic)
        module_call(module, f, x0, method=method, jac=jac, options=options)
        points.append(sorted(map(tuple, f.points[:calls])))
    np.testing.assert_array_equal(points[0], points[1])


def test_cs_differences_are_exact():
    def analytic(x):  # no float(): complex arguments pass through
        return (x[0] - 3.0) ** 2 + 5 * (x[1] + 1) ** 2 + x[0] * x[1]

    for module in (so, oo):
        res = module_call(module, analytic, [0.5, -3.0], method="BFGS", jac="cs")
        np.testing.assert_allclose(res.jac, quadratic_der(res.x), atol=1e-12)


def test_disp_prints_scipys_summary_for_bfgs(capsys):
    outputs = []
    for module in (so, oo):
        module.minimize(quadratic, [0, 0], method="BFGS", options={"disp": True})
        outputs.append(capsys.readouterr().out.splitlines())
    assert outputs[1][0] == outputs[0][0] == "Optimization terminated successfully."
    assert [line.split(":")[0] for line in outputs[1]] == [
        line.split(":")[0] for line in outputs[0]
    ]


def test_nothing_is_printed_without_disp(capsys):
    oo.minimize(quadratic, [0, 0], method="BFGS")
    oo.minimize(quadratic, [0, 0], method="CG")
    assert capsys.readouterr().out == ""


def test_lbfgsb_disp_is_deprecated_as_in_scipy(capsys):
    for module in (so, oo):
        with pytest.warns(DeprecationWarning, match="deprecated"):
            module.minimize(quadratic, [0, 0], method="L-BFGS-B", options={"disp": 1})
    assert capsys.readouterr().out == ""


def test_workers_map_evaluates_the_finite_difference_points():
    used = []

    def mapper(function, points):
        used.append(len(points))
        return map(function, points)

    res = oo.minimize(quadratic, [0, 0], method="BFGS", options={"workers": mapper})
    assert res.success
    assert used
    assert set(used) == {2}


def test_positional_call_in_scipys_order():
    call = (quadratic, [0.0, 0.0], (3.0,), "L-BFGS-B", quadratic_der, None, None)
    rest = ([(None, 3.0), (None, None)], (), 1e-8, None, {"maxiter": 100})
    theirs, ours = so.minimize(*call, *rest), oo.minimize(*call, *rest)
    assert ours.success
    assert theirs.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)


@pytest.mark.parametrize(
    "keywords",
    [
        {"hess": lambda x: np.eye(2)},
        {"hessp": lambda x, p: p},
        {"constraints": [{"type": "eq", "fun": lambda x: x[0]}]},
        {"constraints": {"type": "eq", "fun": lambda x: x[0]}, "method": "BFGS"},
        {"bounds": [(0, 1), (0, 1)], "method": "BFGS"},
        {"bounds": [(0, 1), (0, 1)], "method": "CG"},
    ],
)
def test_ignored_arguments_warn_as_scipy_does(keywords):
    keywords = {"method": "CG", **keywords}
    messages = []
    for module in (so, oo):
        with pytest.warns(RuntimeWarning) as caught:
            res = module.minimize(quadratic, [0.0, 0.0], **keywords)
        messages.append(sorted(str(w.message) for w in caught))
        np.testing.assert_allclose(res.x, QUAD_MIN, atol=1e-4)
    assert messages[0] == messages[1]


@pytest.mark.parametrize("constraints", [(), None, []])
def test_empty_constraints_are_silent(constraints):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for module in (so, oo):
            assert module.minimize(quadratic, [0, 0], constraints=constraints).success


def test_default_method_is_bfgs_without_bounds_and_lbfgsb_with():
    for module in (so, oo):
        free = module.minimize(quadratic, [0, 0])
        boxed = module.minimize(quadratic, [0, 0], bounds=[(0, 1), (-1, 1)])
        assert isinstance(free.hess_inv, np.ndarray)
        assert boxed.message.startswith("CONVERGENCE")


def test_bounds_objects():
    for module in (so, oo):
        res = module.minimize(
            quadratic, [0.5, 0], bounds=module.Bounds([0, -1], [1, 1])
        )
        np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-5)
    res = oo.minimize(quadratic, [0.5, 0], bounds=so.Bounds([0, -1], [1, 1]))
    np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-5)


def test_scipys_other_methods_are_named_not_run():
    with pytest.raises(NotImplementedError, match="scipy"):
        oo.minimize(quadratic, [0, 0], method="Nelder-Mead")
    with pytest.raises(NotImplementedError, match="scipy"):
        oo.minimize(quadratic, [0, 0], method="trust-exact", jac=quadratic_der)
    for module in (so, oo):
        with pytest.raises(ValueError, match="Unknown solver"):
            module.minimize(quadratic, [0, 0], method="no-such-method")


# ------------------------------------------------------------- input rules


@pytest.mark.parametrize("method", METHODS)
def test_scalar_x0_and_size_one_values(method):
    def fun(x):
        return np.array([(x[0] - 2.0) ** 2])

    theirs, ours = both(None, fun, 5, method=method)
    assert ours.x.shape == theirs.x.shape == (1,)
    assert isinstance(ours.fun, float)
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)


def test_x0_of_two_dimensions_is_refused():
    for module in (so, oo):
        with pytest.raises(ValueError, match="one dimension"):
            module.minimize(quadratic, np.zeros((2, 1)))


def test_a_vector_value_is_refused():
    for module in (so, oo):
        with pytest.raises(ValueError, match="scalar"):
            module.minimize(lambda x: x, [1.0, 2.0])


def test_args_not_a_tuple_is_one_argument():
    theirs, ours = both(None, quadratic, [0.0, 0.0], args=1.0, jac=quadratic_der)
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-5)
    assert ours.x[0] < 2.0  # a = 1, not the default 3


def test_integer_x0():
    theirs, ours = both(None, quadratic, [0, 0], jac=quadratic_der)
    assert ours.x.dtype == theirs.x.dtype == np.float64


@pytest.mark.parametrize("method", METHODS)
def test_fun_and_jac_get_copies_of_x(method):
    def fun(x):
        value = quadratic(x)
        x[:] = 1e6  # vandalism must not derail the run
        return value

    def jac(x):
        gradient = quadratic_der(x)
        x[:] = -1e6
        return gradient

    theirs, ours = both(None, fun, [0.0, 0.0], method=method, jac=jac)
    assert ours.success
    assert theirs.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_nan_at_x0_is_an_unsuccessful_result(method):
    theirs, ours = both(None, lambda x: np.nan, [1.0], method=method)
    assert not ours.success
    assert not theirs.success
    assert ours.status == theirs.status
    assert ours.message == theirs.message
    assert ours.nit == theirs.nit == 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("where", ["fun", "jac", "callback"])
def test_user_exceptions_propagate_unchanged(method, where):
    error = KeyError("mine")

    def fun(x):
        if where == "fun" and x[0] > 0.5:
            raise error
        return quadratic(x)

    def jac(x):
        if where == "jac" and x[0] > 0.5:
            raise error
        return quadratic_der(x)

    def callback(xk):
        if where == "callback":
            raise error

    for module in (so, oo):
        with pytest.raises(KeyError) as caught:
            module.minimize(fun, [0.0, 0.0], method=method, jac=jac, callback=callback)
        assert caught.value is error


# --------------------------------------------------------------- callbacks


def recorder(records):
    def callback(intermediate_result):
        records.append(intermediate_result)

    return callback


def vandal(records):
    def callback(xk, intermediate_result=None):
        assert intermediate_result is None
        records.append(xk)
        xk[:] = 99.0  # a copy: the run goes on undisturbed

    return callback


@pytest.mark.parametrize("method", METHODS)
def test_intermediate_result_callback_gets_a_result(method):
    seen = {}
    for module in (so, oo):
        records = []
        callback = recorder(records)

        res = module.minimize(
            rosen, [-1.2, 1.0], method=method, jac=rosen_der, callback=callback
        )
        assert len(records) == res.nit
        assert all(isinstance(r, module.OptimizeResult) for r in records)
        assert {"x", "fun"} <= set(records[-1])
        np.testing.assert_allclose(records[-1].x, res.x)
        assert records[-1].fun == pytest.approx(res.fun)
        seen[module] = records
    assert len(seen[oo]) > 0


@pytest.mark.parametrize("method", METHODS)
def test_other_callbacks_get_a_copy_of_xk(method):
    for module in (so, oo):
        records = []
        callback = vandal(records)

        res = module.minimize(
            rosen, [-1.2, 1.0], method=method, jac=rosen_der, callback=callback
        )
        assert res.success
        assert len(records) == res.nit


@pytest.mark.parametrize("method", METHODS)
def test_stop_iteration_gives_scipys_status(method):
    def callback(intermediate_result):
        if intermediate_result.fun < 1.0:
            raise StopIteration

    theirs, ours = both(
        None, rosen, [-1.2, 1.0], method=method, jac=rosen_der, callback=callback
    )
    assert ours.status == theirs.status == 99
    assert ours.message == theirs.message
    assert not ours.success
    assert ours.fun < 1.0


def test_a_callbacks_return_value_is_ignored():
    theirs, ours = both(
        None, rosen, [-1.2, 1.0], jac=rosen_der, callback=lambda xk: True
    )
    assert ours.success
    assert theirs.success


# ------------------------------------------------------------------ hess_inv


def test_bfgs_hess_inv_approximates_the_inverse_hessian():
    hessian = np.array([[2.0, 1.0], [1.0, 10.0]])
    for module in (so, oo):
        res = module.minimize(quadratic, [0, 0], jac=quadratic_der, method="BFGS")
        assert res.hess_inv.shape == (2, 2)
        np.testing.assert_allclose(res.hess_inv, res.hess_inv.T)
        np.testing.assert_allclose(res.hess_inv, np.linalg.inv(hessian), atol=2e-2)


def test_lbfgsb_hess_inv_is_scipys_operator():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(3, 4))
    y = s + 0.1 * rng.normal(size=(3, 4))
    ours, theirs = oo.LbfgsInvHessProduct(s, y), so.LbfgsInvHessProduct(s, y)
    np.testing.assert_allclose(ours.todense(), theirs.todense())
    v = rng.normal(size=4)
    np.testing.assert_allclose(ours.matvec(v), theirs.matvec(v))
    np.testing.assert_allclose(ours @ v, theirs @ v)
    res = oo.minimize(rosen, [-1.2, 1.0], method="L-BFGS-B", jac=rosen_der)
    dense = res.hess_inv.todense()
    assert dense.shape == (2, 2)
    np.testing.assert_allclose(dense, dense.T, atol=1e-10)
    assert np.all(np.linalg.eigvalsh(dense) > 0)


# ---------------------------------------------------------------- legacy


def test_fmin_bfgs_return_conventions():
    x0 = [-1.2, 1.0]
    for module in (so, oo):
        x = module.fmin_bfgs(rosen, x0, rosen_der, disp=0)
        full = module.fmin_bfgs(rosen, x0, rosen_der, disp=0, full_output=1, retall=1)
        assert len(full) == 8
        xopt, fopt, gopt, bopt, fcalls, gcalls, flag, allvecs = full
        np.testing.assert_allclose(xopt, x, atol=0)
        assert bopt.shape == (2, 2)
        assert flag == 0
        assert fcalls > 0
        assert gcalls > 0
        assert len(allvecs) > 1
        assert fopt < 1e-8
        assert gopt.shape == (2,)
        np.testing.assert_allclose(x, [1, 1], atol=1e-4)


def test_fmin_bfgs_prints_by_default_as_scipy_does(capsys):
    oo.fmin_bfgs(quadratic, [0, 0])
    ours = capsys.readouterr().out
    so.fmin_bfgs(quadratic, [0, 0])
    theirs = capsys.readouterr().out
    assert ours.splitlines()[0] == theirs.splitlines()[0]


def test_fmin_cg_return_conventions():
    for module in (so, oo):
        full = module.fmin_cg(rosen, [-1.2, 1.0], rosen_der, disp=0, full_output=1)
        assert len(full) == 5
        xopt, _, fcalls, gcalls, flag = full
        assert flag == 0
        assert fcalls > 0
        assert gcalls > 0
        np.testing.assert_allclose(xopt, [1, 1], atol=1e-4)
        xopt, allvecs = module.fmin_cg(rosen, [-1.2, 1.0], rosen_der, disp=0, retall=1)
        np.testing.assert_allclose(allvecs[-1], xopt)


@pytest.mark.parametrize(
    "keywords",
    [
        {},
        {"approx_grad": True},
        {"bounds": [(-2, 0.5), (None, None)], "m": 4, "factr": 10, "pgtol": 1e-8},
    ],
)
def test_fmin_l_bfgs_b_returns_x_f_and_a_dict(keywords):
    def value_and_gradient(x):
        return rosen(x), rosen_der(x)

    fun = rosen if keywords.get("approx_grad") else value_and_gradient
    answers = [
        module.fmin_l_bfgs_b(fun, [-1.2, 1.0], **keywords) for module in (so, oo)
    ]
    (x1, f1, d1), (x2, f2, d2) = answers
    assert sorted(d1) == sorted(d2) == ["funcalls", "grad", "nit", "task", "warnflag"]
    assert d1["warnflag"] == d2["warnflag"] == 0
    assert isinstance(d2["task"], str)
    assert d2["task"].startswith("CONVERGENCE")
    np.testing.assert_allclose(x2, x1, atol=2e-3)
    assert f2 == pytest.approx(f1, abs=1e-5)


def test_fmin_l_bfgs_b_callback_halt():
    def stop(xk):
        raise StopIteration

    for module in (so, oo):
        _, _, d = module.fmin_l_bfgs_b(rosen, [-1.2, 1.0], rosen_der, callback=stop)
        assert d["warnflag"] == 2
        assert d["task"] == "STOP: CALLBACK REQUESTED HALT"


@pytest.mark.parametrize("epsilon", [1e-6, np.array([1e-4, 1e-7])])
def test_approx_fprime_is_scipys(epsilon):
    x = np.array([0.3, -2.0])
    for f in (lambda x: np.sum(x**3), lambda x: x**2 + x[::-1]):
        np.testing.assert_array_equal(
            oo.approx_fprime(x, f, epsilon), so.approx_fprime(x, f, epsilon)
        )
    np.testing.assert_array_equal(
        oo.approx_fprime(x, quadratic, 1e-6, 2.0),
        so.approx_fprime(x, quadratic, 1e-6, 2.0),
    )


def test_check_grad_is_scipys():
    x = [0.3, -2.0]
    wrong = lambda x: quadratic_der(x) + 1e-3  # noqa: E731
    for grad in (quadratic_der, wrong):
        assert oo.check_grad(quadratic, grad, x) == so.check_grad(quadratic, grad, x)
        assert oo.check_grad(quadratic, grad, x, direction="random", rng=3) == (
            so.check_grad(quadratic, grad, x, direction="random", rng=3)
        )
        assert oo.check_grad(quadratic, grad, x, direction="random", seed=3) == (
            so.check_grad(quadratic, grad, x, direction="random", seed=3)
        )
    with pytest.raises(ValueError, match="direction"):
        oo.check_grad(quadratic, quadratic_der, x, direction="some")


def test_brute_finishes_with_optim_minimize():
    ranges = (slice(-2, 2, 0.5), slice(-2, 2, 0.5))
    theirs = so.brute(quadratic, ranges, finish=so.minimize)
    ours = so.brute(quadratic, ranges, finish=oo.minimize)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_results_and_warnings_are_scipys_types_too():
    res = oo.minimize(quadratic, [0, 0])
    assert isinstance(res, so.OptimizeResult)
    assert issubclass(oo.OptimizeWarning, so.OptimizeWarning)


def test_import_keeps_the_real_scipy():
    import scipy

    assert scipy.optimize.minimize is so.minimize
    assert oo.minimize is not so.minimize
    assert math.isclose(float(oo.rosen([1.2, 1.0])), float(so.rosen([1.2, 1.0])))


@pytest.mark.parametrize("method", ["BFGS", "CG"])
def test_an_unreachable_gtol_ends_in_precision_loss(method):
    theirs, ours = both(
        None, rosen, [1.3, 0.7, 0.8], method=method, options={"gtol": 1e-10}
    )
    assert ours.status == theirs.status == 2
    assert ours.message == theirs.message
    assert not ours.success
    assert ours.nit < 200  # stopped at the first failed line search, as scipy


def test_the_documented_script_prints_the_same_with_scipy():
    """docs/coming-from-scipy.md's script, run with scipy.optimize itself."""
    import doctest
    import pathlib

    page = pathlib.Path(__file__).parent.parent / "docs" / "coming-from-scipy.md"
    script = page.read_text().split("```pycon\n")[1].split("```")[0]
    ours = "import optim.scipy as optimize  # was: import scipy.optimize as optimize"
    assert ours in script
    script = script.replace(ours, "import scipy.optimize as optimize")
    test = doctest.DocTestParser().get_doctest(script, {}, "scipy-script", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted > 10


def test_x0_outside_the_box_is_clipped_and_differences_stay_inside():
    bounds = [(-1.0, 0.25), (2.0, 5.0)]
    points = []
    for module in (so, oo):
        f = Counted(quadratic)
        res = module_call(module, f, [0.25, -3.0], method="L-BFGS-B", bounds=bounds)
        np.testing.assert_allclose(res.x, [0.25, 2.0], atol=1e-6)
        assert all(p[0] <= 0.25 for p in f.points)
        assert all(p[1] >= 2.0 for p in f.points)
        points.append(sorted(map(tuple, f.points[:3])))
    np.testing.assert_array_equal(points[0], points[1])


def test_bounds_of_the_wrong_length_or_crossed_are_refused():
    for module in (so, oo):
        with pytest.raises(ValueError, match="number of bounds is not compatible"):
            module.minimize(quadratic, [0, 0], bounds=[(0, 1)] * 3)
        with pytest.raises(ValueError, match="An upper bound is less than"):
            module.minimize(quadratic, [0, 0], bounds=[(1, 0), (0, 1)])
        with pytest.raises(ValueError, match="An upper bound is less than"):
            module.minimize(quadratic, [0, 0], bounds=module.Bounds([1, 0], [0, 1]))


# ---------------------------------------------------------------- Newton-CG

OPTIMS_KEYS = {"outcome", "diagnosis", "result"}
"""optim's own report, carried by every result of a run beside scipy's fields."""

NEWTON_KEYS = ["fun", "jac", "message", "nfev", "nhev", "nit", "njev", "status"]
NEWTON_KEYS += ["success", "x"]


@pytest.mark.parametrize(
    "keywords",
    [
        {},
        {"hess": so.rosen_hess},
        {"hessp": so.rosen_hess_prod},
        {"options": {"xtol": 1e-8, "eps": 1e-7, "c1": 1e-3, "c2": 0.8}},
    ],
)
def test_newton_cg_with_each_hessian_form(keywords):
    for module in (so, oo):
        hess = Counted(so.rosen_hess)
        hessp = Counted(so.rosen_hess_prod)
        extra = dict(keywords)
        if "hess" in extra:
            extra["hess"] = hess
        if "hessp" in extra:
            extra["hessp"] = hessp
        res = module_call(
            module, rosen, [-1.2, 1.0, 0.8], method="Newton-CG", jac=rosen_der, **extra
        )
        assert sorted(set(res) - OPTIMS_KEYS) == NEWTON_KEYS
        assert res.status == 0
        assert res.message == "Optimization terminated successfully."
        np.testing.assert_allclose(res.x, [1, 1, 1], atol=5e-3)
        assert res.nhev == len(hess.points) + len(hessp.points)
        if not keywords.get("hess") and not keywords.get("hessp"):
            assert res.nhev == 0


def test_newton_cg_needs_a_jacobian():
    for module in (so, oo):
        with pytest.raises(ValueError, match="Jacobian is required"):
            module.minimize(rosen, [0, 0], method="Newton-CG")


def test_newton_cg_takes_hessians_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for module in (so, oo):
            module.minimize(
                quadratic,
                [0, 0],
                method="Newton-CG",
                jac=quadratic_der,
                hess=lambda x: np.array([[2.0, 1.0], [1.0, 10.0]]),
            )


def test_newton_cg_maxiter_and_callback_statuses():
    theirs, ours = both(
        None,
        rosen,
        [-1.2, 1.0],
        method="Newton-CG",
        jac=rosen_der,
        options={"maxiter": 3},
    )
    assert ours.status == theirs.status == 1
    assert ours.message == theirs.message
    assert ours.nit == theirs.nit == 3

    def stop(intermediate_result):
        raise StopIteration

    theirs, ours = both(
        None, rosen, [-1.2, 1.0], method="Newton-CG", jac=rosen_der, callback=stop
    )
    assert ours.status == theirs.status == 99
    assert ours.nit == theirs.nit == 1


def test_newton_cg_on_an_unbounded_function_fails():
    """Both run on to values that overflow and end with scipy's NaN status (3):
    the searches extrapolate as scipy's do."""

    def concave(x):
        return -float(x @ x)

    def concave_der(x):
        return -2.0 * x

    theirs, ours = both(None, concave, [1.0, 2.0], method="Newton-CG", jac=concave_der)
    assert not ours.success
    assert not theirs.success
    assert ours.status == theirs.status == 3
    assert ours.message == theirs.message


def test_fmin_ncg_return_conventions():
    for module in (so, oo):
        full = module.fmin_ncg(
            rosen, [-1.2, 1.0], rosen_der, fhess=so.rosen_hess, disp=0, full_output=1
        )
        assert len(full) == 6
        xopt, _, fcalls, gcalls, hcalls, flag = full
        assert flag == 0
        assert fcalls > 0
        assert gcalls > 0
        assert hcalls > 0
        np.testing.assert_allclose(xopt, [1, 1], atol=1e-3)


@pytest.mark.parametrize("ulps", [0, 1, 3])
@pytest.mark.parametrize(
    ("name", "jac"),
    [
        ("Osborne 1", "2-point"),
        ("Brown badly scaled", "2-point"),
        ("Penalty II", "2-point"),
        ("Osborne 1", "3-point"),
        ("Extended Rosenbrock", "3-point"),
        ("Penalty II", "3-point"),
    ],
)
def test_lbfgsb_with_differences_reaches_scipys_value(name, jac, ulps):
    """L-BFGS-B searches as scipy's does (Moré-Thuente, c1 = 1e-3): on MGH problems
    where the strong-Wolfe search's path parted from scipy's at the first search
    and ended up to 8e-8 above scipy's value (on extended Rosenbrock at 6e-7
    against 1e-13), the first step is scipy's and the run ends at scipy's minimum.

    Both runs stop by the relative-reduction test (`ftol`), which leaves a band of
    values open: where in it each ends depends on the last bits of the path, and
    so on the CPU's rounding, so the final values are compared to 1e-6, not to
    their last digits."""
    from optim.mgh import PROBLEMS

    problem = next(p for p in PROBLEMS if p.name == name)
    x0 = problem.x0.copy()
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    points, results = {}, {}
    with np.errstate(all="ignore"):
        for side, module in (("optim", oo), ("scipy", so)):
            kept = points[side] = []
            results[side] = module.minimize(
                problem.value,
                x0,
                method="L-BFGS-B",
                jac=jac,
                callback=lambda xk, kept=kept: kept.append(np.copy(xk)),
            )
    ours, theirs = results["optim"], results["scipy"]

    assert ours.success
    assert theirs.success
    np.testing.assert_allclose(points["optim"][0], points["scipy"][0], rtol=1e-10)
    assert ours.fun - theirs.fun <= 1e-6 * max(1.0, abs(theirs.fun))


def _skewed(x):
    return float(np.sum(np.exp(0.3 * x) + x**3 / 3.0) + x[0] * x[-1])


@pytest.mark.parametrize("jac", ["2-point", "3-point"])
@pytest.mark.parametrize(
    ("x", "lower", "upper"),
    [
        ([0.0, -2.0, 3.5], None, None),
        ([0.0, -2.0, 3.5], [-1.0, -3.0, 0.0], [1.0, 0.0, 9.0]),
        ([1.0, -2.0, 3.5], [0.0, -2.0, 0.0], [1.0, 0.0, 3.5]),  # on bounds
        ([0.5, -2.0, 3.5], [0.5, -2.0 - 1e-9, 3.5 - 2e-9], [0.5 + 3e-9, -2.0, 3.5]),
        ([0.25, -2.0, 3.5], [0.25 - 1e-6, -2.0, 3.5], [0.25, -2.0 + 4e-6, 3.5]),
    ],
    ids=["free", "inside", "on-bounds", "narrower-than-h", "one-sided-shrunk"],
)
def test_differences_are_scipys_bit_for_bit(jac, x, lower, upper):
    """The face's finite differences are scipy's `approx_derivative`: the same
    steps (fitted into bounds as `_adjust_scheme_to_bounds` fits them: turned
    back, shortened, or one-sided three-point), the same points in the same
    order, the same bits."""
    from scipy.optimize._numdiff import approx_derivative

    x = np.array(x)
    box = (-np.inf, np.inf) if lower is None else (np.array(lower), np.array(upper))
    theirs_f, ours_f = Counted(_skewed), Counted(_skewed)
    f0 = _skewed(x)
    with np.errstate(all="ignore"):
        theirs = approx_derivative(theirs_f, x, method=jac, f0=f0, bounds=box)
        counted = oo._Counted(
            ours_f,
            (),
            jac,
            lower=None if lower is None else box[0],
            upper=None if upper is None else box[1],
        )
        ours = counted._differences(x, f0)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.array(ours_f.points), np.array(theirs_f.points))
    assert all(np.all(p >= box[0]) and np.all(p <= box[1]) for p in ours_f.points)


def _ulps_above(x0, ulps):
    x0 = np.array(x0, dtype=np.float64)
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    return x0


@pytest.mark.parametrize("ulps", [0, 1, 3, 5, 7])
def test_powell_badly_scaled_forward_differences_follow_scipys_rule(ulps):
    """What L-BFGS-B with `jac="2-point"` shares with scipy's on MGH Powell badly
    scaled, from the standard start and starts 1-7 ulps above it: the first
    gradient (its points and values), the stop (the relative-reduction test, a
    success), and the gradient at the end (scipy's `approx_derivative` there,
    bit for bit). Not the final value: both runs stall where the forward
    differences' truncation error (about 50 in the first coordinate) cancels
    the gradient, and stop where a step first gains less than `ftol`; paths
    that part in a last bit end anywhere in that band (scipy's own values from
    these starts range over 1.2e-6 to 7.6e-6), so which side ends lower is not
    something either algorithm decides (docs/performance.md)."""
    from scipy.optimize._numdiff import approx_derivative

    from optim.mgh import PROBLEMS

    problem = next(p for p in PROBLEMS if p.name == "Powell badly scaled")
    x0 = _ulps_above(problem.x0, ulps)
    runs = {}
    for module in (so, oo):
        f = Counted(problem.value)
        with np.errstate(all="ignore"):
            res = module.minimize(f, x0, method="L-BFGS-B", jac="2-point")
        runs[module] = res, f.points
    (ours, our_points), (theirs, their_points) = runs[oo], runs[so]
    np.testing.assert_array_equal(our_points[:3], their_points[:3])
    assert ours.success
    assert theirs.success
    assert ours.message == "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    assert "REDUCTION" in str(theirs.message)  # scipy < 1.15: REL_REDUCTION_OF_F...
    with np.errstate(all="ignore"):
        at_end = approx_derivative(problem.value, ours.x, method="2-point", f0=ours.fun)
        central = approx_derivative(problem.value, ours.x, method="3-point")
    np.testing.assert_array_equal(ours.jac, at_end)
    # the stall is the forward differences': the gradient is far from 0 there
    assert abs(central[0] - ours.jac[0]) > 10.0
    assert np.max(np.abs(ours.jac)) > 1e-5  # and the estimate is above gtol


@pytest.mark.parametrize("jac", ["2-point", "3-point"])
@pytest.mark.parametrize("ulps", [1, 4, 7])
def test_lbfgsb_differences_cost_what_scipys_cost(jac, ulps):
    """Issue 19's measure 2 from ulp-perturbed starts: on the 33 MGH problems
    with n <= 10, `minimize(method="L-BFGS-B")` with differences takes a median
    of at most 1.3x scipy's evaluations, and succeeds wherever scipy does."""
    import statistics

    from optim.mgh import PROBLEMS

    ratios = []
    for problem in (p for p in PROBLEMS if p.x0.size <= 10):
        x0 = _ulps_above(problem.x0, ulps)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = oo.minimize(problem.value, x0, method="L-BFGS-B", jac=jac)
            theirs = so.minimize(problem.value, x0, method="L-BFGS-B", jac=jac)
        assert ours.success or not theirs.success, problem.name
        ratios.append(ours.nfev / theirs.nfev)
    assert len(ratios) == 33
    assert statistics.median(ratios) <= 1.3

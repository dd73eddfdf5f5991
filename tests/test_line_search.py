import weakref

import numpy as np
import pytest

from optim import (
    LBFGS,
    AnalyticGradient,
    BarzilaiBorwein,
    ConjugateGradient,
    Evaluator,
    ForwardDifference,
    FunctionObjective,
    LineSearchRule,
    Mode,
    Optimizer,
    Status,
    StopOnZeroGradient,
)
from optim.directions import (
    LBFGSDirection,
    PolakRibiere,
    PolakRibiereState,
    SteepestDescent,
)
from optim.line_search import AcceptStep, Backtracking, StrongWolfe, _cubic_minimizer
from optim.problems import Beale, Quadratic, Rosenbrock, Sphere
from optim.testing import Negated


def _search(search, problem, x, direction, initial_step, mode=Mode.DESCENT):
    objective = problem if mode is Mode.DESCENT else Negated(problem)
    evaluator = Evaluator(objective, AnalyticGradient(), mode)
    value, gradient = evaluator.value_and_gradient(x)
    result = search.search(
        evaluator,
        x=x,
        value=value,
        gradient=gradient,
        direction=direction,
        initial_step=initial_step,
    )
    return result, evaluator, value, gradient


@pytest.mark.parametrize("initial_step", [1e-4, 1e-2, 1.0, 100.0])
@pytest.mark.parametrize("c2", [0.9, 0.1])
def test_strong_wolfe_step_satisfies_both_conditions(initial_step, c2):
    """The accepted step meets sufficient decrease and the strong curvature test."""
    problem = Rosenbrock()
    x = np.array([-1.2, 1.0])
    direction = -problem.gradient(x)
    search = StrongWolfe(c2=c2)
    result, _, value, gradient = _search(search, problem, x, direction, initial_step)
    assert result.success
    slope0 = gradient @ direction
    trial = x + result.delta
    assert problem.value(trial) <= value + 1e-4 * result.step * slope0
    assert abs(problem.gradient(trial) @ direction) <= c2 * abs(slope0)
    np.testing.assert_array_equal(result.delta, result.step * direction)
    # The evaluator's value, by the same formula (`value` may round another way:
    # Quadratic's two formulas differ in the last bit on some BLAS kernels).
    assert result.value == problem.value_and_gradient(trial)[0]
    np.testing.assert_array_equal(result.gradient, problem.gradient(trial))


def test_strong_wolfe_finds_exact_minimizer_of_quadratic_along_line():
    """On a 1-D quadratic, cubic interpolation lands on the exact line minimizer."""
    problem = Quadratic(2, condition_number=4.0)
    x = np.array([1.0, 1.0])
    direction = -problem.gradient(x)
    result, *_ = _search(StrongWolfe(c2=0.01), problem, x, direction, 10.0)
    # exact step: g.g / g.A.g with g = (1, 4): 17 / (1 + 64) = 17 / 65
    assert result.success
    assert result.step == pytest.approx(17.0 / 65.0, rel=1e-10)


def test_strong_wolfe_agrees_with_scipy_on_accepted_conditions():
    """scipy's line_search and ours both return steps meeting strong Wolfe."""
    from scipy.optimize import line_search

    problem = Beale()
    x = problem.start
    direction = -problem.gradient(x)
    alpha_scipy = line_search(problem.value, problem.gradient, x, direction)[0]
    result, *_ = _search(StrongWolfe(), problem, x, direction, 1.0)
    for alpha in (alpha_scipy, result.step):
        trial = x + alpha * direction
        slope0 = problem.gradient(x) @ direction
        assert problem.value(trial) <= problem.value(x) + 1e-4 * alpha * slope0
        assert abs(problem.gradient(trial) @ direction) <= 0.9 * abs(slope0)


def test_backtracking_hand_computed():
    """On f = x^2 from 1 along -2: steps 1 (f=1, rejected), 0.5 (f=0, accepted)."""
    result, evaluator, *_ = _search(
        Backtracking(), Sphere(1), np.array([1.0]), np.array([-2.0]), 1.0
    )
    assert (result.step, result.value, result.success) == (0.5, 0.0, True)
    assert evaluator.evaluations == 3  # x, then two trial points
    assert evaluator.gradient_evaluations == 1


def test_backtracking_contraction_factor():
    """With contraction 0.1 the trial steps are 1, 0.1, 0.01, ..."""
    result, *_ = _search(
        Backtracking(contraction=0.1),
        Sphere(1),
        np.array([1.0]),
        np.array([-2.0]),
        100.0,
    )
    assert result.step == pytest.approx(0.1)


def test_backtracking_failure_reports_no_step():
    """A search that cannot decrease the function fails with a zero step."""
    result, *_ = _search(
        Backtracking(max_iterations=3),
        Sphere(1),
        np.array([1.0]),
        np.array([-2.0]),
        1e6,
    )
    assert not result.success
    assert result.step == 0.0
    np.testing.assert_array_equal(result.delta, [0.0])


@pytest.mark.parametrize("search", [Backtracking(), StrongWolfe()])
def test_search_in_ascent_matches_descent(search):
    """Searching -f in ascent gives exactly the step found on f in descent."""
    problem = Rosenbrock()
    x = problem.start
    direction = -problem.gradient(x)
    down, *_ = _search(search, problem, x, direction, 1.0, Mode.DESCENT)
    up, *_ = _search(search, problem, x, direction, 1.0, Mode.ASCENT)
    assert down.step == up.step
    np.testing.assert_array_equal(down.delta, up.delta)


def test_accept_step_evaluates_nothing():
    """AcceptStep returns the initial step without evaluating."""
    result, evaluator, *_ = _search(
        AcceptStep(), Sphere(), np.ones(2), -np.ones(2), 0.25
    )
    assert result.step == 0.25
    assert evaluator.evaluations == 1


def test_cubic_interpolation_exact_for_cubics():
    """The interpolating cubic's minimizer is exact for a cubic function."""

    def f(t):
        return t**3 - 3 * t

    def df(t):
        return 3 * t**2 - 3

    assert _cubic_minimizer(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0)) == (
        pytest.approx(1.0)
    )
    assert _cubic_minimizer(1.0, 0.0, 0.0, 1.0, 0.0, 0.0) is None


def test_lbfgs_two_loop_equals_dense_bfgs_update():
    """The two-loop recursion equals the explicit BFGS inverse-Hessian product."""
    rng = np.random.default_rng(0)
    n, memory = 5, 3
    a = rng.normal(size=(n, n))
    hessian = a @ a.T + n * np.eye(n)
    direction = LBFGSDirection(memory)
    state = direction.init(np.zeros(n))
    pairs = []
    for _ in range(4):
        s = rng.normal(size=n)
        y = hessian @ s
        pairs.append((s, y))
        state = direction.observe(state, step=s, gradient_change=y)
    assert state.count == memory
    kept = pairs[-memory:]
    s_new, y_new = kept[-1]
    h = (s_new @ y_new) / (y_new @ y_new) * np.eye(n)
    for s, y in kept:
        rho = 1.0 / (s @ y)
        left = np.eye(n) - rho * np.outer(s, y)
        h = left @ h @ left.T + rho * np.outer(s, s)
    g = rng.normal(size=n)
    p, _ = direction.direction(g, state)
    np.testing.assert_allclose(p, -h @ g, rtol=1e-10)


def test_lbfgs_skips_pairs_without_positive_curvature():
    """Pairs with s.y <= 0 are not stored."""
    direction = LBFGSDirection(2)
    state = direction.observe(
        direction.init(np.zeros(2)),
        step=np.array([1.0, 0.0]),
        gradient_change=np.array([-1.0, 0.0]),
    )
    assert state.count == 0


def test_polak_ribiere_plus_by_hand():
    """beta = max(0, g.(g - g_prev) / g_prev.g_prev); p = -g + beta p_prev."""
    direction = PolakRibiere(restart=10)
    state = PolakRibiereState(
        gradient=np.array([1.0, 0.0]), direction=np.array([-1.0, 0.0]), since_restart=1
    )
    g = np.array([0.5, 1.0])
    p, new_state = direction.direction(g, state)
    beta = (0.5 * (0.5 - 1.0) + 1.0 * 1.0) / 1.0  # 0.75
    np.testing.assert_allclose(p, -g + beta * np.array([-1.0, 0.0]))
    assert new_state.since_restart == 2
    # a negative beta is clipped to 0 (PR+)
    p, _ = direction.direction(np.array([0.1, 0.0]), state)
    np.testing.assert_allclose(p, [-0.1, 0.0])


def test_polak_ribiere_restarts_after_period():
    """After `restart` directions the next one is steepest descent."""
    direction = PolakRibiere(restart=1)
    state = PolakRibiereState(
        gradient=np.array([1.0, 0.0]), direction=np.array([-1.0, 0.0]), since_restart=1
    )
    p, new_state = direction.direction(np.array([0.5, 1.0]), state)
    np.testing.assert_array_equal(p, [-0.5, -1.0])
    assert new_state.since_restart == 1


def _solve(problem, rule, tol=1e-8, max_steps=20000, mode="descent"):
    objective = problem if mode == "descent" else Negated(problem)
    return Optimizer(
        objective,
        step_rule=rule,
        mode=mode,
        max_steps=max_steps,
        callbacks=[StopOnZeroGradient(tol)],
    ).run(problem.start)


@pytest.mark.parametrize("mode", ["descent", "ascent"])
def test_lbfgs_solves_rosenbrock(mode):
    """Acceptance: LBFGS takes Rosenbrock from (-1.2, 1) to gradient norm < 1e-8."""
    result = _solve(Rosenbrock(), LBFGS(), mode=mode)
    assert result.status is Status.CONVERGED
    assert result.gradient_norm < 1e-8
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-8)
    assert result.steps < 60


@pytest.mark.parametrize("chained", [False, True])
def test_lbfgs_solves_extended_rosenbrock_100(chained):
    """Acceptance: LBFGS solves 100-D extended (and chained) Rosenbrock to 1e-8."""
    problem = Rosenbrock(100, chained=chained)
    result = _solve(problem, LBFGS())
    assert result.status is Status.CONVERGED
    assert result.gradient_norm < 1e-8
    np.testing.assert_allclose(result.x, np.ones(100), atol=1e-7)


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(ConjugateGradient(), id="cg"),
        pytest.param(BarzilaiBorwein(), id="bb-long"),
        pytest.param(BarzilaiBorwein("short"), id="bb-short"),
        pytest.param(LBFGS(), id="lbfgs"),
    ],
)
def test_ill_conditioned_quadratic(rule):
    """Acceptance: CG and BB solve the kappa = 1e4, n = 100 quadratic to 1e-8."""
    problem = Quadratic(100, condition_number=1e4)
    result = _solve(problem, rule)
    assert result.status is Status.CONVERGED
    assert result.gradient_norm <= 1e-8
    assert result.steps < 5000


def test_accepted_trial_is_reused_not_recounted():
    """The optimizer reuses the search's last evaluation at the accepted point."""
    # From (-3, 4): first L-BFGS step 1/||g|| = 0.1 along -g lands on 0.8 x, which
    # satisfies strong Wolfe at once; x0 plus one trial = 2 evaluations in all.
    result = Optimizer(Sphere(), step_rule=LBFGS(), max_steps=1).run([-3.0, 4.0])
    np.testing.assert_allclose(result.x, [-2.4, 3.2])
    assert (result.evaluations, result.gradient_evaluations) == (2, 2)


def test_backtracking_counts_value_only_trials():
    """Armijo trials cost values only; the gradient is evaluated once per step."""
    result = Optimizer(Sphere(), step_rule=LineSearchRule(), max_steps=1).run(
        [-3.0, 4.0]
    )
    # x0 (value+gradient), trial at 0.8 x0 (value), accepted point (gradient only:
    # its value is the accepted trial's)
    assert (result.evaluations, result.gradient_evaluations) == (2, 2)


def test_failed_search_stays_put_without_wasting_evaluations():
    """With a wrong gradient no step decreases f: the run ends, blaming the gradient."""
    wrong = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: -2.0 * x)
    result = Optimizer(wrong, step_rule=LBFGS(), max_steps=50).run([1.0, 1.0])
    np.testing.assert_array_equal(result.x, [1.0, 1.0])
    assert result.status is Status.PRECISION_LIMIT
    assert result.steps < 5
    assert result.diagnosis == "gradient_mismatch"
    assert "check_gradient" in result.message
    assert "learning rate" not in result.message
    longer = Optimizer(wrong, step_rule=LBFGS(), max_steps=100).run([1.0, 1.0])
    assert longer.evaluations == result.evaluations  # no step wasted after the stall


def test_line_search_rule_components_are_swappable():
    """Any direction combines with any search."""
    problem = Rosenbrock()
    for direction in (SteepestDescent(), LBFGSDirection(5), PolakRibiere()):
        for search in (Backtracking(), StrongWolfe()):
            rule = LineSearchRule(direction, search)
            result = _solve(problem, rule, tol=1e-5, max_steps=20000)
            assert result.status is Status.CONVERGED, (direction, search)


def test_searches_never_mutate_inputs():
    """Searches leave x, gradient and direction untouched."""
    problem = Rosenbrock()
    x = problem.start
    for search in (Backtracking(), StrongWolfe(), AcceptStep()):
        direction = -problem.gradient(x)
        copies = (x.copy(), direction.copy())
        _search(search, problem, x, direction, 1.0)
        np.testing.assert_array_equal(x, copies[0])
        np.testing.assert_array_equal(direction, copies[1])


def test_presets_are_configured_line_search_rules():
    """Presets are functions returning plain LineSearchRule instances."""
    from optim.directions import BarzilaiBorweinDirection

    assert type(LBFGS()) is LineSearchRule
    assert LBFGS() == LineSearchRule(LBFGSDirection(), StrongWolfe())
    assert LBFGS(memory=5) == LineSearchRule(LBFGSDirection(5), StrongWolfe())
    assert ConjugateGradient() == LineSearchRule(PolakRibiere(), StrongWolfe(c2=0.1))
    assert ConjugateGradient(3, search=Backtracking()) == LineSearchRule(
        PolakRibiere(3), Backtracking()
    )
    assert BarzilaiBorwein() == LineSearchRule(BarzilaiBorweinDirection(), AcceptStep())
    assert BarzilaiBorwein("short", search=Backtracking()) == LineSearchRule(
        BarzilaiBorweinDirection("short"), Backtracking()
    )
    rule = LBFGS()
    assert rule.direction is rule.direction  # a field, not rebuilt per access


def test_preset_signatures_keep_documented_defaults():
    """The presets' arguments and defaults are the documented ones."""
    import inspect

    def defaults(function):
        return {
            name: parameter.default
            for name, parameter in inspect.signature(function).parameters.items()
        }

    assert defaults(LBFGS) == {"memory": 10, "search": StrongWolfe()}
    assert defaults(ConjugateGradient) == {
        "restart": None,
        "search": StrongWolfe(c2=0.1),
    }
    assert defaults(BarzilaiBorwein) == {
        "variant": "long",
        "initial_step": None,
        "min_step": 1e-10,
        "max_step": 1e10,
        "search": AcceptStep(),
    }
    for preset in (LBFGS, ConjugateGradient, BarzilaiBorwein):
        assert "Examples:" in preset.__doc__


def test_old_module_and_state_names_are_gone():
    """optim.quasi_newton was renamed without an alias; states follow their owners."""
    import importlib

    import optim.directions
    import optim.line_search_rules

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("optim.quasi_newton")
    for old in ("LBFGSState", "ConjugateGradientState"):
        assert not hasattr(optim.directions, old)
    assert not hasattr(optim.line_search_rules, "LineSearchState")
    assert isinstance(
        LBFGS().init(np.zeros(2)), optim.line_search_rules.LineSearchRuleState
    )


def test_barzilai_borwein_steps_by_hand():
    """BB1 on f = |x|^2 from (3, 4): step 1/|g0| = 0.1, then s.s/s.y = 0.5 hits 0."""
    result = Optimizer(Sphere(), step_rule=BarzilaiBorwein(), max_steps=1).run(
        [3.0, 4.0]
    )
    np.testing.assert_allclose(result.x, [2.4, 3.2], rtol=1e-15)
    result = Optimizer(Sphere(), step_rule=BarzilaiBorwein(), max_steps=2).run(
        [3.0, 4.0]
    )
    np.testing.assert_allclose(result.x, [0.0, 0.0], atol=1e-14)
    # the first step is initial_step when given, used as is (alpha = 1 is tried)
    result = Optimizer(
        Sphere(), step_rule=BarzilaiBorwein(initial_step=0.25), max_steps=1
    ).run([3.0, 4.0])
    np.testing.assert_allclose(result.x, [1.5, 2.0], rtol=1e-15)


def test_barzilai_borwein_length_lives_in_the_direction_state():
    """The spectral step length is the direction's state, updated by observe."""
    from optim.directions import (
        BarzilaiBorweinDirection,
        BarzilaiBorweinDirectionState,
    )

    direction = BarzilaiBorweinDirection("short", max_step=0.3)
    assert direction.scaled
    state = direction.init(np.zeros(2))
    assert state == BarzilaiBorweinDirectionState(None)
    p, state = direction.direction(np.array([3.0, 4.0]), state)
    np.testing.assert_allclose(p, [-0.6, -0.8])  # 1/|g| = 0.2
    s, y = np.array([1.0, 0.0]), np.array([2.0, 1.0])
    state = direction.observe(state, step=s, gradient_change=y)
    assert state.step_length == 0.3  # s.y / y.y = 0.4, clipped to max_step
    # negative curvature keeps the previous length
    assert direction.observe(state, step=s, gradient_change=-y) == state
    long = BarzilaiBorweinDirection("long")
    assert long.observe(
        BarzilaiBorweinDirectionState(1.0), step=s, gradient_change=y
    ).step_length == pytest.approx(0.5)


def test_lbfgs_keeps_rho_per_pair_and_does_not_recompute_it(monkeypatch):
    """rho_i = 1 / s_i.y_i is stored with its pair, and the scaling
    gamma = s.y / y.y with the newest; direction() takes no inner product (the two
    loops are matrix-vector products)."""
    import optim.directions

    direction = LBFGSDirection(memory=2)
    state = direction.init(np.zeros(2))
    pairs = [
        (np.array([1.0, 0.0]), np.array([2.0, 0.0])),
        (np.array([0.0, 1.0]), np.array([0.0, 4.0])),
        (np.array([1.0, 1.0]), np.array([2.0, 4.0])),
    ]
    for s, y in pairs:
        state = direction.observe(state, step=s, gradient_change=y)
    assert state.rhos.tolist() == [1.0 / 4.0, 1.0 / 6.0]  # the oldest was dropped
    np.testing.assert_array_equal(state.steps, [[0.0, 1.0], [1.0, 1.0]])
    calls = []
    real_dot = optim.directions._dot
    monkeypatch.setattr(
        optim.directions, "_dot", lambda a, b: calls.append(1) or real_dot(a, b)
    )
    direction.direction(np.array([1.0, 1.0]), state)
    assert state.scale == 6.0 / 20.0
    assert calls == []


def _two_loop(gradient, pairs):
    """The textbook two-loop recursion (Nocedal & Wright Alg. 7.4), pair by pair."""
    q = -gradient.reshape(-1)
    alphas = []
    for s, y in reversed(pairs):
        alpha = (s @ q) / (s @ y)
        alphas.append(alpha)
        q = q - alpha * y
    s, y = pairs[-1]
    r = (s @ y) / (y @ y) * q
    for (s, y), alpha in zip(pairs, reversed(alphas), strict=True):
        r = r + (alpha - (y @ r) / (s @ y)) * s
    return r.reshape(gradient.shape)


@pytest.mark.parametrize("observed", [1, 3, 5, 9])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_matrix_form_equals_the_two_loop_recursion(observed, dtype):
    """The matrix-vector form gives the two-loop direction (to rounding), with the
    memory partly filled, full, and after pairs were dropped; points of any shape."""
    rng = np.random.default_rng(observed)
    direction = LBFGSDirection(memory=4)
    state = direction.init(np.zeros((2, 3), dtype=dtype))
    pairs = []
    for _ in range(observed):
        s = rng.normal(size=(2, 3)).astype(dtype)
        y = (s + 0.3 * rng.normal(size=(2, 3))).astype(dtype)
        if float(s.reshape(-1) @ y.reshape(-1)) > 0.0:
            pairs.append((s.reshape(-1).astype(np.float64), y.reshape(-1)))
        state = direction.observe(state, step=s, gradient_change=y)
    pairs = [(s, y.astype(np.float64)) for s, y in pairs[-4:]]
    g = rng.normal(size=(2, 3)).astype(dtype)
    p, _ = direction.direction(g, state)
    assert p.dtype == dtype
    assert p.shape == (2, 3)
    assert state.count == len(pairs)
    expected = _two_loop(g.astype(np.float64), pairs)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(
        p, expected, rtol=rtol, atol=rtol * np.abs(expected).max()
    )


def _lbfgs_arrays(state):
    return state.steps, state.gradient_changes, state.inverse


def _step_of_a_dropping_chain(direction, state, s, y):
    """The next state, checking that it shares no array with `state`."""
    new = direction.observe(state, step=s, gradient_change=y)
    pairs = zip(_lbfgs_arrays(state), _lbfgs_arrays(new), strict=True)
    assert not any(np.shares_memory(old, ours) for old, ours in pairs)
    return new


def test_lbfgs_states_recycle_the_arrays_nothing_else_holds():
    """A chain whose older states are dropped (a run's) alternates between two
    sets of arrays, with the same bits as a chain that keeps every state (new
    arrays each time); a state never shares its arrays with the one it came from."""
    rng = np.random.default_rng(3)
    direction = LBFGSDirection(memory=3)
    g = rng.normal(size=(4, 5))
    state, seen = direction.init(np.zeros((4, 5))), []
    kept = [direction.init(np.zeros((4, 5)))]  # every state held: no reuse
    for _ in range(12):
        s = rng.normal(size=(4, 5))
        y = 2.0 * s + 0.1 * rng.normal(size=(4, 5))
        state = _step_of_a_dropping_chain(direction, state, s, y)
        # a weak reference does not keep the array alive: the array of two
        # states ago is this one's only if it was recycled
        seen.append([weakref.ref(a) for a in _lbfgs_arrays(state)])
        if len(seen) >= 3:
            before = [ref() for ref in seen[-3]]
            assert all(
                a is b for a, b in zip(before, _lbfgs_arrays(state), strict=True)
            )
            del before
        kept.append(direction.observe(kept[-1], step=s, gradient_change=y))
        assert [a.tobytes() for a in _lbfgs_arrays(state)] == [
            a.tobytes() for a in _lbfgs_arrays(kept[-1])
        ]
        assert (
            direction.direction(g, state)[0].tobytes()
            == direction.direction(g, kept[-1])[0].tobytes()
        )
    assert state.count == 3
    kept_ids = {id(array) for k in kept for array in _lbfgs_arrays(k)}
    assert len(kept_ids) == 3 * len(kept)  # the kept chain's arrays are its own


@pytest.mark.parametrize("copy_of", ["pickle", "deepcopy"])
def test_lbfgs_state_copies_leave_the_spare_arrays_behind(copy_of):
    """A pickled or deep-copied state holds its own pairs only (not the arrays of
    the state it came from, kept for reuse), equals the original, and goes on to
    the same bits."""
    import copy
    import pickle

    from optim.testing import same

    rng = np.random.default_rng(5)
    direction, n = LBFGSDirection(memory=4), 2_000
    state = direction.init(np.zeros(n))
    for _ in range(5):
        s = rng.normal(size=n)
        state = _step_of_a_dropping_chain(direction, state, s, 2.0 * s)
    assert state._spare is not None  # the reuse is in play
    if copy_of == "pickle":
        copied = pickle.loads(pickle.dumps(state))
        own = sum(a.nbytes for a in _lbfgs_arrays(state))
        assert len(pickle.dumps(state)) < 1.1 * own  # one set of arrays, not two
    else:
        copied = copy.deepcopy(state)
    assert copied._spare is None
    assert copied == state
    assert same(copied, state)  # the spare arrays are scratch, not the value
    s = rng.normal(size=n)
    after, again = (
        direction.observe(x, step=s, gradient_change=3.0 * s) for x in (state, copied)
    )
    assert [a.tobytes() for a in _lbfgs_arrays(after)] == [
        a.tobytes() for a in _lbfgs_arrays(again)
    ]


def test_lbfgs_observe_never_writes_into_an_older_state():
    """States are values: an older state (a checkpoint's) keeps its pairs and its
    direction after any number of newer pairs, and branching from it is safe."""
    rng = np.random.default_rng(0)
    direction = LBFGSDirection(memory=2)
    state = direction.init(np.zeros(3))
    for _ in range(2):
        s = rng.normal(size=3)
        state = direction.observe(state, step=s, gradient_change=2.0 * s)
    saved = state
    copies = [saved.steps.copy(), saved.gradient_changes.copy(), saved.inverse.copy()]
    g = rng.normal(size=3)
    before, _ = direction.direction(g, saved)
    later = saved
    for _ in range(3):
        s = rng.normal(size=3)
        later = direction.observe(later, step=s, gradient_change=3.0 * s)
    branch = direction.observe(saved, step=np.ones(3), gradient_change=np.ones(3))
    for kept, copy in zip(
        [saved.steps, saved.gradient_changes, saved.inverse], copies, strict=True
    ):
        np.testing.assert_array_equal(kept, copy)
    np.testing.assert_array_equal(direction.direction(g, saved)[0], before)
    assert branch.count == later.count == 2
    assert not np.shares_memory(branch.steps, later.steps)


def _wrong_search(objective, x, gradient, initial_step, estimator=None):
    """A strong Wolfe search along -gradient, where `gradient` is not f's (as an
    estimate can be wrong); returns the result and the number of trials."""
    estimator = ForwardDifference() if estimator is None else estimator
    evaluator = Evaluator(objective, estimator, Mode.DESCENT)
    value = evaluator.value_and_gradient(x)[0]
    before = evaluator.evaluations
    result = StrongWolfe().search(
        evaluator,
        x=x,
        value=value,
        gradient=gradient,
        direction=-gradient,
        initial_step=initial_step,
    )
    per_trial = 1 if evaluator.exact_gradient else 1 + x.size  # forward differences
    return result, (evaluator.evaluations - before) // per_trial


@pytest.mark.parametrize("ulps", [0, 1, 3, 5])
def test_strong_wolfe_gives_up_when_the_values_rise_with_the_step(ulps):
    """A direction along which f rises (the true slope is positive) fails in a few
    trials, not the 30 of its budget: the rises (f(a) - f(x)) / a agree at steps
    10x apart, which no descent direction allows."""
    x = np.array([1.0, 2.0])
    for _ in range(ulps):
        x = np.nextafter(x, np.inf)
    objective = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: 2.0 * x)
    result, trials = _wrong_search(objective, x, -2.0 * x, 1.0)

    assert not result.success
    assert result.step == 0.0
    assert 2 <= trials <= 5


def test_strong_wolfe_keeps_searching_a_steady_rise_with_an_exact_gradient():
    """With an exact gradient a steady rise is a step beyond the quadratic
    model's reach, not a wrong direction: the search goes on shrinking."""
    x = np.array([1.0, 2.0])
    objective = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: 2.0 * x)
    _, estimated = _wrong_search(objective, x, -2.0 * x, 1.0)
    _, exact = _wrong_search(objective, x, -2.0 * x, 1.0, AnalyticGradient())

    assert estimated <= 5 < exact


@pytest.mark.parametrize("ulps", [0, 2, 5])
def test_bfgs_on_osborne_1_reaches_scipys_minimum(ulps):
    """MGH Osborne 1 with BFGS and its exact gradient: the first trials rise
    steadily (a wall along the first direction); the run must go on to scipy's
    minimum, not stop at f = 0.159."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    import optim
    from optim import mgh

    problem = next(p for p in mgh.PROBLEMS if p.name == "Osborne 1")
    x0 = problem.x0.copy()
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    ours = optim.minimize(problem.value, x0, method="BFGS", jac=problem.gradient)
    theirs = scipy_optimize.minimize(
        problem.value, x0, method="BFGS", jac=problem.gradient
    )

    assert theirs.success
    assert ours.success, ours.message
    assert ours.fun <= theirs.fun + 1e-8


def test_strong_wolfe_gives_up_where_f_is_flat_at_rounding_level():
    """Values within the rounding error of f(x) at two trials in a row end the
    search: no test can tell a decrease there."""
    objective = FunctionObjective(
        lambda x: 1.0 + 1e-18 * float(x @ x), gradient=lambda x: 2e-18 * x
    )
    x = np.array([1.0, 1.0])
    result, trials = _wrong_search(objective, x, np.array([1e-3, 1e-3]), 1.0)

    assert not result.success
    assert trials == 2


def test_strong_wolfe_still_solves_a_descent_direction_with_a_rising_start():
    """A true descent direction whose first trials overshoot (values above f(x),
    falling fast as the step shrinks) is not mistaken for a rising one."""
    problem = Quadratic(2, condition_number=100.0)
    x = np.array([1.0, 1.0])
    direction = -problem.gradient(x)
    result, *_ = _search(StrongWolfe(), problem, x, direction, 1e3)
    assert result.success
    assert result.value < problem.value(x)

import numpy as np
import pytest

from optim import Optimizer, StopOnZeroGradient
from optim.bfgs import BFGS, BFGSDirection
from optim.problems import Rosenbrock


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.ones(3), "square"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (-np.eye(2), "positive definite"),
    ],
)
def test_hess_inv0_is_validated(matrix, match):
    with pytest.raises(ValueError, match=match):
        BFGSDirection(matrix)


def test_hess_inv0_must_match_x0():
    with pytest.raises(ValueError, match="shape"):
        BFGSDirection(np.eye(3)).init(np.zeros(2))


def test_hess_inv0_is_copied_and_never_modified():
    h0 = np.diag([2.0, 3.0])
    direction = BFGSDirection(h0)
    h0[0, 0] = 100.0
    state = direction.init(np.zeros(2))
    before = state.hess_inv.copy()
    direction.observe(state, step=np.array([1.0, 0.5]), gradient_change=np.ones(2))
    np.testing.assert_array_equal(state.hess_inv, before)
    assert state.hess_inv[0, 0] == 2.0


def test_update_satisfies_the_secant_equation():
    direction = BFGSDirection()
    s, y = np.array([1.0, -2.0, 0.5]), np.array([2.0, -1.0, 1.0])
    state = direction.observe(direction.init(np.zeros(3)), step=s, gradient_change=y)
    np.testing.assert_allclose(state.hess_inv @ y, s)
    np.testing.assert_allclose(state.hess_inv, state.hess_inv.T)


def test_first_direction_is_at_most_unit_length_then_unscaled():
    direction = BFGSDirection()
    state = direction.init(np.zeros(2))
    p, _ = direction.direction(np.array([30.0, 40.0]), state)
    np.testing.assert_allclose(p, [-0.6, -0.8])
    state = direction.observe(state, step=np.ones(2), gradient_change=np.ones(2))
    p, _ = direction.direction(np.array([30.0, 40.0]), state)
    assert np.linalg.norm(p) > 1.0


def test_bfgs_converges_on_rosenbrock_and_keeps_its_matrix():
    result = Optimizer(
        Rosenbrock(), step_rule=BFGS(), callbacks=[StopOnZeroGradient(1e-9)]
    ).run([-1.2, 1.0])
    assert result.status.name == "CONVERGED"
    hess_inv = result.run_state.rule_state.direction_state.hess_inv
    true_hessian = np.array([[802.0, -400.0], [-400.0, 200.0]])
    np.testing.assert_allclose(hess_inv @ true_hessian, np.eye(2), atol=0.2)

import numpy as np
import pytest

from optim import Adam, FixedStep, Optimizer, find_learning_rate
from optim.problems import Quadratic, Sphere
from optim.testing import Negated


def test_sphere_suggestion_works_where_extremes_fail():
    """On the sphere, 1.0 oscillates, 1e-6 stalls, the suggestion converges."""
    found = find_learning_rate(Sphere(), [-3.0, 4.0])

    def final(rate):
        return Optimizer(Sphere(), step_rule=FixedStep(rate), max_steps=100).run(
            [-3.0, 4.0]
        )

    assert final(1.0).value == pytest.approx(25.0)  # x -> -x -> x ...
    assert final(1e-6).value > 24.99
    assert final(found.suggested).value < 1e-20
    # the exact optimum for the sphere is 0.5 (one step); the best grid rate is
    # the grid point closest to it
    assert found.best_rate == pytest.approx(found.rates[np.argmin(found.losses)])
    assert found.best_rate == pytest.approx(0.5, rel=0.25)
    assert found.suggested == pytest.approx(found.best_rate / 2)


def test_curve_shape_and_divergence_marked_inf():
    """The curve is measured at every rate; diverging rates record inf."""
    found = find_learning_rate(Sphere(), [-3.0, 4.0], max_rate=1e3, num=10, steps=3)
    assert found.rates.shape == found.losses.shape == (10,)
    np.testing.assert_allclose(found.rates, np.geomspace(1e-6, 1e3, 10))
    assert found.losses[-1] == np.inf
    assert found.start_loss == 25.0
    # losses at small rates are close to the start, by closed form (1 - 2 r)^6
    expected = 25.0 * (1 - 2 * found.rates[0]) ** 6
    assert found.losses[0] == pytest.approx(expected)


def test_ascent_and_other_rules():
    """The range test works in ascent and with other rule families."""
    problem = Quadratic(3, condition_number=10.0)
    found = find_learning_rate(
        Negated(problem), problem.start, mode="ascent", make_rule=Adam, steps=10
    )
    assert found.start_loss == pytest.approx(problem.value(problem.start))
    result = Optimizer(
        Negated(problem), step_rule=Adam(found.suggested), mode="ascent", max_steps=200
    ).run(problem.start)
    assert -result.value < 1e-2 * problem.value(problem.start)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_rate": 0.0}, "min_rate"),
        ({"max_rate": 1e-7}, "max_rate"),
        ({"num": 1}, "num"),
        ({"steps": 0}, "steps"),
        ({"safety": 0.5}, "safety"),
    ],
)
def test_invalid_arguments(kwargs, match):
    """Bad arguments raise errors naming them."""
    with pytest.raises(ValueError, match=match):
        find_learning_rate(Sphere(), [1.0, 1.0], **kwargs)


def test_does_not_mutate_start():
    """x0 is never modified."""
    x0 = np.array([-3.0, 4.0])
    find_learning_rate(Sphere(), x0, num=3)
    assert x0.tolist() == [-3.0, 4.0]


def test_plain_function_objective():
    """A plain function works, with finite-difference gradients."""
    found = find_learning_rate(lambda x: float(x @ x), [-3.0, 4.0], num=9)
    assert found.start_loss == 25.0
    assert 0.05 < found.suggested < 0.5


def test_warns_when_nothing_improves(caplog):
    """If every rate diverges or stalls, a warning is logged."""
    found = find_learning_rate(
        Sphere(), [-3.0, 4.0], min_rate=5.0, max_rate=50.0, num=3
    )
    assert np.all(found.losses >= found.start_loss)
    assert "no rate" in caplog.text

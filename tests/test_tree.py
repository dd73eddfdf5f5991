"""Structured parameters: flatten, unflatten, and errors that name the leaf."""

import numpy as np
import pytest

from optim.tree import flatten, is_structured


def _model():
    return {
        "layer1": {"w": np.arange(12.0).reshape(3, 4), "b": np.zeros(3)},
        "layer2": [np.ones((2, 3)), np.float64(0.5)],
        "scale": (np.array(2.0),),
    }


def test_round_trip_keeps_structure_shapes_and_order():
    """unflatten(flatten(p)) is p: same containers, keys in order, shapes."""
    params = _model()

    vector, spec = flatten(params)
    back = spec.unflatten(vector)

    assert vector.shape == (12 + 3 + 6 + 1 + 1,)
    assert list(back) == ["layer1", "layer2", "scale"]
    assert list(back["layer1"]) == ["w", "b"]
    assert isinstance(back["layer2"], list)
    assert isinstance(back["scale"], tuple)
    np.testing.assert_array_equal(back["layer1"]["w"], params["layer1"]["w"])
    assert back["layer2"][1] == 0.5
    assert back["layer1"]["w"] is not params["layer1"]["w"]


def test_float32_stays_float32_and_mixed_dtypes_promote():
    """All-float32 leaves give a float32 vector; mixing promotes by numpy's rules."""
    single = {"w": np.zeros(3, np.float32), "b": np.float32(1.0)}
    mixed = {"w": np.zeros(3, np.float32), "b": np.zeros(1)}

    assert flatten(single)[0].dtype == np.float32
    assert flatten(mixed)[0].dtype == np.float64
    assert flatten(mixed)[1].unflatten(np.ones(4))["w"].dtype == np.float32


@pytest.mark.parametrize(
    ("gradient", "error", "message"),
    [
        (
            {
                "layer1": {"w": np.zeros(3), "b": np.zeros(3)},
                "layer2": [np.zeros((2, 3)), 1.0],
                "scale": (1.0,),
            },
            ValueError,
            r"gradient\(\)\['layer1'\]\['w'\] has shape \(3,\), expected \(3, 4\)",
        ),
        ({"layer1": {}}, ValueError, "keys"),
        (
            {
                "layer1": {"w": np.zeros((3, 4)), "b": np.zeros(3)},
                "layer2": [np.zeros((2, 3))],
                "scale": (1.0,),
            },
            ValueError,
            r"gradient\(\)\['layer2'\]",
        ),
        (
            {
                "layer1": {"w": np.zeros((3, 4)), "b": np.array(["a"] * 3)},
                "layer2": [np.zeros((2, 3)), 1.0],
                "scale": (1.0,),
            },
            TypeError,
            r"\['b'\]",
        ),
    ],
)
def test_mismatched_gradient_names_the_leaf(gradient, error, message):
    """A gradient of another layout is refused, naming the path of the leaf."""
    _, spec = flatten(_model())

    with pytest.raises(error, match=message):
        spec.flatten_like(gradient, name="gradient()")


def test_what_is_a_structure():
    """Dicts and lists holding arrays are structures; lists of numbers are arrays."""
    assert is_structured({"a": 1.0})
    assert is_structured([np.zeros(2)])
    assert is_structured(([1.0], {"b": 2.0}))
    assert not is_structured([1.0, 2.0])
    assert not is_structured([[1.0], [2.0]])
    assert not is_structured(np.zeros(3))


def test_bad_leaves_are_named():
    """A non-numeric leaf and an empty structure are refused."""
    with pytest.raises(TypeError, match=r"x0\['name'\]"):
        flatten({"name": "text", "w": np.zeros(2)})
    with pytest.raises(ValueError, match="no leaves"):
        flatten({})

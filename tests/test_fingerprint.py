"""Fingerprints that see the function: structured runs and `functools.partial`."""

import functools
import json

import attrs
import numpy as np
import pytest

from optim import (
    Adam,
    Checkpoint,
    CheckpointError,
    FixedStep,
    FunctionObjective,
    Objective,
    Optimizer,
)
from optim.fingerprint import describe, difference, fingerprint
from optim.problems import Quadratic
from optim.tree import StructuredObjective, flatten


def loss(p):
    return float(np.sum((p["w"] - 1.0) ** 2) + (p["b"] + 2.0) ** 2)


def other_loss(p):
    return float(np.sum((p["w"] - 1.0) ** 2) + 3.0 * (p["b"] + 2.0) ** 2)


def loss_gradient(p):
    return {"w": 2.0 * (p["w"] - 1.0), "b": 2.0 * (p["b"] + 2.0)}


def other_gradient(p):
    return {"w": 2.0 * (p["w"] - 1.0), "b": 6.0 * (p["b"] + 2.0)}


def shifted(x, c):
    return float(np.sum((x - c) ** 2))


def scaled(x, c):
    return float(np.sum(c * x**2))


class Spring(Objective):
    def __init__(self, stiffness):
        self.stiffness = stiffness

    def value(self, x):
        return float(0.5 * self.stiffness * np.sum(x[0] ** 2))

    def fingerprint(self):
        return {"stiffness": self.stiffness}


PARAMS = {"w": np.array([3.0, -1.0]), "b": 0.5}


def _checkpointed(tmp_path, objective, x0, steps=3):
    path = tmp_path / "run.npz"
    Optimizer(
        objective, step_rule=Adam(0.1), callbacks=[Checkpoint(path)], max_steps=steps
    ).run(x0)
    return path


class TestStructuredRuns:
    """A dict-parameter run records its objective as a flat run does."""

    def test_another_loss_function_is_refused_naming_the_field(self, tmp_path):
        path = _checkpointed(tmp_path, loss, PARAMS)
        params = {"w": np.zeros(2), "b": 0.0}  # the layout only

        with pytest.raises(CheckpointError) as caught:
            Optimizer(other_loss, step_rule=Adam(0.1), max_steps=6).resume(
                path, like=params
            )

        message = str(caught.value)
        assert "objective.objective.fun.function" in message
        assert "loss' in the checkpoint but" in message
        assert "other_loss' in this optimizer" in message

    def test_another_gradient_function_is_refused(self, tmp_path):
        first = FunctionObjective(loss, loss_gradient)
        path = _checkpointed(tmp_path, first, PARAMS)
        second = FunctionObjective(loss, other_gradient)

        with pytest.raises(
            CheckpointError, match=r"objective\.objective\.grad\.function"
        ):
            Optimizer(second, step_rule=Adam(0.1), max_steps=6).resume(
                path, like=PARAMS
            )

    def test_the_same_loss_resumes_as_the_uninterrupted_run(self, tmp_path):
        path = _checkpointed(tmp_path, loss, PARAMS)
        optimizer = Optimizer(loss, step_rule=Adam(0.1), max_steps=6)

        resumed = optimizer.resume(path, like=PARAMS)

        straight = optimizer.run(PARAMS)
        np.testing.assert_array_equal(resumed.x, straight.x)
        assert resumed.steps == 6
        assert list(resumed.params) == ["w", "b"]
        np.testing.assert_array_equal(resumed.params["w"], straight.params["w"])

    def test_the_inner_description_is_the_flat_runs(self):
        flat = fingerprint(Optimizer(FunctionObjective(loss), step_rule=FixedStep(1)))
        _, spec = flatten(PARAMS)

        structured = describe(StructuredObjective(FunctionObjective(loss), spec))

        assert structured["fingerprint"]["objective"] == flat["objective"]
        assert structured["fingerprint"]["leaves"] == [
            ["x0['w']", [2]],
            ["x0['b']", []],
        ]

    def test_an_objective_with_its_own_fingerprint_keeps_it(self):
        _, spec = flatten([np.zeros(2)])
        a = describe(StructuredObjective(Spring(1.0), spec))
        b = describe(StructuredObjective(Spring(2.0), spec))

        assert a["fingerprint"]["objective"]["fingerprint"] == {"stiffness": 1.0}
        assert difference(a, b).path == "objective.stiffness"

    def test_a_problems_parameters_are_recorded(self):
        _, spec = flatten([np.zeros(2)])
        a = describe(StructuredObjective(Quadratic(condition_number=4.0), spec))
        b = describe(StructuredObjective(Quadratic(condition_number=9.0), spec))

        found = difference(a, b)

        assert found is not None
        assert found.path == "objective.condition_number"


class TestPartials:
    """`functools.partial` objectives record their function and arguments."""

    @pytest.mark.parametrize(
        ("resumed_with", "field"),
        [
            (functools.partial(shifted, c=-3.0), "objective.fun.keywords.c"),
            (functools.partial(scaled, c=1.0), "objective.fun.func.function"),
            (functools.partial(shifted), "objective.fun.keywords"),
        ],
    )
    def test_other_function_or_arguments_are_refused(
        self, tmp_path, resumed_with, field
    ):
        path = _checkpointed(tmp_path, functools.partial(shifted, c=1.0), [0.0, 2.0])
        optimizer = Optimizer(resumed_with, step_rule=Adam(0.1), max_steps=6)

        with pytest.raises(CheckpointError, match=field.replace(".", r"\.")):
            optimizer.resume(path)

    def test_positional_arguments_are_recorded(self):
        a = fingerprint(
            Optimizer(functools.partial(shifted, c=1.0), step_rule=FixedStep(0.1))
        )
        b = fingerprint(
            Optimizer(
                functools.partial(scaled, np.array([1.0, 2.0])),
                step_rule=FixedStep(0.1),
            )
        )
        c = fingerprint(
            Optimizer(
                functools.partial(scaled, np.array([1.0, 3.0])),
                step_rule=FixedStep(0.1),
            )
        )

        assert a["objective"]["fields"]["fun"]["fields"]["keywords"] == {"c": 1.0}
        assert difference(b, c).path == "objective.fun.args[0].sha256"
        assert "0x" not in json.dumps([a, b, c])

    def test_the_same_partial_resumes(self, tmp_path):
        objective = functools.partial(shifted, c=1.0)
        path = _checkpointed(tmp_path, objective, [0.0, 2.0])
        optimizer = Optimizer(
            functools.partial(shifted, c=1.0), step_rule=Adam(0.1), max_steps=6
        )

        resumed = optimizer.resume(path)

        np.testing.assert_array_equal(resumed.x, optimizer.run([0.0, 2.0]).x)
        assert resumed.steps == 6

    def test_a_structured_partial_run(self, tmp_path):
        """Both fixes at once: a partial of a dict loss."""

        def weighted(p, weight):
            return float(weight * np.sum(p["w"] ** 2) + p["b"] ** 2)

        path = _checkpointed(tmp_path, functools.partial(weighted, weight=2.0), PARAMS)
        optimizer = Optimizer(
            functools.partial(weighted, weight=5.0), step_rule=Adam(0.1), max_steps=6
        )

        with pytest.raises(
            CheckpointError, match=r"objective\.objective\.fun\.keywords\.weight"
        ):
            optimizer.resume(path, like=PARAMS)
        same = attrs.evolve(
            optimizer, objective=functools.partial(weighted, weight=2.0)
        )
        assert same.resume(path, like=PARAMS).steps == 6

"""The library's registries: names to rules, estimators and problems."""

import inspect

import pytest

import optim
from optim import registry
from optim.registry import (
    ESTIMATORS,
    PROBLEMS,
    RULES,
    get_problem,
    hyperparameters,
    make_estimator,
    make_rule,
)


def preset(memory: int = 3, *, curvature: float = 1.0) -> optim.StepRule:
    """A preset that is a function returning a configured rule, not a class."""
    return optim.LBFGS(memory=memory)


def preset_with_rate(learning_rate: float, *, beta: float = 0.9) -> optim.StepRule:
    """A function preset with a required learning rate."""
    return optim.Momentum(learning_rate, beta=beta)


@pytest.fixture
def function_presets(monkeypatch):
    monkeypatch.setitem(registry._RULES, "preset", preset)
    monkeypatch.setitem(registry._RULES, "preset-rate", preset_with_rate)


class TestRules:
    @pytest.mark.parametrize("name", sorted(RULES))
    def test_every_rule_builds(self, name):
        """Every registered rule builds, with a learning rate if it needs one."""
        takes = hyperparameters("rule", name)
        rate = takes.get("learning_rate")
        needs_rate = rate is not None and rate.default is inspect.Parameter.empty

        rule = make_rule(name, 0.1 if needs_rate else None)

        assert isinstance(rule, optim.StepRule)

    def test_function_factories_work(self, function_presets):
        """A factory may be any callable: parameters come from its signature."""
        assert list(hyperparameters("rule", "preset")) == ["memory", "curvature"]
        assert make_rule("preset", memory=7).direction.memory == 7
        assert make_rule("preset-rate", 0.5, beta=0.1).beta == 0.1

    def test_unknown_option_names_it_and_lists_the_others(self, function_presets):
        """A hyperparameter the factory does not take is named, with the choices."""
        with pytest.raises(ValueError, match="no hyperparameter 'beta'") as error:
            make_rule("preset", beta=0.5)

        assert "it takes memory, curvature" in str(error.value)

    def test_learning_rate_the_rule_does_not_take(self):
        """A learning rate for a rule without one is an error naming it."""
        with pytest.raises(ValueError, match="'learning_rate'; it takes memory"):
            make_rule("lbfgs", 0.1)

    def test_missing_learning_rate(self, function_presets):
        """A required learning rate that is missing is named."""
        for name in ("fixed", "preset-rate"):
            with pytest.raises(ValueError, match=f"'{name}' needs learning_rate"):
                make_rule(name)

    def test_invalid_value_names_the_rule_and_field(self):
        """Validator errors keep the field's name and gain the rule's."""
        with pytest.raises(ValueError, match="rule 'momentum': beta must be"):
            make_rule("momentum", 0.1, beta=1.5)

    def test_unknown_rule_lists_the_names(self):
        """An unknown name lists every registered name."""
        names = "adadelta, adafactor, adagrad"
        with pytest.raises(
            ValueError, match=f"unknown rule 'sgd'; choose one of {names}"
        ):
            make_rule("sgd", 0.1)

    def test_options_are_not_mutated(self):
        """make_rule leaves the caller's options mapping alone."""
        options = {"beta": 0.5}

        make_rule("momentum", 0.1, **options)

        assert options == {"beta": 0.5}


class TestEstimators:
    @pytest.mark.parametrize("name", sorted(ESTIMATORS))
    def test_every_estimator_builds(self, name):
        """Every registered estimator builds with no options."""
        assert isinstance(make_estimator(name), optim.GradientEstimator)

    def test_options(self):
        """Options reach the estimator; unknown ones are named."""
        assert make_estimator("central", step=1e-3).step == 1e-3
        with pytest.raises(ValueError, match="'analytic' has no hyperparameter 'step'"):
            make_estimator("analytic", step=1e-3)
        with pytest.raises(ValueError, match="unknown estimator 'exact'"):
            make_estimator("exact")


class TestProblems:
    def test_every_problem_in_two_and_four_dimensions(self):
        """Every problem builds in 2-D; the scalable ones in 4-D too."""
        for name in PROBLEMS:
            assert get_problem(name).dimension == 2
            if "dimension" in hyperparameters("problem", name):
                assert get_problem(name, 4).dimension == 4

    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (lambda: get_problem("nope"), "unknown problem 'nope'; choose one of"),
            (lambda: get_problem("beale", 3), "dimension must be 2 for beale"),
            (lambda: get_problem("sphere", 2, scale=1), "no hyperparameter 'scale'"),
            (lambda: get_problem("sphere", 0), "dimension"),
        ],
    )
    def test_errors(self, call, match):
        """Bad names, dimensions and options raise ValueErrors naming them."""
        with pytest.raises(ValueError, match=match):
            call()

    def test_fixed_dimension_accepts_its_own(self):
        """A 2-D-only problem accepts dimension=2."""
        assert get_problem("himmelblau", 2).dimension == 2


def test_registries_are_read_only():
    """The public mappings cannot be changed by accident."""
    with pytest.raises(TypeError):
        RULES["mine"] = optim.FixedStep  # type: ignore[index]


def test_unknown_kind():
    """hyperparameters names the kinds it knows."""
    with pytest.raises(ValueError, match="unknown kind 'rules'"):
        hyperparameters("rules", "fixed")


def test_one_copy_of_the_problem_registry():
    """PROBLEMS and get_problem live in optim.registry only."""
    import optim.problems

    assert not hasattr(optim.problems, "PROBLEMS")
    assert not hasattr(optim.problems, "get_problem")


def test_no_import_cycle():
    """optim.problems imports without optim.registry (registry imports problems)."""
    import subprocess
    import sys

    code = "import sys, optim.problems; print('optim.registry' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == "False"

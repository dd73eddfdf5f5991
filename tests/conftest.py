"""Shared fixtures."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from optim import FunctionObjective
from optim.problems import Sphere

# Property-based tests run a fixed, derandomized set of examples: reproducible in CI
# and fast (the whole hypothesis suite takes seconds).
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def sphere() -> Sphere:
    return Sphere()


@pytest.fixture
def numeric_sphere() -> FunctionObjective:
    """The textbook's sphere as a plain function: no analytic gradient."""
    return FunctionObjective(lambda x: x[0] ** 2 + x[1] ** 2)

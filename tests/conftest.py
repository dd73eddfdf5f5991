"""Shared fixtures."""

import numpy as np
import pytest

from optim import FunctionObjective
from optim.problems import Sphere


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

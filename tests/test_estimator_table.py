import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def table():
    path = ROOT / "docs" / "scripts" / "estimator_table.py"
    spec = importlib.util.spec_from_file_location("estimator_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(table):
    return {row.name: row for row in table.measure()}


@pytest.fixture(scope="module")
def mgh(table):
    return {row.name: row for row in table.measure_mgh()}


TARGETS = {
    "`ForwardDifference()`": 1e-6,
    "`BackwardDifference()`": 1e-6,
    "`CentralDifference()`": 1e-8,
    "`Richardson(order=4)`": 1e-10,
    "`Richardson()` (order 6)": 1e-11,
    "`ComplexStep()`": 1e-14,
}


def test_table_meets_the_accuracy_targets(rows):
    """Every documented estimator meets its accuracy target on every function."""
    for name, target in TARGETS.items():
        assert max(rows[name].errors.values()) <= target, name


def test_table_counts_follow_the_formulas(rows):
    """The evaluation counts in the table are the documented formulas at n = 5."""
    counts = {name: row.evaluations for name, row in rows.items()}

    assert counts == {
        "`ForwardDifference()`": 6,
        "`BackwardDifference()`": 6,
        "`CentralDifference()`": 10,
        "`CentralDifference(step=1e-4)`": 10,
        "`Richardson(order=4)`": 130,
        "`Richardson()` (order 6)": 130,
        "`ComplexStep()`": 5,
        "`SPSA(samples=100, rng=0)`": 200,
    }


def test_richardson_error_estimates_bound_the_error(rows):
    """The table's claim that Richardson's estimate bounds the error holds."""
    assert rows["`Richardson()` (order 6)"].error_estimate_bounds
    assert rows["`Richardson(order=4)`"].error_estimate_bounds


def test_mgh_claims_of_the_page(mgh):
    """Richardson: below 1e-9 everywhere, never worse than central differences,
    fewer evaluations than numdifftools' default Gradient."""
    richardson = mgh["`Richardson()` (order 6)"]
    central = mgh["`CentralDifference()`"]
    numdifftools = mgh["`numdifftools.Gradient()`"]

    assert richardson.worst <= 1e-9
    for label, error in richardson.errors.items():
        assert error <= max(central.errors[label], 1e-9), label
    assert richardson.per_coordinate == 26.0
    assert numdifftools.per_coordinate > 30.0
    assert np.isfinite(numdifftools.worst)


def test_page_includes_the_generated_tables(table, tmp_path):
    """docs/estimators.md includes the file the docs build writes."""
    page = (ROOT / "docs" / "estimators.md").read_text()
    assert '--8<-- "docs/generated/estimator-tables.md"' in page
    table.write(tmp_path / "tables.md")
    text = (tmp_path / "tables.md").read_text()
    assert "`numdifftools.Gradient()`" in text
    assert "| `Richardson()` (order 6) |" in text

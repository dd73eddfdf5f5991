import importlib.util
import pathlib
import re

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


TARGETS = {
    "`ForwardDifference()`": 1e-6,
    "`BackwardDifference()`": 1e-6,
    "`CentralDifference()`": 1e-8,
    "`Richardson(order=4)`": 1e-11,
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
        "`Richardson(order=4)`": 20,
        "`Richardson()` (order 6)": 30,
        "`ComplexStep()`": 5,
        "`SPSA(samples=100, rng=0)`": 200,
    }


def test_richardson_error_estimates_bound_the_error(rows):
    """The table's claim that Richardson's estimate bounds the error holds."""
    assert rows["`Richardson()` (order 6)"].error_estimate_bounds
    assert rows["`Richardson(order=4)`"].error_estimate_bounds


def test_docs_page_shows_the_table_the_script_makes(table, rows):
    """docs/estimators.md holds the script's table: same rows, counts and errors.

    Errors are compared to within one order of magnitude, since the last digits of
    floating-point error depend on the platform's math library.
    """
    page = (ROOT / "docs" / "estimators.md").read_text()
    generated = table.markdown(list(rows.values())).splitlines()

    for line in generated[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        match = next(
            (row for row in page.splitlines() if row.startswith(f"| {cells[0]} |")),
            None,
        )
        assert match is not None, cells[0]
        documented = [cell.strip() for cell in match.strip("|").split("|")]
        assert documented[:3] == cells[:3]
        assert documented[-1] == cells[-1]
        for ours, theirs in zip(cells[3:-1], documented[3:-1], strict=True):
            exponent = int(re.search(r"e([+-]\d+)", ours).group(1))
            assert abs(int(re.search(r"e([+-]\d+)", theirs).group(1)) - exponent) <= 1

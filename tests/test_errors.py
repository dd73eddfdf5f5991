"""Every exception class lives in optim.errors and is importable where it was."""

import pytest

import optim
import optim.checkpoint
import optim.cli
from optim import errors


@pytest.mark.parametrize(
    "cls", [errors.OptimizationError, errors.CheckpointError, errors.UsageError]
)
def test_defined_in_errors_with_a_docstring(cls):
    """Each error class is defined in optim.errors and documented with Examples."""
    assert cls.__module__ == "optim.errors"
    assert "Examples:" in (cls.__doc__ or "")


def test_checkpoint_error_is_the_same_class_everywhere():
    """optim.CheckpointError and optim.checkpoint.CheckpointError are one class."""
    assert optim.CheckpointError is optim.checkpoint.CheckpointError
    assert optim.checkpoint.CheckpointError is errors.CheckpointError
    assert issubclass(errors.CheckpointError, ValueError)


def test_usage_error_is_what_the_command_line_raises():
    """The CLI's UsageError is optim.errors.UsageError."""
    assert optim.cli.UsageError is errors.UsageError


def test_no_other_module_defines_an_exception():
    """No module of optim but optim.errors defines a public exception class."""
    import importlib
    import inspect
    import pkgutil

    # optim.scipy mirrors scipy.optimize's names: its OptimizeWarning subclasses
    # scipy's own (when installed), so it is defined where scipy is imported.
    mirrored = {("scipy", "OptimizeWarning")}
    for info in pkgutil.iter_modules(optim.__path__):
        if info.name in ("errors", "__main__"):
            continue
        module = importlib.import_module(f"optim.{info.name}")
        for name, value in inspect.getmembers(module, inspect.isclass):
            if (info.name, name) in mirrored:
                continue
            if issubclass(value, BaseException) and not name.startswith("_"):
                assert value.__module__ == "optim.errors", (info.name, value)

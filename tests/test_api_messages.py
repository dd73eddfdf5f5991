"""What the Python API tells a user: keyword hints and the package's version."""

import importlib.metadata
import inspect
import subprocess
import sys

import pytest

import optim
from optim import SPSA
from optim.cli import main
from optim.registry import hyperparameters


class TestSPSAKeywordHints:
    @pytest.mark.parametrize(
        ("wrong", "right"), [("seed", "rng"), ("random_state", "rng"), ("h", "step")]
    )
    def test_misnamed_keyword_names_the_right_one(self, wrong, right):
        """SPSA(seed=0): the TypeError says `did you mean rng=?`."""
        with pytest.raises(TypeError) as raised:
            SPSA(**{wrong: 0})

        assert str(raised.value) == (
            f"SPSA() got an unexpected keyword argument {wrong!r}; "
            f"did you mean {right}=?"
        )

    def test_other_unknown_keywords_keep_pythons_message(self):
        """A keyword with no likely meaning gets Python's own error."""
        with pytest.raises(TypeError, match=r"unexpected keyword argument 'bogus'$"):
            SPSA(bogus=1)

    def test_signature_and_registry_still_see_the_fields(self):
        """The hint leaves the constructor's signature alone: rng, step, samples."""
        parameters = inspect.signature(SPSA).parameters

        assert list(parameters)[:3] == ["samples", "step", "rng"]
        assert "rng" in hyperparameters("estimator", "spsa")

    def test_right_keywords_still_work(self):
        """SPSA(rng=0) is made as before, and repeats itself."""
        spsa = SPSA(samples=2, rng=0)

        assert spsa.rng == 0
        assert spsa == SPSA(samples=2, rng=0)


class TestVersion:
    def test_version_is_the_installed_distributions(self):
        """optim.__version__ is what the package metadata says."""
        assert optim.__version__ == importlib.metadata.version("optim-gradient")

    def test_command_line_reports_the_same_version(self, capsys):
        """`optim --version` prints optim.__version__."""
        with pytest.raises(SystemExit) as exit_:
            main(["--version"])

        assert exit_.value.code == 0
        assert capsys.readouterr().out == f"optim {optim.__version__}\n"

    def test_fallback_without_metadata(self):
        """From a source tree that is not installed, the version is `0+unknown`."""
        script = (
            "import importlib.metadata as metadata\n"
            "def missing(name):\n"
            "    raise metadata.PackageNotFoundError(name)\n"
            "metadata.version = missing\n"
            "import optim\n"
            "print(optim.__version__)\n"
        )

        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )

        assert done.stdout == "0+unknown\n"

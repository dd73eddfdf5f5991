"""What a stranger sees on the package index: name, license, README, install hints."""

import re
import tomllib
from pathlib import Path

from optim.errors import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]


def test_distribution_name_is_the_one_install_hints_use():
    """pyproject's name is optim.errors.DISTRIBUTION, and extras refer to it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert project["name"] == DISTRIBUTION == "optim-gradient"
    assert project["scripts"] == {"optim": "optim.cli:main"}
    for extra in project["optional-dependencies"].values():
        for requirement in extra:
            assert not requirement.startswith("optim["), requirement


def test_no_install_hint_names_the_other_projects_package():
    """No file says `pip install "optim[...]"` or `pip install optim` alone."""
    wrong = re.compile(r"""pip install -?U? ?["']?optim(\[|["'\s]|$)""", re.M)
    files = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("optim/*.py")]

    for path in files:
        assert wrong.search(path.read_text()) is None, path


def test_license_file_matches_pyproject():
    """LICENSE is the MIT license pyproject.toml declares."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_readme_renders_on_the_package_index():
    """README has no relative link or image: they break on the index page."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", readme) + re.findall(
        r'src="([^"]+)"', readme
    )

    assert all(t.startswith(("https://", "http://", "#")) for t in targets), targets

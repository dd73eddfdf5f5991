"""mkdocs hooks: draw the figures and measure the tables before each build."""

import importlib.util
from pathlib import Path

_SCRIPTS = Path(__file__).parent / "scripts"


def _load(name):
    path = _SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"optim_doc_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_pre_build(config, **kwargs):
    """Draw docs/figures/ and measure the estimator tables into docs/generated/."""
    docs = Path(config["docs_dir"])
    _load("figures").draw(docs / "figures")
    _load("estimator_table").write(docs / "generated" / "estimator-tables.md")

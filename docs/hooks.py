"""mkdocs hooks: draw the figures with the library before each build."""

import importlib.util
from pathlib import Path

_SCRIPT = Path(__file__).parent / "scripts" / "figures.py"


def on_pre_build(config, **kwargs):
    """Run docs/scripts/figures.py into docs/figures/."""
    spec = importlib.util.spec_from_file_location("optim_doc_figures", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.draw(Path(config["docs_dir"]) / "figures")

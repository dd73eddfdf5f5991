"""Draw the documentation's figures with the library itself.

Run by the mkdocs hook (`docs/hooks.py`) before every build, and by hand to refresh
the README's copy: `python docs/scripts/figures.py docs/assets`.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from optim.cli import demo_results
from optim.plot import plot_sweep
from optim.problems import Sphere
from optim.sweep import sweep_learning_rates


def draw(folder: Path) -> list[Path]:
    """Write every figure into `folder` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    sweep = plot_sweep(
        Sphere(), sweep_learning_rates(Sphere(), [3.0, 2.0], [1.0, 0.1, 1e-6])
    )
    sweep.savefig(folder / "sweep.png", dpi=90, metadata={"Software": None})
    written.append(folder / "sweep.png")

    demo = plot_sweep(Sphere(), demo_results())
    demo.savefig(folder / "demo.png", dpi=90, metadata={"Software": None})
    written.append(folder / "demo.png")
    return written


if __name__ == "__main__":
    for path in draw(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/figures")):
        print(path)

"""Regenerate the comparison table in docs/step-rules.md.

Run from the repository root: `python docs/scripts/step_rules_table.py`. It runs
optim's rules and scipy.optimize.minimize on the problem library (the code shared
with `benchmarks/bench_step_rules.py`) and replaces the text between the
`<!-- table:start -->` and `<!-- table:end -->` markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "step-rules.md"
START, END = "<!-- table:start -->", "<!-- table:end -->"


def main() -> None:
    """Run the comparison and rewrite the table."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.step_rules_comparison import (
        markdown_table,
        median_gradient_ratio,
        run_all,
        unsolved_by_lbfgs,
    )

    rows = run_all()
    summary = (
        f"Median over problems of LBFGS / L-BFGS-B gradient evaluations: "
        f"**{median_gradient_ratio(rows):.2f}** (target: at most 1). Problems scipy "
        f"solves but LBFGS does not: "
        f"{', '.join(unsolved_by_lbfgs(rows)) or '**none**'}."
    )
    text = PAGE.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    PAGE.write_text(f"{head}{START}\n{markdown_table(rows)}\n\n{summary}\n{END}{tail}")


if __name__ == "__main__":
    main()

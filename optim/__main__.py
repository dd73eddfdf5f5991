"""Run the `optim` command: `python -m optim`."""

from optim.cli import main

raise SystemExit(main())

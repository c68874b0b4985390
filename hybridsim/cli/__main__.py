"""``python -m hybridsim.cli ...``: the ``hybridsim`` command."""

from hybridsim.cli import main

raise SystemExit(main())

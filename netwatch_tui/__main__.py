"""``python -m netwatch_tui``: the same entry point as the ``netwatch`` command."""

from netwatch_tui.cli import main

raise SystemExit(main())

"""``python -m steer_sync``: the ``steer`` command line (see :mod:`steer_sync.cli`)."""

from steer_sync.cli import main

raise SystemExit(main())

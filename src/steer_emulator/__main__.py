"""``python -m steer_emulator``: the loopback emulator as a server (see :mod:`.server`)."""

from steer_emulator.server import main

raise SystemExit(main())

"""Count the instructions of a command under callgrind (valgrind must be installed): what
``instructions.py`` and ``parser_instructions.py`` compare, free of the machine's noise."""

from __future__ import annotations

import re
import subprocess
import sys


def collected(script: str, *args: str) -> int:
    """The instructions ``python script args...`` ran, as callgrind counts them."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        script,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))

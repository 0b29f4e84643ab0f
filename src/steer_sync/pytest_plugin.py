"""The ``steer_emulator`` fixture, where earlier releases registered it from: the plugin is
:mod:`steer_emulator.pytest_plugin` now (the package's ``pytest11`` entry point), and
``-p steer_sync.pytest_plugin`` still loads it. Imports nothing but pytest.
"""

from __future__ import annotations

from steer_emulator.pytest_plugin import steer_emulator

__all__ = ["steer_emulator"]

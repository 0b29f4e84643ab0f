"""The hardening tests run every behaviour against both clients, like the parity tests."""

from tests.parity.conftest import make_runner

__all__ = ["make_runner"]

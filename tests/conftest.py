"""Test-wide setup: tiktoken reads its encodings from tests/fixtures/tiktoken, offline."""

from __future__ import annotations

import os
from pathlib import Path

# Before anything imports tiktoken: the encodings the tests provide (cl100k_base only;
# see tests/fixtures/tiktoken/README.md). Nothing is ever downloaded.
os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(__file__).parent / "fixtures" / "tiktoken")
pytest_plugins = ["tests.servers"]

"""The README's examples type-check under ``mypy --strict``, as a user's code would: the
clients' methods, the held stream, the response's usage (a dict, never ``None``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_docs import ROOT, blocks


@pytest.mark.parametrize("number", [0, 1, 2], ids=["sync", "asyncio", "core"])
def test_the_readmes_examples_pass_mypy_strict(number: int, tmp_path: Path) -> None:
    source = blocks(ROOT / "README.md")[number]
    user = tmp_path / "user_code.py"
    user.write_text(source, encoding="utf-8")
    # Run outside the checkout, as a user's project would: mypy finds the packages where
    # ``pip install -e .`` put them (the src layout's path entry, which mypy follows, where
    # it cannot follow setuptools' import-hook finder of a flat layout).
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(user)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_ships_its_py_typed() -> None:
    packages = ["steer_common", "steer_sync", "steer_async", "steer_cloud", "steer_emulator"]
    assert [p for p in packages if not (ROOT / "src" / p / "py.typed").exists()] == []
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for package in packages:
        assert f'{package} = ["py.typed"' in pyproject, package

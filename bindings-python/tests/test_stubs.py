"""The type stubs match the compiled module, and the package ships them."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources


def test_stubs_match_the_module() -> None:
    allow = resources.files("lakeroute").joinpath("_lakeroute.pyi")
    assert allow.is_file(), "the stub file ships in the wheel"
    assert resources.files("lakeroute").joinpath("py.typed").is_file()
    run = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "lakeroute._lakeroute", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr

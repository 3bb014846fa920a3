"""lakeroute's PEP 517 build backend: maturin, with the wheel chosen by the interpreter.

On CPython 3.11+ this builds the default abi3 wheel, whose ``lakeroute.Bytes`` hands received
memory to Python through the buffer protocol without copying it. Python's stable ABI has the
buffer protocol only from 3.11, so on 3.9 and 3.10 it builds the abi3 wheel for CPython 3.9+
instead, which returns ``bytes`` (one copy): it adds the cargo features for that wheel to the
maturin build arguments (config settings or ``MATURIN_PEP517_ARGS``), unless they already choose
features themselves.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any, Mapping, Optional

import maturin

OLD_PYTHON_ARGS = ["--no-default-features", "--features", "pyo3/abi3-py39,pyo3/extension-module"]


def _settings(config_settings: Optional[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    if sys.version_info >= (3, 11):
        return config_settings
    # Where maturin reads its build arguments from, in its order.
    given = (config_settings or {}).get("maturin.build-args", (config_settings or {}).get("build-args"))
    if given is None:
        given = os.environ.get("MATURIN_PEP517_ARGS", "")
    args = shlex.split(given) if isinstance(given, str) else list(given)
    if not any(a.startswith(("--features", "--no-default-features", "-F")) for a in args):
        args = [*args, *OLD_PYTHON_ARGS]
    settings = {k: v for k, v in (config_settings or {}).items() if k not in ("build-args", "maturin.build-args")}
    settings["maturin.build-args"] = shlex.join(args)
    return settings


def build_wheel(wheel_directory: str, config_settings: Optional[Mapping[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    return maturin.build_wheel(wheel_directory, _settings(config_settings), metadata_directory)


def build_editable(wheel_directory: str, config_settings: Optional[Mapping[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    return maturin.build_editable(wheel_directory, _settings(config_settings), metadata_directory)


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: Optional[Mapping[str, Any]] = None) -> str:
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, _settings(config_settings))


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel
build_sdist = maturin.build_sdist
get_requires_for_build_wheel = maturin.get_requires_for_build_wheel
get_requires_for_build_editable = maturin.get_requires_for_build_editable
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

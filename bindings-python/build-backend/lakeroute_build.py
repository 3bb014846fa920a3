"""lakeroute's PEP 517 build backend: maturin, with the wheel chosen by the interpreter.

On CPython 3.11+ this builds the default abi3 wheel, whose ``lakeroute.Bytes`` hands received
memory to Python through the buffer protocol without copying it. Python's stable ABI has the
buffer protocol only from 3.11, so on 3.9 and 3.10 it builds the abi3 wheel for CPython 3.9+
instead, which returns ``bytes`` (one copy). ``MATURIN_PEP517_ARGS`` or maturin's config settings,
when given, are used as they are.
"""

from __future__ import annotations

import os
import sys

if sys.version_info < (3, 11) and not os.environ.get("MATURIN_PEP517_ARGS"):
    os.environ["MATURIN_PEP517_ARGS"] = (
        "--no-default-features --features pyo3/abi3-py39,pyo3/extension-module"
    )

from maturin import (  # noqa: E402
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
]

"""Byte-compile the toolkit before a benchmark measures it, as installing it does.

pip writes every module's bytecode when it installs the wheel, and Python writes it on
a module's first import; but a checkout on a machine with PYTHONDONTWRITEBYTECODE set
(CI images, the development machine) never gets it, and every process, each sandboxed
reader among them, then compiles from source every module it imports (measured: 20 ms
for the 17 modules a reader imported without bytecode, in each reader). What an office
runs is compiled: so is what the benches time. Shared by the benches.
"""
from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compile_toolkit() -> None:
    """Write the bytecode of toolkit/ and schemas/ where it is missing or stale (quietly)."""
    for folder in ("toolkit", "schemas"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)

"""Stand-in reader functions for the sandbox tests (imported by name in worker processes).

Each takes a path, like ``toolkit.read.workbook.read_ledger``, and either returns a
Ledger or misbehaves in one particular way.
"""
from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

import pandas as pd

from toolkit.core.ledger import Ledger


def small_ledger(path: Path) -> Ledger:
    return Ledger(path=Path(path), sheet="台账", village="测试村",
                  cases=pd.DataFrame({"case_id": ["XF-001", "XF-002"]}, index=[4, 5]))


def calamine_ledger(path: Path) -> Ledger:
    """Every row of every sheet through python-calamine (the way read.py reads)."""
    import python_calamine
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = []
    for name in wb.sheet_names:
        rows += wb.get_sheet_by_name(name).to_python()
    width = max((len(r) for r in rows), default=0)
    frame = pd.DataFrame([list(r) + [None] * (width - len(r)) for r in rows], dtype=object)
    frame.index = range(1, len(frame) + 1)
    return Ledger(path=Path(path), sheet=wb.sheet_names[0] if wb.sheet_names else None, cases=frame)


def abort(path: Path) -> Ledger:
    os.abort()


def segfault(path: Path) -> Ledger:
    ctypes.string_at(0)
    raise AssertionError("unreachable")


def allocate_4gib(path: Path) -> Ledger:
    """One big allocation, touched (RLIMIT_AS refuses it at once -> MemoryError)."""
    block = bytearray(4 * 2**30)
    block[::4096] = b"x" * len(block[::4096])
    return small_ledger(path)


def creep_4gib(path: Path) -> Ledger:
    """Grows 32 MB at a time, touching every page: the RSS watchdog's case."""
    blocks = []
    for _ in range(128):
        blocks.append(b"\x01" * (32 * 2**20))
        time.sleep(0.005)
    return small_ledger(path)


def sleep_forever(path: Path) -> Ledger:
    while True:
        time.sleep(60)


def raise_error(path: Path) -> Ledger:
    raise ValueError("第 3 行无法解析")


def not_a_ledger(path: Path) -> object:
    return {"path": str(path)}


def by_name(path: Path) -> Ledger:
    """Misbehaves according to the file's stem: abort.xlsx aborts, ok.xlsx reads."""
    stem = Path(path).stem.split("-")[0]
    return {"abort": abort, "segv": segfault, "hog": allocate_4gib, "sleep": sleep_forever,
            "raise": raise_error, "nota": not_a_ledger}.get(stem, small_ledger)(path)

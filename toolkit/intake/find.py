"""Finding the files in the folders a clerk names: every one of them gets a verdict.

A village that sends its ledger as .xlsb, as a web page named .xls or as a PDF must not
simply show up as "未报": every file in a folder is listed and read (pre-flight says what a
file is when it is not a spreadsheet). Left out are only what no village sent: lock files
of Office/WPS/LibreOffice (``~$x.xlsx``, ``.~lock.x.xlsx#``), hidden files and folders, the
system's thumbnail and folder-settings files, and the toolkit's own 备份/历史版本 folders.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from toolkit.core.config import OWN_FOLDERS

# files the operating system writes into folders by itself (hidden on Windows, not on a copy)
_SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store"})


def find_workbooks(paths: Iterable[Path | str]) -> list[Path]:
    """Files named explicitly, plus every file found (recursively, sorted) in folders.

    A file named explicitly is always returned, so that a text file named .xlsx, or a
    missing one, gets reported rather than ignored.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for p in map(Path, paths):
        for f in (_walk(p) if p.is_dir() else [p]):
            key = os.path.normcase(os.path.abspath(f))
            if key not in seen:
                seen.add(key)
                found.append(f)
    return found


def _walk(root: Path) -> list[Path]:
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not _hidden(Path(folder, d)) and d not in OWN_FOLDERS]
        out += [Path(folder, n) for n in files if _is_candidate(Path(folder, n))]
    return sorted(out, key=lambda f: [s.casefold() for s in f.relative_to(root).parts])


def _is_candidate(path: Path) -> bool:
    name = path.name
    if name.startswith(("~$", ".~lock.")) or name.casefold() in _SYSTEM_FILES:
        return False
    return not _hidden(path)


def _hidden(path: Path) -> bool:
    if path.name.startswith("."):
        return True
    attrs = getattr(_lstat(path), "st_file_attributes", 0)   # Windows only
    return bool(attrs & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


def _lstat(path: Path):
    try:
        return path.lstat()
    except OSError:
        return None

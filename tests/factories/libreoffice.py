"""The one way tests and dev tools run LibreOffice: a second reader and writer of our files.

``convert`` and ``find_soffice`` are the toolkit's own (toolkit/outputs/libreoffice.py:
one headless soffice per call, always with a private profile); this module adds what
only tests need: the CSV-of-every-sheet filter and reading those CSVs back.
"""
from __future__ import annotations

import csv
import glob
from pathlib import Path

from toolkit.outputs.libreoffice import convert, find_soffice

# every sheet to its own UTF-8 CSV, named <stem>-<sheet>.csv
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def read_csv_sheets(folder: Path, stem: str) -> dict[str, list[list[str]]]:
    """The per-sheet CSVs LibreOffice wrote for ``stem`` (``stem-<sheet>.csv``); a single
    ``stem.csv`` comes back under the sheet name ""."""
    out = {}
    for p in folder.glob(f"{glob.escape(stem)}-*.csv"):
        with open(p, encoding="utf-8", newline="") as f:
            out[p.stem[len(stem) + 1:]] = list(csv.reader(f))
    if not out and (folder / f"{stem}.csv").exists():
        with open(folder / f"{stem}.csv", encoding="utf-8", newline="") as f:
            out[""] = list(csv.reader(f))
    return out


__all__ = ["CSV_ALL_SHEETS", "convert", "find_soffice", "read_csv_sheets"]

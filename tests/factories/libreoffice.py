"""The one way tests and dev tools run LibreOffice: a second reader and writer of our files.

``convert`` runs ONE headless soffice for many files, always with a private profile
folder (``-env:UserInstallation=file:///tmp/...``): without one, soffice hands the job
to any LibreOffice already running on the machine and waits behind it (a test then
hangs), and two runs side by side would share, and lock, one profile.
"""
from __future__ import annotations

import csv
import glob
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

# every sheet to its own UTF-8 CSV, named <stem>-<sheet>.csv
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def find_soffice() -> str | None:
    """The LibreOffice executable, also in its usual Windows folders."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for base in (Path("C:/Program Files/LibreOffice/program"),
                 Path("C:/Program Files (x86)/LibreOffice/program")):
        exe = base / "soffice.exe"
        if exe.exists():
            return str(exe)
    return None


def convert(files: Iterable[Path | str], target: str, outdir: Path | str, *,
            timeout: float = 600) -> list[Path]:
    """Convert ``files`` into ``outdir`` with one LibreOffice call; return the outputs in order.

    ``target`` is soffice's --convert-to argument: "xls", "pdf", "ods", "xlsx:Calc MS
    Excel 2007 XML", ``CSV_ALL_SHEETS``, … An output that LibreOffice did not write is
    an error naming it (an old file of that name is removed first, never taken for it).
    """
    files = [Path(p).resolve() for p in files]
    soffice = find_soffice()
    if soffice is None:
        raise RuntimeError("没有找到 LibreOffice（soffice），无法转换文件格式。")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    ext = target.split(":")[0]
    results = [outdir / f"{p.stem}.{ext}" for p in files]
    for out, src in zip(results, files):
        if out != src:
            out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="taizhang-lo-") as profile:
        cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", str(outdir), *map(str, files)]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    missing = [r.name for r in results if not r.exists() and not _per_sheet(r)]
    if missing:
        raise RuntimeError(f"LibreOffice 未能生成：{'、'.join(missing)}\n"
                           f"{done.stderr.decode('utf-8', 'replace')[-2000:]}")
    return results


def _per_sheet(result: Path) -> list[Path]:
    """The files a per-sheet filter (``CSV_ALL_SHEETS``) wrote instead of ``result``."""
    return list(result.parent.glob(f"{glob.escape(result.stem)}-*{result.suffix}"))


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


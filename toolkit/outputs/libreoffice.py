"""LibreOffice as a converter (the 简报 PDF; tests use it as a second reader of our files).

``convert`` runs ONE headless soffice for many files, always with a private profile
folder (``-env:UserInstallation=file:///tmp/...``): without one, soffice hands the job
to any LibreOffice already running on the machine and waits behind it, and two runs
side by side would share, and lock, one profile.
"""
from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

from toolkit.core.errors import EXIT_ATTENTION, TaizhangError


class LibreOfficeError(TaizhangError):
    """LibreOffice is missing or did not write what it was asked to."""
    exit_code = EXIT_ATTENTION


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

    ``target`` is soffice's --convert-to argument: "xls", "pdf", "ods", "xlsx", a CSV filter, …
    An output that LibreOffice did not write is an error naming it (an old file of that
    name is removed first, never taken for it).
    """
    files = [Path(p).resolve() for p in files]
    soffice = find_soffice()
    if soffice is None:
        raise LibreOfficeError("没有找到 LibreOffice（soffice），无法转换文件格式。"
                               "请安装 LibreOffice（免费）后重试。")
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
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LibreOfficeError(f"LibreOffice 转换超过 {timeout:g} 秒仍未完成，已放弃。") from None
    missing = [r.name for r in results if not r.exists() and not per_sheet_outputs(r)]
    if missing:
        raise LibreOfficeError(f"LibreOffice 未能生成：{'、'.join(missing)}。"
                               f"（{done.stderr.decode('utf-8', 'replace')[-300:].strip()}）")
    return results


def per_sheet_outputs(result: Path) -> list[Path]:
    """The files a per-sheet filter (CSV of every sheet) wrote instead of ``result``."""
    return list(result.parent.glob(f"{glob.escape(result.stem)}-*{result.suffix}"))

"""LibreOffice as a converter (the 简报 PDF; tests use it as a second reader of our files).

``convert`` runs ONE headless soffice for many files, always with a private profile
folder (``-env:UserInstallation=file:///...``), never the user's own: without one, soffice
hands the job to any LibreOffice already running on the machine and waits behind it, and
two runs side by side would share, and lock, one profile.

The profile is a new temporary folder, or with ``keep_profile`` the toolkit's own kept in
the per-user cache folder (``profile_folder``): LibreOffice then skips building a profile
(about 0.2-0.5 s of its 2-3 s start on the development machine). A file lock keeps two
runs from using it at once (the second takes a temporary one instead of waiting), and a
conversion that fails with it is tried again once with a new one, the kept one thrown
away (a run killed while LibreOffice wrote it may have left it broken).
"""
from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from toolkit.core.config import user_folder
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


def profile_folder() -> Path:
    """The kept LibreOffice profile: %LOCALAPPDATA%\\taizhang\\cache on Windows,
    $XDG_CACHE_HOME/taizhang (~/.cache) elsewhere; the user's own profile is never used."""
    return user_folder("cache") / "libreoffice-profile"


@contextmanager
def _profile(keep: bool) -> Iterator[tuple[Path, bool]]:
    """(profile folder, whether it is the kept one) for one soffice call."""
    if keep:
        from filelock import FileLock, Timeout
        folder = profile_folder()
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(folder) + ".lock", timeout=0)
            lock.acquire()
        except (Timeout, OSError):
            pass                        # in use by another run, or no cache folder: a new one
        else:
            try:
                yield folder, True
            finally:
                lock.release()
            return
    with tempfile.TemporaryDirectory(prefix="taizhang-lo-") as tmp:
        yield Path(tmp), False


def convert(files: Iterable[Path | str], target: str, outdir: Path | str, *,
            timeout: float = 600, keep_profile: bool = False) -> list[Path]:
    """Convert ``files`` into ``outdir`` with one LibreOffice call; return the outputs in order.

    ``target`` is soffice's --convert-to argument: "xls", "pdf", "ods", "xlsx", a CSV filter, …
    An output that LibreOffice did not write is an error naming it (an old file of that
    name is removed first, never taken for it). ``keep_profile``: see the module doc.
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
    with _profile(keep_profile) as (profile, kept):
        done = _run(soffice, profile, target, outdir, files, timeout)
        if kept and _missing(results):         # a broken kept profile: throw it away, once
            _discard(profile)
            done = _run(soffice, profile, target, outdir, files, timeout)
    missing = _missing(results)
    if missing:
        raise LibreOfficeError(f"LibreOffice 未能生成：{'、'.join(missing)}。"
                               f"（{done.stderr.decode('utf-8', 'replace')[-300:].strip()}）")
    return results


def _run(soffice: str, profile: Path, target: str, outdir: Path, files: list[Path],
         timeout: float) -> subprocess.CompletedProcess:
    cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
           "--convert-to", target, "--outdir", str(outdir), *map(str, files)]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise LibreOfficeError(f"LibreOffice 转换超过 {timeout:g} 秒仍未完成，已放弃。") from None


def _discard(profile: Path) -> None:
    if profile.is_dir() and not profile.is_symlink():
        shutil.rmtree(profile, ignore_errors=True)
    else:
        profile.unlink(missing_ok=True)


def _missing(results: list[Path]) -> list[str]:
    return [r.name for r in results if not r.exists() and not per_sheet_outputs(r)]


def per_sheet_outputs(result: Path) -> list[Path]:
    """The files a per-sheet filter (CSV of every sheet) wrote instead of ``result``."""
    return list(result.parent.glob(f"{glob.escape(result.stem)}-*{result.suffix}"))

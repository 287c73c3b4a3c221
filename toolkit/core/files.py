"""Files the toolkit writes: one home for how they are written, hashed, backed up and locked.

- ``atomic_write``: a temporary file beside the target, fsynced, then ``os.replace``:
  a crash or a power cut leaves the old file or the complete new one, never half.
- ``file_sha256``: the content hash the archive and the backups compare.
- ``backup_name`` / ``is_backup_of`` / ``backup_copy``: ``<stem>_<YYYYmmdd-HHMMSS>[-n]<ext>``,
  the one naming of every timestamped copy (fill's 备份, the master's 历史版本 and dated
  copies, the settings workbook's backup).
- ``workbook_in_use``: is a workbook open in Excel, WPS or LibreOffice (its lock files),
  asked before a write-back and before the master is replaced.
- ``run_lock``: the one lock every consolidation shares (command line, daily job,
  Excel buttons, mail intake), with the one message a second caller is given.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Iterator

from toolkit.core.errors import TaizhangError
from toolkit.core.store import storage_error

TEMP_PREFIX = ".taizhang-"       # temporary files beside a target start with this
STAMP_FORMAT = "%Y%m%d-%H%M%S"
LOCK_NAME = "consolidate.lock"


# --- atomic writing -----------------------------------------------------------------
def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX; Windows has no directory handles to sync)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_prefix(target: Path) -> str:
    """The prefix of every temporary file written for ``target`` (stale ones can be found)."""
    return f"{TEMP_PREFIX}{Path(target).name}-"


def remove_stale_temps(target: Path) -> None:
    """Temporary files for ``target`` left by a killed earlier run (call it under a lock)."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    for p in target.parent.glob(f"{temp_prefix(target)}*.tmp"):
        try:
            p.unlink()
        except OSError:
            pass


@contextmanager
def temp_beside(target: Path) -> Iterator[Path]:
    """A new empty file beside ``target`` (named like ``atomic_path``'s), removed on leaving
    unless ``commit_temp`` moved it away.

    For writers that must decide late where the file goes (the master: itself or a dated
    copy) or do more between writing and replacing (write-back: close the source, back it
    up). Unlike ``mkstemp``'s 0600 file it gets a new file's usual permissions (the umask),
    so a shared master stays readable by others.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = target.parent / f"{temp_prefix(target)}{os.urandom(6).hex()}.tmp"
        try:
            open(tmp, "xb").close()
            break
        except FileExistsError:
            continue
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def commit_temp(tmp: Path, target: Path, *, mode_from: Path | None = None) -> None:
    """Make a finished temporary file ``target``: fsync it, take ``mode_from``'s permission
    bits (after the fsync: a read-only mode cannot be opened for it), ``os.replace``, fsync
    the folder. A PermissionError (Windows: the target is open) leaves ``target`` untouched."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    if mode_from is not None:
        try:
            shutil.copymode(mode_from, tmp)
        except OSError:
            pass
    os.replace(tmp, target)
    fsync_dir(Path(target).parent)


@contextmanager
def atomic_write(target: Path, mode: str = "wb") -> Iterator[IO]:
    """Write ``target`` all or nothing: ``with atomic_write(p) as f: f.write(...)``.

    The temporary file sits beside the target (the same disk, so the replace is
    atomic), is fsynced before ``os.replace`` and removed if anything fails. A
    PermissionError from the replace (Windows: the target is open) propagates with
    the target untouched.
    """
    with atomic_path(target) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding) as f:
            yield f


@contextmanager
def atomic_path(target: Path, *, keep_mode: bool = False) -> Iterator[Path]:
    """Like ``atomic_write`` for writers that want a path (xlsxwriter, zip writers).

    ``keep_mode`` gives the new file the target's permission bits.
    """
    target = Path(target)
    with temp_beside(target) as tmp:
        yield tmp
        commit_temp(tmp, target, mode_from=target if keep_mode and target.exists() else None)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_write(target, "wb") as f:
        f.write(data)


def atomic_write_text(target: Path, text: str) -> None:
    """UTF-8, whatever the platform's default encoding (GBK on a Chinese Windows)."""
    with atomic_write(target, "w") as f:
        f.write(text)


# --- file names -------------------------------------------------------------------
NAME_BYTES = 180    # a name we make: room for a temporary prefix and suffix within 255 bytes


def fit_name(name: str, limit: int = NAME_BYTES) -> str:
    """``name`` cut to at most ``limit`` UTF-8 bytes, keeping its extension and whole
    characters (Linux allows 255 bytes a name: 85 Chinese characters; Windows 255
    characters). The name as sent is kept elsewhere for display; this one is only stored."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode("utf-8")) > 16:
        stem, ext = name, ""
    tail = f".{ext}" if ext else ""
    budget = limit - len(tail.encode("utf-8")) - len("…".encode("utf-8"))
    cut = stem.encode("utf-8")[:max(budget, 1)].decode("utf-8", errors="ignore")
    return f"{cut.rstrip()}…{tail}"


# --- hashing ----------------------------------------------------------------------
def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file, read in 1 MB blocks (bounded memory for any size)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- timestamped copies -----------------------------------------------------------
def stamp(when: datetime | None = None) -> str:
    return (when or datetime.now()).strftime(STAMP_FORMAT)


def backup_name(folder: Path, stem: str, suffix: str, when: datetime | None = None) -> Path:
    """A free name ``folder/<stem>_<YYYYmmdd-HHMMSS>[-n]<suffix>`` (n from 2 on a clash)."""
    s = stamp(when)
    target, n = Path(folder) / f"{stem}_{s}{suffix}", 1
    while target.exists():
        n += 1
        target = Path(folder) / f"{stem}_{s}-{n}{suffix}"
    return target


def is_backup_of(name: str, stem: str, suffix: str) -> bool:
    """Is ``name`` a timestamped copy of ``<stem><suffix>`` as ``backup_name`` makes them?"""
    pattern = re.escape(stem) + r"_\d{8}-\d{6}(-\d+)?" + re.escape(suffix)
    return re.fullmatch(pattern, name) is not None


def backup_copy(path: Path, folder: Path, *, when: datetime | None = None,
                reuse_identical: bool = True) -> Path:
    """Copy ``path`` into ``folder`` under a timestamped name; return the copy.

    With ``reuse_identical`` an existing backup of the same bytes is returned instead
    of making another. The copy is written atomically (a crash never leaves a
    half-copied backup that looks complete).
    """
    path, folder = Path(path), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if reuse_identical:
        size, digest = path.stat().st_size, None
        for old in sorted(folder.iterdir()):
            if is_backup_of(old.name, path.stem, path.suffix) and old.stat().st_size == size:
                digest = digest or file_sha256(path)
                if file_sha256(old) == digest:
                    return old
    target = backup_name(folder, path.stem, path.suffix, when)
    with atomic_path(target) as tmp:
        shutil.copy2(path, tmp)
    return target


# --- is a workbook open ------------------------------------------------------------
def lock_files(path: Path) -> list[Path]:
    """Lock files Excel/WPS (``~$name``, Excel's ``~$`` + name[2:]) or LibreOffice
    (``.~lock.name#``) keep beside a workbook while it is open."""
    path = Path(path)
    names = [f"~${path.name}", f".~lock.{path.name}#"]
    if len(path.name) > 2:
        names.append("~$" + path.name[2:])
    return [path.with_name(n) for n in dict.fromkeys(names) if path.with_name(n).exists()]


def workbook_in_use(path: Path) -> bool:
    """True when the workbook is open in Excel, WPS or LibreOffice."""
    path = Path(path)
    if lock_files(path):
        return True
    if os.name == "nt" and path.exists():   # Excel holds an exclusive share lock on Windows
        try:
            with open(path, "r+b"):
                pass
        except PermissionError:
            return True
    return False


# --- the run lock -----------------------------------------------------------------
class RunBusy(TaizhangError):
    """Another consolidation (daily job, command line, button or mail) holds the lock."""
    exit_code = 1

    def __init__(self, lock: Path) -> None:
        super().__init__("另一汇总正在进行（可能来自每日任务、命令行或 Excel 按钮），"
                         "请等它完成后再试。")
        self.lock = lock


@contextmanager
def held_lock(path: Path, timeout: float, busy, what: str | None = None) -> Iterator[None]:
    """Hold the file lock ``path`` (a filelock: works on Windows too); when another holder
    keeps it longer than ``timeout`` seconds, raise ``busy(lock_path)``. With ``what`` (the
    folder's name for a clerk), a folder where the lock cannot be made raises StorageError."""
    from filelock import FileLock, Timeout
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path), timeout=timeout)
        lock.acquire()
    except Timeout:
        raise busy(Path(lock.lock_file)) from None
    except OSError as e:
        if what is None:
            raise
        raise storage_error(Path(path).parent, what, e) from e
    try:
        yield
    finally:
        lock.release()


@contextmanager
def run_lock(state_dir: Path, timeout: float = 5.0) -> Iterator[None]:
    """Hold the one run lock of a state folder. Raises RunBusy when another holder keeps
    it longer than ``timeout`` seconds, StorageError when the folder cannot be written."""
    with held_lock(Path(state_dir) / LOCK_NAME, timeout, RunBusy, "状态文件夹"):
        yield

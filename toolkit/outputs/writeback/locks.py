"""What to say when a workbook is open somewhere (``toolkit.core.files.workbook_in_use`` tells),
and one toolkit writer per workbook at a time."""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from toolkit.core.files import held_lock, lock_files
from toolkit.outputs.writeback.model import WritebackError


def in_use_message(path: Path) -> str:
    found = lock_files(path)
    hint = (f"（发现锁定文件“{found[0].name}”；如确认没有人打开，可删除该锁定文件）" if found else "")
    return (f"文件“{Path(path).name}”正在被 Excel、WPS 或其他程序打开{hint}，工具没有改动它。"
            "请先保存并关闭该文件，再重新操作。")


LOCK_DIR = Path(tempfile.gettempdir()) / "taizhang-locks"    # outside the clerk's folders
STALE_SECONDS = 24 * 3600         # a lock file nobody has touched for a day (left by an old version)


@contextmanager
def writer_lock(dst: Path) -> Iterator[None]:
    """One toolkit writer per workbook at a time (a lock file outside the clerk's folder, removed
    when the write is done: the temp folder does not fill up with them)."""
    key = hashlib.sha1(str(dst.resolve()).encode("utf-8")).hexdigest()
    busy = lambda _lock: WritebackError(f"“{dst.name}”正在被另一个台账工具进程写入，请稍后再试。")  # noqa: E731
    path = LOCK_DIR / f"{key}.lock"
    if os.name == "nt":            # filelock removes its file on release on Windows
        with held_lock(path, 0, busy):
            yield
        return
    fd = _flock(path, busy)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)   # while still held: a process that opened it sees it is gone
        os.close(fd)                   # and only then released
    _prune_stale(LOCK_DIR)


def _flock(path: Path, busy) -> int:
    """An exclusive flock on ``path`` that is still the file at ``path`` (a holder removes it
    before releasing it, so a lock won on a removed file is given up and tried again)."""
    import fcntl
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy(path) from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _prune_stale(folder: Path) -> None:
    """Remove lock files nobody holds that are older than a day (earlier versions left one per
    workbook ever written)."""
    import fcntl
    cutoff = time.time() - STALE_SECONDS
    try:
        old = [p for p in folder.glob("*.lock") if p.stat().st_mtime < cutoff]
    except OSError:
        return
    for p in old:
        try:
            fd = os.open(p, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            p.unlink(missing_ok=True)
        except OSError:
            pass                       # held by a writer right now: it removes its own
        finally:
            os.close(fd)

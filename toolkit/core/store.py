"""The office's own storage: its SQLite records and folders, and what a clerk is told when they fail.

The archive, the mail state, the trends and the change log are SQLite files in folders the
office chose (taizhang.toml). When one of them cannot be written (the disk is full, the folder
is read-only or on a network drive that went away, another program holds the file) the run
stops with ``StorageError``: a Chinese sentence naming the file or folder and what to do, exit
code 1, the previous master left as it was. It is the office's trouble, never reported as a
village's unreadable file.

- ``open_db(path, what)``: a WAL connection to one record file;
- ``guarded(path, what)``: a block in which sqlite3 and OS errors become ``StorageError``;
- ``ensure_writable(folder, what)``: a run's first step, so it stops before changing anything;
- ``storage_error(path, what, error)``: the one wording of those messages.
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from toolkit.core.errors import EXIT_ATTENTION, TaizhangError


class StorageError(TaizhangError):
    """The office's own folder or record file cannot be written; Chinese, names it."""
    exit_code = EXIT_ATTENTION


_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _kind(error: BaseException, folder: Path) -> str:
    """full | read_only | busy | other, from an OSError's errno or SQLite's own words (SQLite
    reports a full disk under WAL as a plain I/O error: the free space then tells)."""
    if isinstance(error, OSError):
        if error.errno in _FULL:
            return "full"
        if error.errno in _READ_ONLY:
            return "read_only"
        return "full" if error.errno == errno.EIO and _nearly_full(folder) else "other"
    text = str(error).lower()
    if "full" in text:
        return "full"
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return "read_only"
    if "locked" in text or "busy" in text:
        return "busy"
    return "full" if "i/o" in text and _nearly_full(folder) else "other"


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


# what SQLite and the system say, in a clerk's words (never their English)
_SQLITE_WORDS = {"disk i/o error": "磁盘读写出错", "database disk image is malformed": "记录文件已损坏",
                 "file is not a database": "不是本工具的记录文件"}
_ERRNO_WORDS = {errno.ENOENT: "文件夹不存在", errno.EIO: "磁盘读写出错", errno.ENOTDIR: "路径中有同名文件",
                errno.EISDIR: "这里是文件夹", errno.ENAMETOOLONG: "路径太长"}


def _detail(error: BaseException) -> str:
    if isinstance(error, OSError):
        return _ERRNO_WORDS.get(error.errno, f"系统错误 {errno.errorcode.get(error.errno, error.errno)}")
    text = str(error).lower()
    return next((w for k, w in _SQLITE_WORDS.items() if k in text), "记录文件无法写入")


def storage_error(path: Path | str, what: str, error: BaseException) -> StorageError:
    """The clerk's sentence for ``error`` met while writing ``what`` at ``path``."""
    path = Path(path)
    where = f"{what}“{path}”"
    folder = path if path.is_dir() or not path.suffix else path.parent
    kind = _kind(error, folder)
    if kind == "full":
        text = (f"磁盘已满，无法写入{where}。请清理“{folder}”所在磁盘的空间"
                "（或在 taizhang.toml 中把该文件夹改到空间充足的磁盘）后重新运行。")
    elif kind == "read_only":
        text = (f"没有权限写入{where}（文件夹只读、权限不够或网络盘已断开）。请检查该文件夹的写入权限"
                "后重新运行。")
    elif kind == "busy":
        text = f"{where}正被另一个程序占用。请稍等片刻，关闭可能打开它的程序后重新运行。"
    else:
        text = f"无法写入{where}（{_detail(error)}）。请检查该磁盘和文件夹后重新运行。"
    return StorageError(text + "本次没有改动总台账，上一版保持不变。")


@contextmanager
def guarded(path: Path | str, what: str) -> Iterator[None]:
    """Turn SQLite and file-system failures inside the block into ``StorageError``."""
    try:
        yield
    except StorageError:
        raise
    except (sqlite3.Error, OSError) as e:
        raise storage_error(path, what, e) from e


def open_db(path: Path | str, what: str, *, timeout: float = 30) -> sqlite3.Connection:
    """A connection to the record file ``path`` (its folder made), WAL journal;
    ``StorageError`` when the folder or file cannot be opened for writing."""
    path = Path(path)
    with guarded(path, what):
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=timeout)
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error:
            db.close()
            raise
        return db


PROBE_BYTES = 64 * 1024


def ensure_writable(folder: Path | str, what: str) -> None:
    """Write, sync and remove a small file in ``folder`` (made if missing): a run checks its
    own folders this way before it changes anything, so a full or read-only disk stops it
    at the start with ``StorageError``, not halfway."""
    folder = Path(folder)
    probe = folder / f".taizhang-probe-{os.getpid()}.tmp"
    with guarded(folder, what):
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with open(probe, "wb") as f:
                f.write(b"\0" * PROBE_BYTES)
                f.flush()
                os.fsync(f.fileno())
        finally:
            probe.unlink(missing_ok=True)

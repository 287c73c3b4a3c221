"""Is a workbook open somewhere, and one toolkit writer per workbook at a time."""
from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from toolkit.core.files import held_lock
from toolkit.outputs.writeback.model import WritebackError


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


def in_use_message(path: Path) -> str:
    found = lock_files(path)
    hint = (f"（发现锁定文件“{found[0].name}”；如确认没有人打开，可删除该锁定文件）" if found else "")
    return (f"文件“{Path(path).name}”正在被 Excel、WPS 或其他程序打开{hint}，工具没有改动它。"
            "请先保存并关闭该文件，再重新操作。")


@contextmanager
def writer_lock(dst: Path) -> Iterator[None]:
    """One toolkit writer per workbook at a time (a lock outside the clerk's folder)."""
    key = hashlib.sha1(str(dst.resolve()).encode("utf-8")).hexdigest()
    busy = lambda _lock: WritebackError(f"“{dst.name}”正在被另一个台账工具进程写入，请稍后再试。")  # noqa: E731
    with held_lock(Path(tempfile.gettempdir()) / "taizhang-locks" / f"{key}.lock", 0, busy):
        yield

"""Where the toolkit logs, and the one way an unexpected error reaches a clerk.

A library only logs to the ``taizhang`` logger (``toolkit/__init__`` gives it a
NullHandler); the shells call ``setup_logging`` to send it to a rotating UTF-8 file.
``clerk_message`` turns any exception into what a clerk may see: a TaizhangError's
own Chinese sentence, or for anything else one sentence naming the log file that
now holds the traceback. Never a traceback on a clerk's screen.
"""
from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from toolkit.core.errors import EXIT_CANNOT_RUN, TaizhangError

log = logging.getLogger("taizhang")
MAX_BYTES, BACKUPS = 2 * 1024 * 1024, 10


def setup_logging(logs: Path, name: str = "taizhang.log") -> Path:
    """Log the ``taizhang`` logger to ``logs/<name>`` (UTF-8, 2 MB x 10 files); idempotent."""
    logs = Path(logs)
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / name
    root = logging.getLogger("taizhang")
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path.resolve()
               for h in root.handlers):
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                      encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def log_unexpected(logs: Path | None, name: str = "taizhang.log") -> str:
    """Write the traceback being handled to the log; return where it went, for the clerk."""
    try:
        if logs is None:
            raise OSError("no log folder")
        path = setup_logging(logs, name)
        log.exception("unexpected error")
        return str(path)
    except Exception:  # a read-only folder must not hide the first error
        return "（日志无法写入）"


def clerk_message(e: BaseException, logs: Path | None, name: str = "taizhang.log",
                  *, what_to_send: str = "所用文件") -> tuple[str, int]:
    """(the Chinese text a clerk sees, the exit code) for any exception.

    Call it inside the ``except`` block, so an unexpected error's traceback can be logged.
    """
    if isinstance(e, TaizhangError):
        return str(e), e.exit_code
    where = log_unexpected(logs, name)
    return (f"出现意外错误：{e}。请把本条信息、{what_to_send}和日志 {where} 发给技术支持。",
            EXIT_CANNOT_RUN)

"""Reading untrusted files: pre-flight each, then parse in sandboxed worker processes.

The cheap checks (exists, size, magic bytes) run in the parent; the deep ones
(every zip member decompressed and scanned, the OLE streams) run in the worker
just before the reader, in parallel and under the same memory and time limits as
the parser itself (:mod:`toolkit.intake.sandbox`).
"""
from __future__ import annotations

import functools
import os
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Iterator, Sequence

from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import CaseColumns, Ledger
from toolkit.intake.preflight import cheap_check, preflight
from toolkit.intake.sandbox import CRASHED, MEMORY, OK, TIMEOUT, WorkerPool, resolve
from toolkit.read.explain import explain
from toolkit.read.openable import decrypted_copy


def read_ledgers(paths: Sequence[Path], *, reader: str = "toolkit.read.workbook:read_ledger",
                 workers: int | None = None, time_limit: float = 60,
                 memory_limit_mb: int = 1024, aliases: tuple = ()) -> list[Ledger]:
    """Pre-flight every file, then parse those that pass in sandboxed workers.

    Returns one Ledger per path, in order. A file that fails pre-flight, kills
    its worker, runs out of time or memory, or makes the reader raise becomes
    ``Ledger(path, readable=False, issues=[...])``; the others are read as usual.

    The cheap checks (exists, size, magic bytes) run here; the deep ones (every
    zip member decompressed and scanned, the OLE streams) run in the worker just
    before the reader: in parallel, and sandboxed like the parser itself. ``aliases``: the
    township's own header spellings (``Settings.header_aliases``), given to the reader.
    """
    paths = [Path(p) for p in paths]
    ledgers: list[Ledger | None] = [None] * len(paths)
    with closing(iter_ledgers(paths, reader=reader, workers=workers, time_limit=time_limit,
                              memory_limit_mb=memory_limit_mb, aliases=aliases)) as arriving:
        for i, ledger in arriving:
            ledgers[i] = ledger
    return ledgers  # type: ignore[return-value]


def iter_ledgers(paths: Sequence[Path], *, reader: str = "toolkit.read.workbook:read_ledger",
                 workers: int | None = None, time_limit: float = 60,
                 memory_limit_mb: int = 1024, aliases: tuple = ()) -> Iterator[tuple[int, Ledger]]:
    """``read_ledgers`` one ledger at a time as each is ready: (its position in
    ``paths``, Ledger), files refused by the cheap checks first, then in the order
    the workers finish them; the caller can use each while the others are read."""
    paths = [Path(p) for p in paths]
    tickets: dict[int, int] = {}
    refused: list[tuple[int, Ledger]] = []
    n = workers or min(len(paths), os.cpu_count() or 1)
    with WorkerPool("toolkit.read.sandboxed:checked_reader", factory_arg=(reader, aliases) if aliases else reader,
                    workers=max(1, n),
                    time_limit=time_limit, memory_limit_mb=memory_limit_mb) as pool:
        for i, path in enumerate(paths):
            issue = cheap_check(path)
            if issue is not None:
                refused.append((i, Ledger(path=path, readable=False, issues=[issue])))
            else:
                tickets[pool.submit(path)] = i
        yield from refused
        for ticket, outcome in pool.completed():
            i = tickets[ticket]
            yield i, _ledger_from(paths[i], outcome, time_limit, memory_limit_mb)


# The toolkit's own reader, which can also read a decrypted copy (``source``) and take the small
# parts pre-flight inflated on its way (``parts``: it need not open the file again). Workers never
# import pandas (about 0.3 s each to start): ledgers travel with plain CaseColumns, and the
# parent builds a DataFrame only if it is asked for (checking needs none).
_LEDGER_READER = "toolkit.read.workbook:read_ledger"


def checked_reader(reader: str | tuple):
    """In a worker: the per-file function = deep pre-flight, then ``reader`` ("module:function",
    or that and the header aliases it is given)."""
    reader, aliases = reader if isinstance(reader, tuple) else (reader, ())
    read = resolve(reader)
    if aliases:
        read = functools.partial(read, aliases=aliases)
    reads_copies = reader == _LEDGER_READER

    def check_then_read(path: Path) -> Ledger:
        parts: dict[str, bytes] | None = {} if reads_copies else None
        issue = preflight(path, kept=parts)
        if issue is not None and issue.code == Code.ENCRYPTED and reads_copies:
            return _read_default_password(Path(path), read, issue)
        if issue is not None:
            return _refused(path, issue)
        return read(path, parts=parts) if reads_copies else read(path)
    return check_then_read


def _refused(path: Path, issue) -> Ledger:
    return Ledger(path=Path(path), readable=False, issues=[issue], cases=CaseColumns({}, []))


def _read_default_password(path: Path, read, encrypted) -> Ledger:
    """Excel opens a file encrypted with its built-in default password without asking:
    decrypt a copy here, in the worker (same limits), pre-flight it, read it."""

    with tempfile.TemporaryDirectory(prefix="taizhang-read-") as tmp:
        copy = decrypted_copy(path, Path(tmp))
        if copy is None:
            return _refused(path, encrypted)         # a password someone typed
        issue = preflight(copy, shown_as=path)
        return _refused(path, issue) if issue is not None else read(path, source=copy)


def _ledger_from(path: Path, outcome, time_limit: float, memory_limit_mb: int) -> Ledger:
    if outcome.status == OK and isinstance(outcome.value, Ledger):
        lg = outcome.value
        lg.path = path              # its cases stay plain lists until someone asks for the DataFrame
        return lg
    if outcome.status == MEMORY:
        issue = make_issue(Code.TOO_LARGE, file=str(path),
                           reason=f"读取时所需内存超过 {memory_limit_mb} MB 的上限")
    elif outcome.status == TIMEOUT:
        issue = make_issue(Code.TOO_LARGE, file=str(path),
                           reason=f"读取超过 {time_limit:g} 秒仍未完成")
    elif outcome.status == CRASHED:
        issue = make_issue(Code.UNREADABLE, file=str(path),
                           reason="读取程序在解析时异常退出，文件可能已损坏或含有异常内容；"
                                  "请用 Excel 打开确认后另存为 .xlsx")
    else:
        reason = explain(outcome.detail, file=path) if outcome.detail else "读取结果无效"
        issue = make_issue(Code.UNREADABLE, file=str(path), reason=reason)
    return Ledger(path=path, readable=False, issues=[issue])

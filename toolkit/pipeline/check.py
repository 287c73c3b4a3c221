"""Checking village ledgers: read (sandboxed) -> validate -> compute, the same for every command.

``taizhang validate``, ``taizhang fill``, the Excel buttons and the judge (consolidation, mail,
reminders, ``submissions``) all check a ledger here, so one file gets the same issues
everywhere: the schema's and the cross-field rules' (``toolkit.validation``) and computing's
deadline warnings (``toolkit.compute``), each at its cell.

- ``check_ledgers``: ledgers already read (the sheet open in front of the clerk, or archived
  originals read by the judge), checked together; returns their computed columns;
- ``check_paths``: find the workbooks under paths, read them in the sandbox and check them as
  they arrive (a thread checks the ledgers read so far while the workers read the rest);
- ``fill_paths``: read, check and write the computed columns back (``taizhang fill``).
"""
from __future__ import annotations

import queue
import threading
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from toolkit.compute.cases import compute_ledgers
from toolkit.core.ledger import Ledger
from toolkit.core.settings import Settings
from toolkit.intake.find import find_workbooks
from toolkit.read.sandboxed import iter_ledgers, read_ledgers
from toolkit.validation.rules import validate_ledgers

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.outputs.fill import FillResult


def check_ledgers(ledgers: Sequence[Ledger], *, as_of: date, settings: Settings,
                  use_pandera: bool = False, columns: bool = True) -> list["pd.DataFrame"]:
    """Validate and compute ``ledgers`` together: every issue is added to its ledger; returns
    each ledger's computed columns (deadline, alert, checklists …), in order.
    ``use_pandera``: check the schema through pandera instead of the plain runner (same issues);
    ``columns=False``: the issues only, no computed columns (an empty list)."""
    validate_ledgers(ledgers, as_of=as_of, settings=settings, use_pandera=use_pandera)
    return compute_ledgers(ledgers, as_of=as_of, settings=settings, columns=columns)


def check_paths(paths: Iterable[Path | str], *, as_of: date, settings: Settings) -> list[Ledger]:
    """Find the workbooks under ``paths``, read them safely and check them.

    The parent mostly waits while the sandboxed workers read, so a thread checks the
    ledgers read so far in batches (each ledger is checked on its own rows, so batches
    give the same issues). Checking a reader's plain columns needs no pandas: the
    ledgers' DataFrames are built only if the caller asks for them.
    """
    found = find_workbooks(paths)
    ledgers: list[Ledger | None] = [None] * len(found)
    checker = _Checker(as_of, settings)
    checker.start()
    try:
        with closing(iter_ledgers(found, aliases=settings.header_aliases)) as arriving:     # closing it stops the workers
            for i, ledger in arriving:
                ledgers[i] = ledger
                checker.inbox.put(ledger)
    finally:
        checker.inbox.put(None)
        checker.join()
    if checker.error is not None:
        raise checker.error
    return ledgers  # type: ignore[return-value]


class _Checker(threading.Thread):
    """Checks ledgers put in ``inbox`` in batches, until it gets None."""

    # A call has a fixed cost (one table, one memo), so not one ledger at a time; but 300 bench
    # ledgers cost the same checked 10 at a time as 100 at a time (0.12 s), and the last batch
    # is what the clerk waits for after the last file is read: keep it small.
    batch = 10

    def __init__(self, as_of: date, settings: Settings) -> None:
        super().__init__(name="taizhang-check", daemon=True)
        self.as_of, self.settings = as_of, settings
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.error: BaseException | None = None

    def run(self) -> None:
        waiting: list[Ledger] = []
        try:
            while True:
                ledger = self.inbox.get()
                if ledger is not None:
                    waiting.append(ledger)
                if waiting and (ledger is None or len(waiting) >= self.batch):
                    check_ledgers(waiting, as_of=self.as_of, settings=self.settings, columns=False)   # validate writes no column: its issues only
                    waiting = []
                if ledger is None:
                    return
        except BaseException as e:      # noqa: BLE001 - re-raised by check_paths
            self.error = e


def fill_paths(paths: Sequence[Path], *, as_of: date, settings: Settings) -> list["FillResult"]:
    """``taizhang fill``: read each workbook (sandboxed), check it, write its computed columns
    back into it (backup first, atomic replace); one result per path, in order. A workbook
    that cannot be written back (.xls, open in Excel) is refused before it is read."""
    from toolkit.outputs.fill import fill_ledger, refusal, refused
    paths = [Path(p) for p in paths]
    results: dict[int, "FillResult"] = {}
    todo: list[int] = []
    for i, p in enumerate(paths):
        why = refusal(p)
        if why:
            results[i] = refused(p, why)
        else:
            todo.append(i)
    ledgers = read_ledgers([paths[i] for i in todo], aliases=settings.header_aliases) if todo else []
    tables = check_ledgers(ledgers, as_of=as_of, settings=settings)
    for i, ledger, table in zip(todo, ledgers, tables):
        results[i] = fill_ledger(ledger, table)
    return [results[i] for i in range(len(paths))]

"""Archived submissions as the pipeline uses them: shared by consolidation and mail intake.

- ``materialise``: an archived original under its own file name in a private folder
  (the reader may take the village from the file name);
- ``fatal_issue``: why a submission cannot be counted at all (rejected, never counted);
- ``case_index_of``: the case numbers and statuses a submission holds (for vanished cases);
- ``read_submissions``: archived originals read in the sandbox (the parse cache first), their
  issue texts naming each file as the village sent it (``name_as_sent``).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from toolkit.core.files import fit_name
from toolkit.core.issues import ERROR, Code, Issue, make_issue
from toolkit.core.ledger import Ledger
from toolkit.intake.archive import Submission
from toolkit.read.sandboxed import read_ledgers
from toolkit.read.village import village_from_filename

# a file with one of these cannot be put in the master: it is rejected, never counted
FATAL_CODES = (Code.NO_LEDGER_SHEET, Code.NOT_A_LEDGER)


_BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def display_name(path: Path, inbox: Path) -> str:
    try:
        return path.resolve().relative_to(inbox.resolve()).as_posix()
    except ValueError:
        return path.name


def materialise(sub: Submission, work: Path) -> Path:
    """The archived original under its own file name (cut to what any file system allows),
    in a private folder."""
    name = _BAD_NAME.sub("_", Path(sub.filename.replace("\\", "/")).name).strip(" .") \
        or f"{sub.id}{sub.stored_path.suffix}"
    name = fit_name(name)
    folder = work / str(sub.id)
    folder.mkdir()
    target = folder / name
    try:
        if os.name == "nt":      # a link shares the read-only attribute: cleanup would fail
            raise OSError("copy on Windows")
        os.link(sub.stored_path, target)
    except OSError:
        shutil.copyfile(sub.stored_path, target)
    return target


def fatal_issue(lg: Ledger) -> Issue | None:
    if not lg.readable:
        return next((i for i in lg.issues if i.severity == ERROR), None) or make_issue(
            Code.UNREADABLE, file=Path(lg.path).name, reason="原因不明")
    for i in lg.issues:
        if i.code in FATAL_CODES:
            return i
    if "case_id" not in lg.columns:
        return next((i for i in lg.issues if i.code == Code.MISSING_COLUMN and i.column in
                     ("案件编号", "case_id")), None) or make_issue(
            Code.MISSING_COLUMN, file=Path(lg.path).name, column="案件编号", variants="信访编号、积案编号、编号")
    return None


def case_index_of(lg: Ledger) -> dict[str, str | None]:
    if not lg.readable or not lg.n_cases or "case_id" not in lg.cases:
        return {}
    statuses = lg.cases["status"] if "status" in lg.cases else [None] * lg.n_cases
    return {str(c): (s if isinstance(s, str) else None)
            for c, s in zip(lg.cases["case_id"], statuses) if c is not None and c == c}




def name_as_sent(lg: Ledger, path: Path, filename: str) -> None:
    """Issue texts name the file as the village sent it, not the private copy that was read."""
    for issue in lg.issues:
        issue.file = filename
        issue.message = issue.message.replace(str(path), filename)


def read_submissions(subs, cache=None, aliases: tuple = ()) -> dict[int, Ledger]:
    """Archived originals by submission id, read in the sandbox under their own file names
    (what the ``cache``, a ParseCache, holds is not read again; new results go into it), with
    the township's header ``aliases`` (``Settings.header_aliases``).
    Each ledger names the file as this submission sent it (the cache may hold the same
    bytes under another name); a village taken from the file name is taken from that name."""
    found = {s.id: cache.get(s.sha256, aliases) if cache is not None else None for s in subs}
    for sub in subs:
        if found[sub.id] is not None:
            _as_sent(found[sub.id], Path(found[sub.id].path), sub)
    todo = [s for s in subs if found[s.id] is None]
    if not todo:
        return found
    with tempfile.TemporaryDirectory(prefix="taizhang-") as work:
        paths = [materialise(s, Path(work)) for s in todo]
        ledgers = read_ledgers(paths, aliases=aliases)
    for sub, lg, path in zip(todo, ledgers, paths):
        _as_sent(lg, path, sub)
        found[sub.id] = lg
        if cache is not None:
            cache.put(sub.sha256, lg, aliases)
    return found


def _as_sent(lg: Ledger, read_as: Path, sub: Submission) -> None:
    if str(read_as) != sub.filename:
        name_as_sent(lg, read_as, sub.filename)
    lg.path = Path(sub.filename)
    if lg.readable and (not lg.village or lg.village_source == "filename"):
        lg.village = village_from_filename(lg.path) or lg.path.stem

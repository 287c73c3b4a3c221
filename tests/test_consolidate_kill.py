"""A consolidation killed at random points leaves a complete master and an intact archive."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_case, write_ledger
from toolkit.core.settings import Settings
from toolkit.intake.archive import SubmissionArchive
from toolkit.pipeline.judge import decide
from toolkit.core.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="kills a process group (POSIX)")]

SCRIPT = """
import sys
from datetime import date
from pathlib import Path
from toolkit.pipeline.consolidate import consolidate
from toolkit.core.settings import Settings
root = Path(sys.argv[1])
consolidate(root / "inbox", root / "out" / "总台账.xlsx", as_of=date(2010, 10, 20),
            settings=Settings(), archive_root=root / "archive", state_dir=root / "state",
            lock_timeout=30)
"""


def add_village(root: Path, n: int) -> None:
    village = f"村{n:02d}"
    cases = [sample_case(i, village, case_id=f"V{n:02d}-{i:03d}") for i in range(1, 31)]
    write_ledger(root / "inbox" / f"{village}.xlsx", cases, reporter=village)


def start(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(root)], cwd=PROJECT_ROOT,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def master_rows(root: Path) -> int:
    wb = CalamineWorkbook.from_path(str(root / "out" / "总台账.xlsx"))
    assert wb.sheet_names[:3] == ["总台账", "汇总", "预警"]
    return len(wb.get_sheet_by_name("总台账").to_python()) - 2


def test_killed_runs_leave_a_complete_master_and_archive(tmp_path):
    (tmp_path / "inbox").mkdir()
    for n in range(8):
        add_village(tmp_path, n)
    began = time.monotonic()
    assert start(tmp_path).wait(timeout=300) == 0
    full = time.monotonic() - began
    assert master_rows(tmp_path) == 8 * 30
    rng = random.Random(20101020)
    for n in range(8, 13):
        add_village(tmp_path, n)                # new work each time: archive and master change
        proc = start(tmp_path)
        time.sleep(rng.uniform(0.05, full))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        rows = master_rows(tmp_path)             # the previous complete master, or the new one
        print(f"killed: the master has {rows} rows")
        assert rows in range(8 * 30, (n + 1) * 30 + 1, 30)
        assert SubmissionArchive(tmp_path / "archive").verify() == []
        for old in (tmp_path / "out" / "历史版本").glob("*.xlsx"):
            CalamineWorkbook.from_path(str(old))
    assert start(tmp_path).wait(timeout=300) == 0
    assert master_rows(tmp_path) == 13 * 30
    archive = SubmissionArchive(tmp_path / "archive")
    assert len(decide(archive, Settings()).counted()) == 13 and archive.unexamined() == []

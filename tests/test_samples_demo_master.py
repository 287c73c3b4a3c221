"""The committed demo inbox (toolkit/demo/inbox) shows every feature of the master, also when
the files' times are lost: a case that vanished from 东村's newer ledger without 已销号, and a
damaged resubmission of 前垟村 that is rejected and never replaces its good ledger."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.demo import (DEMO_DAMAGED, DEMO_EARLIER_FILE, DEMO_EARLIER_REPORT, DEMO_SILENT_VILLAGE,
                            DEMO_VILLAGES, demo_earlier_cases, demo_vanished_case)
from toolkit.core.config import WORKBOOKS
from toolkit.core.settings_workbook import load_settings
from toolkit.demo import DEMO_AS_OF, PRISTINE, demo_filenames
from toolkit.pipeline.consolidate import ConsolidationResult, consolidate

EAST = DEMO_VILLAGES[0]
TOTAL_CASES = sum(v.n_cases for v in DEMO_VILLAGES)


def consolidate_demo(inbox: Path, tmp: Path) -> tuple[ConsolidationResult, dict[str, list[list]]]:
    """The real consolidation of ``inbox`` into tmp folders; the master read back by calamine."""
    result = consolidate(inbox, tmp / "output" / "总台账.xlsx", as_of=DEMO_AS_OF,
                         settings=load_settings(WORKBOOKS / "设置.xlsx"), archive_root=tmp / "archive",
                         state_dir=tmp / "state")
    wb = CalamineWorkbook.from_path(str(result.master))
    return result, {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def assert_every_feature(result: ConsolidationResult, sheets: dict[str, list[list]]) -> None:
    village, case_id = demo_vanished_case()
    assert result.vanished == [{"case_id": case_id, "village": village}]
    damaged_village, damaged = DEMO_DAMAGED
    assert [(r["file"], r["code"]) for r in result.rejected] == [(damaged, "unreadable")]
    assert damaged in result.rejected[0]["message"] and "损坏" in result.rejected[0]["message"]
    counted = {v["village"]: v for v in result.villages}
    good = next(v for v in DEMO_VILLAGES if v.village == damaged_village)
    assert counted[damaged_village]["file"] == good.filename
    assert counted[damaged_village]["cases"] == good.n_cases
    assert counted[EAST.village]["file"] == EAST.filename           # the October file, not September's
    assert counted[EAST.village]["cases"] == EAST.n_cases
    assert result.cases == TOTAL_CASES == 91 and len(result.villages) == 7
    assert result.missing_villages == [DEMO_SILENT_VILLAGE]
    assert [d["case_id"] for d in result.duplicates] == ["NJ2010-031"]
    assert (result.overdue, result.due_soon) == (19, 17)
    text = result.summary_text()
    assert f"案件消失：{village}的 {case_id}" in text and f"被拒收：{damaged}" in text
    # the sheets a clerk reads
    changes = [r for r in sheets["变更记录"] if r and r[1] == "案件消失（未销号）"]
    assert len(changes) == 1 and changes[0][2:4] == [village, case_id]
    assert DEMO_EARLIER_FILE in "".join(map(str, changes[0]))
    reports = sheets["报送情况"]
    assert any(damaged in r and "被拒收" in r for r in reports)
    ledger = sheets["总台账"]
    head = next(i for i, r in enumerate(ledger) if "案件编号" in r)
    ids = [r[ledger[head].index("案件编号")] for r in ledger[head + 1:] if any(r)]
    assert len(ids) == TOTAL_CASES and case_id not in ids
    assert sum(1 for r in ledger[head + 1:] if damaged_village in r) >= good.n_cases


def test_demo_file_names_sort_the_september_ledger_first():
    """git writes a checkout in path byte order; the archive breaks a tie by casefolded name."""
    earlier, current = DEMO_EARLIER_FILE, EAST.filename
    assert earlier.encode("utf-8") < current.encode("utf-8")
    assert earlier.casefold() < current.casefold()
    assert EAST.village in earlier and DEMO_DAMAGED[0] in DEMO_DAMAGED[1]
    assert set(demo_filenames()) == {p.name for p in PRISTINE.iterdir()}


def test_september_ledger_holds_the_vanished_case_and_earlier_statuses():
    from toolkit.read.workbook import read_ledger
    lg = read_ledger(PRISTINE / DEMO_EARLIER_FILE)
    assert lg.village == EAST.village and lg.report_date == DEMO_EARLIER_REPORT
    earlier = demo_earlier_cases()
    assert list(lg.cases["case_id"]) == [c["case_id"] for c in earlier]
    assert list(lg.cases["status"]) == [c["status"] for c in earlier]
    current = {c["case_id"]: c for c in _current_east_cases()}
    only_before = {c["case_id"]: c["status"] for c in earlier if c["case_id"] not in current}
    assert only_before == {"NJ2010-092": "已化解", "NJ2010-093": "已销号"}
    changed = {c["case_id"]: (c["status"], current[c["case_id"]]["status"]) for c in earlier
               if c["case_id"] in current and c["status"] != current[c["case_id"]]["status"]}
    assert changed == {"NJ2010-011": ("待化解", "化解中"), "NJ2010-012": ("化解中", "已化解")}
    assert all(c["assigned_date"] <= DEMO_EARLIER_REPORT for c in earlier)


def _current_east_cases() -> list[dict]:
    import random

    from factories.demo import DEMO_SEED, _demo_cases
    return _demo_cases(random.Random(DEMO_SEED))[EAST.village]


def test_damaged_resubmission_is_a_cut_zip():
    import zipfile
    data = (PRISTINE / DEMO_DAMAGED[1]).read_bytes()
    assert data[:2] == b"PK" and b"PK\x05\x06" not in data          # no end of central directory
    assert not zipfile.is_zipfile(PRISTINE / DEMO_DAMAGED[1])


@pytest.fixture(scope="module")
def cloned(tmp_path_factory):
    """The committed demo inbox as a fresh git clone or a copy by hand leaves it: files
    written in path byte order, all within one second (the worst case: the archive must
    break the tie)."""
    tmp = tmp_path_factory.mktemp("clone")
    inbox = tmp / "inbox"
    inbox.mkdir()
    seconds = int(time.time())
    for name in sorted(demo_filenames(), key=lambda n: n.encode("utf-8")):
        shutil.copyfile(PRISTINE / name, inbox / name)
        os.utime(inbox / name, (seconds, seconds))
    return consolidate_demo(inbox, tmp)


def test_fresh_clone_shows_vanished_case_and_rejected_file(cloned):
    assert_every_feature(*cloned)


def test_rerun_reports_the_same_and_keeps_the_counted_files(cloned):
    """A second run over the same archive: nothing new, the same outcome."""
    result, _ = cloned
    inbox = Path(result.master).parent.parent / "inbox"
    again, sheets = consolidate_demo(inbox, Path(result.master).parent.parent)
    assert_every_feature(again, sheets)

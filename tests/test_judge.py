"""What counts, in the situations a real office meets every week (issue 17), black-box through the
CLI: real ledgers in an inbox, `taizhang consolidate / submissions / release / assign`, the master
read back by calamine.

- versions: of a village's files the one it saved last counts, whatever order they were copied in;
- a resent older version is shown as such and counts only when a clerk releases it;
- a village name off the roster is held with the nearest name, `assign` files it, nothing counts twice;
- a stranger's file (readable or not) never sits in a village's row;
- 变更记录 keeps every run's changes for a week.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_case, write_ledger
from toolkit.core.settings import RosterEntry
from toolkit.core.settings_workbook import create_settings_workbook
from toolkit.intake.archive import SubmissionArchive
from toolkit.shells.cli import main

ROSTER = (RosterEntry("东村", "陈建国", ("dongcun@163.com",)), RosterEntry("上塘村", "林晓红"),
          RosterEntry("西村"))


def cases(village: str, prefix: str, numbers, **over) -> list[dict]:
    return [sample_case(i, village, case_id=f"{prefix}{i:03d}", **over) for i in numbers]


class Office:
    """taizhang.toml, a settings workbook with a roster, an inbox; commands through the CLI."""

    def __init__(self, root: Path, as_of: str = "2026-12-07") -> None:
        self.root, self.inbox, self.src = root, root / "收件箱", root / "村里的文件"
        self.inbox.mkdir()
        self.src.mkdir()
        self.master = root / "输出" / "总台账.xlsx"
        create_settings_workbook(root / "设置.xlsx", roster=ROSTER)
        self.toml = root / "taizhang.toml"
        self.toml.write_text(f'[daily]\nas_of = "{as_of}"\n', encoding="utf-8")

    def ledger(self, name: str, village: str, rows: list[dict], saved: datetime) -> Path:
        """A village's file as it saved it (the time inside the file), outside the inbox."""
        return write_ledger(self.src / name, rows, reporter=village, saved=saved,
                            title=f"南郊乡{village}信访积案化解工作台账", report_date="2026年12月1日")

    def copy_in(self, path: Path, when: datetime) -> Path:
        """The clerk saves the file into the inbox at ``when`` (its file time)."""
        target = Path(shutil.copyfile(path, self.inbox / path.name))
        os.utime(target, (when.timestamp(), when.timestamp()))
        return target

    def run(self, capsys, *args: str) -> tuple[int, str, str]:
        rc = main([*args, "--config", str(self.toml)])
        out = capsys.readouterr()
        return rc, out.out, out.err

    def consolidate(self, capsys) -> tuple[int, dict, str]:
        rc, out, err = self.run(capsys, "consolidate", "--json")
        text = self.run(capsys, "consolidate")[1]            # the same state: the same words
        return rc, json.loads(out), text

    def sheet(self, name: str) -> list[dict]:
        rows = CalamineWorkbook.from_path(str(self.master)).get_sheet_by_name(name).to_python()
        return [dict(zip(rows[1], r)) for r in rows[2:]]

    def reports(self) -> dict[str, dict]:
        return {r["村（社区）"]: r for r in self.sheet("报送情况") if r["村（社区）"]}

    def case_ids(self, village: str) -> list[str]:
        return sorted(r["案件编号"] for r in self.sheet("总台账") if r["村（社区）"] == village)


@pytest.fixture
def office(tmp_path):
    return Office(tmp_path)


def test_the_version_saved_last_counts_whatever_order_it_was_copied_in(office, capsys):
    late = office.ledger("东村台账1205.xlsx", "东村", cases("东村", "DC-", (1, 2, 3, 4)),
                         datetime(2026, 12, 5, 1, 12))
    early = office.ledger("东村台账1201.xlsx", "东村", cases("东村", "DC-", (1, 2, 3)),
                          datetime(2026, 12, 1, 8, 0))
    office.copy_in(late, datetime(2026, 12, 6, 9, 0))
    office.copy_in(early, datetime(2026, 12, 6, 9, 5))      # saved from a chat window afterwards
    rc, result, text = office.consolidate(capsys)
    assert rc == 0 and [(v["village"], v["file"], v["cases"]) for v in result["villages"]] == [
        ("东村", "东村台账1205.xlsx", 4)]
    (several,) = result["several_files"]
    assert several["counted"]["file"] == "东村台账1205.xlsx"
    assert [o["file"] for o in several["others"]] == ["东村台账1201.xlsx"]
    assert "东村有 2 份台账：采用保存最晚的“东村台账1205.xlsx”" in text and "较早的版本" in text
    note = office.reports()["东村"]["说明"]
    assert "收件箱中有 2 份本村台账" in note and "东村台账1201.xlsx" in note and "未采用" in note
    assert office.case_ids("东村") == ["DC-001", "DC-002", "DC-003", "DC-004"]

    (office.inbox / "东村台账1201.xlsx").unlink()            # the clerk tidies the inbox
    rc, result, text = office.consolidate(capsys)
    assert rc == 0 and result["vanished"] == [] and result["files_gone_from_inbox"] == []
    assert result["several_files"] == [] and "已不在收件箱" not in text
    assert office.case_ids("东村") == ["DC-001", "DC-002", "DC-003", "DC-004"]


def test_a_resent_older_version_is_said_and_counts_only_when_released(office, capsys):
    v1 = office.ledger("东村台账v1.xlsx", "东村", cases("东村", "DC-", (1, 2, 3)), datetime(2026, 12, 1))
    v2 = office.ledger("东村台账v2.xlsx", "东村", cases("东村", "DC-", (1, 2)), datetime(2026, 12, 3))
    office.copy_in(v1, datetime(2026, 12, 1, 10))
    office.consolidate(capsys)
    (office.inbox / v1.name).unlink()
    office.copy_in(v2, datetime(2026, 12, 3, 10))
    rc, result, _ = office.consolidate(capsys)
    assert result["vanished"] == [{"case_id": "DC-003", "village": "东村"}]
    (office.inbox / v2.name).unlink()
    office.copy_in(v1, datetime(2026, 12, 6, 10))            # v1 again, on purpose
    rc, result, text = office.consolidate(capsys)
    assert [v["file"] for v in result["villages"]] == ["东村台账v2.xlsx"]      # still the newer one
    assert [g["file"] for g in result["files_gone_from_inbox"]] == ["东村台账v2.xlsx"]   # v2 is gone,
    assert "v1.xlsx”已不在" not in text and "v1.xlsx”已不在" not in office.reports()["东村"]["说明"]  # v1 is there
    (several,) = result["several_files"]
    assert several["counted"]["file"] == "东村台账v2.xlsx"
    (older,) = several["others"]
    assert older["file"] == "东村台账v1.xlsx" and "taizhang release" in text

    rc, out, _ = office.run(capsys, "release", str(older["id"]), "--by", "王芳")
    assert rc == 0 and "计入东村" in out
    rc, result, _ = office.consolidate(capsys)
    assert [(v["file"], v["cases"]) for v in result["villages"]] == [("东村台账v1.xlsx", 3)]
    assert "王芳" in office.reports()["东村"]["说明"]
    # a version the village saves after the release counts again by itself
    v3 = office.ledger("东村台账v3.xlsx", "东村", cases("东村", "DC-", (1, 2, 3, 5)),
                       datetime.now().replace(microsecond=0) + (datetime(2026, 1, 2) - datetime(2026, 1, 1)))
    office.copy_in(v3, datetime.now())
    rc, result, _ = office.consolidate(capsys)
    assert [(v["file"], v["cases"]) for v in result["villages"]] == [("东村台账v3.xlsx", 4)]


def test_a_misspelt_village_is_held_assigned_once_and_never_counted_twice(office, capsys):
    typo = office.ledger("上唐村台账.xlsx", "上唐村", cases("上唐村", "ST-", (1, 2)), datetime(2026, 12, 2))
    office.copy_in(typo, datetime(2026, 12, 2, 9))
    office.copy_in(office.ledger("东村台账.xlsx", "东村", cases("东村", "DC-", (1,)), datetime(2026, 12, 2)),
                   datetime(2026, 12, 2, 9))
    rc, result, text = office.consolidate(capsys)
    roster = [r.village for r in ROSTER]
    reported = [v["village"] for v in result["villages"]]
    assert reported == ["东村"] and result["missing_villages"] == ["上塘村", "西村"]
    assert sorted(reported + result["missing_villages"]) == sorted(roster)      # 已报 + 未报 = the roster
    assert result["villages_not_on_roster"] == [{"village": "上唐村", "file": "上唐村台账.xlsx",
                                                 "nearest": "上塘村"}]
    (held,) = result["held"]
    assert "暂存待核：上唐村台账.xlsx" in text and "上塘村" in text and "上唐村" not in office.reports()
    assert "已报 1 个村（社区），未报 2 个" in text

    own = office.ledger("上塘村台账.xlsx", "上塘村", cases("上塘村", "ST-", (1, 2, 3)), datetime(2026, 12, 4))
    office.copy_in(own, datetime(2026, 12, 4, 9))
    rc, result, _ = office.consolidate(capsys)
    assert {v["village"]: v["cases"] for v in result["villages"]} == {"东村": 1, "上塘村": 3}
    assert result["duplicates"] == []                        # ST-001/002 are not counted twice

    rc, out, _ = office.run(capsys, "assign", str(held["id"]), "--village", "上塘村", "--by", "王芳")
    assert rc == 0 and "归入上塘村" in out and "未采用" in out       # 上塘村 saved its own file later
    rc, result, text = office.consolidate(capsys)
    assert {v["village"]: v["cases"] for v in result["villages"]} == {"东村": 1, "上塘村": 3}
    assert result["duplicates"] == [] and result["held"] == [] and result["held_total"] == 0
    assert len([r for r in office.sheet("总台账") if r["村（社区）"] == "上塘村"]) == 3
    rc, _, err = office.run(capsys, "assign", str(held["id"]), "--village", "上唐村")
    assert rc == 2 and "村名册" in err


def test_a_strangers_file_readable_or_not_never_sits_in_a_village_row(office, capsys):
    office.copy_in(office.ledger("东村台账.xlsx", "东村", cases("东村", "DC-", (1, 2)), datetime(2026, 12, 2)),
                   datetime(2026, 12, 2, 9))
    office.consolidate(capsys)
    forged = office.ledger("东村台账新.xlsx", "东村", cases("东村", "XX-", (7, 8, 9)), datetime(2026, 12, 6))
    archive = SubmissionArchive(office.root / "存档")
    readable = archive.add(forged, filename="东村台账新.xlsx", source="mail", sender="stranger@qq.com",
                           received=datetime(2026, 12, 6, 10))
    broken = archive.add(forged.read_bytes()[:3000], filename="东村台账（坏）.xlsx", source="mail",
                         sender="stranger@qq.com", received=datetime(2026, 12, 6, 11))
    archive.close()                 # archived by a fetch that was killed before the judge saw them
    rc, result, text = office.consolidate(capsys)
    assert [(v["village"], v["cases"]) for v in result["villages"]] == [("东村", 2)]
    assert result["vanished"] == [] and office.case_ids("东村") == ["DC-001", "DC-002"]
    east = office.reports()["东村"]
    assert east["文件"] == "东村台账.xlsx" and east["结果"] == "采用中" and "stranger" not in east["说明"]
    waiting = {r["文件"]: r for r in office.sheet("报送情况") if not r["村（社区）"]}
    assert waiting["东村台账新.xlsx"]["报送情况"] == "暂存待核"
    assert "stranger@qq.com" in waiting["东村台账新.xlsx"]["说明"]
    assert waiting["东村台账（坏）.xlsx"]["报送情况"] == "被拒收"
    rc, out, _ = office.run(capsys, "submissions", "--json")
    data = json.loads(out)
    assert rc == 1 and [s["id"] for s in data["held"]] == [readable.id]
    assert [s["id"] for s in data["unassigned"]] == [broken.id]
    assert all(s["sender"] is None for v in data["villages"] for s in v["history"])
    # the clerk dismisses the stranger's file: no longer waiting, still on record
    rc, _, _ = office.run(capsys, "withdraw", str(readable.id), "--reason", "陌生人发来的")
    rc, out, _ = office.run(capsys, "submissions", "--json")
    data = json.loads(out)
    assert rc == 0 and data["held"] == []
    assert {s["id"]: s["status"] for s in data["unassigned"]} == {readable.id: "已撤回", broken.id: "被拒收"}
    office.consolidate(capsys)
    assert "东村台账新.xlsx" not in {r["文件"] for r in office.sheet("报送情况")}


def test_the_change_log_keeps_every_run_of_the_last_week(tmp_path, capsys):
    office = Office(tmp_path, as_of="2026-12-01")
    office.copy_in(office.ledger("东村台账.xlsx", "东村", cases("东村", "DC-", (1, 2)), datetime(2026, 11, 30)),
                   datetime(2026, 11, 30, 9))
    office.consolidate(capsys)                                          # 首次汇总
    later = office.ledger("东村台账1201.xlsx", "东村", cases("东村", "DC-", (1, 3)), datetime(2026, 12, 1, 2))
    office.copy_in(later, datetime(2026, 12, 1, 11))
    office.consolidate(capsys)                                          # DC-003 new, DC-002 gone
    west = office.ledger("西村台账.xlsx", "西村", cases("西村", "XC-", (1,)), datetime(2026, 12, 1, 3))
    office.copy_in(west, datetime(2026, 12, 1, 15))
    office.consolidate(capsys)                                          # a rerun the same day
    kinds = [(r["变更类型"], r["案件编号"]) for r in office.sheet("变更记录")]
    assert ("新增案件", "XC-001") in kinds and ("新增案件", "DC-003") in kinds    # both runs' findings
    assert kinds.count(("案件消失（未销号）", "DC-002")) == 1                  # found twice, kept once
    assert ("首次汇总", "") in kinds or ("首次汇总", None) in kinds
    days = [r["汇总日期"] for r in office.sheet("变更记录")]
    assert days == sorted(days, reverse=True)                                  # newest first

    office.toml.write_text('[daily]\nas_of = "2026-12-09"\n', encoding="utf-8")
    office.consolidate(capsys)
    kinds = [(r["变更类型"], r["案件编号"]) for r in office.sheet("变更记录")]
    assert ("新增案件", "XC-001") not in kinds                                # older than a week
    assert ("案件消失（未销号）", "DC-002") in kinds                          # still missing: still said


def test_validate_the_buttons_and_consolidate_give_a_file_the_same_issues(office, capsys):
    """A deadline in a year the calendar does not know is warned by every command alike."""
    from toolkit import api
    from toolkit.read.workbook import read_ledger
    rows = cases("东村", "DC-", (1, 2)) + cases("东村", "DC-", (3,), assigned_date=date(2026, 12, 1),
                                                first_petition_date=date(2008, 5, 1))
    path = office.copy_in(office.ledger("东村台账.xlsx", "东村", rows, datetime(2026, 12, 2)),
                          datetime(2026, 12, 2, 9))
    rc, out, _ = office.run(capsys, "validate", str(path), "--json")
    from_validate = {(i["code"], i["cell"]) for f in json.loads(out)["files"] for i in f["issues"]}
    assert from_validate == {("deadline_unavailable", "K7")}        # at the case's 交办日期 cell
    (lg,) = api.validate([read_ledger(path)], config=office.toml)           # what a button does
    from_button = {(i.code, i.cell) for i in lg.issues}
    office.consolidate(capsys)
    from_master = {(i["代码"], i["单元格"] or None) for i in office.sheet("校验问题")}
    assert from_validate == from_button
    assert from_validate == from_master


def test_the_same_state_gives_the_same_exit_code(office, capsys):
    office.copy_in(office.ledger("上唐村台账.xlsx", "上唐村", cases("上唐村", "ST-", (1,)), datetime(2026, 12, 2)),
                   datetime(2026, 12, 2, 9))
    codes = {cmd: {office.run(capsys, cmd)[0] for _ in range(3)} for cmd in ("consolidate", "submissions")}
    assert codes == {"consolidate": {0}, "submissions": {1}}


@pytest.mark.slow
def test_a_backlog_examined_in_parts_gives_the_same_master(tmp_path, monkeypatch):
    """An archive examined again after an upgrade holds hundreds of files: the judge examines
    them in parts (bounded memory) and reads back only what counts; the result is the same."""
    import toolkit.pipeline.judge as judge_module
    from toolkit.core.settings import Settings
    from toolkit.pipeline.consolidate import consolidate
    results = []
    for size in (400, 2):
        root = tmp_path / str(size)
        (root / "inbox").mkdir(parents=True)
        for n, village in enumerate(("东村", "西村", "南村")):
            for version in (1, 2):
                write_ledger(root / "inbox" / f"{village}{version}.xlsx",
                             cases(village, f"{village[0]}-", range(1, 2 + n + version)),
                             reporter=village, saved=datetime(2026, 12, version))
        monkeypatch.setattr(judge_module, "EXAMINE_AT_ONCE", size)
        r = consolidate(root / "inbox", root / "总台账.xlsx", as_of=date(2026, 12, 7), settings=Settings(),
                        archive_root=root / "archive", state_dir=root / "state")
        results.append(([(v["village"], v["file"], v["cases"]) for v in r.villages], r.cases, r.vanished))
    assert results[0] == results[1] and results[0][1] == sum(range(3, 6))


@pytest.mark.parametrize("written, meant", [
    ("上唐村", "上塘村"), ("江滨村", "江滨社区"), ("前洋村", "前垟村"), ("新乔村", "新桥村"),
    ("南湾村", None), ("北村", None), ("南村", None)])
def test_a_slip_suggests_its_village_and_another_village_suggests_none(written, meant):
    """北村 is not a slip of 西村: the suggestion compares what tells villages apart."""
    from toolkit.pipeline.judge import nearest_name
    assert nearest_name(written, ["东村", "西村", "上塘村", "新桥村", "江滨社区", "前垟村"]) == meant

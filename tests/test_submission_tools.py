"""`taizhang submissions / release / withdraw` end to end: real ledgers in an inbox, the CLI,
consolidation, and the master read back by calamine."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_case, write_ledger
from toolkit.core.settings import RosterEntry
from toolkit.core.settings_workbook import create_settings_workbook
from toolkit.intake.archive import SubmissionArchive
from toolkit.shells.cli import main

ROSTER = (RosterEntry("东村", "陈建国", ("dongcun@163.com",)), RosterEntry("西村", "", ("xicun@qq.com",)))


def cases(village: str, prefix: str, numbers) -> list[dict]:
    return [sample_case(i, village, case_id=f"{prefix}{i:03d}") for i in numbers]


def put(inbox: Path, name: str, village: str, rows: list[dict], when: datetime) -> Path:
    path = write_ledger(inbox / name, rows, reporter=village, title=f"南郊乡{village}信访积案化解工作台账")
    os.utime(path, (when.timestamp(), when.timestamp()))      # the inbox's received time
    return path


class Office:
    """taizhang.toml, a settings workbook with a roster, an inbox; commands run through the CLI."""

    def __init__(self, root: Path) -> None:
        self.root, self.inbox = root, root / "inbox"
        self.inbox.mkdir()
        self.master = root / "output" / "总台账.xlsx"
        create_settings_workbook(root / "设置.xlsx", roster=ROSTER)
        self.toml = root / "taizhang.toml"
        self.toml.write_text('[paths]\ninbox = "inbox"\nmaster = "output/总台账.xlsx"\narchive = "archive"\n'
                             'state = "state"\nsettings_workbook = "设置.xlsx"\n\n[daily]\n'
                             'as_of = "2010-10-20"\n', encoding="utf-8")

    def run(self, capsys, *args: str) -> tuple[int, str, str]:
        rc = main([*args, "--config", str(self.toml)])
        out = capsys.readouterr()
        return rc, out.out, out.err

    def sheet(self, name: str) -> list[dict]:
        rows = CalamineWorkbook.from_path(str(self.master)).get_sheet_by_name(name).to_python()
        return [dict(zip(rows[1], r)) for r in rows[2:]]

    def archive(self) -> SubmissionArchive:
        return SubmissionArchive(self.root / "archive")


@pytest.fixture
def office(tmp_path):
    return Office(tmp_path)


def test_withdraw_puts_the_previous_good_file_back_and_the_master_says_so(office, capsys):
    put(office.inbox, "东村_0918.xlsx", "东村", cases("东村", "DC-", (1, 2, 3)), datetime(2010, 9, 18, 9))
    put(office.inbox, "西村.xlsx", "西村", cases("西村", "XC-", (1,)), datetime(2010, 9, 18, 10))
    assert office.run(capsys, "consolidate", "--json")[0] == 0
    put(office.inbox, "东村_1015.xlsx", "东村", cases("东村", "DC-", (1, 2, 3, 4, 5)), datetime(2010, 10, 15, 9))
    rc, out, _ = office.run(capsys, "consolidate", "--json")
    assert {v["village"]: v["cases"] for v in json.loads(out)["villages"]} == {"东村": 5, "西村": 1}

    rc, out, _ = office.run(capsys, "submissions", "--village", "东村", "--json")
    data = json.loads(out)
    assert rc == 0 and data["held_count"] == 0 and data["held"] == [] and data["unassigned"] == []
    (east,) = data["villages"]
    assert east["counted"]["file"] == "东村_1015.xlsx" and east["counted"]["cases"] == 5
    assert [(s["file"], s["status"], s["source"]) for s in east["history"]] == [
        ("东村_0918.xlsx", "未采用（另有更新的版本）", "inbox"), ("东村_1015.xlsx", "采用中", "inbox")]
    wrong = east["counted"]["id"]

    rc, out, err = office.run(capsys, "withdraw", str(wrong))              # no reason: refused
    assert rc == 2 and "--reason" in err
    rc, out, err = office.run(capsys, "withdraw", str(wrong), "--reason", "误发了未审核的表", "--by", "王芳")
    assert rc == 0 and "王芳" in out and "东村_0918.xlsx" in out
    rc, out, err = office.run(capsys, "withdraw", str(wrong), "--reason", "再撤一次")
    assert rc == 2 and "已于" in err and "撤回" in err
    rc, out, err = office.run(capsys, "withdraw", "999", "--reason", "x")
    assert rc == 2 and "没有编号为 999" in err

    rc, out, _ = office.run(capsys, "consolidate", "--json")               # the inbox still holds it
    result = json.loads(out)
    assert {v["village"]: (v["file"], v["cases"]) for v in result["villages"]} == {
        "东村": ("东村_0918.xlsx", 3), "西村": ("西村.xlsx", 1)}
    assert sorted(r["案件编号"] for r in office.sheet("总台账") if r["村（社区）"] == "东村") == \
        ["DC-001", "DC-002", "DC-003"]
    report = {r["村（社区）"]: r for r in office.sheet("报送情况")}["东村"]
    assert report["报送情况"] == "已报" and report["结果"] == "已撤回" and report["文件"] == "东村_1015.xlsx"
    assert "王芳" in report["说明"] and "误发了未审核的表" in report["说明"] and "改用“东村_0918.xlsx”" in report["说明"]
    changes = office.sheet("变更记录")
    (row,) = [r for r in changes if r["变更类型"] == "撤回报送"]
    assert row["村（社区）"] == "东村" and row["来源文件"] == "东村_1015.xlsx"
    assert "王芳" in row["说明"] and "误发了未审核的表" in row["说明"] and "东村_0918.xlsx" in row["说明"]
    # nothing deleted: both files and both records are still in the archive
    archive = office.archive()
    assert len([s for s in archive.history("东村")]) == 2 and archive.verify() == []
    # the next run keeps the withdrawal in 变更记录 (the last 7 days), once
    office.run(capsys, "consolidate", "--json")
    assert len([r for r in office.sheet("变更记录") if r["变更类型"] == "撤回报送"]) == 1

    # releasing the withdrawn file counts it again
    rc, out, _ = office.run(capsys, "release", str(wrong), "--by", "李明")
    assert rc == 0 and "李明" in out
    rc, out, _ = office.run(capsys, "consolidate", "--json")
    assert {v["village"]: v["cases"] for v in json.loads(out)["villages"]}["东村"] == 5
    assert [r["变更类型"] for r in office.sheet("变更记录")].count("放行报送") == 1


def test_release_needs_a_village_for_a_stranger_and_records_who(office, capsys):
    """A held submission (an unknown sender) counts only once released for a named village."""
    put(office.inbox, "东村.xlsx", "东村", cases("东村", "DC-", (1, 2)), datetime(2010, 9, 18, 9))
    office.run(capsys, "consolidate", "--json")
    data = (office.root / "src.xlsx")
    put(office.root, "src.xlsx", "东村", cases("东村", "DC-", (1, 2, 3, 4)), datetime(2010, 10, 1))
    archive = office.archive()
    held = archive.add(data, filename="东村新表.xlsx", source="mail", sender="stranger@qq.com",
                       received=datetime(2010, 10, 16, 8))     # archived; the judge has not seen it
    rc, out, _ = office.run(capsys, "submissions", "--json")
    data = json.loads(out)
    assert rc == 1 and data["held_count"] == 1
    east = data["villages"][0]
    assert east["counted"]["file"] == "东村.xlsx"
    assert all(s["sender"] != "stranger@qq.com" for s in east["history"])   # never in a village's row
    (h,) = data["held"]
    assert (h["id"], h["sender"], h["status"], h["village"], h["claimed"], h["code"]) == \
        (held.id, "stranger@qq.com", "暂存待核", None, "东村", "unknown_sender")
    rc, out, _ = office.run(capsys, "submissions")
    assert rc == 1 and "taizhang assign" in out and "stranger@qq.com" in out
    rc, out, _ = office.run(capsys, "consolidate", "--json")
    assert {v["village"]: v["cases"] for v in json.loads(out)["villages"]}["东村"] == 2   # not counted

    rc, _, err = office.run(capsys, "release", str(held.id))
    assert rc == 2 and "--village" in err and "stranger@qq.com" in err
    rc, _, err = office.run(capsys, "release", str(held.id), "--village", "北村")
    assert rc == 2 and "村名册" in err
    rc, out, _ = office.run(capsys, "release", str(held.id), "--village", "东村")
    who = SubmissionArchive(office.root / "archive").get(held.id)
    assert rc == 0 and who.released_by and who.released and who.counted
    rc, _, err = office.run(capsys, "release", str(held.id), "--village", "东村")
    assert rc == 2 and "无需放行" in err
    rc, out, _ = office.run(capsys, "consolidate", "--json")
    assert {v["village"]: v["cases"] for v in json.loads(out)["villages"]}["东村"] == 4
    report = {r["村（社区）"]: r for r in office.sheet("报送情况")}["东村"]
    assert report["文件"] == "东村新表.xlsx" and "放行" in report["说明"] and "stranger@qq.com" in report["说明"]
    (row,) = [r for r in office.sheet("变更记录") if r["变更类型"] == "放行报送"]
    assert who.released_by in row["说明"] and row["村（社区）"] == "东村"


def test_a_file_naming_another_village_is_released_only_for_a_named_village(tmp_path, capsys):
    """Held because the roster sender's file says another village: the clerk must say which."""
    from toolkit.core.settings import Settings
    from toolkit.pipeline.review import SubmissionError, release_submission, review, withdraw_submission
    settings = Settings(roster=ROSTER)
    archive = SubmissionArchive(tmp_path / "archive")
    west = put(tmp_path, "台账.xlsx", "西村", cases("西村", "XC-", (1, 2)), datetime(2010, 10, 1))
    sub = archive.add(west, filename="台账.xlsx", source="mail", sender="dongcun@163.com")
    junk = archive.add(b"junk", filename="坏.xlsx", source="inbox")
    view = review(tmp_path / "archive", tmp_path / "state", settings, as_of=datetime(2010, 10, 20).date())
    assert [(h["id"], h["code"]) for h in view.held] == [(sub.id, "village_mismatch")]
    assert [u["id"] for u in view.unassigned] == [junk.id]
    with pytest.raises(SubmissionError, match="--village"):
        release_submission(tmp_path / "archive", tmp_path / "state", settings, sub.id)
    done = release_submission(tmp_path / "archive", tmp_path / "state", settings, sub.id, village="西村",
                              by="王芳")
    assert (done.village, done.outcome, done.released_by, done.counted) == ("西村", "ok", "王芳", True)
    gone, now = withdraw_submission(tmp_path / "archive", tmp_path / "state", settings, sub.id,
                                    reason="发错村了")
    assert gone.withdrawn and gone.withdrawn_by and now is None        # 西村 has nothing else
    with pytest.raises(SubmissionError, match="原因"):
        withdraw_submission(tmp_path / "archive", tmp_path / "state", settings, sub.id, reason="  ")
    with pytest.raises(SubmissionError, match="拒收"):
        release_submission(tmp_path / "archive", tmp_path / "state", settings, junk.id, village="东村")

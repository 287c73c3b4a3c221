"""Issue 19, J/K/L: a roster, an address book or a student list is not a 台账 (one verdict,
the same in validate and consolidate), and every code a clerk can see is in the guide.

A real 台账 names who petitioned, about what, under which number and how far it got
(案件编号 / 信访人 / 信访事项 / 办理状态 and their variants); rosters share only the generic
names (姓名, 编号, 状态, 电话, 住址, 身份证号 …).
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_case, write_ledger
from factories.sheet import new_workbook
from toolkit import api
from toolkit.core.issues import CATALOGUE
from toolkit.core.settings import RosterEntry, Settings
from toolkit.pipeline.consolidate import consolidate
from toolkit.read.workbook import read_ledger

ROSTERS = {
    "人员花名册": ["序号", "姓名", "性别", "身份证号", "联系电话", "住址", "编号", "状态"],
    "通讯录": ["序号", "单位", "姓名", "职务", "电话", "手机号码", "备注"],
    "学生名单": ["学号", "姓名", "性别", "班级", "家庭住址", "联系电话", "状态"],
    "低保户台账": ["户主姓名", "身份证号码", "家庭住址", "保障人数", "编号", "状态", "备注"],
    "督办任务清单": ["序号", "工作任务", "责任单位", "责任人", "完成时限", "办理状态"],
}


def _write(path: Path, header: list[str], rows: int = 30) -> Path:
    wb = new_workbook(path)
    ws = wb.add_worksheet("Sheet1")
    ws.write_row(0, 0, ["南郊乡东村" + path.stem])
    ws.write_row(1, 0, header)
    for r in range(rows):
        ws.write_row(r + 2, 0, [str(r + 1) if "序号" in h or "编号" in h or "学号" in h else
                                "在册" if "状态" in h else f"{h}{r}" for h in header])
    wb.close()
    return path


@pytest.mark.parametrize("kind", ROSTERS)
def test_rosters_address_books_and_student_lists_are_not_ledgers(tmp_path, kind):
    lg = read_ledger(_write(tmp_path / f"{kind}.xlsx", ROSTERS[kind]))
    [issue] = lg.issues                 # one verdict: no missing column, status or ID error each
    assert issue.code == "not_a_ledger" and issue.severity == "error" and "“Sheet1”" in issue.message
    assert lg.n_cases == 0


@pytest.mark.parametrize("header", [
    ["案件编号", "信访人", "信访事项", "办理状态"],                      # the four families, by their own names
    ["序号", "编号", "姓名", "反映问题", "包案领导", "状态"],              # a hand-made one: generic names + two own
    ["信访编号", "来访人姓名", "主要诉求", "交办时间", "化解状态"],
])
def test_ledgers_with_their_identifying_columns_stay_ledgers(tmp_path, header):
    path = tmp_path / "台账.xlsx"
    wb = new_workbook(path)
    ws = wb.add_worksheet("台账")
    ws.write_row(0, 0, header)
    ws.write_row(1, 0, ["NJ-1" if i == 0 else "化解中" if "状态" in h else f"内容{i}" for i, h in enumerate(header)])
    wb.close()
    lg = read_ledger(path)
    assert "not_a_ledger" not in [i.code for i in lg.issues] and lg.sheet == "台账" and lg.n_cases == 1


def test_consolidate_and_validate_give_a_roster_the_same_one_verdict(tmp_path):
    """K: consolidate once rejected a file validate called not_a_ledger as missing_column."""
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    roster = _write(inbox / "东村人员花名册.xlsx", ROSTERS["人员花名册"])
    write_ledger(inbox / "西村.xlsx", [sample_case(1, "西村")], reporter="西村")
    settings = Settings(roster=(RosterEntry("东村"), RosterEntry("西村")))
    result = consolidate(inbox, tmp_path / "输出" / "总台账.xlsx", as_of=date(2010, 10, 20), settings=settings,
                         archive_root=tmp_path / "存档", state_dir=tmp_path / "状态")
    [rejected] = result.to_dict()["rejected"]
    assert rejected["file"] == roster.name and rejected["code"] == "not_a_ledger"
    assert "缺少必填列" not in rejected["message"] and "不是信访积案台账" in rejected["message"]
    rows = CalamineWorkbook.from_path(str(tmp_path / "输出" / "总台账.xlsx")).get_sheet_by_name("报送情况").to_python()
    text = "\n".join("|".join(str(v) for v in r) for r in rows)
    assert "不是信访积案台账" in text and "缺少必填列" not in text
    [validated] = api.validate([roster], as_of="2010-10-20", settings=settings)
    said = [(i.code, i.message.replace(str(roster), roster.name)) for i in validated.issues]
    assert said == [(rejected["code"], rejected["message"])]


def test_every_code_is_in_the_guides_catalogue():
    """L: a code that reaches the clerk is explained in docs/guide.md's list, and the list names
    no code the toolkit does not have."""
    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text(encoding="utf-8")
    start = guide.index("长期不变）：", guide.index("问题代码（JSON 中的 `code`"))
    listed = set(re.findall(r"`([a-z_]+)`", guide[start:guide.index("全部问题的中文说明", start)]))
    assert listed == set(CATALOGUE)

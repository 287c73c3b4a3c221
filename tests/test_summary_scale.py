"""What a person reads stays short at any number of villages (issue 14, scale)."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import toolkit
from toolkit.pipeline.consolidate import ConsolidationResult
from toolkit.shells.cli import main

DEMO = Path(toolkit.__file__).parent / "demo" / "inbox"


def district(n: int) -> ConsolidationResult:
    r = ConsolidationResult(master=Path("总台账.xlsx"), as_of=date(2010, 10, 20), cases=20 * n)
    r.villages = [{"village": f"第{i}村", "file": f"{i}.xlsx", "cases": 20, "errors": i % 7, "warnings": 0}
                  for i in range(n)]
    r.missing_villages = [f"未报{i}村" for i in range(n // 3)]
    r.rejected = [{"file": f"坏{i}.xlsx", "code": "unreadable", "message": "文件已损坏。"} for i in range(n // 4)]
    r.duplicates = [{"case_id": f"NJ-{i}", "villages": ["甲村", "乙村"]} for i in range(n // 5)]
    r.vanished = [{"case_id": f"NJ-{i}", "village": "甲村"} for i in range(n // 6)]
    return r


def test_the_summary_stays_a_few_lines_at_300_villages():
    text = district(300).summary_text()
    lines = text.splitlines()
    assert len(lines) <= 8 and max(map(len, lines)) < 200, text
    errors = next(line for line in lines if line.startswith("台账有错误"))
    faulty = [v for v in district(300).villages if v["errors"]]
    assert f"{len(faulty)} 个村（社区）共 {sum(v['errors'] for v in faulty)} 处" in errors
    assert "第6村 6 处" in errors and "详见总台账“校验问题”表" in errors      # the worst come first
    assert "未报 100 个：未报0村" in text and "等 100 个" in text
    assert "被拒收 75 个文件" in text and "案件编号重复 60 个" in text and "案件消失 50 件" in text


def test_a_small_township_still_sees_every_name():
    text = district(4).summary_text()
    assert "台账有错误：第1村 1 处，第2村 2 处，第3村 3 处（" in text
    assert "被拒收：坏0.xlsx——文件已损坏。" in text and "案件消失：甲村的 NJ-0" not in text


def test_validate_lists_failing_files_first_and_can_show_only_them(tmp_path, capsys):
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx", "前垟村信访台账（重发）.xlsx"):
        shutil.copyfile(DEMO / name, tmp_path / name)
    assert main(["validate", str(tmp_path), "--as-of", "2010-10-20"]) == 2
    out = capsys.readouterr().out.splitlines()
    heads = [line.split("】")[0] + "】" for line in out if line.startswith("【")]
    assert heads == ["【无法读取】", "【有错误】", "【通过】"]
    assert "需要改正的文件：前垟村信访台账（重发）.xlsx、南村台账10.15.xlsx。" in out[-1]
    assert main(["validate", str(tmp_path), "--as-of", "2010-10-20", "--errors-only"]) == 2
    out = capsys.readouterr().out
    assert "东村信访积案台账.xlsx" not in out.split("共检查")[0]
    assert "另有 1 个文件没有错误，未列出" in out


def test_an_empty_roster_is_said_not_called_complete():
    r = district(3)
    r.missing_villages, r.roster_size = [], 0
    assert "村名册为空，无法列出未报的村" in r.summary_text()
    r.roster_size = 8
    assert "名册中的村（社区）均已报送" in r.summary_text()


def test_with_an_empty_roster_no_village_is_called_not_on_it(tmp_path):
    """A new office before filling its 村名册: 报送情况 must not mark every village 不在名册中."""
    from python_calamine import CalamineWorkbook

    from toolkit import api
    from toolkit.core.config import Config
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copyfile(DEMO / "东村信访积案台账.xlsx", inbox / "东村信访积案台账.xlsx")
    cfg = Config(inbox=inbox, master=tmp_path / "总台账.xlsx", archive=tmp_path / "存档", logs=tmp_path / "日志",
                 state=tmp_path / "状态", settings_workbook=tmp_path / "设置.xlsx")
    result = api.consolidate(config=cfg, as_of="2010-10-20")
    rows = CalamineWorkbook.from_path(str(result.master)).get_sheet_by_name("报送情况").to_python()
    notes = [r[rows[1].index("说明")] for r in rows[2:]]
    assert notes and not any("不在名册中" in str(n) for n in notes)

"""The master workbook, rendered from a hand-built case table and read back by calamine/LibreOffice."""
from __future__ import annotations

import os
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from conftest import needs_soffice
from factories.libreoffice import convert
from toolkit.outputs.master import (CASE_COLUMNS, HISTORY_DIR, MasterBook, publish, read_township_values,
                            write_master)

AS_OF = date(2010, 10, 20)
TOWNSHIP_COLS = ("督办意见", "乡级备注")


def case_row(i: int, village: str = "东村", **over) -> dict:
    r = {k: None for k, _, _ in CASE_COLUMNS}
    r.update(village=village, source_file=f"{village}.xlsx", row=5 + i, case_id=f"NJ2010-{i:03d}",
             petitioner=f"信访人{i}", id_number="11010519491231002X", phone="13857700001",
             matter="征地补偿款未足额发放", assigned_date=date(2010, 7, 1), status="化解中",
             deadline=date(2010, 9, 25), workdays_left=-15, alert="逾期", nine_done="6/8",
             five_done="5/5", clear_done="6/6", archive_done="2/6", nine_group=True, n_errors=0)
    r.update(over)
    return r


def book(rows: list[dict], **over) -> MasterBook:
    kw = dict(as_of=AS_OF, township="南郊乡", cases=pd.DataFrame(rows), township_columns=TOWNSHIP_COLS,
              reports=[{"村（社区）": "东村", "报送情况": "已报", "最近报送时间": "2010-10-18 09:00",
                        "来源": "邮件", "文件": "东村.xlsx", "结果": "通过"},
                       {"村（社区）": "南村", "报送情况": "未报"}],
              issues=[{"文件": "东村.xlsx", "村（社区）": "东村", "工作表": "台账", "单元格": "J6", "行": 6,
                       "列": "交办日期", "案件编号": "NJ2010-001", "级别": "错误", "代码": "invalid_date",
                       "问题类型": "日期无法识别",
                       "问题": "“交办日期”的“2010年13月5日”不是有效日期", "怎么改": "请填写真实日期",
                       "值": "2010年13月5日"}],
              changes=[{"变更类型": "新增案件", "村（社区）": "东村", "案件编号": "NJ2010-003"}],
              generated=datetime(2010, 10, 20, 7, 30))
    kw.update(over)
    return MasterBook(**kw)


def sheets(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names}


def test_every_sheet_reads_back(tmp_path):
    rows = [case_row(1), case_row(2, alert="临期", workdays_left=3),
            case_row(3, "西村", alert="已办结", status="已销号", workdays_left=None),
            case_row(4, "西村", alert="中止", status="中止", workdays_left=None)]
    out = write_master(tmp_path / "总台账.xlsx", book(rows)).path
    got = sheets(out)
    assert list(got) == ["总台账", "汇总", "预警", "校验问题", "报送情况", "变更记录"]
    cases = got["总台账"]
    assert cases[0][0] == "南郊乡信访积案总台账（截至2010年10月20日）"
    head = cases[1]
    assert head[:4] == ["村（社区）", "来源文件", "行号", "案件编号"]
    assert head[-2:] == list(TOWNSHIP_COLS) and "九个一·工作小组" in head and "办结期限" in head
    first = dict(zip(head, cases[2]))
    assert first["交办日期"] == date(2010, 7, 1) and first["办结期限"] == date(2010, 9, 25)
    assert first["身份证号"] == "11010519491231002X" and first["联系电话"] == "13857700001"
    assert first["九个一·工作小组"] == "√" and first["九个一·协调会"] == ""
    assert len(cases) == 2 + 4
    summary = {r[0]: r for r in got["汇总"][2:]}
    sh = got["汇总"][1]
    assert summary["东村"][sh.index("逾期")] == 1 and summary["东村"][sh.index("临期")] == 1
    assert summary["西村"][sh.index("已销号")] == 1
    assert summary["合计"][sh.index("案件数")] == 4
    assert summary["东村"][sh.index("九个一完成率")] == pytest.approx(0.75)
    alerts = got["预警"]
    assert [r[0] for r in alerts[2:]] == ["逾期", "临期"]
    assert got["校验问题"][0][0].endswith("·校验问题") and got["校验问题"][2][3] == "J6"
    assert got["校验问题"][1][8] == "问题类型" and got["校验问题"][1][-1] == "代码"
    assert [r[2] for r in got["报送情况"][2:]] == ["已报", "未报"]


def test_village_text_never_becomes_a_formula(tmp_path):
    rows = [case_row(1, petitioner="=1+1", matter="@SUM(A1)", progress="=HYPERLINK(\"http://x\")",
                     remarks="+cmd|' /C calc'!A0")]
    out = write_master(tmp_path / "总台账.xlsx", book(rows)).path
    head, first = sheets(out)["总台账"][1:3]
    got = dict(zip(head, first))
    assert got["信访人"] == "=1+1" and got["信访事项"] == "@SUM(A1)"
    assert got["备注"] == "+cmd|' /C calc'!A0"
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(name), name


def test_township_columns_typed_by_a_clerk_survive(tmp_path):
    import openpyxl
    out = tmp_path / "总台账.xlsx"
    write_master(out, book([case_row(1), case_row(2)]))
    wb = openpyxl.load_workbook(out)              # a clerk types into the master
    ws = wb["总台账"]
    head = [c.value for c in ws[2]]
    ws.cell(row=4, column=head.index("督办意见") + 1, value="请于10月底前办结")
    ws.cell(row=4, column=head.index("乡级备注") + 1, value=date(2010, 10, 31))
    ws.cell(row=3, column=len(head) + 1, value="临时列")
    wb.save(out)
    values, extra = read_township_values(out, TOWNSHIP_COLS)
    assert values == {("东村", "NJ2010-002"): {"督办意见": "请于10月底前办结", "乡级备注": date(2010, 10, 31)}}
    assert extra == []


def test_previous_versions_kept_and_pruned(tmp_path):
    out = tmp_path / "总台账.xlsx"
    for n in range(4):
        tmp = tmp_path / f"new{n}.xlsx"
        tmp.write_bytes(b"version %d" % n)
        made = datetime(2010, 10, 20 + n, 7, 30).timestamp()
        os.utime(tmp, (made, made))
        pub = publish(tmp, out, keep=2)
    assert out.read_bytes() == b"version 3"
    kept = sorted(p.name for p in (tmp_path / HISTORY_DIR).iterdir())
    assert kept == ["总台账_20101021-073000.xlsx", "总台账_20101022-073000.xlsx"]
    assert pub.backup.read_bytes() == b"version 2"


@pytest.mark.parametrize("lock", ["~$总台账.xlsx", ".~lock.总台账.xlsx#"])
def test_open_master_gets_a_dated_copy(tmp_path, lock):
    out = tmp_path / "总台账.xlsx"
    out.write_bytes(b"the clerk's open copy")
    (tmp_path / lock).write_bytes(b"owner")
    pub = write_master(out, book([case_row(1)]))
    assert pub.in_use and pub.path != out and pub.path.parent == tmp_path
    assert pub.path.name.startswith("总台账_") and "正在被" in pub.note and pub.path.name in pub.note
    assert out.read_bytes() == b"the clerk's open copy"
    assert sheets(pub.path)["总台账"][2][3] == "NJ2010-001"
    from toolkit.core.files import temp_prefix
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([lock, "总台账.xlsx", pub.path.name])
    assert not list(tmp_path.glob(f"{temp_prefix(out)}*"))      # no temporary file left


def test_empty_master_is_still_a_workbook(tmp_path):
    out = write_master(tmp_path / "总台账.xlsx", book([], reports=[], issues=[], changes=[])).path
    got = sheets(out)
    assert len(got["总台账"]) == 2 and got["汇总"][2][0] == "合计"


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_libreoffice_renders_the_master_to_pdf(tmp_path):
    rows = [case_row(i, "东村" if i % 2 else "西村", alert=("逾期", "临期", "正常")[i % 3]) for i in range(1, 30)]
    out = write_master(tmp_path / "总台账.xlsx", book(rows)).path
    [pdf] = convert([out], "pdf", tmp_path, timeout=180)
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          timeout=60).stdout if _has("pdftotext") else ""
    if text:
        assert "南郊乡信访积案总台账" in text and "NJ2010-001" in text


def _has(tool: str) -> bool:
    import shutil
    return shutil.which(tool) is not None

"""Pages a clerk prints, rendered by LibreOffice: the title on page 1, no blank-row pages."""
from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import needs_soffice
from factories import libreoffice as lo
from factories.ledgers import LedgerStyle, make_ledger
from toolkit import annotate, validate
from toolkit.outputs.template import LEDGER_SHEET, write_template


def pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout
    return text.split("\f")[:-1]


def ledger_sheet_pages(pages: list[str]) -> list[str]:
    """The pages from the ledger sheet's first (填报单位 row) up to the 校验结果 sheet."""
    first = next(i for i, p in enumerate(pages) if "填报单位（盖章）：东村" in p)
    end = next((i for i, p in enumerate(pages) if "校验结果：" in p), len(pages))
    return pages[first:end]


@needs_soffice
def test_template_title_prints_on_the_first_ledger_page(tmp_path):
    path = write_template(tmp_path / "东村台账模板.xlsx", village="东村")
    (pdf,) = lo.convert([path], "pdf", tmp_path)
    pages = pdf_pages(pdf)
    first = next(i for i, p in enumerate(pages) if "填报单位（盖章）：东村" in p)
    assert "南郊乡东村信访积案化解工作台账" in pages[first]


@needs_soffice
def test_annotated_copy_of_a_few_cases_prints_only_their_rows(tmp_path):
    sample = make_ledger(tmp_path / "东村台账.xlsx", village="东村", n_cases=4,
                         layout=LedgerStyle(template=True, faults=("unknown_status",)))
    (ledger,) = validate([sample.path], as_of="2010-10-20")
    assert ledger.errors == 1
    ((_, copy),) = annotate([ledger], tmp_path / "副本")
    pdfs = lo.convert([sample.path, copy], "pdf", tmp_path / "pdf")
    original, annotated = (pdf_pages(p) for p in pdfs)
    ledger_pages = ledger_sheet_pages(annotated)
    assert len(ledger_pages) == 3 < len(ledger_sheet_pages(original))    # 3 across, 1 down
    assert "南郊乡东村信访积案化解工作台账" in ledger_pages[0]
    result = [p for p in annotated if "校验结果：" in p]
    assert len(result) == 1 and "怎么改" in result[0] and "无法识别" in result[0]
    assert LEDGER_SHEET in ledger.sheet
    # LibreOffice reads the red cell's note: saved again by LibreOffice, read back by openpyxl
    import openpyxl
    (resaved,) = lo.convert([copy], "xlsx", tmp_path / "lo")
    ws = openpyxl.load_workbook(resaved)[ledger.sheet]
    (cell,) = [i.cell for i in ledger.issues if i.cell]
    assert "无法识别" in ws[cell].comment.text and "怎么改" in ws[cell].comment.text


@needs_soffice
def test_master_pages_at_62_villages_stay_readable(tmp_path):
    """汇总 fits the page width only (its chart no longer widens it), 报送情况's 说明 wraps,
    收到时间 and 最近报送时间 are dates, and 校验问题 has a title row and Chinese issue names."""
    from datetime import datetime

    from python_calamine import CalamineWorkbook
    from test_master import book, case_row
    from toolkit.outputs.master import render_master
    villages = [f"第{i:02d}村" for i in range(62)]
    rows = [case_row(i * 3 + k, v) for i, v in enumerate(villages) for k in range(3)]
    reports = [{"村（社区）": v, "报送情况": "已报", "最近报送时间": "2010-10-18 09:00", "文件": f"{v}.xlsx",
                "结果": "有错误", "_counted_file": f"{v}.xlsx", "_counted_received": "2010-10-18 09:00",
                "说明": "最近一次报送被拒收：文件已损坏或不完整（可能下载或传输中断），请重新保存后报送；"
                        "总台账仍采用上次报送的文件"} for v in villages]
    out = render_master(tmp_path / "总台账.xlsx", book(rows, reports=reports))
    wb = CalamineWorkbook.from_path(str(out))
    summary = wb.get_sheet_by_name("汇总").to_python()
    assert isinstance(summary[2][summary[1].index("收到时间")], datetime)
    assert isinstance(wb.get_sheet_by_name("报送情况").to_python()[2][3], datetime)
    issues = wb.get_sheet_by_name("校验问题").to_python()
    assert issues[0][0].endswith("·校验问题") and issues[2][8] == "日期无法识别" and issues[2][12] == "invalid_date"
    (pdf,) = lo.convert([out], "pdf", tmp_path)
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout
    import re
    heights = [float(y1) - float(y0) for y0, y1, w in re.findall(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(第\d\d村)</word>', html)]
    assert len(heights) > 62 and min(heights) >= 5.5      # points: readable, not microscopic

"""Every sheet a person prints shows its whole text on A4 (issue 18): rendered to PDF by
LibreOffice and read back by pdftotext. LibreOffice does not grow a row a program wrote, so a
clipped text is missing from the PDF: each long text must come back whole.

Also: 汇总 at 62 villages prints at 60% of its natural size or more."""
from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import needs_soffice
from factories import libreoffice as lo
from factories.ledgers import LedgerStyle, make_ledger
from toolkit import annotate, validate, write_report
from toolkit.core.issues import make_issue
from toolkit.outputs.reminder import Chase, write_reminder_sheet

pytestmark = needs_soffice

LONG_NOTE = ("最近一次报送被拒收：文件“第{n}村信访积案台账（2010年10月第二次报送，已核对）.xlsx”已损坏或不完整"
             "（可能下载或传输中断），请重新保存后报送；总台账仍采用上次报送的文件")
LONG_FILE = "第{n}村信访积案台账（2010年10月第二次报送，经村委会审核）.xlsx"
LONG_MATTER = ("反映一九九八年修建村道时占用其承包地一亩二分，当时约定的补偿款至今未足额发放，"
               "多次找村委会和乡政府协调未果，要求按现行标准补足并支付利息")
LONG_PROGRESS = ("包案领导已三次上门走访，乡国土所已调取一九九八年的用地档案，正在与村委会核对当年的"
                 "补偿协议和已发放的金额，预计十一月底前拿出化解方案")


def flat(pdf: Path) -> str:
    """The PDF's text in drawing order, all whitespace removed (a wrapped text comes back whole)."""
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout
    return re.sub(r"\s+", "", text)


def heights_of(pdf: Path, pattern: str, pages: tuple[int, int] | None = None) -> list[float]:
    """Heights (points) of the words matching ``pattern``: how big they print."""
    args = ["pdftotext", "-bbox"] + (["-f", str(pages[0]), "-l", str(pages[1])] if pages else []) + [str(pdf), "-"]
    html = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", check=True).stdout
    return [float(y1) - float(y0) for y0, y1, w in re.findall(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', html) if re.fullmatch(pattern, w)]


@pytest.fixture(scope="module")
def natural(tmp_path_factory) -> float:
    """How tall "第00村" prints at 100% (11 pt, no fitting): the natural size."""
    import xlsxwriter
    folder = tmp_path_factory.mktemp("natural")
    wb = xlsxwriter.Workbook(str(folder / "natural.xlsx"))
    wb.add_worksheet("S").write_string(0, 0, "第00村")
    wb.close()
    (pdf,) = lo.convert([folder / "natural.xlsx"], "pdf", folder)
    (height,) = heights_of(pdf, "第00村")
    return height


def test_the_masters_sheets_print_whole_and_the_summary_reads_at_62_villages(tmp_path, natural):
    from test_master import book, case_row
    from toolkit.outputs.master import render_master
    villages = [f"第{i:02d}村" for i in range(62)]
    rows = [case_row(i * 3 + k, v) for i, v in enumerate(villages) for k in range(3)]
    rows[4].update(matter=LONG_MATTER, progress=LONG_PROGRESS)       # overdue: in 总台账 and 预警
    reports = [{"村（社区）": v, "报送情况": "已报", "最近报送时间": "2010-10-18 09:00", "来源": "邮件",
                "文件": LONG_FILE.format(n=i), "结果": "有错误", "_counted_file": LONG_FILE.format(n=i),
                "_counted_received": "2010-10-18 09:00", "说明": LONG_NOTE.format(n=i)}
               for i, v in enumerate(villages)]
    long_issue = {"文件": LONG_FILE.format(n=1), "村（社区）": "第01村", "工作表": "信访积案台账（十月）",
                  "单元格": "J6", "行": 6, "列": "九个一·工作小组", "案件编号": "NJ2010-001", "级别": "错误",
                  "问题类型": "日期无法识别", "代码": "invalid_date", "值": "二〇一〇年十三月五日上午九时",
                  "问题": "“交办日期”的“二〇一〇年十三月五日上午九时”不是有效日期（无法识别的日期写法）。",
                  "怎么改": "请填写真实日期，如 2010-07-01 或 2010年7月1日；不要写时间，也不要只写年月。"}
    changes = [{"汇总日期": date(2010, 10, 20), "变更类型": "案件消失", "村（社区）": "第03村",
                "案件编号": "NJ2010-092", "来源文件": LONG_FILE.format(n=3),
                "说明": "未销号却不在新报台账中：" + "该案件上次报送时为“化解中”，本次报送的台账中没有这一行，" * 3}]
    out = render_master(tmp_path / "总台账.xlsx", book(rows, reports=reports, issues=[long_issue] * 5,
                                                     changes=changes))
    (pdf,) = lo.convert([out], "pdf", tmp_path)
    text = flat(pdf)
    for i in range(62):                                       # 报送情况: 文件 and 说明, and 汇总's 采用文件
        assert text.count(re.sub(r"\s", "", LONG_NOTE.format(n=i))) == 1, i
        assert text.count(LONG_FILE.format(n=i)) >= 2, i
    for key in ("问题", "怎么改", "值", "文件", "工作表", "列"):   # 校验问题
        assert text.count(re.sub(r"\s", "", long_issue[key])) >= 5, key
    assert re.sub(r"\s", "", changes[0]["说明"]) in text          # 变更记录
    for long in (LONG_MATTER, LONG_PROGRESS):                 # 总台账 and 预警 (streamed rows)
        assert text.count(long) == 2, long
    assert "invalid_date" not in text                         # the filter column is not printed
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           encoding="utf-8", check=True).stdout.split("\f")
    summary = [i + 1 for i, p in enumerate(pages) if "— 汇总" in p]
    sizes = heights_of(pdf, r"第\d\d村", (summary[0], summary[-1]))
    assert len(sizes) >= 62 and min(sizes) >= 0.6 * natural, (min(sizes), natural)


def tops_of(pdf: Path, pattern: str) -> list[float]:
    """Where the words matching ``pattern`` start on their page (points from its top)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout
    return [float(y0) for y0, w in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>', html)
            if re.fullmatch(pattern, w)]


def test_a_tall_rows_cells_all_start_at_its_top(tmp_path):
    """In 总台账 and 预警 a row grows for its longest text; every other cell of the row prints
    level with that text's first line, not at the row's bottom beside the next case's text."""
    from test_master import book, case_row
    from toolkit.outputs.master import render_master
    rows = [case_row(1), case_row(2, matter=LONG_MATTER, progress=LONG_PROGRESS), case_row(3)]
    out = render_master(tmp_path / "总台账.xlsx", book(rows))
    (pdf,) = lo.convert([out], "pdf", tmp_path)
    starts = tops_of(pdf, LONG_MATTER[:6] + ".*")
    ids = tops_of(pdf, "NJ2010-002")
    assert len(starts) == 2 and len(ids) >= 2                  # 总台账 and 预警
    for top in starts:
        assert min(abs(top - i) for i in ids) < 6, (starts, ids)


def test_the_issue_report_and_the_annotated_copy_print_whole(tmp_path):
    sample = make_ledger(tmp_path / "东村台账.xlsx", village="东村", n_cases=6,
                         layout=LedgerStyle(template=True, faults=("unknown_status", "impossible_date",
                                                                   "archive_incomplete", "invalid_tick")))
    (ledger,) = validate([sample.path], as_of="2010-10-20")
    assert len(ledger.issues) >= 4
    report = write_report(tmp_path / "问题清单.xlsx", [ledger])
    ((_, copy),) = annotate([ledger], tmp_path / "副本")
    report_pdf, copy_pdf = lo.convert([report, copy], "pdf", tmp_path / "pdf")
    for pdf in (report_pdf, copy_pdf):
        text = flat(pdf)
        for issue in ledger.issues:
            assert re.sub(r"\s", "", issue.message) in text, (pdf.name, issue.message)
            assert re.sub(r"\s", "", issue.action) in text, (pdf.name, issue.action)
    summary = next(line for line in subprocess.run(["pdftotext", "-raw", str(copy_pdf), "-"], capture_output=True,
                                                    text=True, encoding="utf-8").stdout.splitlines()
                   if "校验结果：" in line)
    assert "点“单元格”可跳到该处" in flat(copy_pdf) and summary


def test_the_reminder_sheet_prints_whole(tmp_path):
    errors = [make_issue("invalid_date", sheet="信访积案台账", cell=f"J{r}", row=r, column="交办日期",
                         value="二〇一〇年十三月五日", reason="（2010年没有13月）") for r in range(5, 9)]
    overdue = [{"case_id": f"NJ2010-0{n}", "petitioner": "缪某某等十六人", "deadline": "2010-09-25",
                "leader": "乡党委委员、副乡长 金海波（联系电话 13857700001）"} for n in range(10, 14)]
    chases = [Chase("江滨社区", "王芳", ("jiangbin@example.com", "jiangbin2@example.com"), late=True,
                    unusable="“江滨社区台账（重发，十月第二次）.xlsx”（2010-10-18）文件已损坏或不完整（可能下载或传输"
                             "中断），请重新保存后报送。",
                    file="江滨社区积案台账.xlsx", errors=errors, overdue=overdue)]
    sheet = write_reminder_sheet(tmp_path / "催报单.xlsx", chases, township="南郊乡", as_of=date(2010, 10, 20),
                                 since=date(2010, 10, 13))
    (pdf,) = lo.convert([sheet], "pdf", tmp_path)
    text = flat(pdf)
    from toolkit.outputs.receipt import quote_issue
    from toolkit.outputs.reminder import overdue_line
    for line in [quote_issue(i) for i in errors] + [overdue_line(o) for o in overdue]:
        assert re.sub(r"\s", "", line) in text, line
    assert re.sub(r"\s", "", "；".join(chases[0].reasons(date(2010, 10, 13)))) in text

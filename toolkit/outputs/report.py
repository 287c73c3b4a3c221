"""Issue reports for people: the text report, the issue workbook, the rows the
master's 校验问题 sheet shares. All words come from the issue catalogue."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Sequence

from toolkit.core.files import commit_temp, remove_stale_temps, temp_beside
from toolkit.core.issues import CATALOGUE, ERROR, INFO
from toolkit.core.ledger import Ledger
from toolkit.outputs.pagefit import row_height
from toolkit.outputs.writeback.locks import writer_lock

SEVERITY_WORD = {ERROR: "错误", "warning": "提醒", INFO: "说明"}

# 问题类型 is the catalogue's Chinese name; the stable English code stays last, for filtering
ISSUE_COLUMNS = ("文件", "村（社区）", "工作表", "单元格", "行", "列", "案件编号", "级别", "问题类型",
                 "问题", "怎么改", "值", "代码")
# narrow enough to print at a readable size on A4 landscape; every cell wraps, rows get the height
# their text needs (pagefit), and the English 代码 column is left off the printed page
_WIDTHS = (16, 9, 9, 7, 5, 10, 11, 5, 10, 38, 34, 12, 16)
PRINTED_COLUMNS = len(ISSUE_COLUMNS) - 1


def issue_rows(ledgers: Sequence[Ledger]) -> list[dict]:
    """One dict per issue, keyed by ISSUE_COLUMNS, errors first within each file."""
    rows = []
    for lg in ledgers:
        ordered = sorted(lg.issues, key=lambda i: (i.severity != ERROR, i.row or 0, i.cell or ""))
        for i in ordered:
            rows.append({
                "文件": Path(lg.path).name, "村（社区）": lg.village or "", "工作表": i.sheet or "",
                "单元格": i.cell or "", "行": i.row, "列": i.column or "", "案件编号": i.case_id or "",
                "级别": SEVERITY_WORD.get(i.severity, i.severity),
                "问题类型": CATALOGUE[i.code].title if i.code in CATALOGUE else "",
                "问题": i.message, "怎么改": i.action,
                "值": "" if i.value is None else str(i.value), "代码": i.code,
            })
    return rows


def write_issue_sheet(workbook, name: str, rows: Sequence[dict], *, title: str):
    """Write ``rows`` as a filterable, printable sheet into an xlsxwriter workbook: a title
    row, the header row, one row per issue; A4 landscape, fit to width, both rows repeated,
    every text whole on paper (wrapped, each row as tall as its longest text)."""
    ws = workbook.add_worksheet(name)
    f = workbook.add_format
    head = f({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "vcenter"})
    wrap = f({"text_wrap": True, "valign": "top"})
    err = f({"font_color": "#9C0006", "bg_color": "#FFC7CE", "valign": "top", "text_wrap": True})
    warn = f({"font_color": "#9C5700", "bg_color": "#FFEB9C", "valign": "top", "text_wrap": True})
    ws.write_string(0, 0, title, f({"bold": True, "font_size": 14}))
    ws.set_row(0, 24)
    for c, (column, width) in enumerate(zip(ISSUE_COLUMNS, _WIDTHS)):
        ws.write_string(1, c, column, head)
        ws.set_column(c, c, width, wrap)
    ws.set_row(1, row_height(zip(ISSUE_COLUMNS, _WIDTHS)))
    for r, row in enumerate(rows, start=2):
        texts = []
        for c, column in enumerate(ISSUE_COLUMNS):
            v = row.get(column)
            if column == "级别":
                ws.write_string(r, c, v, err if v == "错误" else warn)
            elif isinstance(v, int):
                ws.write_number(r, c, v, wrap)
            elif v is not None:
                ws.write_string(r, c, str(v))   # village text is never a formula
            texts.append((v, _WIDTHS[c]))
        ws.set_row(r, row_height(texts[:PRINTED_COLUMNS]))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(len(rows), 1) + 1, len(ISSUE_COLUMNS) - 1)
    ws.print_area(0, 0, max(len(rows), 1) + 1, PRINTED_COLUMNS - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 1)
    ws.set_footer("&R第 &P 页，共 &N 页")
    return ws


def write_issue_report(path: Path, ledgers: Sequence[Ledger]) -> Path:
    """`taizhang validate --report OUT.xlsx`: a 校验问题 sheet and a per-file 汇总."""
    path = Path(path)
    with writer_lock(path):             # one writer at a time, so a killed run's leftovers can go
        remove_stale_temps(path)
        with temp_beside(path) as tmp:
            _render_report(tmp, ledgers)
            commit_temp(tmp, path)
    return path


def _render_report(path: Path, ledgers: Sequence[Ledger]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    write_issue_sheet(wb, "校验问题", issue_rows(ledgers),
                      title=f"校验问题清单（生成于 {datetime.now():%Y-%m-%d %H:%M}）")
    ws = wb.add_worksheet("文件汇总")
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    widths = (30, 10, 12, 7, 6, 6, 8)
    for c, (t, w) in enumerate(zip(("文件", "村（社区）", "工作表", "案件数", "错误", "提醒", "结果"), widths)):
        ws.write_string(0, c, t, head)
        ws.set_column(c, c, w, wrap)
    for r, lg in enumerate(ledgers, start=1):
        texts = (Path(lg.path).name, lg.village or "", lg.sheet or "")
        for c, text in enumerate(texts):
            ws.write_string(r, c, text)
        ws.write_number(r, 3, lg.n_cases)
        ws.write_number(r, 4, lg.errors)
        ws.write_number(r, 5, lg.warnings)
        ws.write_string(r, 6, _verdict(lg))
        ws.set_row(r, row_height(zip(texts, widths)))
    ws.freeze_panes(1, 0)
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_footer("&R第 &P 页，共 &N 页")
    wb.close()


def _verdict(lg: Ledger) -> str:
    if not lg.readable:
        return "无法读取"
    return "有错误" if lg.errors else ("有提醒" if lg.warnings else "通过")


def format_text_report(ledgers: Sequence[Ledger], *, limit: int = 200, errors_only: bool = False) -> str:
    """The readable Chinese report `taizhang validate` prints: files that cannot be read
    first, then files with errors (most first), then the rest; ``errors_only`` leaves out
    files without errors. The last line names the failing files."""
    order = {"无法读取": 0, "有错误": 1, "有提醒": 2, "通过": 3}
    ranked = sorted(ledgers, key=lambda lg: (order[_verdict(lg)], -lg.errors))
    failing = [lg for lg in ranked if order[_verdict(lg)] <= 1]
    lines: list[str] = []
    for lg in (failing if errors_only else ranked):
        lines += _file_lines(lg, limit)
    total_e = sum(lg.errors for lg in ledgers)
    total_w = sum(lg.warnings for lg in ledgers)
    bad = sum(1 for lg in ledgers if not lg.readable)
    last = f"共检查 {len(ledgers)} 个文件：错误 {total_e} 处，提醒 {total_w} 处，无法读取 {bad} 个。"
    if failing:
        names = [Path(lg.path).name for lg in failing]
        shown = "、".join(names[:5]) + (f" 等 {len(names)} 个" if len(names) > 5 else "")
        last += f"需要改正的文件：{shown}。"
    if errors_only and len(failing) < len(ledgers):
        last += f"（另有 {len(ledgers) - len(failing)} 个文件没有错误，未列出。）"
    lines.append(last)
    return "\n".join(lines)


def _file_lines(lg: Ledger, limit: int) -> list[str]:
    head = f"【{_verdict(lg)}】{Path(lg.path).name}"
    if lg.readable:
        head += (f"　村（社区）：{lg.village or '未知'}　工作表：{lg.sheet or '—'}"
                 f"　案件 {lg.n_cases} 件　错误 {lg.errors} 处　提醒 {lg.warnings} 处")
    lines = [head]
    rows = issue_rows([lg])
    for row in rows[:limit]:
        where = f"{row['工作表']}!{row['单元格']}" if row["单元格"] else (row["工作表"] or "整个文件")
        lines.append(f"  {row['级别']} {where}：{row['问题']} {row['怎么改']}")
    if len(rows) > limit:
        lines.append(f"  ……另有 {len(rows) - limit} 条，请用 --report 导出完整清单。")
    return lines

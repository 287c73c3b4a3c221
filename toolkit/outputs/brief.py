"""简报: one A4 portrait page for the township leader.

The campaign phase and the days left in it, the totals, the change since the last run
and since a week ago, the five villages with the most overdue cases, the ten most
urgent cases (personal data masked) and a small trend chart. Its size does not grow
with the number of villages (fixed top-N lists, a count for the rest), so it stays one
readable page at 300 villages. Written as a sheet of the master and, for printing or
sending, as a PDF through LibreOffice.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from toolkit.core.fields import RESOLVED, STRUCK_OFF
from toolkit.core.files import atomic_path
from toolkit.outputs.libreoffice import convert

SHEET_BRIEF = "简报"
TOTAL_KEYS = (("cases", "案件总数"), ("resolved", RESOLVED), ("struck_off", STRUCK_OFF),
              ("overdue", "逾期"), ("due_soon", "临期"))
URGENT_COLUMNS = ("预警", "剩余工作日", "办结期限", "村（社区）", "案件编号", "信访人", "包案领导")
_WIDTHS = (15, 10, 11, 13, 13, 11, 17)
_CHART_AT = 33                  # 0-based row of the trend chart (below the tables)


@dataclass
class Brief:
    township: str
    as_of: date
    phase: str
    phase_end: date | None
    totals: dict[str, int]                       # TOTAL_KEYS
    missing_villages: list[str]
    since_last: tuple[date, dict[str, int]] | None = None      # (that day, change per key)
    since_week: tuple[date, dict[str, int]] | None = None
    worst_villages: list[dict] = field(default_factory=list)   # village, overdue, due_soon, cases
    urgent: list[dict] = field(default_factory=list)           # URGENT_COLUMNS
    trend: list[tuple[date, int, int, int]] = field(default_factory=list)  # day, 逾期, 临期, 已化解

    @property
    def title(self) -> str:
        d = self.as_of
        return f"{self.township}信访积案化解简报（截至{d.year}年{d.month}月{d.day}日）"

    def phase_text(self) -> str:
        if self.phase_end is None:
            return f"当前阶段：{self.phase}"
        left = (self.phase_end - self.as_of).days
        return (f"当前阶段：{self.phase}（至 {self.phase_end.month}月{self.phase_end.day}日，"
                f"还剩 {left} 天）")


def write_brief_sheet(wb, brief: Brief) -> None:
    """The 简报 sheet, into an xlsxwriter Workbook (the master's or a standalone one)."""
    ws = wb.add_worksheet(SHEET_BRIEF)
    f = _formats(wb)
    for i, w in enumerate(_WIDTHS):
        ws.set_column(i, i, w)
    ws.merge_range(0, 0, 0, 6, brief.title, f["title"])
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, 6, brief.phase_text(), f["phase"])
    row = _totals(ws, f, brief, 3)
    row = _worst(ws, f, brief, row + 1)
    _urgent(ws, f, brief, row + 1)
    _trend(wb, ws, f, brief)
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 1)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&L由台账工具生成&R第 &P 页，共 &N 页")
    ws.print_area(0, 0, _CHART_AT + 16, 6)


def render_brief(path: Path, brief: Brief) -> Path:
    """A workbook holding only the 简报 sheet (what the PDF is made from)."""
    import xlsxwriter
    with atomic_path(Path(path)) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        write_brief_sheet(wb, brief)
        wb.close()
    return Path(path)


def brief_pdf(brief: Brief, pdf: Path) -> Path:
    """The 简报 as a one-page PDF at ``pdf`` (needs LibreOffice; LibreOfficeError otherwise)."""
    pdf = Path(pdf)
    with tempfile.TemporaryDirectory(prefix="taizhang-brief-") as work:
        book = render_brief(Path(work) / f"{pdf.stem}.xlsx", brief)
        (made,) = convert([book], "pdf", work, timeout=180, keep_profile=True)
        with atomic_path(pdf) as tmp:
            tmp.write_bytes(made.read_bytes())
    return pdf


def _formats(wb) -> dict:
    f = wb.add_format
    cell = {"border": 1, "valign": "vcenter", "font_size": 11}
    return {"title": f({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}),
            "phase": f({"font_size": 12, "align": "center"}),
            "section": f({"bold": True, "font_size": 12}),
            "head": f({**cell, "bold": True, "bg_color": "#D9E1F2", "align": "center", "text_wrap": True}),
            "num": f({**cell, "align": "center", "num_format": "0"}),
            "delta": f({**cell, "align": "center", "num_format": "+0;-0;0"}),
            "text": f({**cell}),
            "date": f({**cell, "num_format": "yyyy-mm-dd", "align": "center"}),
            "note": f({"font_size": 10, "text_wrap": True, "valign": "top"}),
            "overdue": f({**cell, "align": "center", "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "due_soon": f({**cell, "align": "center", "bg_color": "#FFEB9C", "font_color": "#9C5700"})}


def _totals(ws, f: dict, brief: Brief, row: int) -> int:
    ws.write_string(row, 0, "一、总体情况", f["section"])
    heads = [h for _, h in TOTAL_KEYS] + ["未报村（社区）"]
    ws.write_string(row + 1, 0, "", f["head"])
    for c, h in enumerate(heads, start=1):
        ws.write_string(row + 1, c, h, f["head"])
    ws.write_string(row + 2, 0, "本次", f["head"])
    for c, (k, _) in enumerate(TOTAL_KEYS, start=1):
        ws.write_number(row + 2, c, brief.totals.get(k, 0), f["num"])
    ws.write_number(row + 2, 6, len(brief.missing_villages), f["num"])
    r = row + 3
    for label, change in (("比上次", brief.since_last), ("比一周前", brief.since_week)):
        ws.write_string(r, 0, label if change is None else f"{label}（{change[0]:%m-%d}）", f["head"])
        for c, (k, _) in enumerate(TOTAL_KEYS, start=1):
            if change is None:
                ws.write_string(r, c, "—", f["num"])
            else:
                ws.write_number(r, c, change[1].get(k, 0), f["delta"])
        ws.write_string(r, 6, "", f["num"])
        r += 1
    if brief.missing_villages:
        names = "、".join(brief.missing_villages[:6])
        more = f" 等 {len(brief.missing_villages)} 个" if len(brief.missing_villages) > 6 else ""
        ws.merge_range(r, 0, r, 6, f"未报：{names}{more}。", f["note"])
        ws.set_row(r, 30)                # room for a second line of names
        r += 1
    return r


def _worst(ws, f: dict, brief: Brief, row: int) -> int:
    ws.write_string(row, 0, "二、逾期最多的村（社区）", f["section"])
    for c, h in enumerate(("村（社区）", "逾期", "临期", "案件数")):
        ws.write_string(row + 1, c, h, f["head"])
    r = row + 2
    for v in brief.worst_villages:
        ws.write_string(r, 0, v["village"], f["text"])
        for c, k in enumerate(("overdue", "due_soon", "cases"), start=1):
            ws.write_number(r, c, v[k], f["num"])
        r += 1
    if not brief.worst_villages:
        ws.write_string(r, 0, "没有逾期案件。", f["text"])
        r += 1
    return r


def _urgent(ws, f: dict, brief: Brief, row: int) -> None:
    ws.write_string(row, 0, "三、最紧急的案件（个人信息已部分隐藏）", f["section"])
    for c, h in enumerate(URGENT_COLUMNS):
        ws.write_string(row + 1, c, h, f["head"])
    for r, case in enumerate(brief.urgent, start=row + 2):
        for c, h in enumerate(URGENT_COLUMNS):
            v = case.get(h)
            if h == "预警":
                ws.write_string(r, c, v or "", f["overdue" if v == "逾期" else "due_soon"])
            elif isinstance(v, date):
                ws.write_datetime(r, c, v, f["date"])
            elif isinstance(v, int):
                ws.write_number(r, c, v, f["num"])
            else:
                ws.write_string(r, c, "" if v is None else str(v), f["text"])
    if not brief.urgent:
        ws.write_string(row + 2, 0, "没有逾期或临期案件。", f["text"])


def _trend(wb, ws, f: dict, brief: Brief) -> None:
    ws.write_string(_CHART_AT - 1, 0, "四、近期走势", f["section"])
    points = brief.trend[-12:]
    if len(points) < 2:
        ws.write_string(_CHART_AT, 0, "汇总满两天后显示走势图（每次汇总都会记录当天的数字）。", f["note"])
        return
    data_col = 10                              # beyond the print area: the chart's data
    for i, h in enumerate(("日期", "逾期", "临期", RESOLVED)):
        ws.write_string(0, data_col + i, h)
    for r, (day, overdue, due_soon, resolved) in enumerate(points, start=1):
        ws.write_string(r, data_col, f"{day.month}-{day.day}")
        for i, v in enumerate((overdue, due_soon, resolved), start=1):
            ws.write_number(r, data_col + i, v)
    chart = wb.add_chart({"type": "line"})
    for i, colour in ((1, "#C00000"), (2, "#BF8F00"), (3, "#548235")):
        chart.add_series({"name": [ws.name, 0, data_col + i],
                          "categories": [ws.name, 1, data_col, len(points), data_col],
                          "values": [ws.name, 1, data_col + i, len(points), data_col + i],
                          "line": {"color": colour, "width": 2.25}, "marker": {"type": "circle"}})
    chart.set_legend({"position": "bottom"})
    chart.show_hidden_data()              # the data columns are hidden
    chart.set_size({"width": 600, "height": 260})
    ws.insert_chart(_CHART_AT, 0, chart, {"object_position": 3})
    ws.set_column(data_col, data_col + 3, None, None, {"hidden": True})

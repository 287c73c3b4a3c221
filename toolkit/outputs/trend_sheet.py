"""趋势: the recorded runs by day, in the master.

The township's totals per run day (with a chart of 逾期, 临期 and 已化解), then one row
per village with its 逾期 on each of the last few run days and the change over them,
so a village that is stuck stands out. Rows are the recorded village-days of
``toolkit.pipeline.trends`` (anything with day, village, cases, overdue, due_soon,
resolved, struck_off).
"""
from __future__ import annotations

from typing import Sequence

from toolkit.core.fields import RESOLVED, STRUCK_OFF

SHEET_TREND = "趋势"
LAST_DAYS = 8           # run days shown per village
TOTAL_HEADERS = ("日期", "案件数", "逾期", "临期", RESOLVED, STRUCK_OFF)
_KEYS = ("cases", "overdue", "due_soon", "resolved", "struck_off")
_LABELS = 30            # a hidden column: "10-20" labels for the chart's axis


def write_trend_sheet(wb, title: str, rows: Sequence) -> None:
    ws = wb.add_worksheet(SHEET_TREND)
    f = wb.add_format
    head = f({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center", "text_wrap": True})
    date_fmt = f({"num_format": "yyyy-mm-dd", "align": "center"})
    up = f({"font_color": "#9C0006", "num_format": "+0;-0;0"})
    down = f({"font_color": "#006100", "num_format": "+0;-0;0"})
    ws.write_string(0, 0, f"{title}·{SHEET_TREND}", f({"bold": True, "font_size": 14}))
    ws.set_column(0, 0, 14)
    ws.set_column(1, LAST_DAYS + 1, 10)
    days = sorted({r.day for r in rows})
    if not days:
        ws.write_string(2, 0, "还没有汇总记录：每次汇总都会记下当天各村的数字，汇总两天后这里显示走势。")
        return
    ws.write_string(1, 0, "一、全乡每次汇总的数字", f({"bold": True}))
    for c, h in enumerate(TOTAL_HEADERS):
        ws.write_string(2, c, h, head)
    for r, day in enumerate(days, start=3):
        ws.write_datetime(r, 0, day, date_fmt)
        ws.write_string(r, _LABELS, f"{day.month}-{day.day}")      # the chart's categories
        for c, k in enumerate(_KEYS, start=1):
            ws.write_number(r, c, sum(getattr(x, k) for x in rows if x.day == day))
    last_total = 2 + len(days)
    if len(days) >= 2:
        _chart(wb, ws, len(days), at_row=3, at_col=len(TOTAL_HEADERS) + 1)
    formats = {"head": head, "up": up, "down": down, "date": date_fmt, "bold": f({"bold": True})}
    _villages(ws, formats, rows, days[-LAST_DAYS:], max(last_total + 2, 22))
    ws.set_column(_LABELS, _LABELS, None, None, {"hidden": True})
    ws.freeze_panes(3, 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def _chart(wb, ws, n: int, *, at_row: int, at_col: int) -> None:
    chart = wb.add_chart({"type": "line"})
    for k, colour in ((2, "#C00000"), (3, "#BF8F00"), (4, "#548235")):
        chart.add_series({"name": [SHEET_TREND, 2, k], "categories": [SHEET_TREND, 3, _LABELS, 2 + n, _LABELS],
                          "values": [SHEET_TREND, 3, k, 2 + n, k], "line": {"color": colour},
                          "marker": {"type": "circle"}})
    chart.set_title({"name": "全乡逾期、临期、已化解"})
    chart.set_legend({"position": "bottom"})
    chart.show_hidden_data()
    chart.set_size({"width": 560, "height": 300})
    ws.insert_chart(at_row, at_col, chart)


def _villages(ws, f: dict, rows: Sequence, days: list, top: int) -> None:
    ws.write_string(top, 0, f"二、各村（社区）最近 {len(days)} 次汇总的逾期件数（按最近一次从多到少）",
                    f["bold"])
    ws.write_string(top + 1, 0, "村（社区）", f["head"])
    for c, day in enumerate(days, start=1):
        ws.write_datetime(top + 1, c, day, f["date"])
    ws.write_string(top + 1, len(days) + 1, "变化", f["head"])
    overdue = {(r.village, r.day): r.overdue for r in rows if r.day in days}
    villages = sorted({v for v, _ in overdue}, key=lambda v: (-overdue.get((v, days[-1]), 0), v))
    for r, village in enumerate(villages, start=top + 2):
        ws.write_string(r, 0, village)
        seen = [overdue.get((village, d)) for d in days]
        for c, n in enumerate(seen, start=1):
            if n is not None:
                ws.write_number(r, c, n)
        known = [n for n in seen if n is not None]
        if len(known) >= 2:
            change = known[-1] - known[0]
            ws.write_number(r, len(days) + 1, change, f["up"] if change > 0 else f["down"])

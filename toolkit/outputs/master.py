"""The township master workbook (乡级总台账), rendered with xlsxwriter; the rows of
the two big sheets (总台账, 预警) are streamed into its package by ``sheetxml``.

``write_master(out, book)`` renders a :class:`MasterBook` to a temporary file
beside ``out`` and publishes it atomically: the previous master is copied to
``历史版本/`` (the last ``keep`` versions are kept) and the new one replaces it
with ``os.replace``. If the master is open in Excel/WPS a dated copy is
written beside it instead, and the result says so.

Everything a village typed is written with ``write_string``: nothing from a
ledger can become a live formula. Totals are values, not formulas (a formula
written by Python has no cached result for other programs to read).

``read_township_values`` reads the previous master (python-calamine) so the
columns the township types into it (督办意见 …) survive a rebuild.
"""
from __future__ import annotations

import io
import numbers
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any, Iterator, Sequence

from python_calamine import CalamineWorkbook

from toolkit.core.config import HISTORY_DIR
from toolkit.core.fields import (ALERT_CLOSED, ALERT_DUE_SOON, ALERT_OVERDUE, ALERT_SUSPENDED, CHECKLISTS,
                                 COMPUTED, FIELDS, STATUSES, STRUCK_OFF, header_for)
from toolkit.core.files import (backup_copy, backup_name, commit_temp, is_backup_of, remove_stale_temps,
                                temp_beside, workbook_in_use)
from toolkit.outputs.brief import write_brief_sheet
from toolkit.outputs.pagefit import row_height, row_heights
from toolkit.outputs.report import write_issue_sheet
from toolkit.outputs.sheetxml import Column, Rows, splice
from toolkit.outputs.trend_sheet import write_trend_sheet

SHEET_CASES = "总台账"
SHEET_SUMMARY = "汇总"
SHEET_ALERTS = "预警"
SHEET_ISSUES = "校验问题"
SHEET_REPORTS = "报送情况"
SHEET_CHANGES = "变更记录"

H_VILLAGE, H_FILE, H_ROW, H_FLAGS = "村（社区）", "来源文件", "行号", "核查提示"
H_CASE_ID = header_for("case_id")

# key -> kind for every column of 总台账 before the township's own columns
_KIND_OF_FIELD = {"date": "date", "int": "int"}
CASE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("village", H_VILLAGE, "text"), ("source_file", H_FILE, "text"), ("row", H_ROW, "int"),
    *((f.key, f.header, _KIND_OF_FIELD.get(f.kind, "text")) for f in FIELDS if f.key != "village"),
    *((i.key, header_for(i.key), "tick") for g in CHECKLISTS for i in g.items),
    *((c.key, c.header, {"deadline": "date", "workdays_left": "int"}.get(c.key, "text"))
      for c in COMPUTED),
    ("flags", H_FLAGS, "text"),
)
_WIDTH = {"text": 14, "date": 11, "int": 7, "tick": 6}
_WIDE = {"matter": 30, "progress": 30, "measures": 24, "stability_measures": 20, "plan": 20,
         "address": 20, "id_number": 20, "source_file": 22, "missing_items": 28, "can_close": 20,
         "flags": 30, "responsible_unit": 16, "remarks": 16, "in_scope": 10, "phone": 13}
_TEXT_KEYS = ("case_id", "id_number", "phone")
# free-text columns of 总台账 that wrap (and make their row as tall as they need) when printed
CASE_WRAP = ("matter", "progress", "measures", "stability_measures", "plan", "address", "source_file",
             "missing_items", "can_close", "flags", "responsible_unit", "remarks")
ALERT_WIDTHS = {"信访事项": 30, "化解进展": 30, "来源文件": 22, "责任单位": 16}
ALERT_ORDER = {ALERT_OVERDUE: 0, ALERT_DUE_SOON: 1}
_ALERT_COLOURS = {ALERT_OVERDUE: ("#FFC7CE", "#9C0006"), ALERT_DUE_SOON: ("#FFEB9C", "#9C5700"),
                  ALERT_CLOSED: ("#C6EFCE", "#006100"), ALERT_SUSPENDED: ("#D9D9D9", "#595959")}

REPORT_COLUMNS = ("村（社区）", "联系人", "报送情况", "最近报送时间", "来源", "文件", "文件保存时间", "结果",
                  "填报日期", "案件数", "错误", "提醒", "说明")
CHANGE_COLUMNS = ("汇总日期", "变更类型", "村（社区）", "案件编号", "信访人", "原状态", "现状态", "来源文件", "说明")
REPORT_WIDTHS = {"村（社区）": 10, "联系人": 8, "报送情况": 8, "最近报送时间": 17, "来源": 8, "文件": 24,
                 "文件保存时间": 17, "结果": 8, "填报日期": 11, "案件数": 6, "错误": 5, "提醒": 5, "说明": 46}
CHANGE_WIDTHS = {"说明": 46, "来源文件": 22, "变更类型": 10, "汇总日期": 11, "村（社区）": 10, "案件编号": 12,
                 "信访人": 10, "原状态": 8, "现状态": 8}
# 汇总 is what the leader reads: narrow number columns under wrapped headers, so that 60 and
# more villages print at a readable size on A4 landscape (the file names wrap in 采用文件)
SUMMARY_WIDTHS = {"村（社区）": 10, "案件数": 6, **{s: 6 for s in STATUSES}, "逾期": 5, "临期": 5,
                  **{f"{g.header}完成率": 7 for g in CHECKLISTS}, "错误": 5, "填报日期": 11, "收到时间": 17,
                  "采用文件": 30}


@dataclass
class MasterBook:
    """Everything the master shows; built by consolidate, rendered here."""
    as_of: date
    township: str
    cases: Any                      # DataFrame: CASE_COLUMNS keys + township column headers
    township_columns: tuple[str, ...] = ()
    reports: list[dict] = field(default_factory=list)   # 报送情况 rows keyed by REPORT_COLUMNS
    issues: list[dict] = field(default_factory=list)    # report.issue_rows(...) rows
    changes: list[dict] = field(default_factory=list)   # CHANGE_COLUMNS + township headers
    generated: datetime = field(default_factory=datetime.now)
    brief: Any = None               # toolkit.outputs.brief.Brief: the 简报 sheet, when given
    trend: Any = None               # recorded village-days (pipeline.trends): the 趋势 sheet

    @property
    def title(self) -> str:
        return f"{self.township}信访积案总台账（截至{self.as_of.year}年{self.as_of.month}月{self.as_of.day}日）"


@dataclass
class Published:
    path: Path                      # where the new master is
    backup: Path | None = None      # the previous master's copy in 历史版本
    in_use: bool = False            # the master was open: a dated copy was written
    note: str = ""                  # Chinese, for the clerk


# --- reading the previous master ----------------------------------------------
def read_township_values(path: Path, columns: Sequence[str]) -> tuple[dict, list[str]]:
    """{(village, case_id): {column: value}} from the previous master, and unknown extra headers.

    Values come from 总台账, then from 变更记录 rows that carried a vanished
    case's values, so a clerk's words follow the case until it comes back.
    """
    path = Path(path)
    values: dict[tuple[str, str], dict[str, Any]] = {}
    extra: list[str] = []
    if not path.exists() or not columns:
        return values, extra
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        for sheet in (SHEET_CASES, SHEET_CHANGES):
            if sheet in names:
                rows = wb.get_sheet_by_name(sheet).iter_rows()     # one row at a time
                extra += _collect(rows, columns, values, known=sheet == SHEET_CASES)
    except Exception:           # an unreadable old master must not stop a rebuild
        return values, extra
    return values, extra


def _collect(rows: Iterator[list], columns: Sequence[str], values: dict, *,
             known: bool) -> list[str]:
    top = list(islice(rows, 6))
    head_at = next((i for i, r in enumerate(top) if H_CASE_ID in [str(c) for c in r]), None)
    if head_at is None:
        return []
    head = [str(c).strip() for c in top[head_at]]
    at = {h: i for i, h in enumerate(head) if h}
    ours = {h for _, h, _ in CASE_COLUMNS} | set(CHANGE_COLUMNS) | {"村（社区）"}
    extra = [h for h in head if h and h not in ours and h not in columns] if known else []
    wanted = [(c, at[c]) for c in columns if c in at]
    if not wanted:
        return extra
    id_at, village_at = at[H_CASE_ID], at.get(H_VILLAGE, 1 << 30)
    for r in chain(top[head_at + 1:], rows):
        case_id = cell_text(r[id_at]) if id_at < len(r) else ""
        if not case_id:
            continue
        village = cell_text(r[village_at]) if village_at < len(r) else ""
        got = {c: r[i] for c, i in wanted if i < len(r) and r[i] not in ("", None)}
        if got:
            values.setdefault((village, case_id), got)
    return extra


def cell_text(v: object) -> str:
    """A cell's value as a key (village, case number): integral numbers without '.0'."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def match_township_values(values: dict, village: str, case_id: str) -> dict | None:
    """By village and case number; else by case number alone when that is unambiguous."""
    got = values.get((village, case_id))
    if got is not None:
        return got
    same = [v for (vil, cid), v in values.items() if cid == case_id]
    return same[0] if len(same) == 1 else None


# --- tables derived from the cases ---------------------------------------------
def _ratio(texts: Sequence[object]) -> float | None:
    done = total = 0
    for t in texts:
        if isinstance(t, str) and "/" in t:
            a, _, b = t.partition("/")
            if a.isdigit() and b.isdigit():
                done, total = done + int(a), total + int(b)
    return done / total if total else None


def summary_rows(cases, reports: Sequence[dict]) -> list[dict]:
    """Per village: counts by status and alert, checklist completion, last submission."""
    last = {r["村（社区）"]: r for r in reports}
    out = []
    reported = [r["村（社区）"] for r in reports if r.get("报送情况") == "已报"]
    villages = list(dict.fromkeys([*(cases["village"] if len(cases) else []), *reported]))
    groups = dict(tuple(cases.groupby("village", sort=False))) if len(cases) else {}
    empty = cases.iloc[0:0]
    for v in villages:
        g = groups.get(v, empty)
        st, al = list(g["status"]), list(g["alert"])
        rep = last.get(v, {})
        row = {"村（社区）": v, "案件数": len(g)}
        for s in STATUSES:
            row[s] = st.count(s)
        row["逾期"], row["临期"] = al.count(ALERT_OVERDUE), al.count(ALERT_DUE_SOON)
        for grp in CHECKLISTS:
            row[f"{grp.header}完成率"] = _ratio(list(g[f"{grp.key}_done"]))
        row["错误"] = int(sum(int(x or 0) for x in g["n_errors"])) if "n_errors" in g else 0
        row["填报日期"] = rep.get("_counted_report_date")       # the counted sheet's own date
        row["收到时间"] = rep.get("_counted_received", "")
        row["采用文件"] = rep.get("_counted_file", "")
        out.append(row)
    return out


def alert_rows(cases) -> list[dict]:
    """逾期 then 临期, most urgent (fewest working days left, earliest deadline) first."""
    if not len(cases):
        return []
    hot = cases.loc[cases["alert"].isin(list(ALERT_ORDER)), [k for k in _ALERT_KEYS.values()
                                                              if k in cases.columns]]
    recs = hot.to_dict("records")
    far = date.max

    def key(r):
        left = r.get("workdays_left")
        return (ALERT_ORDER[r["alert"]], left if isinstance(left, int) else 10 ** 6,
                r.get("deadline") or far)
    return sorted(recs, key=key)


# --- rendering ------------------------------------------------------------------
class _Styles:
    def __init__(self, wb) -> None:
        f = wb.add_format
        self.title = f({"bold": True, "font_size": 16, "valign": "vcenter"})
        self.head = f({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True,
                       "align": "center", "valign": "vcenter"})
        self.head_township = f({"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True,
                                "align": "center", "valign": "vcenter"})
        # Every cell of a data row starts at its top: beside a tall row's wrapped text, a cell at
        # Excel's default (bottom) prints level with the next row's first line, and reads as its.
        self.text = f({"num_format": "@", "valign": "top"})
        self.date = f({"num_format": "yyyy-mm-dd", "valign": "top"})
        self.int = f({"num_format": "0", "valign": "top"})
        self.pct = f({"num_format": "0%", "valign": "top"})
        self.top = f({"valign": "top"})
        self.total = f({"bold": True, "top": 1})
        self.total_pct = f({"bold": True, "top": 1, "num_format": "0%"})
        self.flag_wrap = f({"font_color": "#9C0006", "text_wrap": True, "valign": "top"})
        self.wrap = f({"text_wrap": True, "valign": "top"})
        self.when = f({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"})
        self.alert = {a: f({"bg_color": bg, "font_color": fg, "align": "center", "valign": "top"})
                      for a, (bg, fg) in _ALERT_COLOURS.items()}


def _page(ws, book: MasterBook, sheet: str, *, fit_width: bool) -> None:
    ws.set_landscape()
    ws.set_paper(9)                      # A4
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(0, 1)                 # title and headers on every page
    ws.set_header(f"&C&\"宋体,Bold\"{_hf(book.title)} — {sheet}")
    ws.set_footer(f"&L生成于 {book.generated:%Y-%m-%d %H:%M}&R第 &P 页，共 &N 页")
    if fit_width:
        ws.fit_to_pages(1, 0)


def _hf(text: str) -> str:
    return text.replace("&", "&&")


def _title(ws, st: _Styles, text: str, ncols: int) -> None:
    """The dated title in A1, left-aligned so it shows on the first printed page too."""
    ws.set_row(0, 28)
    ws.write_string(0, 0, text, st.title)


def _write_any(ws, st: _Styles, r: int, c: int, v: object, fmt=None) -> None:
    """Dates as dates, numbers as numbers, everything else as text (never a formula)."""
    if isinstance(v, (date, datetime)):
        ws.write_datetime(r, c, v, fmt or st.date)
    elif isinstance(v, numbers.Real) and not isinstance(v, bool):
        if v == v:
            ws.write_number(r, c, v, fmt)
    elif v is not None:
        ws.write_string(r, c, str(v), fmt)


def _xf(fmt) -> int | None:
    """The style index xlsxwriter gives ``fmt`` (assigned now, written with the styles)."""
    return None if fmt is None else fmt._get_xf_index()


def _write_cases(wb, st: _Styles, book: MasterBook) -> Rows:
    """The sheet's title, headers and settings; its rows are streamed (``sheetxml``)."""
    ws = wb.add_worksheet(SHEET_CASES)
    cols = list(CASE_COLUMNS) + [(h, h, "any") for h in book.township_columns]
    _title(ws, st, book.title, len(cols))
    ws.set_row(1, 48)
    for c, (key, head, kind) in enumerate(cols):
        township = kind == "any"
        ws.write_string(1, c, head, st.head_township if township else st.head)
        ws.set_column(c, c, 20 if township else _WIDE.get(key, _WIDTH[kind]),
                      st.text if key in _TEXT_KEYS else None)   # typed later: stays text
    data = book.cases
    alert = {a: _xf(f) for a, f in st.alert.items()}
    columns, wrapped = [], []
    for c, (key, _, kind) in enumerate(cols):
        if key not in data.columns:
            continue
        plain = _xf(st.text if key in _TEXT_KEYS else st.top)      # the column's own format
        values = data[key].tolist()
        wrap = key in CASE_WRAP or kind == "any"
        text = _xf(st.flag_wrap if key == "flags" else st.wrap) if wrap else plain
        columns.append(Column(c, values, text=text, number=plain, date=_xf(st.date), tick=kind == "tick",
                              by_text=alert if key == "alert" else None))
        if wrap:
            wrapped.append((values, 20 if kind == "any" else _WIDE.get(key, _WIDTH[kind])))
    ws.freeze_panes(2, 4)
    ws.autofilter(1, 0, max(len(data), 1) + 1, len(cols) - 1)
    _page(ws, book, SHEET_CASES, fit_width=False)
    ws.fit_to_pages(4, 0)                # ~16 columns a page, rows flow down
    ws.repeat_columns(0, 3)
    return Rows(2, len(data), columns, header=(0, len(cols) - 1),
                heights=row_heights(wrapped, len(data)))


def _write_table(wb, st: _Styles, book: MasterBook, name: str, headers: Sequence[str],
                 rows: Sequence[dict], widths: dict[str, int] | None = None,
                 formats: dict[str, Any] | None = None):
    """A table whose every text prints whole: texts wrap, and each row is as tall as its
    longest text needs (``pagefit``)."""
    ws, width = _table_sheet(wb, st, book, name, headers, len(rows), widths)
    formats = formats or {}
    for i, row in enumerate(rows):
        texts = []
        for c, h in enumerate(headers):
            v = row.get(h)
            if h == "预警" and v in st.alert:
                ws.write_string(i + 2, c, v, st.alert[v])
            elif h in _WHEN_COLUMNS and isinstance(v, str) and _when(v) is not None:
                ws.write_datetime(i + 2, c, _when(v), st.when)
            elif isinstance(v, str):
                ws.write_string(i + 2, c, v, formats.get(h, st.wrap))
                texts.append((v, width[c]))
            elif isinstance(v, (date, datetime)):
                _write_any(ws, st, i + 2, c, v, formats.get(h, st.date))
            else:
                _write_any(ws, st, i + 2, c, v, formats.get(h, st.top))
        if texts:
            ws.set_row(i + 2, row_height(texts))
    return ws


def _table_sheet(wb, st: _Styles, book: MasterBook, name: str, headers: Sequence[str], n: int,
                 widths: dict[str, int] | None):
    """A table sheet's title, headers and settings for ``n`` rows (written by the caller), and
    its column widths."""
    ws = wb.add_worksheet(name)
    _title(ws, st, f"{book.title}·{name}", len(headers))
    widths = widths or {}
    width = [widths.get(h, max(8, min(30, 2 * len(h) + 2))) for h in headers]
    for c, h in enumerate(headers):
        ws.write_string(1, c, h, st.head_township if h in book.township_columns else st.head)
        ws.set_column(c, c, width[c])
    ws.set_row(1, max(32, row_height(zip(headers, width))))
    ws.freeze_panes(2, 1)
    ws.autofilter(1, 0, max(n, 1) + 1, len(headers) - 1)
    _page(ws, book, name, fit_width=True)
    return ws, width


_WHEN_COLUMNS = ("最近报送时间", "收到时间", "文件保存时间")     # "2010-10-19 16:30" from the archive: a date


def _when(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None


def _write_summary(wb, st: _Styles, book: MasterBook) -> None:
    rows = summary_rows(book.cases, book.reports)
    rates = [f"{g.header}完成率" for g in CHECKLISTS]
    headers = ["村（社区）", "案件数", *STATUSES, "逾期", "临期",
               *rates, "错误", "填报日期", "收到时间", "采用文件"]
    ws = _write_table(wb, st, book, SHEET_SUMMARY, headers, rows, widths=SUMMARY_WIDTHS,
                      formats={r: st.pct for r in rates})
    n = len(rows)
    total_row = n + 2
    ws.write_string(total_row, 0, "合计", st.total)
    for c, h in enumerate(headers[1:], start=1):
        if h in rates:
            grp = CHECKLISTS[rates.index(h)]
            r = _ratio(list(book.cases[f"{grp.key}_done"])) if len(book.cases) else None
            if r is not None:
                ws.write_number(total_row, c, r, st.total_pct)
        elif h not in ("填报日期", "收到时间", "采用文件"):
            ws.write_number(total_row, c, sum(int(x.get(h) or 0) for x in rows), st.total)
    if n:
        _summary_chart(wb, ws, headers, n, total_row + 2, rows)


CHART_VILLAGES = 30     # more bars than this print unreadably on one page width


def _summary_chart(wb, ws, headers: Sequence[str], n: int, at_row: int, rows: Sequence[dict]) -> None:
    """Cases and alerts per village; with many villages, the CHART_VILLAGES with the most
    overdue cases (their numbers copied to hidden columns beyond the table)."""
    series = ("案件数", "逾期", "临期", STRUCK_OFF)
    title, first, cols = "各村（社区）积案与预警", 2, {h: headers.index(h) for h in series}
    cat_col = 0
    if n > CHART_VILLAGES:
        top = sorted(rows, key=lambda r: (-(r.get("逾期") or 0), -(r.get("案件数") or 0)))[:CHART_VILLAGES]
        cat_col, first, n = len(headers) + 1, 2, len(top)
        cols = {h: cat_col + 1 + i for i, h in enumerate(series)}
        for r, row in enumerate(top, start=first):
            ws.write_string(r, cat_col, str(row["村（社区）"]))
            for h, c in cols.items():
                ws.write_number(r, c, int(row.get(h) or 0))
        for h, c in cols.items():
            ws.write_string(1, c, h)
        ws.set_column(cat_col, cat_col + len(series), None, None, {"hidden": True})
        title = f"逾期最多的 {CHART_VILLAGES} 个村（社区）：积案与预警"
    chart = wb.add_chart({"type": "column"})
    for h, colour in zip(series, ("#4472C4", "#C00000", "#FFC000", "#70AD47")):
        chart.add_series({"name": [SHEET_SUMMARY, 1, cols[h]],
                          "categories": [SHEET_SUMMARY, first, cat_col, first + n - 1, cat_col],
                          "values": [SHEET_SUMMARY, first, cols[h], first + n - 1, cols[h]],
                          "fill": {"color": colour}})
    chart.set_title({"name": title})
    chart.set_y_axis({"name": "件数", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.show_hidden_data()
    chart.set_size({"width": max(720, min(960, 40 * n)), "height": 360})
    ws.insert_chart(at_row, 0, chart)


ALERT_COLUMNS = ("预警", "剩余工作日", "办结期限", "村（社区）", "案件编号", "信访人", "信访事项",
                 "包案领导", "责任单位", "办理状态", "化解进展", "来源文件", "行号")
_ALERT_KEYS = {"预警": "alert", "剩余工作日": "workdays_left", "办结期限": "deadline",
               "村（社区）": "village", "案件编号": "case_id", "信访人": "petitioner",
               "信访事项": "matter", "包案领导": "leader", "责任单位": "responsible_unit",
               "办理状态": "status", "化解进展": "progress", "来源文件": "source_file", "行号": "row"}


def _write_alerts(wb, st: _Styles, book: MasterBook) -> Rows:
    """As ``_write_table`` would write the alert rows; the rows are streamed."""
    recs = alert_rows(book.cases)
    _table_sheet(wb, st, book, SHEET_ALERTS, ALERT_COLUMNS, len(recs), widths=ALERT_WIDTHS)
    formats = {"剩余工作日": st.int}
    alert = {a: _xf(f) for a, f in st.alert.items()}
    columns, wrapped = [], []
    for c, h in enumerate(ALERT_COLUMNS):
        fmt = _xf(formats.get(h, st.top))
        values = [r.get(_ALERT_KEYS[h]) for r in recs]
        text = _xf(st.wrap) if h in ALERT_WIDTHS else fmt
        columns.append(Column(c, values, text=text, number=fmt, date=_xf(formats.get(h) or st.date),
                              empty=True, by_text=alert if h == "预警" else None))
        if h in ALERT_WIDTHS:
            wrapped.append((values, ALERT_WIDTHS[h]))
    return Rows(2, len(recs), columns, header=(0, len(ALERT_COLUMNS) - 1),
                heights=row_heights(wrapped, len(recs)))


def _write_issues(wb, st: _Styles, book: MasterBook) -> None:
    write_issue_sheet(wb, SHEET_ISSUES, book.issues, title=f"{book.title}·{SHEET_ISSUES}")


def render_master(path: Path, book: MasterBook) -> Path:
    """Write every sheet of the master to ``path`` (no publishing)."""
    import xlsxwriter

    package = io.BytesIO()          # everything but the big sheets' rows: small
    wb = xlsxwriter.Workbook(package, {"strings_to_formulas": False, "strings_to_urls": False,
                                       "strings_to_numbers": False, "in_memory": True,
                                       "default_date_format": "yyyy-mm-dd"})
    wb.set_properties({"title": book.title, "company": book.township,
                       "comments": "由台账工具生成；乡级列（橙色表头）可直接填写，重新汇总时保留。"})
    st = _Styles(wb)
    streamed = {SHEET_CASES: _write_cases(wb, st, book)}
    _write_summary(wb, st, book)
    streamed[SHEET_ALERTS] = _write_alerts(wb, st, book)
    _write_issues(wb, st, book)
    _write_table(wb, st, book, SHEET_REPORTS, REPORT_COLUMNS, book.reports, widths=REPORT_WIDTHS)
    _write_table(wb, st, book, SHEET_CHANGES, (*CHANGE_COLUMNS, *book.township_columns),
                 book.changes, widths=CHANGE_WIDTHS)
    if book.trend is not None:
        write_trend_sheet(wb, book.title, book.trend)
    if book.brief is not None:
        write_brief_sheet(wb, book.brief)
    wb.close()
    package.seek(0)
    with open(path, "wb") as out:   # the caller's temporary file (temp_beside)
        splice(package, out, streamed)
    return Path(path)


# --- publishing --------------------------------------------------------------------
def write_master(out: Path, book: MasterBook, *, keep: int = 30) -> Published:
    """Render and publish atomically; keep the previous versions; a dated copy when open."""
    out = Path(out)
    remove_stale_temps(out)               # a run killed earlier (we hold the run lock)
    with temp_beside(out) as tmp:
        render_master(tmp, book)
        return publish(tmp, out, keep=keep)


def publish(tmp: Path, out: Path, *, keep: int = 30, now: datetime | None = None) -> Published:
    """Make the rendered ``tmp`` the master ``out`` (fsynced, ``os.replace``), the previous
    master first copied to 历史版本; when ``out`` is open, a dated copy beside it instead."""
    if out.exists() and workbook_in_use(out):
        return _dated_copy(tmp, out, now)
    backup = None
    if out.exists():
        history = out.parent / HISTORY_DIR
        made = datetime.fromtimestamp(out.stat().st_mtime)     # named by when it was made
        backup = backup_copy(out, history, when=made, reuse_identical=False)
        _prune(history, out, keep)
    try:
        commit_temp(tmp, out)
    except PermissionError:   # Windows: the file is open somewhere without a lock file
        return _dated_copy(tmp, out, now)
    return Published(out, backup=backup)


def _dated_copy(tmp: Path, out: Path, now: datetime | None) -> Published:
    copy = backup_name(out.parent, out.stem, out.suffix, now)
    commit_temp(tmp, copy)
    note = (f"总台账“{out.name}”正在被 Excel/WPS 打开，未覆盖；新版已另存为“{copy.name}”（同一文件夹）。"
            "关闭原文件后重新汇总即可更新原文件。")
    return Published(copy, in_use=True, note=note)


def _prune(history: Path, out: Path, keep: int) -> None:
    old = sorted(p for p in history.iterdir() if is_backup_of(p.name, out.stem, out.suffix))
    for p in old[:max(0, len(old) - keep)]:
        p.unlink(missing_ok=True)

"""Write results back into a village's own workbook, touching nothing else.

``fill_ledger`` (``taizhang fill``, after ``toolkit.pipeline.check`` read and checked the
ledger) writes every case's deadline, alert and checklists into the computed columns the
sheet already has, appending the missing ones after the last header column
under a grey, marked header. ``annotate_file`` (``taizhang validate
--annotate``) writes a copy whose problem cells are coloured, with a 校验结果
sheet listing every issue. Both go through :mod:`toolkit.outputs.writeback`, which
edits only the ledger sheet's XML (and appends styles) and copies every other
part of the package as it was.

A legacy .xls (or .ods) cannot be edited that way: ``fill`` refuses it and asks
the clerk to save it as .xlsx; ``annotate`` writes a new .xlsx report copy
holding the values of every sheet (formatting is not carried over), coloured
and with the 校验结果 sheet, since the copy is for reading, not for further use.
"""
from __future__ import annotations

import logging
import math
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from python_calamine import CalamineWorkbook

from toolkit.core import fields as F
from toolkit.core.cells import cell_ref, cells_in
from toolkit.core.issues import ERROR, Code, Issue, make_issue
from toolkit.core.ledger import Ledger
from toolkit.outputs.pagefit import row_height
from toolkit.outputs.report import SEVERITY_WORD, issue_rows
from toolkit.outputs.writeback import (KEEP as KEEP_VALUE, PATCHABLE_SUFFIXES, CellEdit, NewSheet,
                                       WritebackError, check_patchable, in_use_message, patch_workbook,
                                       sheet_names, used_column_bound, workbook_in_use)

log = logging.getLogger("taizhang")

# --- the clerk-facing words and colours of this module, in one place --------------------
ALERT_COLOURS = {           # alert -> (fill, font colour)
    F.ALERT_OVERDUE: ("FFC7CE", "9C0006"),     # red
    F.ALERT_DUE_SOON: ("FFEB9C", "9C5700"),    # amber
    F.ALERT_CLOSED: ("C6EFCE", "006100"),      # green
    F.ALERT_SUSPENDED: ("D9D9D9", "595959"),   # grey
}
HEADER_FILL = "D9D9D9"      # appended computed headers: grey, bold
ERROR_FILL = "FF9999"       # annotate: error cells red
WARNING_FILL = "FFFF66"     # annotate: warning cells yellow
ISSUE_SHEET = "校验结果"
ANNOTATED_SUFFIX = "_校验结果"
ISSUE_SHEET_COLUMNS = ("单元格", "级别", "问题", "怎么改", "案件编号", "列")
ISSUE_SHEET_WIDTHS = (12, 6, 50, 40, 14, 12)
COMPUTED_WIDTHS = {"deadline": 12, "workdays_left": 10, "alert": 8, "missing_items": 30,
                   "can_close": 26, "in_scope": 12, "phase": 10}
DEFAULT_WIDTH = 10


@dataclass
class FillResult:
    path: Path
    ok: bool
    message: str                       # the Chinese line `taizhang fill` prints
    cases: int = 0
    changed: bool = False
    appended: list[str] = field(default_factory=list)      # headers of the columns added
    alerts: dict[str, int] = field(default_factory=dict)
    backup: Path | None = None
    issues: list[Issue] = field(default_factory=list)      # deadline warnings, at their cells
    changed_parts: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- fill
def refusal(path: Path) -> str | None:
    """Why ``path`` cannot be written back (not .xlsx/.xlsm, open in Excel), or None."""
    try:
        check_patchable(path)
    except WritebackError as e:
        return str(e)
    if workbook_in_use(path):
        return in_use_message(path)
    return None


def refused(path: Path, why: str) -> FillResult:
    return FillResult(path, False, f"{path.name}：未写入。{why}")


def fill_ledger(ledger: Ledger, computed) -> FillResult:
    """Write ``computed`` (the checked ledger's computed columns) into its own workbook in
    place (backup first, atomic replace)."""
    path = Path(ledger.path)
    if not ledger.readable or ledger.sheet is None or not ledger.header_rows:
        return refused(path, _why_unreadable(ledger))
    if ledger.n_cases == 0:
        return FillResult(path, True, f"{path.name}：工作表“{ledger.sheet}”没有案件，未改动文件。")
    issues = [i for i in ledger.issues if i.code == Code.DEADLINE_UNAVAILABLE]
    try:
        plan = plan_fill(ledger, computed)
        patched = patch_workbook(path, path, {ledger.sheet: plan.edits},
                                 column_widths={ledger.sheet: plan.widths},
                                 merges={ledger.sheet: plan.merges})
    except WritebackError as e:
        return refused(path, str(e))
    except (OSError, zipfile.BadZipFile) as e:
        return FillResult(path, False, f"{path.name}：未写入，写文件时出错（{e}），原文件未改动。"
                                       "请确认文件夹可写、磁盘有空间后重试。")
    except Exception as e:  # one file's surprise must not stop the others, nor show a traceback
        log.exception("fill failed for %s", path)
        return FillResult(path, False, f"{path.name}：未写入，出现意外错误（{e}），原文件未改动。"
                                       "请把本条信息和该文件发给技术支持。")
    alerts = Counter(v for v in computed["alert"].tolist() if v)
    result = FillResult(path, True, "", ledger.n_cases, patched.changed, plan.appended,
                        dict(alerts), patched.backup, issues, patched.changed_parts)
    result.message = _fill_message(result)
    return result


def _why_unreadable(ledger: Ledger) -> str:
    errors = [i for i in ledger.issues if i.severity == ERROR]
    if ledger.readable:                 # read, but no ledger header anywhere: the reader said so
        errors = [i for i in errors if i.code == Code.NOT_A_LEDGER] or [make_issue(
            Code.NOT_A_LEDGER, file=Path(ledger.path).name, sheets=f"“{ledger.sheet or ''}”")]
    why = errors[0] if errors else make_issue(Code.UNREADABLE, file=Path(ledger.path).name, reason="原因不明")
    return f"{why.message}{why.action}"


def _fill_message(r: FillResult) -> str:
    name = r.path.name
    if not r.changed:
        return f"{name}：{r.cases} 个案件的期限和预警已是最新，未改动文件。"
    parts = [f"{name}：已写入 {r.cases} 个案件的期限和预警"]
    counts = [f"{a} {r.alerts[a]} 件" for a in (F.ALERT_OVERDUE, F.ALERT_DUE_SOON) if r.alerts.get(a)]
    if counts:
        parts.append(f"（{'，'.join(counts)}）")
    if r.appended:
        parts.append(f"；新增 {len(r.appended)} 列：{'、'.join(r.appended)}")
    if r.issues:
        parts.append(f"；{len(r.issues)} 个案件缺少节假日安排，办结期限暂空")
    if r.backup:
        parts.append(f"。原文件已备份到 {Path(r.backup.parent.name) / r.backup.name}")
    return "".join(parts) + "。"


@dataclass
class FillPlan:
    edits: dict[str, CellEdit]
    columns: dict[str, int]            # computed key -> 0-based column
    appended: list[str]
    widths: dict[int, float]
    merges: list[str]


def plan_fill(ledger: Ledger, computed) -> FillPlan:
    """The cell edits that put ``computed`` (compute_cases' frame) into the ledger sheet."""
    rows = [int(r) for r in ledger.cases.index]
    used = used_column_bound(ledger.path, ledger.sheet, set(rows) | set(ledger.header_rows))
    columns, missing = computed_layout(ledger, used)
    edits: dict[str, CellEdit] = {}
    merges: list[str] = []
    if missing:
        _header_edits(ledger, columns, missing, edits, merges)
    appended = set(missing)
    last = ledger.last_column
    for key in (c.key for c in F.COMPUTED):
        col = columns[key]
        for row, value in zip(rows, computed[key].tolist()):
            edits[cell_ref(col, row)] = _value_edit(key, plain_value(value), cell_ref(last, row)
                                                    if key in appended else None)
    widths = {columns[k]: COMPUTED_WIDTHS.get(k, DEFAULT_WIDTH) for k in missing}
    return FillPlan(edits, columns, [F.COMPUTED_BY_KEY[k].header for k in missing], widths, merges)


def computed_layout(ledger: Ledger, last_used: int) -> tuple[dict[str, int], list[str]]:
    """(computed key -> 0-based column, keys to append): the sheet's own computed
    columns are reused; the missing ones follow the last used column (``last_used``
    is 0-based, -1 for an empty sheet), so nothing a person typed is covered."""
    columns = dict(ledger.computed_columns)
    missing = [c.key for c in F.COMPUTED if c.key not in columns]
    first_free = max(ledger.last_column, last_used) + 1
    for n, key in enumerate(missing):
        columns[key] = first_free + n
    return columns, missing


def _header_edits(ledger: Ledger, columns, missing, edits, merges) -> None:
    head = ledger.header_rows[-1]
    style = cell_ref(ledger.last_column, head)
    for key in missing:
        edits[cell_ref(columns[key], head)] = CellEdit(F.COMPUTED_BY_KEY[key].header, fill=HEADER_FILL,
                                                       bold=True, style_from=style)
    if len(ledger.header_rows) >= 2:
        upper = ledger.header_rows[-2]
        first, last = columns[missing[0]], columns[missing[-1]]
        edits[cell_ref(first, upper)] = CellEdit(F.COMPUTED_GROUP_HEADER, fill=HEADER_FILL, bold=True,
                                                 style_from=cell_ref(ledger.last_column, upper))
        if last > first:
            for c in range(first + 1, last + 1):   # borders of the merged group cell
                edits[cell_ref(c, upper)] = CellEdit(KEEP_VALUE, fill=HEADER_FILL,
                                                     style_from=cell_ref(ledger.last_column, upper))
            merges.append(f"{cell_ref(first, upper)}:{cell_ref(last, upper)}")


def _value_edit(key: str, value, style_from: str | None) -> CellEdit:
    fmt = None
    if key == "deadline":
        fmt = "yyyy-mm-dd"
    elif style_from is not None:
        fmt = "General"          # the borrowed neighbour's format may be a date
    if key == "alert":
        fill, font = ALERT_COLOURS.get(value or "", ("", ""))
        return CellEdit(value, fill=fill, font_color=font, number_format=fmt, style_from=style_from)
    return CellEdit(value, number_format=fmt, style_from=style_from)


def plain_value(value):
    """pandas/numpy scalars and missing markers -> plain Python values or None."""
    if value is None:
        return None
    try:
        import pandas as pd
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value if value != "" else None


# --------------------------------------------------------------------------- annotate
def annotate_file(ledger: Ledger, out_dir: Path) -> Path:
    """A copy of the ledger's workbook with problem cells coloured (errors red, warnings
    yellow) and a 校验结果 sheet listing every issue; returns its path.

    .xlsx/.xlsm: the original with only the ledger sheet's cell styles, styles.xml,
    and the new sheet's parts changed. .xls/.ods or an unreadable file: a new .xlsx
    holding the values of every sheet (or only the 校验结果 sheet).
    """
    src = Path(ledger.path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    patchable = src.suffix.lower() in PATCHABLE_SUFFIXES and zipfile.is_zipfile(src)
    suffix = src.suffix if patchable else ".xlsx"
    out = out_dir / f"{src.stem}{ANNOTATED_SUFFIX}{suffix}"
    sheet = issue_sheet(ledger)
    if patchable and ledger.readable:
        patch_workbook(src, out, _issue_cell_edits(ledger), new_sheets=[sheet],
                       print_rows=_filled_rows(ledger), notes=_issue_notes(ledger))
        return out
    # the values copy is only a step: made in the system's temp folder, so a run killed on the way
    # leaves nothing in the clerk's folder
    with tempfile.TemporaryDirectory(prefix="taizhang-annotate-") as scratch:
        base = Path(scratch) / f"{src.stem}-values.xlsx"
        names = _values_copy(src, base, ledger) if ledger.readable else _empty_copy(base)
        edits = _issue_cell_edits(ledger)
        patch_workbook(base, out, {s: e for s, e in edits.items() if s in names}, new_sheets=[sheet],
                       notes={s: n for s, n in _issue_notes(ledger).items() if s in names})
    return out


def _issue_notes(ledger: Ledger) -> dict[str, dict[str, str]]:
    """sheet -> cell -> the note a clerk sees on a coloured cell: each problem, what to do."""
    notes: dict[str, dict[str, list[str]]] = {}
    for issue in ledger.issues:
        sheet = issue.sheet or ledger.sheet
        cells = cells_in(issue.cell or "", 1)
        if sheet and cells:
            text = f"【{SEVERITY_WORD[issue.severity]}】{issue.message}\n怎么改：{issue.action}"
            lines = notes.setdefault(sheet, {}).setdefault(cells[0], [])
            if text not in lines:
                lines.append(text)
    return {s: {ref: "\n".join(t) for ref, t in cells.items()} for s, cells in notes.items()}


def _filled_rows(ledger: Ledger) -> dict[str, int]:
    """The ledger sheet prints down to its last case (a template's blank rows are not printed)."""
    if not ledger.sheet:
        return {}
    rows = ledger.case_rows() + list(ledger.header_rows or [])
    return {ledger.sheet: max(rows)} if rows else {}


def _issue_cell_edits(ledger: Ledger) -> dict[str, dict[str, CellEdit]]:
    """sheet -> cell -> colour; an error wins over a warning on the same cell."""
    worst: dict[tuple[str, str], str] = {}
    for issue in ledger.issues:
        sheet = issue.sheet or ledger.sheet
        if not sheet or not issue.cell:
            continue
        for ref in cells_in(issue.cell):
            key = (sheet, ref)
            if worst.get(key) != ERROR:
                worst[key] = issue.severity
    edits: dict[str, dict[str, CellEdit]] = {}
    for (sheet, ref), severity in worst.items():
        fill = ERROR_FILL if severity == ERROR else WARNING_FILL
        edits.setdefault(sheet, {})[ref] = CellEdit(fill=fill)
    return _only_existing_sheets(ledger, edits)


def _only_existing_sheets(ledger: Ledger, edits):
    if not edits or not ledger.readable:
        return edits
    try:
        names = set(sheet_names(ledger.path))
    except WritebackError:
        return edits
    return {s: e for s, e in edits.items() if s in names}


def issue_sheet(ledger: Ledger) -> NewSheet:
    """The 校验结果 sheet: a summary line, then one row per issue (file-level first)."""

    rows_in = issue_rows([ledger])
    rows_in.sort(key=lambda r: (r["单元格"] != "", r["级别"] != SEVERITY_WORD[ERROR], r["行"] or 0))
    summary = (f"文件“{Path(ledger.path).name}”校验结果：错误 {ledger.errors} 个，提醒 "
               f"{ledger.warnings} 个。红色单元格是错误，黄色是提醒；"
               f"点“单元格”可跳到该处。")
    rows: list[list[object]] = [[summary], list(ISSUE_SHEET_COLUMNS)]
    links: dict[str, str] = {}
    for n, r in enumerate(rows_in, start=3):
        sheet = r["工作表"] or ledger.sheet or ""
        where = r["单元格"] if not sheet or sheet == ledger.sheet else f"{sheet}!{r['单元格']}"
        fill = ERROR_FILL if r["级别"] == SEVERITY_WORD[ERROR] else WARNING_FILL
        rows.append([where if r["单元格"] else "（整个文件）", CellEdit(r["级别"], fill=fill),
                     r["问题"], r["怎么改"], r["案件编号"], r["列"]])
        if r["单元格"] and sheet:
            links[f"A{n}"] = "'" + sheet.replace("'", "''") + "'!" + r["单元格"]
    if not rows_in:
        rows.append(["", "", "未发现问题。"])
    return NewSheet(ISSUE_SHEET, rows, column_widths=ISSUE_SHEET_WIDTHS, header_row=1,
                    freeze_rows=2, wrap_columns=tuple(range(len(ISSUE_SHEET_COLUMNS))), links=links,
                    row_heights=_issue_row_heights(rows), merges=(f"A1:{cell_ref(len(ISSUE_SHEET_COLUMNS) - 1, 1)}",))


def _issue_row_heights(rows: list[list[object]]) -> dict[int, float]:
    """Each row of 校验结果 as tall as its longest text (the summary spans the whole width),
    so the sheet prints whole: LibreOffice and Excel do not grow a row written by a program."""
    heights = {0: row_height([(rows[0][0], sum(ISSUE_SHEET_WIDTHS))], least=30)}
    for r, row in enumerate(rows[1:], start=1):
        texts = [(getattr(v, "value", v), w) for v, w in zip(row, ISSUE_SHEET_WIDTHS)]
        heights[r] = row_height(texts)
    return heights


# --------------------------------------------------------------------- the open sheet (buttons)
def cell_marks(ledger: Ledger) -> dict[str, str]:
    """A1 cell of the ledger sheet -> "#RRGGBB": red where a cell has an error, yellow where it
    has only warnings (what 校验本表 paints in the sheet the clerk has open)."""
    worst: dict[str, str] = {}
    for issue in ledger.issues:
        if issue.cell and issue.sheet in (None, ledger.sheet):
            for ref in cells_in(issue.cell):
                if worst.get(ref) != ERROR:
                    worst[ref] = issue.severity
    return {ref: "#" + (ERROR_FILL if sev == ERROR else WARNING_FILL) for ref, sev in worst.items()}


@dataclass
class SheetValues:
    """What 计算期限 writes into the sheet the clerk has open."""
    columns: dict[str, int]             # computed key -> 0-based column
    appended: list[str]                 # keys whose column is new (their headers to write)
    headers: dict[str, str]             # key -> header text
    group_header: str                   # over the appended columns, in a two-row header
    rows: list[int]                     # the cases' Excel rows
    values: dict[str, list]             # key -> the values to write, in ``rows`` order
    header_fill: str                    # "#RRGGBB"
    alert_fills: dict[str, list[str]]   # "#RRGGBB" -> the 预警 cells to paint


def sheet_values(ledger: Ledger, computed, last_used: int) -> SheetValues:
    """``computed`` (the checked ledger's computed columns) laid out for the open sheet, whose
    last used column is ``last_used`` (0-based)."""
    columns, missing = computed_layout(ledger, last_used)
    rows = [int(r) for r in ledger.cases.index]
    values = {key: [plain_value(v) for v in computed[key].tolist()] for key in columns}
    alert_col = columns["alert"]
    fills: dict[str, list[str]] = {}
    for alert, (fill, _font) in ALERT_COLOURS.items():
        cells = [cell_ref(alert_col, r) for r, v in zip(rows, values["alert"]) if v == alert]
        if cells:
            fills["#" + fill] = cells
    return SheetValues(columns, list(missing), {k: F.COMPUTED_BY_KEY[k].header for k in columns},
                       F.COMPUTED_GROUP_HEADER, rows, values, "#" + HEADER_FILL, fills)


def _values_copy(src: Path, dst: Path, ledger: Ledger) -> set[str]:
    """A plain .xlsx with the values of every sheet of ``src`` (read with calamine:
    the file already passed pre-flight and a sandboxed read)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(dst))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    with CalamineWorkbook.from_path(str(src)) as book:
        names = [n for n in book.sheet_names if n != ISSUE_SHEET]
        for name in names:
            ws = wb.add_worksheet(name)
            for r, row in enumerate(book.get_sheet_by_name(name).to_python(skip_empty_area=False)):
                for c, v in enumerate(row):
                    _write_plain(ws, r, c, v, date_fmt)
    if not names:
        wb.add_worksheet(ISSUE_SHEET)
    wb.close()
    return set(names)


def _write_plain(ws, r: int, c: int, v, date_fmt) -> None:
    if v is None or v == "":
        return
    if isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, (int, float)):
        ws.write_number(r, c, v)
    elif isinstance(v, (date, datetime)):
        ws.write_datetime(r, c, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day),
                          date_fmt)
    else:
        ws.write_string(r, c, str(v))   # text stays text, even "=..."


def _empty_copy(dst: Path) -> set[str]:
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(dst))
    wb.add_worksheet(ISSUE_SHEET)
    wb.close()
    return set()


__all__ = ["ALERT_COLOURS", "FillPlan", "FillResult", "SheetValues", "annotate_file", "cell_marks", "fill_ledger",
           "issue_sheet", "plan_fill", "refusal", "refused", "sheet_values", "workbook_in_use"]

"""Excel button handlers: 校验本表, 计算期限, 一键汇总 (and 检查安装).

Each handler takes no argument when Excel calls it through xlwings' RunPython
(``xw.Book.caller()``); the server and the tests pass the book instead. The same
code serves both xlwings engines:

* desktop (RunPython on a PC with Python): the caller is the workbench and the
  target is ``app.books.active``, the workbook in front of the clerk;
* remote (RunRemotePython, ``taizhang serve``): the caller is the JSON book the
  VBA client sent, which *is* the active workbook; every change becomes an action
  the client applies. Only actions that xlwings' VBA client implements are used
  (``REMOTE_ACTIONS``): setValues, setRangeColor, setNumberFormat, addSheet,
  sheetClear, setAutofit, addHyperlink, activateSheet, runMacro, alert.

Text that Excel could read as something else is written with a leading
apostrophe: Excel's cell parser turns "6/8" (a checklist count) into 8 June and an
18-digit text into a rounded number, and the VBA client's setValues turns any text
of three dash-separated integers ("2010-07-01", "2010-7-001") into a date before
Excel even sees it. An apostrophe-prefixed text fails that parse and Excel stores
the text without the apostrophe (as a quote-prefixed cell). Real dates are written
as dates (the client converts ISO strings back to dates) with a number format.

Reading reuses toolkit.read.workbook's sheet parser on the grid of values (via
``ledger_from_values``), validation toolkit.validation.rules, computing toolkit.compute.cases,
the layout and the 校验结果 sheet toolkit.outputs.fill, consolidation
toolkit.pipeline.consolidate. Heavy modules are imported inside the handlers that need
them, and no button imports pandera: one sheet is checked by the plain runner of the same
schema (schemas/ledger.py), which gives the same issues.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from toolkit.core import fields as F
from toolkit.core.cells import cell_ref, cells_in, column_letter, parse_ref
from toolkit.core.errors import TaizhangError
from toolkit.core.logs import clerk_message

TITLE = "台账工具"
CONTROL_SHEET = "工作台"
RESULT_SHEET = "校验结果"          # = toolkit.outputs.fill.ISSUE_SHEET (checked by the tests)
CONF_SHEET = "xlwings.conf"
OWN_SHEETS = (CONTROL_SHEET, RESULT_SHEET, CONF_SHEET, "_xlwings.conf", F.TEMPLATE_MARKER_SHEET)
CLEAR_FILL_MACRO = "TZ_ClearFill"  # in toolkit/shells/vba/Taizhang.bas
RECORD_COLUMN = 8                  # 0-based: the colour record starts in column I of 校验结果
RECORD_TITLE = "标色记录（工具内部使用：下次校验时据此恢复单元格原来的底色，请勿修改）"
RECORD_HEADERS = ("工作表", "单元格", "原底色", "标色")
NO_FILL, UNKNOWN_FILL = "无", "未知"
MAX_ROWS, MAX_COLUMNS = 20_000, 600  # a sheet's used range beyond this is formatting, not cases
ALERT_LIMIT = 900                  # characters: a VBA MsgBox shows about 1024

# What xlwings' VBA client (toolkit/shells/vba/xlwings/Remote.bas) can apply; the tests
# check every action we emit against this and against Remote.bas itself.
REMOTE_ACTIONS = frozenset({"setValues", "setRangeColor", "setNumberFormat", "addSheet", "sheetClear",
                            "setAutofit", "addHyperlink", "activateSheet", "runMacro", "alert"})


class ButtonError(TaizhangError):
    """A problem the clerk can fix; the message is Chinese and says what to do."""


# --- the handlers ------------------------------------------------------------------
def validate_active_sheet(book=None) -> None:
    """校验本表: colour the problem cells and write the 校验结果 sheet."""
    _run(book, _validate)


def fill_active_sheet(book=None) -> None:
    """计算期限: write the computed columns of the sheet in front of the clerk."""
    _run(book, _fill)


def consolidate_all(book=None) -> None:
    """一键汇总: build the township master from the configured inbox."""
    _run(book, _consolidate)


def check_setup(book=None) -> None:
    """检查安装: show where Python, the toolkit and the configuration are."""
    _run(book, _check_setup)


def _run(book, job) -> None:
    if book is None:
        import xlwings as xw
        book = xw.Book.caller()
    try:
        job(book)
    except Exception as e:  # never a traceback to a clerk
        text, _ = clerk_message(e, _logs_folder(book), "buttons.log", what_to_send="当前工作簿")
        _alert(book, text, critical=True, consolidating=job is _consolidate)


def _alert(book, text: str, *, critical: bool = False, consolidating: bool = False) -> None:
    """A message box; on the desktop engine it starts with the demo notice, as the CLI's
    output does (the server puts its own notice first in every remote reply)."""
    notice = "" if _is_remote(book) else _demo_notice(book, consolidating)
    if notice:
        text = f"{notice}\n\n{text}"
    if len(text) > ALERT_LIMIT:
        text = text[:ALERT_LIMIT - 20] + "……（其余略）"
    book.app.alert(text, title=TITLE, buttons="ok", mode="critical" if critical else "info")


def _demo_notice(book, consolidating: bool) -> str:
    try:
        from toolkit import api
        return api.demo_notice(_config(book), consolidating=consolidating)
    except Exception:  # a broken config must not hide the message itself
        return ""


def _logs_folder(book) -> Path | None:
    try:
        return _config(book).logs
    except Exception:  # a broken config must not hide the first error
        return None


# --- configuration: the public API's one rule, told where the workbench is -----------
def _config(book):
    """taizhang.toml by the one rule of ``toolkit.api.load_config``; the buttons add the
    workbench's folder and the one above (RunPython starts Python in the interpreter's
    folder, so the current folder says nothing about where the clerk keeps it)."""
    from toolkit import api
    return api.load_config(near=_book_folders(book))


def _book_folders(book) -> list[Path]:
    try:
        full = Path(book.fullname)
    except Exception:
        return []
    if not full.is_absolute():          # a remote book has a name only
        return []
    return [full.parent, full.parent.parent]


def _context(book):
    """Config, settings and as-of for a button press, resolved by the public API."""
    from toolkit import api
    return api.resolve(config=_config(book))


# --- the sheet in front of the clerk -----------------------------------------------
@dataclass
class Target:
    book: object          # xlwings Book holding the ledger sheet
    sheet: object         # xlwings Sheet
    grid: list[list]      # values from A1, calamine conventions ("" for empty)


def _target(caller) -> Target:
    book = _active_book(caller)
    active = book.sheets.active
    candidates = [active] if active.name not in OWN_SHEETS else []
    candidates += [s for s in book.sheets if s.name not in OWN_SHEETS and s.name != active.name]
    for sheet in candidates:
        grid = read_grid(sheet)
        if any(v != "" for row in grid for v in row):
            return Target(book, sheet, grid)
        if sheet is active:
            raise ButtonError(f"当前工作表“{active.name}”是空的。请切换到台账工作表再按按钮。")
    raise ButtonError(
        "这个工作簿里还没有台账工作表。请把村里报来的台账工作表复制进来（右键工作表标签→移动或复制→"
        "选本工作簿，勾选“建立副本”）再按按钮；或者打开台账文件、切换到台账工作表后按 Alt+F8，"
        "选 TZ_Validate 或 TZ_Fill 运行。")


def _active_book(caller):
    if _is_remote(caller):
        return caller                   # the VBA client sent the active workbook
    try:
        return caller.app.books.active or caller
    except Exception:
        return caller


def _is_remote(book) -> bool:
    return type(book.impl).__module__.endswith("_xlremote")


def read_grid(sheet) -> list[list]:
    """The sheet's values from A1 to the last used cell, as calamine returns them:
    "" for an empty cell, float/int numbers, datetime dates, str text."""
    last = sheet.used_range.last_cell
    if last.row > MAX_ROWS or last.column > MAX_COLUMNS:
        raise ButtonError(
            f"工作表“{sheet.name}”的已用区域太大（到第 {last.row} 行、第 {last.column} 列），"
            "多半是远处的空行、空列带了格式。请选中台账下方的空行（或右侧的空列）整行删除、保存后再试。")
    rows = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value or [[]]
    return [[_grid_value(v) for v in row] for row in rows]


def _grid_value(v):
    if v is None:
        return ""
    # The VBA client sends a text of >= 16 digits unquoted (VBA-JSON's "large number"):
    # it arrives as an exact int. A real number cell arrives as a float or in E notation,
    # so such an int is text, e.g. an ID number kept as text; keep it text.
    if type(v) is int and abs(v) >= 10**15:
        return str(v)
    return v


# --- reading a ledger from values -----------------------------------------------------
def ledger_from_values(book_name: str, sheet_name: str, grid: list[list],
                       marker: list[list] | None = None, settings=None):
    """A Ledger read from a grid of values by the same parser a file goes through
    (``toolkit.api.read_sheet``); ``marker``: the template's marker sheet, if any;
    ``settings``: whose 表头别名 the header is read with."""
    from toolkit import api
    return api.read_sheet(book_name, sheet_name, grid, marker, settings=settings)


def _target_ledger(target: Target, settings=None):
    marker = None
    names = [s.name for s in target.book.sheets]
    if F.TEMPLATE_MARKER_SHEET in names:
        marker = read_grid(target.book.sheets[F.TEMPLATE_MARKER_SHEET])
    ledger = ledger_from_values(target.book.name, target.sheet.name, target.grid, marker, settings)
    if not ledger.readable or not ledger.header_rows:
        raise ButtonError(f"工作表“{target.sheet.name}”不像台账：没有找到表头（要有“案件编号”"
                          "“信访人”“办理状态”等列名）。请切换到台账工作表再按按钮。")
    return ledger


# --- writing through xlwings ----------------------------------------------------------
def cell_value(v):
    """A Python value as it must be sent to Excel (see the module docstring)."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, str):
        return "'" + v if v else None
    if isinstance(v, datetime) and v.time() == datetime.min.time():
        return v.date()
    return v


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers -> [(first, last)] of consecutive runs."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def write_block(sheet, row: int, col: int, rows: list[list]) -> None:
    """Write a rectangle of values at 1-based (row, col), one action."""
    if rows and rows[0]:
        sheet.range((row, col)).value = [[cell_value(v) for v in r] for r in rows]


def _hex(color) -> str | None:
    if color is None:
        return None
    if isinstance(color, str):
        return color.upper() if color.startswith("#") else "#" + color.upper()
    r, g, b = color
    return f"#{r:02X}{g:02X}{b:02X}"


def _read_fill(rng) -> str:
    """The cell's fill as recorded: "#RRGGBB", 无, or 未知 (the remote engine cannot read it)."""
    try:
        return _hex(rng.color) or NO_FILL
    except NotImplementedError:
        return UNKNOWN_FILL


def _paint(sheet, cells: list[str], color: str) -> None:
    """Fill ``cells`` (A1 refs of one sheet) with ``color``; vertical runs become one action."""
    by_col: dict[str, list[int]] = {}
    for ref in cells:
        col, row = parse_ref(ref)
        by_col.setdefault(column_letter(col), []).append(row)
    for letters, rows in by_col.items():
        for first, last in _runs(rows):
            sheet.range(f"{letters}{first}:{letters}{last}" if last > first
                        else f"{letters}{first}").color = color


# --- 校验本表 --------------------------------------------------------------------------
def _validate(caller) -> None:
    from toolkit import api

    target = _target(caller)
    ctx = _context(caller)
    ledger = _target_ledger(target, ctx.settings)
    api.validate([ledger], as_of=ctx.as_of, settings=ctx.settings, config=ctx.config)
    restored, records = _recolour(target, api.cell_marks(ledger))
    _write_result_sheet(target, ledger, records)
    target.sheet.activate()
    errors, warnings = ledger.errors, ledger.warnings
    where = f"“{target.sheet.name}”（{ledger.village or target.book.name}，{ledger.n_cases} 件案件）"
    if not errors and not warnings:
        text = f"校验完成：{where}未发现问题。"
    else:
        text = (f"校验完成：{where}发现 {errors} 个错误、{warnings} 个提醒。"
                "有错误的单元格已标红、需留意的已标黄；逐条说明见“校验结果”表。")
    if restored:
        text += f"\n上次标色、现已改好的 {restored} 个单元格已恢复原底色。"
    _alert(caller, text)


def _recolour(target: Target, colours: dict[str, str]) -> tuple[int, list[tuple]]:
    """Restore what the last run painted and is fine now; paint the new problem cells.
    Returns (cells restored, records of every cell painted now)."""
    sheet, name = target.sheet, target.sheet.name
    previous = {cell: (orig, ours) for s, cell, orig, ours in _read_records(target.book) if s == name}
    restored = 0
    for cell, (orig, ours) in previous.items():
        if cell in colours:
            continue
        if _restore_fill(target.book, sheet, cell, orig, ours):
            restored += 1
    records = []
    for cell in sorted(colours, key=_cell_key):
        if cell in previous:
            orig = previous[cell][0]        # still the clerk's fill from before our first paint
        else:
            orig = _read_fill(sheet.range(cell))
        records.append((name, cell, orig, colours[cell]))
    for color in sorted(set(colours.values())):
        _paint(sheet, [c for c, col in colours.items() if col == color], color)
    return restored, records


def _restore_fill(book, sheet, cell: str, orig: str, ours: str) -> bool:
    rng = sheet.range(cell)
    current = _read_fill(rng)
    if current not in (UNKNOWN_FILL, ours.upper()):
        return False                        # the clerk has changed it since: leave it alone
    if orig.startswith("#"):
        rng.color = orig
    else:
        clear_fill(book, sheet, cell)
    return True


def clear_fill(book, sheet, address: str) -> None:
    """Take the fill off ``address`` (values and other formatting stay). The remote
    client cannot set "no fill" (its setRangeColor needs a colour), so there the
    workbench's own VBA macro does it, called unqualified as xlwings' client calls its
    own actions."""
    if _is_remote(book):
        book.app.macro(CLEAR_FILL_MACRO)(sheet.name, address)
    else:
        sheet.range(address).color = None


def _cell_key(ref: str) -> tuple[int, int]:
    """Row first, then column: the order a clerk reads cells in."""
    col, row = parse_ref(ref)
    return row, col


def _read_records(book) -> list[tuple[str, str, str, str]]:
    names = [s.name for s in book.sheets]
    if RESULT_SHEET not in names:
        return []
    grid = read_grid(book.sheets[RESULT_SHEET])
    out = []
    for row in grid[2:]:
        cells = [str(v).strip() if v != "" else "" for v in row[RECORD_COLUMN:RECORD_COLUMN + 4]]
        if len(cells) == 4 and cells[0] and cells_in(cells[1], 1) == [cells[1]] and cells[3]:
            out.append(tuple(cells))
    return out


def _write_result_sheet(target: Target, ledger, records: list[tuple]) -> None:
    from toolkit import api

    spec = api.result_sheet(ledger)
    book = target.book
    if RESULT_SHEET in [s.name for s in book.sheets]:
        sheet = book.sheets[RESULT_SHEET]
        sheet.clear()
    else:
        sheet = book.sheets.add(RESULT_SHEET, after=book.sheets[len(book.sheets) - 1])
    values, fills = [], {}
    for r, row in enumerate(spec.rows):
        out = []
        for c, v in enumerate(row):
            if hasattr(v, "fill"):                       # a fill.CellEdit
                if v.fill:
                    fills.setdefault("#" + v.fill, []).append(cell_ref(c, r + 1))
                v = v.value
            out.append(v)
        values.append(out)
    width = max(len(r) for r in values)
    write_block(sheet, 1, 1, [r + [None] * (width - len(r)) for r in values])
    if spec.header_row is not None:
        sheet.range((spec.header_row + 1, 1), (spec.header_row + 1, width)).color = "#" + spec.header_fill
    for color, cells in fills.items():
        _paint(sheet, cells, color)
    if _is_remote(book):                # the VBA client has no row height, wrap or merge action
        sheet.range((2, 1), (len(values), width)).autofit()
    else:
        lay_out(sheet, spec, len(values))
    for ref, place in spec.links.items():
        col, row = _cell_key(ref)[1], _cell_key(ref)[0]
        shown = values[row - 1][col] if row <= len(values) and col < len(values[row - 1]) else ref
        sheet.range(ref).add_hyperlink("#" + place, str(shown), "跳到该单元格")
    record_rows = [[RECORD_TITLE], list(RECORD_HEADERS)] + [list(r) for r in records]
    write_block(sheet, 1, RECORD_COLUMN + 1, [r + [None] * (4 - len(r)) for r in record_rows])
    sheet.range((2, RECORD_COLUMN + 1), (2, RECORD_COLUMN + 4)).color = "#" + spec.header_fill


def lay_out(sheet, spec, n_rows: int) -> None:
    """The result sheet's layout from ``api.result_sheet`` (desktop Excel): column widths,
    wrapped text, the row heights that show each long text whole (on screen and on paper)
    and the merged title."""
    for c, w in enumerate(spec.column_widths):
        sheet.range((1, c + 1)).column_width = w
    for c in spec.wrap_columns:
        sheet.range((2, c + 1), (max(n_rows, 2), c + 1)).wrap_text = True
    for r, points in spec.row_heights.items():
        sheet.range((r + 1, 1)).row_height = points
    for ref in spec.merges:
        sheet.range(ref).merge()


# --- 计算期限 ----------------------------------------------------------------------------
def _fill(caller) -> None:
    from toolkit import api

    target = _target(caller)
    ctx = _context(caller)
    ledger = _target_ledger(target, ctx.settings)
    if ledger.n_cases == 0:
        raise ButtonError(f"工作表“{target.sheet.name}”有表头但没有案件行，没有可计算的内容。")
    computed, issues = api.compute(ledger, as_of=ctx.as_of, settings=ctx.settings, config=ctx.config)
    plan = api.sheet_values(ledger, computed, max((len(r) for r in target.grid), default=0) - 1)
    columns, rows, sheet = plan.columns, plan.rows, target.sheet
    if plan.appended:
        _write_headers(sheet, ledger, plan)
    by_row = dict(zip(rows, range(len(rows))))
    for first, last in _runs(rows):
        for c0, c1 in _runs(list(columns.values())):
            keys = [k for c in range(c0, c1 + 1) for k, col in columns.items() if col == c]
            block = [[plan.values[k][by_row[r]] for k in keys] for r in range(first, last + 1)]
            write_block(sheet, first, c0 + 1, block)
    deadline_col = columns["deadline"] + 1
    for first, last in _runs(rows):
        sheet.range((first, deadline_col), (last, deadline_col)).number_format = "yyyy-mm-dd"
    alert_col = columns["alert"]
    for first, last in _runs(rows):           # no fill left from an older run (正常, blank)
        clear_fill(target.book, sheet, cell_ref(alert_col, first) + (f":{cell_ref(alert_col, last)}"
                                                                  if last > first else ""))
    for colour, cells in plan.alert_fills.items():
        _paint(sheet, cells, colour)
    sheet.activate()
    alerts = plan.values["alert"]
    first_letter = column_letter(min(columns.values()))
    text = (f"计算完成：“{sheet.name}”{ledger.n_cases} 件案件的办结期限、预警和检查清单已写入"
            f"{first_letter} 列起的“{plan.group_header}”各列。"
            f"逾期 {alerts.count(F.ALERT_OVERDUE)} 件，临期 {alerts.count(F.ALERT_DUE_SOON)} 件。")
    if plan.appended:
        text += f"\n新增了 {len(plan.appended)} 列：{'、'.join(plan.headers[k] for k in plan.appended)}。"
    if issues:
        text += (f"\n{len(issues)} 个案件缺少节假日安排，办结期限暂空："
                 f"{issues[0].message}{issues[0].action}")
    _alert(caller, text)


def _write_headers(sheet, ledger, plan) -> None:
    head = ledger.header_rows[-1]
    cols = [plan.columns[k] for k in plan.appended]
    write_block(sheet, head, cols[0] + 1, [[plan.headers[k] for k in plan.appended]])
    sheet.range((head, cols[0] + 1), (head, cols[-1] + 1)).color = plan.header_fill
    if len(ledger.header_rows) >= 2:
        upper = ledger.header_rows[-2]
        write_block(sheet, upper, cols[0] + 1, [[plan.group_header]])
        sheet.range((upper, cols[0] + 1), (upper, cols[-1] + 1)).color = plan.header_fill


# --- 一键汇总 ----------------------------------------------------------------------------
def _consolidate(caller) -> None:
    from toolkit import api
    result = api.consolidate(config=_config(caller))
    _alert(caller, "汇总完成。\n" + result.summary_text(), consolidating=True)


# --- 检查安装 ----------------------------------------------------------------------------
def _check_setup(caller) -> None:
    """检查安装: the same report as `taizhang doctor` (toolkit.api.doctor), plus what only a
    button knows (which Python and xlwings run it)."""
    import xlwings as xw
    from toolkit import api

    report = api.doctor(near=_book_folders(caller))
    lines = [f"Python：{sys.executable}（{sys.version.split()[0]}）",
             f"工具包：{Path(__file__).resolve().parents[1]}", f"xlwings：{xw.__version__}",
             report.text(worst_first=True)]
    _alert(caller, "\n".join(lines), critical=bool(report.exit_code))

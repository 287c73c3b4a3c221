"""Realistic village ledgers (村级台账), each quirk and fault of real sheets one switch away.

``make_ledger`` writes cases (``factories.cases``) into a workbook the way a village
really sends it, through the one sheet writer (``factories.sheet``); ``LedgerStyle``
switches each quirk docs/domain.md lists and each fault the validator must catch, and the
returned ``SampleLedger`` says where every case, header and planted fault landed.
The demo inbox (``factories.demo``) and the benchmark inbox (``factories.bench``)
are made of these.
"""
from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Sequence

from factories.cases import (MATTER_BY_NAME, MATTER_KINDS, TOWNSHIP, make_cases, make_id_number, make_name,
                             progress_text, workday_between)
from factories.libreoffice import convert
from factories.sheet import (Column, Span, Styles, new_workbook, stamp_saved, write_instructions, write_ledger_sheet,
                             xlwings_vba_project)
from toolkit.core import fields
from toolkit.core.cells import cell_ref
from toolkit.demo import DEMO_AS_OF
from toolkit.outputs import template as tpl

EXCEL_EPOCH = date(1899, 12, 30)

# --- layouts and faults ------------------------------------------------------------
DATE_FORMS = ("date", "iso", "slash", "dot", "cn", "compact", "serial")
DATE_FORM_WEIGHTS = (8, 2, 3, 2, 3, 1, 1)
FAULTS = ("id_as_number", "impossible_date", "unknown_status", "archive_incomplete",
          "closed_without_date", "out_of_scope", "duplicate_case_id", "bad_id_check", "date_order",
          "invalid_tick")
UNKNOWN_STATUS = "基本化解"
IMPOSSIBLE_DATE = "2010年13月5日"
INVALID_TICK = "部分"


@dataclass(frozen=True)
class LedgerStyle:
    """How a village's workbook looks: each switch is one quirk of real sheets (docs/domain.md)."""
    fmt: str = "xlsx"                 # xlsx | xlsm (with a VBA project) | xls (through LibreOffice)
    template: bool = False            # the toolkit's own template (the layout switches below are ignored)
    title: bool = True                # merged title row
    reporter: str = "one_cell"        # 填报单位/填报日期 row: one_cell | two_cells | label_value | none
    instructions_first: bool = False  # a 填表说明 sheet before the ledger
    grouped: bool = True              # two header rows (group over checklist items) vs one flat row
    variants: bool = False            # header variants from the registry instead of canonical names
    messy_headers: bool = False       # line breaks, full-/half-width brackets, stray spaces
    village_column: bool = True
    checklists_last: bool = False     # checklist columns after 化解情况 instead of before
    omit: tuple[str, ...] = ()        # keys of columns this village does not keep
    blank_rows: bool = False          # blank rows inside the data
    footer: bool = False              # 填表人/审核人/注： rows after the data
    extra_sheets: bool = False        # the empty Sheet2/Sheet3 of old Excel and WPS
    dates: str = "date"               # one of DATE_FORMS, or "mixed"
    date_format: str = "yyyy-mm-dd"   # number format of real dates
    ticks: str = "check"              # check (√ / blank) | mixed (√ 是 有 1 Y ✓ / × 否 无 0 / blank)
    phone_as_number: bool = False     # phone typed as a number
    sheet_name: str = "台账"
    faults: tuple[str, ...] = ()      # names from FAULTS, each applied to one case
    report_date: date | None = None   # 填报日期; default as_of - 2 days


@dataclass(frozen=True)
class FaultSpot:
    """Where a fault was planted: the case, its Excel row and column key, the written value."""
    fault: str
    case_id: str
    row: int
    key: str
    cell: str
    value: object


@dataclass
class SampleLedger:
    path: Path
    village: str
    layout: LedgerStyle
    sheet: str
    cases: list[dict]                 # as written (faults applied; an impossible date is None)
    rows: list[int]                   # Excel row (1-based) of each case
    columns: dict[str, int]           # key -> 0-based column
    header_rows: list[int]            # 1-based
    faults: dict[str, FaultSpot] = field(default_factory=dict)
    report_date: date | None = None

    def cell(self, key: str, case_index: int) -> str:
        return cell_ref(self.columns[key], self.rows[case_index])


def render_date(d: date, form: str) -> object:
    """A date the way a clerk may have typed it."""
    return {
        "date": lambda: d,
        "iso": lambda: d.isoformat(),
        "slash": lambda: f"{d.year}/{d.month}/{d.day}",
        "dot": lambda: f"{d.year}.{d.month}.{d.day}",
        "cn": lambda: f"{d.year}年{d.month}月{d.day}日",
        "compact": lambda: int(f"{d:%Y%m%d}"),
        "serial": lambda: (d - EXCEL_EPOCH).days,
    }[form]()


def _render(key: str, value: object, layout: LedgerStyle, rng: random.Random) -> object:
    if key in fields.CHECKLIST_ITEMS:
        if layout.ticks == "mixed":
            return rng.choice(("√", "√", "√", "是", "有", 1, "Y", "✓") if value
                              else (None, None, None, "×", "否", "无", 0))
        return fields.TICK_MARK if value else None
    if value is None or value == "":
        return None
    if key in fields.DATE_KEYS:
        form = rng.choices(DATE_FORMS, DATE_FORM_WEIGHTS)[0] if layout.dates == "mixed" else layout.dates
        return render_date(value, form)
    if key == "phone" and layout.phone_as_number and str(value).isdigit():
        return int(value)
    return value


# Each fault: (case, all cases, rng) -> (column key of the cell the validator names,
# written value or _AS_CASE). Closing faults are named at the 办理状态 cell.
_AS_CASE = object()


def _fault_id_as_number(c, cases, rng):
    while c["id_number"].endswith("X"):
        c["id_number"] = make_id_number(rng)
    return "id_number", float(int(c["id_number"][:15]) * 1000)


def _fault_impossible_date(c, cases, rng):
    c["assigned_date"] = None
    return "assigned_date", IMPOSSIBLE_DATE


def _fault_unknown_status(c, cases, rng):
    c["status"], c["closed_date"] = UNKNOWN_STATUS, None
    return "status", _AS_CASE


def _close(c, rng, status):
    c["status"], c["settled"] = status, "是"
    kind = MATTER_BY_NAME.get(c.get("_kind", ""), MATTER_KINDS[0])
    c["progress"] = progress_text(rng, status, kind, c.get("responsible_unit") or "")
    if c.get("closed_date") is None and c.get("assigned_date"):
        c["closed_date"] = c["assigned_date"] + timedelta(days=35)


def _fault_archive_incomplete(c, cases, rng):
    _close(c, rng, "已销号")
    for it in fields.CHECKLIST_BY_KEY["archive"].items:
        c[it.key] = it.key != "archive_reply"     # 答复回访材料 missing
    return "status", _AS_CASE


def _fault_closed_without_date(c, cases, rng):
    _close(c, rng, "已化解")
    c["closed_date"] = None
    return "status", _AS_CASE


def _fault_out_of_scope(c, cases, rng):
    c["first_petition_date"] = workday_between(rng, date(2009, 2, 16), date(2009, 11, 30))
    return "first_petition_date", _AS_CASE


def _fault_duplicate_case_id(c, cases, rng):
    other = next(o for o in cases if o is not c)
    c["case_id"] = other["case_id"]
    return "case_id", _AS_CASE


def _fault_bad_id_check(c, cases, rng):
    good = c["id_number"][-1]
    c["id_number"] = c["id_number"][:17] + "0123456789X"[("0123456789X".index(good) + 3) % 11]
    return "id_number", _AS_CASE


def _fault_date_order(c, cases, rng):
    _close(c, rng, "已化解")
    c["closed_date"] = c["assigned_date"] - timedelta(days=15)
    return "closed_date", _AS_CASE


def _fault_invalid_tick(c, cases, rng):
    c["five_solve"] = None
    return "five_solve", INVALID_TICK


_FAULT_MAKERS = {
    "id_as_number": _fault_id_as_number, "impossible_date": _fault_impossible_date,
    "unknown_status": _fault_unknown_status, "archive_incomplete": _fault_archive_incomplete,
    "closed_without_date": _fault_closed_without_date, "out_of_scope": _fault_out_of_scope,
    "duplicate_case_id": _fault_duplicate_case_id, "bad_id_check": _fault_bad_id_check,
    "date_order": _fault_date_order, "invalid_tick": _fault_invalid_tick,
}


def _plant_faults(cases: list[dict], faults: Sequence[str], rng: random.Random
                  ) -> list[tuple[str, int, str, object]]:
    """Apply each fault to its own case (cases marked ``_keep`` are spared)."""
    unknown = [f for f in faults if f not in _FAULT_MAKERS]
    if unknown:
        raise ValueError(f"unknown fault(s) {unknown}; known: {FAULTS}")
    eligible = [i for i, c in enumerate(cases) if not c.get("_keep")]
    if not faults or not eligible:
        return []
    victims = rng.sample(eligible, k=min(len(faults), len(eligible)))
    planted = []
    for n, fault in enumerate(faults):
        i = victims[n % len(victims)]
        key, written = _FAULT_MAKERS[fault](cases[i], cases, rng)
        planted.append((fault, i, key, written))
    return planted


# --- headers ---------------------------------------------------------------------
def _names(key: str) -> tuple[str, ...]:
    if key in fields.FIELD_BY_KEY:
        names = fields.FIELD_BY_KEY[key].names
    else:
        names = fields.CHECKLIST_ITEMS[key].names
    # a variant that is also a group title (化解情况) would read as a group header
    return tuple(n for n in names if n == names[0] or not fields.is_group_header(n))


def _messy(text: str, rng: random.Random) -> str:
    """A header as clerks type it: a line break, swapped bracket widths or stray spaces."""
    roll = rng.random()
    if "（" in text or "(" in text:
        return text.translate(str.maketrans("（）()", "()（）")) if roll < 0.5 else text
    if roll < 0.35 and len(text) >= 4:
        mid = len(text) // 2
        return f"{text[:mid]}\n{text[mid:]}"
    if roll < 0.55 and len(text) <= 3:
        return "  ".join(text)
    if roll < 0.75:
        return rng.choice((" ", "　")) + text + rng.choice(("", " "))
    return text


def _plain_columns(layout: LedgerStyle, lrng: random.Random) -> list[Column]:
    """The template's columns as this village keeps them (a group only over checklist items)."""
    omit = set(layout.omit) | (set() if layout.village_column else {"village"})
    base = [c for c in tpl.template_columns(computed=False) if c.key not in omit]
    if layout.checklists_last:
        base = [c for c in base if c.kind != "tick"] + [c for c in base if c.kind == "tick"]
    cols = []
    for c in base:
        names = _names(c.key)
        header = lrng.choice(names) if layout.variants and lrng.random() < 0.7 else names[0]
        if layout.messy_headers:
            header = _messy(header, lrng)
        group = c.group if (layout.grouped and c.kind == "tick") else None
        cols.append(Column(c.key, header, group, c.width, c.kind))
    return cols




# --- writing -----------------------------------------------------------------------
class _PlainFormats(Styles):
    def __init__(self, wb, date_format: str) -> None:
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        cell = {**base, "border": 1}
        super().__init__(title=wb.add_format({**base, "font_size": 16, "bold": True, "align": "center"}))
        self.plain = wb.add_format(base)
        self.header = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True})
        self.text = wb.add_format({**cell, "text_wrap": True})
        self.date = wb.add_format({**cell, "align": "center", "num_format": date_format})
        self.plain_date = wb.add_format({**base, "num_format": "yyyy年m月d日", "align": "left"})
        self.note = wb.add_format({**base, "text_wrap": True, "valign": "top"})


INSTRUCTIONS = ("填表说明", "1. 本表每月底前报乡信访办，一案一行。",
                "2. “九个一”“五包”“六清楚”“六有”各项已落实的打“√”，未落实的空白。",
                "3. 日期请写具体到日，如2010年7月1日。",
                "4. 办理状态填：待化解、化解中、已化解、已销号、中止。",
                "5. 已化解、已销号的须填办结日期；销号须六有材料齐全。")


def _reporter(mode: str, village: str, day: date, ncol: int, fmt: _PlainFormats) -> list[Span]:
    """The 填报单位/填报日期 row: in one merged cell, in two, or labels and values apart."""
    right = max(min(ncol - 3, 9), 4)
    cn_day = f"{day.year}年{day.month}月{day.day}日"
    if mode == "one_cell":
        return [Span(0, max(min(ncol - 1, 11), 1), f"填报单位（盖章）：{village}{'　' * 10}填报日期：{cn_day}",
                     fmt.plain)]
    if mode == "two_cells":
        return [Span(0, 3, f"填报单位（盖章）：{village}", fmt.plain),
                Span(right, right + 2, f"填报日期：{cn_day}", fmt.plain)]
    if mode == "label_value":
        return [Span(0, 0, "填报单位：", fmt.plain), Span(1, 2, village, fmt.plain),
                Span(right, right, "填报日期：", fmt.plain), Span(right + 1, right + 1, day, fmt.plain_date)]
    if mode != "none":
        raise ValueError(f"unknown reporter layout {mode!r}")
    return []


def _footer(ncol: int, contact: str, fmt: _PlainFormats, rng: random.Random) -> list[list[Span]]:
    last = max(min(ncol - 1, 15), 1)
    return [[],
            [Span(0, last, f"填表人：{contact}　　　　审核人：{make_name(rng)}　　　　"
                           f"联系电话：0577-8{rng.randrange(10**7):07d}", fmt.plain)],
            [Span(0, last, "注：1.本表每月底前报乡信访办；2.“九个一”“五包”“六清楚”“六有”已落实的打“√”；"
                           "3.已销号案件须六有材料齐全。", fmt.plain)]]


def _blank_after(i: int, n: int, layout: LedgerStyle) -> int:
    """How many blank rows a clerk left after case ``i`` (0-based)."""
    if not layout.blank_rows or i == n - 1:
        return 0
    return 2 if i == 10 else (1 if i % 6 == 5 else 0)


def _write_plain(path: Path, layout: LedgerStyle, village: str, rendered: list[dict],
                 cols: list[Column], report_date: date, contact: str, rng: random.Random
                 ) -> tuple[list[int], list[int]]:
    title = f"{TOWNSHIP}{village}信访积案化解工作台账"
    wb = new_workbook(path, title=title, vba=xlwings_vba_project() if layout.fmt == "xlsm" else None)
    fmt = _PlainFormats(wb, layout.date_format)
    if layout.instructions_first:
        write_instructions(wb, INSTRUCTIONS, first=fmt.title, rest=fmt.note, width=90)
    ws = wb.add_worksheet(layout.sheet_name)
    for i, c in enumerate(cols):
        ws.set_column(i, i, c.width)
    n = len(rendered)
    shape = write_ledger_sheet(
        ws, cols, rendered, fmt, title=title if layout.title else None,
        reporter=_reporter(layout.reporter, village, report_date, len(cols), fmt),
        header_rows=2 if layout.grouped else 1,
        blank_before={i + 1: _blank_after(i, n, layout) for i in range(n)},
        footer=_footer(len(cols), contact, fmt, rng) if layout.footer else ())
    if layout.title:
        ws.set_row(0, 30)
    ws.set_row(shape.header_rows[-1] - 1, 54 if layout.grouped else 42)
    for values, row in zip(rendered, shape.case_rows):
        height = tpl.row_height((values.get(c.key), c.width) for c in cols if c.kind == "text")
        if height:
            ws.set_row(row - 1, height)
    ws.freeze_panes(shape.header_rows[-1], 0)
    if layout.extra_sheets:
        wb.add_worksheet("Sheet2")
        wb.add_worksheet("Sheet3")
    wb.close()
    return shape.case_rows, shape.header_rows


# --- one ledger ------------------------------------------------------------------
def saved_at(report_date: date) -> datetime:
    """When a village saves its ledger: 17:00 Beijing time (09:00 UTC) of its 填报日期."""
    return datetime(report_date.year, report_date.month, report_date.day, 9, 0)


def make_ledger(path: Path | str, *, village: str, cases: Sequence[dict] | None = None,
                n_cases: int = 20, seed: int = 0, layout: LedgerStyle = LedgerStyle(),
                as_of: date = DEMO_AS_OF, first_number: int = 1, prefix: str = "NJ2010-",
                contact: str | None = None) -> SampleLedger:
    """Write one village ledger to ``path`` (suffix follows ``layout.fmt``) and describe it.

    ``cases`` (dicts as ``make_case`` returns; copied, never changed) or else
    ``n_cases`` new ones. Deterministic for equal arguments: same cells, and the
    same bytes for .xlsx/.xlsm.
    """
    path = Path(path)
    path = path.with_suffix("." + layout.fmt) if path.suffix.lower() in (".xlsx", ".xlsm", ".xls") \
        else path.with_name(f"{path.name}.{layout.fmt}")
    rng = random.Random(f"{seed}:{village}")
    lrng = random.Random(f"{seed}:{village}:layout")
    report_date = layout.report_date or as_of - timedelta(days=2)
    if cases is None:
        cases = make_cases(rng, village=village, n=n_cases, first_number=first_number, prefix=prefix,
                           as_of=as_of, report_date=report_date)
    cases = [dict(c) for c in cases]
    planted = _plant_faults(cases, layout.faults, rng)
    rendered = [{k: _render(k, v, layout, rng) for k, v in c.items() if not k.startswith("_")}
                for c in cases]
    for _fault, i, key, written in planted:
        if written is not _AS_CASE:
            rendered[i][key] = written
    contact = contact or make_name(lrng)
    if layout.fmt == "xls":       # as WPS or old Excel saves it: written, then converted
        with tempfile.TemporaryDirectory(prefix="taizhang-xls-") as tmp:
            src = Path(tmp) / (path.stem + ".xlsx")
            shape = _write(src, replace(layout, fmt="xlsx"), village, rendered, report_date, contact, lrng)
            stamp_saved(src, saved_at(report_date))
            path = convert([src], "xls", path.parent)[0]
    else:
        shape = _write(path, layout, village, rendered, report_date, contact, lrng)
        stamp_saved(path, saved_at(report_date))
    sheet, columns, rows, header_rows = shape
    spots = {}
    for fault, i, key, written in planted:
        value = rendered[i].get(key) if written is _AS_CASE else written
        spots[fault] = FaultSpot(fault, cases[i]["case_id"], rows[i], key,
                                 cell_ref(columns[key], rows[i]), value)
    return SampleLedger(path, village, layout, sheet, cases, rows, columns, header_rows, spots,
                        report_date)


def _write(path: Path, layout: LedgerStyle, village: str, rendered: list[dict], report_date: date,
           contact: str, lrng: random.Random) -> tuple[str, dict[str, int], list[int], list[int]]:
    """Write the workbook; return (ledger sheet, key -> column, case rows, header rows)."""
    if layout.template:
        if layout.fmt != "xlsx":
            raise ValueError("the template layout is written as .xlsx (or .xls) only")
        tpl.write_template(path, village=village, report_date=report_date, rows=rendered)
        columns = {c.key: i for i, c in enumerate(tpl.template_columns())}
        rows = [tpl.FIRST_DATA_ROW + 1 + i for i in range(len(rendered))]
        return tpl.LEDGER_SHEET, columns, rows, [tpl.GROUP_ROW + 1, tpl.HEADER_ROW + 1]
    cols = _plain_columns(layout, lrng)
    rows, header_rows = _write_plain(path, layout, village, rendered, cols, report_date, contact, lrng)
    return layout.sheet_name, {c.key: i for i, c in enumerate(cols)}, rows, header_rows


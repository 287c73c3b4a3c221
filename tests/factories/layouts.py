"""Hand-specified ledgers for reader tests: cases as a clerk typed them, header layouts by name.

Written through the one sheet writer (``factories.sheet``) and read back by the
toolkit through python-calamine or converted by LibreOffice (second readers).

    from factories.layouts import sample_cases, write_ledger
    path = write_ledger(tmp_path / "东村.xlsx", sample_cases(3), layout="mixed")

Layouts of the header:
- "grouped": one upper row of group names (基本情况, 包案责任, 九个一, …, 系统计算，勿填)
  merged across their columns, and one row of column names (like the template);
- "mixed":   field headers merged vertically over two rows, group names merged
  across their checklist items only (a common hand-made sheet);
- "flat":    one header row; checklist items named like "一名包案领导", "协调会".
``merge_groups=False`` writes the group name only in its first cell and field headers
in the upper row (WPS "centre across selection", or a sloppy sheet).
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

from factories.sheet import (Column, Span, Styles, new_workbook, write_instructions, write_ledger_sheet,
                             write_value)
from factories.sheet import xlwings_vba_project as vba_bytes
from toolkit.core import fields as F
from toolkit.core.normalize import id_check_digit

NAMES = ("张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十", "郑十一", "冯十二")
MATTERS = ("征地补偿款未足额发放", "宅基地界址纠纷", "企业改制职工安置", "拆迁安置房分配不公",
           "林权承包合同纠纷", "低保资格认定")


def valid_id(i: int = 1, birth: date = date(1960, 5, 17), area: str = "330302") -> str:
    """A GB 11643-valid 18-character ID number."""
    first17 = f"{area}{birth:%Y%m%d}{i % 1000:03d}"
    return first17 + id_check_digit(first17)


def sample_case(i: int = 1, village: str = "东村", **over) -> dict:
    """One realistic case keyed by field/checklist keys (values as a clerk types them)."""
    case = {
        "case_id": f"NJ2010-{i:03d}",
        "village": village,
        "petitioner": NAMES[(i - 1) % len(NAMES)],
        "id_number": valid_id(i),
        "phone": f"138577{i:05d}",
        "address": f"南郊乡{village}{i}组",
        "matter": MATTERS[(i - 1) % len(MATTERS)],
        "category": "土地征用",
        "first_petition_date": date(2007, 3, 1 + i % 27),
        "assigned_date": date(2010, 7, 1),
        "leader": "李乡长",
        "responsible_unit": "乡国土所\n王所长",
        "resolution_type": "依法依政策解决",
        "measures": "入户走访，召开协调会。",
        "stability_measures": "落实专人稳控。",
        "plan": "按政策补发补偿款。",
        "progress": "已召开协调会两次，补偿方案已报乡政府。",
        "status": "化解中",
        "closed_date": None,
        "settled": "否",
        "extension_days": None,
        "remarks": None,
    }
    for key in F.ALL_ITEM_KEYS:
        case[key] = "√" if not key.startswith("archive") else None
    case.update(over)
    return case


def sample_cases(n: int = 3, village: str = "东村", **over) -> list[dict]:
    return [sample_case(i, village, **over) for i in range(1, n + 1)]


_FIELD_GROUPS = {f.key: f.group for f in F.FIELDS}
_COMPUTED_DEFAULT = ("deadline", "workdays_left", "alert")
_FLAT_ITEM_HEADER = {"nine_leader": "一名包案领导", "nine_plan": "一套化解方案",
                     "nine_stability": "一套稳控措施"}


def ledger_columns(layout: str = "grouped", *, keys: Sequence[str] | None = None,
                   headers: dict[str, str] | None = None, computed: Sequence[str] = _COMPUTED_DEFAULT
                   ) -> list[Column]:
    """The columns of a ledger in template order: fields, checklists, computed columns."""
    headers = headers or {}
    basic = [f.key for f in F.FIELDS if f.group in ("基本情况", "包案责任")]
    later = [f.key for f in F.FIELDS if f.group == "化解情况"]
    order = basic + list(F.ALL_ITEM_KEYS) + later
    if keys is not None:
        order = [k for k in order if k in keys] + [k for k in keys if k not in order]
    cols = []
    for key in order:
        if key in F.CHECKLIST_ITEMS:
            item = F.CHECKLIST_ITEMS[key]
            group = F.ITEM_GROUP[key].header
            text = headers.get(key) or (_FLAT_ITEM_HEADER.get(key, item.header) if layout == "flat"
                                        else item.header)
            cols.append(Column(key, text, group))
        else:
            cols.append(Column(key, headers.get(key, F.FIELD_BY_KEY[key].header), _FIELD_GROUPS[key]))
    cols += [Column(k, F.COMPUTED_BY_KEY[k].header, F.COMPUTED_GROUP_HEADER) for k in computed]
    return cols


def write_ledger(path: Path, cases: Iterable[dict] | None = None, *, layout: str = "grouped",
                 cols: Sequence[Column] | None = None, sheet_name: str = "台账",
                 title: str | None = "南郊乡东村信访积案化解工作台账",
                 reporter: str | None = "东村", report_date: object = "2010年9月18日",
                 reporter_split: bool = False, merge_groups: bool = True,
                 instructions_first: bool = False, blank_rows: Sequence[int] = (),
                 footer: Sequence[str] = ("填表人：王会计", "审核人：李书记"),
                 repeat_header_after: int | None = None, marker: str | None = None,
                 marker_version: str = F.TEMPLATE_VERSION, vba_project: Path | None = None,
                 first_col_seq: bool = True, extra_sheets: dict[str, list[list]] | None = None,
                 saved: datetime | None = None) -> Path:
    """Write a ledger workbook through the one sheet writer. ``cases`` are dicts keyed like
    ``sample_case``.

    ``blank_rows``: 0-based case positions before which an empty row is written.
    ``marker``: a village name for the template's very hidden marker sheet.
    ``vba_project``: a vbaProject.bin to embed (the file should end in .xlsm).
    ``saved``: the last-saved time written inside the file (UTC; default a fixed 2010 date).
    """
    path = Path(path)
    cases = list(sample_cases(3) if cases is None else cases)
    cols = list(cols) if cols is not None else ledger_columns(layout)
    columns = [Column(c.key, c.header, c.group if layout == "grouped" or c.key in _ITEM_OR_COMPUTED
                      else None) for c in cols]
    if first_col_seq:
        columns.insert(0, Column(_SEQ, "序号"))
        cases = [{**case, _SEQ: n + 1} for n, case in enumerate(cases)]
    wb = new_workbook(path, vba=Path(vba_project).read_bytes() if vba_project is not None else None,
                      saved=saved)
    styles = _styles(wb)
    if instructions_first:
        write_instructions(wb, _INSTRUCTIONS)
    write_ledger_sheet(
        wb.add_worksheet(sheet_name), columns, cases, styles, title=title or None,
        reporter=_reporter(reporter, report_date, reporter_split, len(columns), styles),
        header_rows=1 if layout == "flat" else 2, merge_groups=merge_groups,
        lone="merged" if merge_groups else "upper", blank_before={n: 1 for n in blank_rows},
        repeat_header_at=repeat_header_after, footer=[[Span(0, 0, line)] for line in footer])
    for name, rows in (extra_sheets or {}).items():
        sh = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                write_value(sh, i, j, v, styles)
    if marker is not None:
        _marker(wb, marker, marker_version)
    wb.close()
    return path


_SEQ = "_seq"
_ITEM_OR_COMPUTED = frozenset(F.CHECKLIST_ITEMS) | frozenset(F.COMPUTED_BY_KEY)
_INSTRUCTIONS = ("填表说明", "1. 案件编号由乡信访办统一编号，不得改动。", "2. 日期请写成 2010-07-01 或 2010年7月1日。",
                 "3. 表头“案件编号”“信访人”“办理状态”等列为必填。")


def _styles(wb) -> Styles:
    return Styles(date=wb.add_format({"num_format": "yyyy-mm-dd"}),
                  datetime=wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
                  title=wb.add_format({"bold": True, "align": "center", "font_size": 16}),
                  header=wb.add_format({"bold": True, "align": "center", "valign": "vcenter",
                                        "text_wrap": True, "border": 1}))


def _reporter(reporter, report_date, split: bool, width: int, styles: Styles) -> list[Span]:
    """填报单位 and 填报日期 in one cell, or split into labels and values."""
    if reporter is None and report_date is None:
        return []
    if not split:
        text = f"填报单位（盖章）：{reporter or ''}"
        if report_date is not None:
            text += f"　　　　　　填报日期：{report_date}"
        return [Span(0, 0, text)]
    spans = [Span(0, 0, "填报单位（盖章）：")]
    if reporter:
        spans.append(Span(1, 1, reporter))
    if report_date is not None:
        c = max(3, width - 3)
        spans += [Span(c, c, "填报日期："),
                  Span(c + 1, c + 1, report_date, styles.date if isinstance(report_date, date) else None)]
    return spans


def _marker(wb, village: str, version: str) -> None:
    ws = wb.add_worksheet(F.TEMPLATE_MARKER_SHEET)
    ws.write_string(0, 0, F.TEMPLATE_MARKER_TAG)
    ws.write_string(0, 1, version)
    ws.write_string(1, 0, "village")
    if village:
        ws.write_string(1, 1, village)
    ws.very_hidden()


def write_rows(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[tuple]] | None = None
               ) -> Path:
    """Write arbitrary sheets of raw rows (for non-ledger and odd layouts)."""
    wb = new_workbook(path)
    styles = _styles(wb)
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for (r0, c0, r1, c1, text) in (merges or {}).get(name, []):
            ws.merge_range(r0, c0, r1, c1, text)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is not None and v != "":
                    write_value(ws, r, c, v, styles)
    wb.close()
    return Path(path)


def xlwings_vba_project(out_dir: Path) -> Path:
    """xlwings' BSD vbaProject.bin (``factories.sheet.xlwings_vba_project``) as a file, for
    ``write_ledger(vba_project=...)``."""
    out = Path(out_dir) / "vbaProject.bin"
    out.write_bytes(vba_bytes())
    return out

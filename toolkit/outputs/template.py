"""The village ledger template (村级台账模板) that villages fill in.

Everything is driven by the registry in ``toolkit.core.fields``: the field groups,
the checklist items (items that are also a text column — 包案领导, 化解方案,
稳控措施 — get no tick column of their own: the filled text counts), the
status words, the tick marks and the computed columns the toolkit fills in
later under 系统计算，勿填.

Layout of the ledger sheet (1-based Excel rows):
  1  merged title 南郊乡XX村信访积案化解工作台账
  2  填报单位（盖章）：XX村 … 填报日期：
  3  group headers (基本情况, 包案责任, 九个一, 五包, 六清楚, 六有, 化解情况, 系统计算，勿填)
  4  column headers, exactly the registry's names
  5… data rows, pre-formatted

A 填表说明 sheet comes first; a very hidden marker sheet lets the toolkit
recognise its own template (version, village) later.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping

from toolkit.core import fields
from toolkit.core.cells import column_letter
from toolkit.core.dates import date_example
from toolkit.core.files import atomic_path
from toolkit.core.settings import Campaign

LEDGER_SHEET = "信访积案台账"
INSTRUCTIONS_SHEET = "填表说明"
TITLE_ROW, REPORTER_ROW, GROUP_ROW, HEADER_ROW = 0, 1, 2, 3   # 0-based
FIRST_DATA_ROW = 4                                            # 0-based (Excel row 5)
DATA_ROWS = 100                 # pre-formatted empty rows
VALIDATION_ROWS = 2000          # dropdowns and date checks reach this far
FROZEN_AFTER_KEY = "petitioner"  # panes frozen right of 信访人
CHECKLISTS_AFTER_GROUP = "包案责任"
# A fixed creation date keeps generated files byte-stable (xlsxwriter already
# fixes the zip timestamps); it is the date of the seed document.
FIXED_CREATED = datetime(2010, 5, 17, 9, 0, 0)
DATE_FORMAT = "yyyy-mm-dd"
TICK_CHOICES = (fields.TICK_MARK, "×")

GREY_FILL = "#D9D9D9"
GREY_FONT = "#595959"
HEADER_FILL = "#DDEBF7"
GROUP_FILL = "#BDD7EE"
REQUIRED_FONT = "#C00000"

_WIDTHS = {
    "case_id": 11, "village": 8, "petitioner": 9, "id_number": 19, "phone": 12.5, "address": 16,
    "matter": 22, "category": 9, "first_petition_date": 11, "assigned_date": 11,
    "leader": 12, "responsible_unit": 13, "resolution_type": 12, "measures": 15,
    "stability_measures": 14, "plan": 14, "progress": 20, "status": 8, "closed_date": 11,
    "settled": 7, "extension_days": 5.5, "remarks": 10,
    "deadline": 11, "workdays_left": 6.5, "alert": 6, "missing_items": 15, "can_close": 11,
    "in_scope": 8, "phase": 8,
}
_KIND_WIDTH = {"date": 11.5, "tick": 4.2, "computed": 8}


@dataclass(frozen=True)
class TemplateColumn:
    key: str
    header: str
    group: str
    kind: str          # text | date | int | status | id | phone | choice | tick | computed
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def width(self) -> float:
        return _WIDTHS.get(self.key, _KIND_WIDTH.get(self.kind, 12))


def _field_column(f: fields.Field) -> TemplateColumn:
    return TemplateColumn(f.key, f.header, f.group, f.kind, f.required, f.choices)


def _checklist_columns() -> list[TemplateColumn]:
    return [TemplateColumn(it.key, it.header, g.header, "tick")
            for g in fields.CHECKLISTS for it in g.items if it.text_field is None]


def template_columns(*, computed: bool = True) -> tuple[TemplateColumn, ...]:
    """Every column of the template in order, grouped as the registry says."""
    cols: list[TemplateColumn] = []
    groups: list[str] = []
    for f in fields.FIELDS:
        if f.group not in groups:
            groups.append(f.group)
    for g in groups:
        cols += [_field_column(f) for f in fields.FIELDS if f.group == g]
        if g == CHECKLISTS_AFTER_GROUP:
            cols += _checklist_columns()
    if computed:
        cols += [TemplateColumn(c.key, c.header, fields.COMPUTED_GROUP_HEADER, "computed")
                 for c in fields.COMPUTED]
    return tuple(cols)


def group_spans(columns: Iterable[TemplateColumn]) -> list[tuple[str, int, int]]:
    """(group, first 0-based column, last column) for consecutive runs of one group."""
    spans: list[tuple[str, int, int]] = []
    for i, c in enumerate(columns):
        if spans and spans[-1][0] == c.group and spans[-1][2] == i - 1:
            spans[-1] = (c.group, spans[-1][1], i)
        else:
            spans.append((c.group, i, i))
    return spans


def default_template_name(village: str | None) -> str:
    return f"{village}台账模板.xlsx" if village else "村级台账模板.xlsx"


def title_text(village: str | None, campaign: Campaign | None = None) -> str:
    township = (campaign or Campaign()).township
    return f"{township}{village or '　　　　'}信访积案化解工作台账"


def _text_units(text: str) -> float:
    """Width of text in Excel column units (a CJK character is about two)."""
    return sum(1.0 if ord(ch) < 0x2E80 else 1.9 for ch in text)


def row_height(cells: Iterable[tuple[object, float]], *, line: float = 13.5,
               max_lines: int = 8) -> float | None:
    """Height (points) a data row needs so wrapped text shows, or None for the default.

    Excel grows such rows itself only when a person edits them; LibreOffice
    not at all: so writers set it. ``cells`` are (value, column width) pairs.
    """

    lines = 1
    for value, width in cells:
        if isinstance(value, str) and value:
            need = sum(max(1, math.ceil(_text_units(part) / max(width - 1, 1)))
                       for part in value.split("\n"))
            lines = max(lines, need)
    return None if lines == 1 else min(lines, max_lines) * line


# --- formats ----------------------------------------------------------------
class _Formats:
    """The workbook's cell formats, made once."""

    def __init__(self, wb) -> None:
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = wb.add_format({**base, "font_name": "黑体", "font_size": 18, "bold": True,
                                    "align": "center"})
        self.reporter = wb.add_format({**base, "font_size": 11})
        self.group = wb.add_format({**cell, "bold": True, "align": "center", "bg_color": GROUP_FILL,
                                    "text_wrap": True})
        self.group_grey = wb.add_format({**cell, "bold": True, "align": "center",
                                         "bg_color": GREY_FILL, "font_color": GREY_FONT})
        self.header = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True,
                                     "bg_color": HEADER_FILL})
        self.header_required = wb.add_format({**cell, "bold": True, "align": "center",
                                              "text_wrap": True, "bg_color": HEADER_FILL,
                                              "font_color": REQUIRED_FONT})
        self.header_tick = wb.add_format({**cell, "bold": True, "align": "center",
                                          "bg_color": HEADER_FILL, "rotation": 270})
        self.header_grey = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True,
                                          "bg_color": GREY_FILL, "font_color": GREY_FONT})
        self.text = wb.add_format({**cell, "text_wrap": True})
        self.text_col = wb.add_format({**base, "text_wrap": True})
        self.as_text = wb.add_format({**cell, "num_format": "@"})
        self.as_text_col = wb.add_format({**base, "num_format": "@"})
        self.center = wb.add_format({**cell, "align": "center"})
        self.center_col = wb.add_format({**base, "align": "center"})
        self.date = wb.add_format({**cell, "align": "center", "num_format": DATE_FORMAT})
        self.date_col = wb.add_format({**base, "align": "center", "num_format": DATE_FORMAT})
        self.int = wb.add_format({**cell, "align": "center", "num_format": "0"})
        self.int_col = wb.add_format({**base, "align": "center", "num_format": "0"})
        self.computed = wb.add_format({**cell, "bg_color": GREY_FILL, "font_color": GREY_FONT,
                                       "text_wrap": True})
        self.computed_col = wb.add_format({**base, "bg_color": GREY_FILL, "font_color": GREY_FONT})
        self.note_title = wb.add_format({**base, "font_name": "黑体", "font_size": 16, "bold": True})
        self.note_head = wb.add_format({**cell, "bold": True, "bg_color": HEADER_FILL,
                                        "align": "center", "text_wrap": True})
        self.note_section = wb.add_format({**base, "bold": True, "font_size": 11})
        self.note = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.note_cell = wb.add_format({**cell, "text_wrap": True, "valign": "top"})

    def cell_for(self, col: TemplateColumn):
        """(cell format for data rows, column format beyond them)."""
        if col.kind == "computed":
            return self.computed, self.computed_col
        if col.kind == "date":
            return self.date, self.date_col
        if col.kind in ("id", "phone") or col.key == "case_id":
            return self.as_text, self.as_text_col
        if col.kind == "int":
            return self.int, self.int_col
        if col.kind in ("tick", "status", "choice"):
            return self.center, self.center_col
        return self.text, self.text_col


# --- the ledger sheet ---------------------------------------------------------
def _write_headers(ws, cols: tuple[TemplateColumn, ...], fmt: _Formats) -> None:
    for group, first, last in group_spans(cols):
        f = fmt.group_grey if group == fields.COMPUTED_GROUP_HEADER else fmt.group
        if first == last:
            ws.write_string(GROUP_ROW, first, group, f)
        else:
            ws.merge_range(GROUP_ROW, first, GROUP_ROW, last, group, f)
    for i, c in enumerate(cols):
        if c.kind == "computed":
            f = fmt.header_grey
        elif c.kind == "tick":
            f = fmt.header_tick
        else:
            f = fmt.header_required if c.required else fmt.header
        ws.write_string(HEADER_ROW, i, c.header, f)
    ws.set_row(GROUP_ROW, 22)
    ws.set_row(HEADER_ROW, 100)


def example_date(campaign: Campaign) -> str:
    """How to write a date, in the campaign's own year (an office in 2026 reads 2026 examples)."""
    return date_example(campaign.archive_due.year)


def _validate(ws, col_index: int, c: TemplateColumn, campaign: Campaign) -> None:
    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + VALIDATION_ROWS - 1
    rule: dict | None = None
    if c.kind == "status":
        words = tuple(fields.STATUSES)
        rule = {"validate": "list", "source": list(words), "error_title": "办理状态",
                "error_message": "办理状态只能选：" + "、".join(words) + "。"}
    elif c.kind == "tick":
        rule = {"validate": "list", "source": list(TICK_CHOICES), "error_title": "打勾",
                "error_message": "已落实填 √，未落实留空或填 ×。"}
    elif c.kind == "choice":
        rule = {"validate": "list", "source": list(c.choices), "error_title": c.header,
                "error_message": f"{c.header}只能选：" + "、".join(c.choices) + "。"}
    elif c.kind == "date":
        rule = {"validate": "date", "criteria": "between", "minimum": date(1980, 1, 1),
                "maximum": date(2099, 12, 31), "error_title": "日期",
                "error_message": f"请填写真实存在的日期，例如 {example_date(campaign)}。",
                "input_title": c.header, "input_message": f"日期，例如 {example_date(campaign)}"}
    elif c.kind == "int":
        rule = {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 365,
                "error_title": c.header, "error_message": "请填写经批准延期的工作日天数（整数）。"}
    elif c.kind == "id":
        rule = {"validate": "length", "criteria": "==", "value": 18, "error_type": "warning",
                "error_title": "身份证号", "error_message": "身份证号应为18位（末位可为X）。",
                "input_title": "身份证号", "input_message": "18位；本列为文本格式，请勿改为数字。"}
    elif c.kind == "computed":
        rule = {"validate": "any", "input_title": fields.COMPUTED_GROUP_HEADER,
                "input_message": "本列由乡信访办系统自动计算，请勿填写。"}
    if rule:
        ws.data_validation(first, col_index, last, col_index, rule)


def _write_cell(ws, row: int, col: int, value: object, cell_fmt, date_fmt) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None, cell_fmt)
    elif isinstance(value, (date, datetime)):
        ws.write_datetime(row, col, value if isinstance(value, datetime)
                          else datetime(value.year, value.month, value.day), date_fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, fields.TICK_MARK if value else "", cell_fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, cell_fmt)
    else:
        ws.write_string(row, col, str(value), cell_fmt)


def _write_ledger_sheet(wb, fmt: _Formats, village: str | None, campaign: Campaign,
                        report_date: date | None, rows: list[Mapping[str, object]]) -> None:
    cols = template_columns()
    ws = wb.add_worksheet(LEDGER_SHEET)
    last = len(cols) - 1
    left_end = next(i for i, c in enumerate(cols) if c.group != cols[0].group) - 1
    # over the first group only: centred over all 55 columns it printed on page 2 or 3
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, left_end, title_text(village, campaign), fmt.title)
    ws.set_row(TITLE_ROW, 36)
    ws.merge_range(REPORTER_ROW, 0, REPORTER_ROW, left_end,
                   f"填报单位（盖章）：{village or ''}", fmt.reporter)
    date_text = f"填报日期：{report_date.year}年{report_date.month}月{report_date.day}日" \
        if report_date else "填报日期："
    ws.merge_range(REPORTER_ROW, left_end + 1, REPORTER_ROW, left_end + 4, date_text, fmt.reporter)
    for i in range(left_end + 5, last + 1):   # keep the grey computed columns off this row
        ws.write_blank(REPORTER_ROW, i, None, fmt.reporter)
    ws.set_row(REPORTER_ROW, 22)
    _write_headers(ws, cols, fmt)
    n_rows = max(DATA_ROWS, len(rows))
    for i, c in enumerate(cols):
        cell_fmt, col_fmt = fmt.cell_for(c)
        ws.set_column(i, i, c.width, col_fmt)
        _validate(ws, i, c, campaign)
        for r in range(n_rows):
            value = rows[r].get(c.key) if r < len(rows) else None
            _write_cell(ws, FIRST_DATA_ROW + r, i, value, cell_fmt, fmt.date)
    for r, values in enumerate(rows):
        height = row_height((values.get(c.key), c.width) for c in cols if c.kind == "text")
        if height:
            ws.set_row(FIRST_DATA_ROW + r, height)
    frozen_col = next(i for i, c in enumerate(cols) if c.key == FROZEN_AFTER_KEY) + 1
    ws.freeze_panes(FIRST_DATA_ROW, frozen_col)
    _page_setup(ws, last, FIRST_DATA_ROW + n_rows - 1, frozen_col)
    ws.activate()


def _page_setup(ws, last_col: int, last_row: int, frozen_col: int) -> None:
    ws.set_landscape()
    ws.set_paper(9)                       # A4
    # 55 columns on one A4 width print at ~30%: unreadable. Three pages across,
    # each repeating the header rows and the columns up to 信访人, stay legible.
    ws.fit_to_pages(3, 0)
    ws.repeat_rows(GROUP_ROW, HEADER_ROW)
    ws.repeat_columns(0, frozen_col - 1)
    ws.print_area(0, 0, last_row, last_col)
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


# --- the instructions sheet ---------------------------------------------------
def _column_note(c: TemplateColumn, campaign: Campaign) -> str:
    notes = {
        "case_id": "乡信访办交办时给定的编号，照抄，全乡唯一。",
        "village": "本村（社区）名称，可不填（以填报单位为准）。",
        "petitioner": "信访人姓名；多人联名的写“某某等N人”。",
        "id_number": "18位身份证号，末位可为X。本列已设为文本格式，请勿改为数字，否则末三位变成000。",
        "phone": "11位手机号或带区号的固定电话。",
        "matter": "信访人的主要诉求，简明扼要。",
        "first_petition_date": f"首次信访的日期；{campaign.cutoff.year}年{campaign.cutoff.month}月"
                               f"{campaign.cutoff.day}日以后首次信访的不属积案范围（系统会提示）。",
        "assigned_date": f"乡信访办交办的日期，办结期限从次日起算{campaign.workdays}个工作日。",
        "leader": "包案领导姓名及职务，如“乡长 张立新”。填了即视为“九个一”中“一名包案领导”已落实。",
        "responsible_unit": "责任单位及责任人，如“乡国土所 林某某”。",
        "resolution_type": "下拉选择：" + "、".join(fields.FIELD_BY_KEY["resolution_type"].choices) + "。",
        "plan": "化解方案要点。填了即视为“九个一”中“一套化解方案”已落实。",
        "stability_measures": "稳控措施要点。填了即视为“九个一”中“一套稳控措施”已落实。",
        "progress": "最新进展，每次报送前更新。",
        "status": "下拉选择：" + "、".join(fields.STATUSES) + "。",
        "closed_date": "已化解、已销号的案件必须填写办结日期。",
        "settled": "下拉选择：是、否、部分。",
        "extension_days": "经批准延长的工作日天数，没有延期的不填。",
        "deadline": f"交办日期后第{campaign.workdays}个工作日，加上延期天数（按法定节假日和调休计算）。",
        "workdays_left": "从报送日到办结期限还剩的工作日，负数为已超期。",
        "alert": "逾期、临期、正常、已办结或中止。",
        "nine_done": "“九个一”已落实项数，如 6/8。",
        "five_done": "“五包”已落实项数，如 3/5。",
        "clear_done": "“六清楚”已落实项数，如 5/6。",
        "archive_done": "“六有”材料已齐项数，如 4/6。",
        "missing_items": "尚未落实的项目。",
        "can_close": "是否具备结案销号条件，不具备的写明原因。",
        "in_scope": "是否属于积案范围（按首次信访时间）。",
        "phase": "报送日所处的活动阶段。",
    }
    if c.key in notes:
        suffix = "系统自动计算，请勿填写。" if c.kind == "computed" else ""
        return suffix + notes[c.key]
    if c.kind == "tick":
        return "已落实打 √（下拉选择），未落实留空或填 ×。"
    if c.kind == "date":
        return f"日期，例如 {example_date(campaign)}。"
    return "文字，如实填写。"


def _instructions(campaign: Campaign) -> list[tuple[str, list[str]]]:
    statuses = "；".join(f"{k}（也可写：{'、'.join(v)}）" for k, v in fields.STATUSES.items())
    return [
        ("一、总体要求", [
            "1. 本表由各村（社区）填写，一案一行，从第5行起逐行填写，中间不要留空行。",
            "2. 请勿修改表头、增删或移动列、修改工作表名称；行数不够时在数据区内插入行。",
            "3. 第2行“填报单位（盖章）：”后写本村（社区）名称，“填报日期：”后写报送当天的日期。",
            "4. 表头为红字的列为必填项。",
        ]),
        ("二、打勾说明（九个一、五包、六清楚、六有）", [
            "1. 已落实的项目打 √（可用下拉选择），未落实的留空或填 ×。",
            "2. “九个一”中的包案领导、化解方案、稳控措施三项不单独打勾，以相应文字列已填写为准。",
            "3. 结案销号前，“六有”六项材料必须齐全（全部打 √）；"
            f"案卷材料于{campaign.archive_due.month}月{campaign.archive_due.day}日前报乡信访办。",
        ]),
        ("三、办理状态", [
            f"只能填写：{statuses}。其他写法系统无法识别，会报错。",
            "已化解、已销号的案件必须填写办结日期；已销号的案件“六有”必须齐全。",
            "因诉讼等原因暂停化解的填“中止”，不计逾期。",
        ]),
        ("四、日期填写", [
            f"一律写成 {example_date(campaign)} 的形式（Excel 会自动识别为日期）。",
            f"不要写不存在的日期（如 {campaign.archive_due.year}年13月5日），也不要只写年月或只写月日。",
            "首次信访时间 ≤ 交办日期 ≤ 办结日期，且都不能晚于填报日期。",
        ]),
        ("五、系统计算列（灰色，勿填）", [
            f"最右侧灰色的“{fields.COMPUTED_GROUP_HEADER}”各列（"
            + "、".join(c.header for c in fields.COMPUTED)
            + "）由乡信访办系统自动计算，请勿填写、修改或删除，填写的内容会被覆盖。",
            f"办结期限为交办日期后第{campaign.workdays}个工作日（按国家法定节假日和调休计算），"
            f"剩余不超过{campaign.due_soon_workdays}个工作日的为“临期”，超过期限未办结的为“逾期”。",
        ]),
        ("六、报送方式", [
            "1. 填好后保存为 Excel 文件（.xlsx 或 .xls 均可），不要设置密码，不要改成图片或 PDF。",
            f"2. 文件名写明村名和日期，如“东村信访积案台账（{campaign.archive_due.year}年10月）.xlsx”。",
            "3. 按乡信访办要求定期（每月）以电子邮件附件发送至乡信访办邮箱，或拷贝至乡信访办。",
            "4. 每次报送整张表（含已化解、已销号的案件），不要只报新增的案件；案件未销号前不要从表中删除。",
        ]),
    ]


def _write_instructions(wb, fmt: _Formats, campaign: Campaign) -> None:
    ws = wb.add_worksheet(INSTRUCTIONS_SHEET)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 12)
    ws.set_column(3, 3, 8)
    ws.set_column(4, 4, 70)
    ws.merge_range(0, 0, 0, 4, f"{campaign.township}村级信访积案台账填表说明", fmt.note_title)
    ws.set_row(0, 30)
    row = 2
    for section, lines in _instructions(campaign):
        ws.write_string(row, 0, section, fmt.note_section)
        row += 1
        for line in lines:
            ws.merge_range(row, 0, row, 4, line, fmt.note)
            ws.set_row(row, 30 if len(line) > 60 else 18)
            row += 1
        row += 1
    ws.write_string(row, 0, "七、各列填写要求", fmt.note_section)
    row += 1
    for i, head in enumerate(("列", "表头", "分组", "必填", "填写要求")):
        ws.write_string(row, i, head, fmt.note_head)
    for i, c in enumerate(template_columns()):
        row += 1
        values = (column_letter(i), c.header, c.group, "是" if c.required else "",
                  _column_note(c, campaign))
        for j, v in enumerate(values):
            ws.write_string(row, j, v, fmt.note_cell)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def _write_marker(wb, village: str | None) -> None:
    ws = wb.add_worksheet(fields.TEMPLATE_MARKER_SHEET)
    ws.write_string(0, 0, fields.TEMPLATE_MARKER_TAG)
    ws.write_string(0, 1, fields.TEMPLATE_VERSION)
    ws.write_string(1, 0, "village")
    if village:
        ws.write_string(1, 1, village)
    ws.very_hidden()


def write_template(path: Path | str, *, village: str | None = None, campaign: Campaign | None = None,
                   report_date: date | None = None,
                   rows: Iterable[Mapping[str, object]] = ()) -> Path:
    """Write the village ledger template to ``path`` and return the path.

    ``rows`` (optional) are already-rendered cell values by key, written into
    the data rows: dates as ``date``, ticks as text, everything else as given.
    The sample generator uses it to make ledgers in the template's own layout.
    """
    path = Path(path)
    campaign = campaign or Campaign()
    with atomic_path(path) as tmp:
        _render(tmp, village, campaign, report_date, rows)
    return path


def _render(path: Path, village, campaign: Campaign, report_date, rows) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    wb.set_properties({"title": title_text(village, campaign), "author": f"{campaign.township}信访办",
                       "company": f"{campaign.township}人民政府", "created": FIXED_CREATED,
                       "comments": f"taizhang template v{fields.TEMPLATE_VERSION}"})
    fmt = _Formats(wb)
    _write_instructions(wb, fmt, campaign)
    _write_ledger_sheet(wb, fmt, village, campaign, report_date, list(rows))
    _write_marker(wb, village)
    wb.close()

"""The settings workbook (``设置.xlsx`` beside taizhang.toml): what a clerk decides, in Excel.

Sheets (Chinese, as the clerk sees them):

* 活动设置 — 项目 | 值 | 结束日期 | 说明: campaign name, township, 积案截止日期,
  办结工作日数, 临期预警工作日, 六有报送截止日, 报送周期（天）, and one row per phase
  (``阶段：集中化解`` | start | end).
* 村名册 — 村（社区） | 联系人 | 电子邮箱 (several addresses separated by ；,、 or line breaks).
* 节假日 — 日期 | 类型 (放假 / 调休上班) | 说明: years the chinesecalendar package
  does not know yet; a year given here replaces the package's version.
* 乡级列 — 列名: columns the township owns in the master.
* 表头别名 — 表头写法 | 对应列: a header villages write that the toolkit should read as a
  ledger column (or, with 对应列 “不读”, as the village's own column) without a warning.
* 说明 — what each sheet means, for the clerk.

Read with python-calamine; written with xlsxwriter. A missing workbook means
the defaults the caller gives (an office's own year, or the demo's 2010 campaign); a
missing sheet or row means that part's default. A bad value raises :class:`SettingsError`, whose Chinese message names
the sheet and cell and says what to write.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

from python_calamine import CalamineWorkbook

from toolkit.core.cells import cell_ref
from toolkit.core.config import BACKUP_DIR
from toolkit.core.dates import date_example, parse_date_value
from toolkit.core.errors import TaizhangError
from toolkit.core.fields import COMPUTED_BY_KEY, FIELDS, header_for, match_header, normalize_header
from toolkit.core.files import atomic_path, backup_copy
from toolkit.core.normalize import clean_text, parse_day_count
from toolkit.core.settings import (DEFAULT_SETTINGS, Campaign, HolidayYear, NamedHolidayYear, Phase,
                                   RosterEntry, Settings)

SHEET_HELP = "说明"
SHEET_CAMPAIGN = "活动设置"
SHEET_ROSTER = "村名册"
SHEET_HOLIDAYS = "节假日"
SHEET_COLUMNS = "乡级列"
SHEET_ALIASES = "表头别名"

CAMPAIGN_HEADERS = ("项目", "值", "结束日期（仅阶段）", "说明")
ROSTER_HEADERS = ("村（社区）", "联系人", "电子邮箱")
HOLIDAY_HEADERS = ("日期", "类型", "说明")
COLUMNS_HEADERS = ("列名",)
ALIAS_HEADERS = ("表头写法", "对应列")
OWN_COLUMN_WORDS = ("不读", "本村自有列", "自有列", "忽略")   # 对应列 for a column that is no field
ALIAS_EXAMPLE = ("反应问题", "信访事项")

ITEM_NAME = "活动名称"
ITEM_TOWNSHIP = "乡镇"
ITEM_CUTOFF = "积案截止日期"
ITEM_WORKDAYS = "办结工作日数"
ITEM_DUE_SOON = "临期预警工作日"
ITEM_ARCHIVE_DUE = "六有报送截止日"
ITEM_REPORT_EVERY = "报送周期（天）"
PHASE_PREFIX = "阶段："

KIND_OFF = "放假"
KIND_WORK = "调休上班"
_KIND_WORDS = {**{normalize_header(w): KIND_OFF for w in (KIND_OFF, "休", "休息", "假", "休假")},
               **{normalize_header(w): KIND_WORK for w in (KIND_WORK, "上班", "补班", "班")}}
_EMAIL_SPLIT = re.compile(r"[;；,，、\s]+")
_EMAIL_OK = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class SettingsError(TaizhangError):
    """A bad value in the settings workbook; the message is Chinese and names sheet and cell."""


# --- reading ------------------------------------------------------------------
def load_settings(path: Path | str, default: Settings = DEFAULT_SETTINGS) -> Settings:
    """Settings from the workbook at ``path``; a missing file gives ``default`` (and a missing
    campaign sheet or row, that part of ``default``'s campaign).

    Which workbook, and which default, is decided once, by ``toolkit.api.load_settings`` (the
    one taizhang.toml names; an office's own year, or the demo's 2010).
    """
    path = Path(path)
    if not path.exists():
        return default
    book = _Book(path, default.campaign.phases[0].start.year if default.campaign.phases else 2010)
    settings = Settings(
        campaign=_read_campaign(book, default.campaign),
        roster=_read_roster(book),
        extra_years=_read_holidays(book),
        township_columns=_read_columns(book),
        header_aliases=_read_aliases(book),
        source=path,
    )
    return settings


class _Book:
    """The sheets of one settings workbook as row lists (row 0 = Excel row 1)."""

    def __init__(self, path: Path, year: int):
        self.path = path
        self.year = year            # the campaign's year, for the examples in messages
        try:
            wb = CalamineWorkbook.from_path(str(path))
            self.sheets = {normalize_header(name): wb.get_sheet_by_name(name).to_python(
                skip_empty_area=False) for name in wb.sheet_names}
        except Exception as e:  # calamine raises several kinds; all mean "cannot read"
            raise SettingsError(f"设置工作簿“{path}”无法读取（{e}）。请用 Excel 打开确认文件完好；"
                                f"如已损坏，可删除后运行 taizhang settings 重新生成。") from e

    def rows(self, sheet: str) -> list[list] | None:
        return self.sheets.get(normalize_header(sheet))

    def error(self, sheet: str, col: int | None, row: int | None, problem: str, todo: str) -> SettingsError:
        where = f"的“{sheet}”表"
        if row is not None:
            where += f" {cell_ref(col, row + 1)} 单元格" if col is not None else f"第 {row + 1} 行"
        return SettingsError(f"设置工作簿“{self.path.name}”{where}：{problem}。{todo}")


def _header(book: _Book, sheet: str, headers: tuple[str, ...],
            synonyms: dict[str, tuple[str, ...]]) -> tuple[list[list], int, dict[str, int]] | None:
    """(rows, header row index, {canonical header: column}) or None when the sheet is absent."""
    rows = book.rows(sheet)
    if rows is None:
        return None
    wanted = {normalize_header(n): h for h in headers for n in (h, *synonyms.get(h, ()))}
    for r, row in enumerate(rows[:10]):
        found: dict[str, int] = {}
        for c, v in enumerate(row):
            h = wanted.get(normalize_header(v))
            if h is not None and h not in found:
                found[h] = c
        if headers[0] in found:
            return rows, r, found
    if not any(any(clean_text(v) for v in row) for row in rows):
        return None                 # an emptied sheet counts as absent
    raise book.error(sheet, None, 0, f"找不到表头（第一列应为“{headers[0]}”）",
                     f"请在表头行写上：{' | '.join(headers)}。")


def _cell(row: list, col: int | None):
    if col is None or col >= len(row):
        return None
    v = row[col]
    return None if v == "" else v


def _date_at(book: _Book, sheet: str, row: list, r: int, col: int | None, what: str) -> date:
    d, reason = parse_date_value(_cell(row, col))
    if d is None:
        problem = f"“{what}”没有填写" if reason is None else f"“{what}”的“{_cell(row, col)}”不是有效日期{reason}"
        raise book.error(sheet, col, r, problem, f"请填写日期，如 {date_example(book.year)}。")
    return d


def _int_at(book: _Book, sheet: str, row: list, r: int, col: int | None, what: str, least: int) -> int:
    v = _cell(row, col)
    n = parse_day_count(v)
    if n is None or n < least:
        shown = "没有填写" if v is None else f"的“{clean_text(v)}”不是整数（至少为 {least}）"
        raise book.error(sheet, col, r, f"“{what}”{shown}", "请填写整数（工作日天数），如 60。")
    return n


def _text_at(book: _Book, sheet: str, row: list, r: int, col: int | None, what: str) -> str:
    s = clean_text(_cell(row, col))
    if not s:
        raise book.error(sheet, col, r, f"“{what}”没有填写", f"请填写{what}。")
    return s


def _read_campaign(book: _Book, default: Campaign) -> Campaign:
    found = _header(book, SHEET_CAMPAIGN, CAMPAIGN_HEADERS,
                    {"值": ("开始日期", "数值", "设置值"), "结束日期（仅阶段）": ("结束日期", "至")})
    if found is None:
        return default
    rows, head, cols = found
    c_item, c_value = cols["项目"], cols.get("值", cols["项目"] + 1)
    c_end = cols.get("结束日期（仅阶段）", c_value + 1)
    values: dict[str, object] = {}
    phases: list[Phase] = []
    seen: dict[str, int] = {}
    S = SHEET_CAMPAIGN
    for r in range(head + 1, len(rows)):
        row = rows[r]
        label = normalize_header(_cell(row, c_item))
        if not label:
            continue
        if label in seen:
            raise book.error(S, c_item, r, f"“{_cell(row, c_item)}”与第 {seen[label] + 1} 行重复",
                             "每个项目只写一行，请删除重复的一行。")
        seen[label] = r
        if label.startswith(normalize_header(PHASE_PREFIX)):
            name = label[len(normalize_header(PHASE_PREFIX)):]
            if not name:
                raise book.error(S, c_item, r, "阶段没有名称", "请写成“阶段：集中化解”的形式。")
            start = _date_at(book, S, row, r, c_value, f"{name}开始日期")
            end = _date_at(book, S, row, r, c_end, f"{name}结束日期")
            if end < start:
                raise book.error(S, c_end, r, f"阶段“{name}”的结束日期 {end} 早于开始日期 {start}",
                                 "请改正阶段日期。")
            if phases and start <= phases[-1].end:
                raise book.error(S, c_value, r, f"阶段“{name}”的开始日期 {start} 不晚于上一阶段"
                                 f"“{phases[-1].name}”的结束日期 {phases[-1].end}",
                                 "各阶段请按时间先后排列，且不要重叠。")
            phases.append(Phase(name, start, end))
        elif label == normalize_header(ITEM_NAME):
            values["name"] = _text_at(book, S, row, r, c_value, ITEM_NAME)
        elif label == normalize_header(ITEM_TOWNSHIP):
            values["township"] = _text_at(book, S, row, r, c_value, ITEM_TOWNSHIP)
        elif label == normalize_header(ITEM_CUTOFF):
            values["cutoff"] = _date_at(book, S, row, r, c_value, ITEM_CUTOFF)
        elif label == normalize_header(ITEM_WORKDAYS):
            values["workdays"] = _int_at(book, S, row, r, c_value, ITEM_WORKDAYS, 1)
        elif label == normalize_header(ITEM_DUE_SOON):
            values["due_soon_workdays"] = _int_at(book, S, row, r, c_value, ITEM_DUE_SOON, 0)
        elif label == normalize_header(ITEM_ARCHIVE_DUE):
            values["archive_due"] = _date_at(book, S, row, r, c_value, ITEM_ARCHIVE_DUE)
        elif label == normalize_header(ITEM_REPORT_EVERY):
            values["report_every_days"] = _int_at(book, S, row, r, c_value, ITEM_REPORT_EVERY, 1)
        else:
            known = "、".join((ITEM_NAME, ITEM_TOWNSHIP, ITEM_CUTOFF, ITEM_WORKDAYS, ITEM_DUE_SOON,
                              ITEM_ARCHIVE_DUE, ITEM_REPORT_EVERY, PHASE_PREFIX + "（阶段名）"))
            raise book.error(S, c_item, r, f"不认识的项目“{_cell(row, c_item)}”",
                             f"项目只能是：{known}。请改正名称或删除该行。")
    if phases:
        values["phases"] = tuple(phases)
    return replace(default, **values)


def _read_roster(book: _Book) -> tuple[RosterEntry, ...]:
    found = _header(book, SHEET_ROSTER, ROSTER_HEADERS,
                    {"村（社区）": ("村", "村名", "村居", "村（居）", "单位"),
                     "联系人": ("联系人姓名", "负责人"),
                     "电子邮箱": ("邮箱", "电子邮件", "Email", "E-mail", "邮件地址")})
    if found is None:
        return ()
    rows, head, cols = found
    S = SHEET_ROSTER
    c_v, c_c, c_e = cols["村（社区）"], cols.get("联系人"), cols.get("电子邮箱")
    entries: list[RosterEntry] = []
    village_row: dict[str, int] = {}
    email_owner: dict[str, str] = {}
    for r in range(head + 1, len(rows)):
        row = rows[r]
        village = clean_text(_cell(row, c_v))
        contact = clean_text(_cell(row, c_c)) or ""
        raw = clean_text(_cell(row, c_e)) or ""
        if not village:
            if contact or raw:
                raise book.error(S, c_v, r, "填了联系人或邮箱，但没有村（社区）名称", "请补填村（社区）名称。")
            continue
        if village in village_row:
            raise book.error(S, c_v, r, f"“{village}”与第 {village_row[village] + 1} 行重复",
                             "每个村（社区）只写一行，多个邮箱写在同一格，用“；”隔开。")
        village_row[village] = r
        emails = []
        for e in (x for x in _EMAIL_SPLIT.split(unicodedata.normalize("NFKC", raw)) if x):
            if not _EMAIL_OK.fullmatch(e):
                raise book.error(S, c_e, r, f"“{e}”不是电子邮箱地址",
                                 "请写成 name@example.com 的形式，多个地址用“；”隔开。")
            owner = email_owner.setdefault(e.lower(), village)
            if owner != village:
                raise book.error(S, c_e, r, f"邮箱“{e}”同时登记在“{owner}”和“{village}”名下",
                                 "一个邮箱只能属于一个村（社区），否则无法判断来件属于哪个村。")
            emails.append(e)
        entries.append(RosterEntry(village, contact, tuple(emails)))
    return tuple(entries)


def _read_holidays(book: _Book) -> tuple[HolidayYear, ...]:
    found = _header(book, SHEET_HOLIDAYS, HOLIDAY_HEADERS,
                    {"日期": ("放假日期",), "类型": ("放假/上班", "种类"), "说明": ("节日", "名称", "备注")})
    if found is None:
        return ()
    rows, head, cols = found
    S = SHEET_HOLIDAYS
    c_d, c_k, c_n = cols["日期"], cols.get("类型"), cols.get("说明")
    by_year: dict[int, dict[str, dict[date, str]]] = {}
    seen: dict[date, int] = {}
    for r in range(head + 1, len(rows)):
        row = rows[r]
        if not any(clean_text(_cell(row, c)) for c in (c_d, c_k, c_n) if c is not None):
            continue
        d = _date_at(book, S, row, r, c_d, "日期")
        kind = _KIND_WORDS.get(normalize_header(_cell(row, c_k)))
        if kind is None:
            shown = clean_text(_cell(row, c_k))
            problem = "“类型”没有填写" if shown is None else f"“类型”的“{shown}”无法识别"
            raise book.error(S, c_k if c_k is not None else c_d + 1, r, problem,
                             f"请从下拉列表选择“{KIND_OFF}”或“{KIND_WORK}”。")
        if d in seen:
            raise book.error(S, c_d, r, f"日期 {d} 与第 {seen[d] + 1} 行重复", "每个日期只写一行。")
        seen[d] = r
        if kind == KIND_WORK and d.weekday() < 5:
            raise book.error(S, c_k, r, f"{d} 是星期{'一二三四五'[d.weekday()]}，本来就上班，不能是“调休上班”",
                             "“调休上班”只用于被调成工作日的周六、周日；请核对日期。")
        year = by_year.setdefault(d.year, {KIND_OFF: {}, KIND_WORK: {}})
        year[kind][d] = clean_text(_cell(row, c_n)) or ""
    out = []
    for y in sorted(by_year):
        off, work = by_year[y][KIND_OFF], by_year[y][KIND_WORK]
        names = tuple(sorted((d, n) for d, n in {**off, **work}.items() if n))
        out.append(NamedHolidayYear(y, frozenset(off), frozenset(work), names))
    return tuple(out)


def _read_columns(book: _Book) -> tuple[str, ...]:
    found = _header(book, SHEET_COLUMNS, COLUMNS_HEADERS, {"列名": ("乡级列", "列")})
    if found is None:
        return DEFAULT_SETTINGS.township_columns
    rows, head, cols = found
    c = cols.get("列名", 0)
    names: list[str] = []
    for r in range(head + 1, len(rows)):
        name = clean_text(_cell(rows[r], c))
        if not name or name in names:
            continue
        if match_header(name) is not None:
            raise book.error(SHEET_COLUMNS, c, r, f"“{name}”已是台账本身的列",
                             "乡级列是乡里自己填写的列，请另取名字，如“督办意见”“乡级备注”。")
        names.append(name)
    return tuple(names)


def _read_aliases(book: _Book) -> tuple[tuple[str, str | None], ...]:
    """表头别名: (header as written, field key or None for “不读”); an older workbook has none."""
    found = _header(book, SHEET_ALIASES, ALIAS_HEADERS,
                    {"表头写法": ("表头", "村里的写法", "写法"), "对应列": ("对应", "标准列", "读作")})
    if found is None:
        return ()
    rows, head, cols = found
    c_w, c_k = cols["表头写法"], cols.get("对应列")
    out: dict[str, tuple[str, str | None]] = {}
    for r in range(head + 1, len(rows)):
        written = clean_text(_cell(rows[r], c_w))
        meant = clean_text(_cell(rows[r], c_k))
        if not written and not meant:
            continue
        if not written:
            raise book.error(SHEET_ALIASES, c_w, r, f"对应列“{meant}”前没有填写表头写法",
                             "请在“表头写法”填上村里台账表头的原样写法，如“反应问题”。")
        out[normalize_header(written)] = (written, _alias_key(book, rows[r], r, c_k, written, meant))
    return tuple(out.values())


def _alias_key(book: _Book, row: list, r: int, col: int | None, written: str, meant: str) -> str | None:
    if normalize_header(meant) in {normalize_header(w) for w in OWN_COLUMN_WORDS}:
        return None
    group, _, name = meant.rpartition("·")          # 九个一·会议纪要, as the warnings write items
    key = match_header(name, group or None) if name else None
    if key is None or key in COMPUTED_BY_KEY:
        shown = f"“{meant}”不是台账的列名" if meant else "没有填写对应列"
        raise book.error(SHEET_ALIASES, col if col is not None else 1, r, f"“{written}”的{shown}",
                         f"对应列请填台账的标准列名，如“{ALIAS_EXAMPLE[1]}”“包案领导”“案件编号”"
                         f"（可用的列名见“说明”表）；村里自己加的、不需读取的列填“{OWN_COLUMN_WORDS[0]}”。")
    return key


# --- writing --------------------------------------------------------------------
def help_text(year: int) -> tuple[tuple[str, str | None], ...]:
    """The 说明 sheet; its examples in the campaign's ``year``."""
    return (
    ("设置工作簿说明", None),
    ("本工作簿保存乡信访办自己决定的设置。改完保存即可，工具每次运行时读取。"
     "只改“值”和各表的内容，不要改工作表名称和表头。", None),
    (SHEET_CAMPAIGN, "本次活动的日期和期限。"
     f"“{ITEM_CUTOFF}”：首次信访在此日期或之前的案件属于积案范围；"
     f"“{ITEM_WORKDAYS}”：交办日期之后第几个工作日为办结期限（不含交办当天，按国家法定节假日和调休计算）；"
     f"“{ITEM_DUE_SOON}”：剩余工作日不超过此数时预警为“临期”；"
     f"“{ITEM_ARCHIVE_DUE}”：六有材料报送乡里的截止日；"
     f"“{ITEM_REPORT_EVERY}”：各村至少每隔多少天报送一次（默认 7，即每周），超过的列入催报单。"
     "“阶段：××”每行一个阶段，填开始和结束日期，按先后排列。删去某一行则用默认值。"
     f"本表生成时填的是 {year} 年的默认安排（taizhang settings --year 年份 生成）：请按本乡本次活动的文件"
     "改正活动名称、乡镇、各阶段日期和积案截止日期；taizhang doctor 会提示今天不在任何阶段内、"
     "或大多数案件不在积案范围内。"),
    (SHEET_ROSTER, "各村（社区）及其联系人、电子邮箱。收到邮件时按发件邮箱认村，"
     "一个村有多个邮箱时写在同一格，用“；”隔开。一个邮箱只能属于一个村。"),
    (SHEET_HOLIDAYS, "工具已内置 2004 年起国务院公布的放假和调休安排（随 chinesecalendar 包更新）。"
     "新一年的安排公布后（一般在上一年 11 月），如工具还不认识该年，请在此表逐行填写该年"
     "全部放假日期（类型选“放假”，包括假期中的周六、周日）和调休上班的周六、周日（类型选“调休上班”），"
     "说明栏可写节日名称，如“元旦”“春节”。某年在此表填了任何一天，该年就完全以此表为准，"
     "所以请一次填全一年。例：2027-01-01 | 放假 | 元旦。"),
    (SHEET_COLUMNS, "乡级总台账中由乡里自己填写的列（如督办意见）。汇总时这些列的内容会保留，"
     "不会被村里报送的数据覆盖。每行一个列名。"),
    (SHEET_ALIASES, "村里台账表头的其他写法。工具认得各列的常见写法；写法相近的（如错别字、繁体字）"
     "也会读取，但每次都提醒。在此登记后，各村这样写都按登记的列读取、不再提醒。"
     f"每行一个：“表头写法”填村里的原样写法，“对应列”填台账的标准列名。例：{ALIAS_EXAMPLE[0]} | "
     f"{ALIAS_EXAMPLE[1]}。村里自己加的、不需读取的列，对应列填“{OWN_COLUMN_WORDS[0]}”。"
     "可用的标准列名：" + "、".join(f.header for f in FIELDS) + "。"),
    ("日期写法", f"日期可写成 {year}-07-01、{year}/7/1、{year}.7.1 或 {year}年7月1日，要写全年、月、日。"),
    )


def write_settings_workbook(path: Path | str, settings: Settings) -> Path:
    """Write ``settings`` as a settings workbook (atomically: a temp file, then a rename)."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        fmt = _formats(wb)
        _write_help(wb, fmt, _year_of(settings.campaign))
        _write_campaign(wb, fmt, settings.campaign)
        _write_roster(wb, fmt, settings.roster)
        _write_holidays(wb, fmt, settings.extra_years)
        _write_columns(wb, fmt, settings.township_columns)
        _write_aliases(wb, fmt, settings.header_aliases)
        wb.close()
    return path


def _formats(wb) -> dict:
    base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
    return {
        "head": wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                               "align": "center", "text_wrap": True}),
        "text": wb.add_format({**base, "border": 1, "text_wrap": True}),
        "date": wb.add_format({**base, "border": 1, "num_format": "yyyy-mm-dd", "align": "left"}),
        "int": wb.add_format({**base, "border": 1, "align": "left"}),
        "note": wb.add_format({**base, "text_wrap": True, "font_color": "#595959"}),
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "label": wb.add_format({**base, "bold": True, "valign": "top"}),
        "wrap": wb.add_format({**base, "text_wrap": True, "valign": "top"}),
    }


def _page(ws) -> None:
    """Print on A4, landscape, one page wide."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _head(ws, fmt, headers, widths) -> None:
    _page(ws)
    for c, (h, w) in enumerate(zip(headers, widths)):
        ws.write_string(0, c, h, fmt["head"])
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 0)
    ws.set_row(0, 22)


def _year_of(campaign: Campaign) -> int:
    return campaign.phases[0].start.year if campaign.phases else campaign.archive_due.year


def _write_help(wb, fmt, year: int) -> None:
    ws = wb.add_worksheet(SHEET_HELP)
    _page(ws)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 90)
    for r, (label, text) in enumerate(help_text(year)):
        if text is None:            # a title or a sentence across both columns
            ws.merge_range(r, 0, r, 1, label, fmt["title"] if r == 0 else fmt["wrap"])
            ws.set_row(r, 24 if r == 0 else 36)
            continue
        ws.write_string(r, 0, label, fmt["label"])
        ws.write_string(r, 1, text, fmt["wrap"])
        ws.set_row(r, 18 * max(2, len(text) // 44 + 1))


def _write_campaign(wb, fmt, camp: Campaign) -> None:
    ws = wb.add_worksheet(SHEET_CAMPAIGN)
    _head(ws, fmt, CAMPAIGN_HEADERS, (18, 44, 18, 56))
    rows = [
        (ITEM_NAME, camp.name, "用于总台账标题"),
        (ITEM_TOWNSHIP, camp.township, ""),
        (ITEM_CUTOFF, camp.cutoff, "首次信访在此日期或之前的，属于积案范围"),
        (ITEM_WORKDAYS, camp.workdays, "交办日期之后第几个工作日为办结期限（不含交办当天）"),
        (ITEM_DUE_SOON, camp.due_soon_workdays, "剩余工作日不超过此数时预警“临期”"),
        (ITEM_ARCHIVE_DUE, camp.archive_due, "六有材料报送乡里的截止日"),
        (ITEM_REPORT_EVERY, camp.report_every_days,
         "各村至少每隔多少天（日历日）报送一次台账；超过的由 taizhang remind 催报"),
    ]
    r = 1
    for label, value, note in rows:
        ws.write_string(r, 0, label, fmt["text"])
        if isinstance(value, date):
            ws.write_datetime(r, 1, value, fmt["date"])
        elif isinstance(value, int):
            ws.write_number(r, 1, value, fmt["int"])
            ws.data_validation(r, 1, r, 1, {
                "validate": "integer", "criteria": ">=",
                "value": 1 if label in (ITEM_WORKDAYS, ITEM_REPORT_EVERY) else 0,
                "error_title": "请填整数", "error_message": "请填写工作日天数（整数）。"})
        else:
            ws.write_string(r, 1, value, fmt["text"])
        ws.write_blank(r, 2, None, fmt["text"])
        ws.write_string(r, 3, note, fmt["note"])
        r += 1
    for i, p in enumerate(camp.phases):
        ws.write_string(r, 0, PHASE_PREFIX + p.name, fmt["text"])
        ws.write_datetime(r, 1, p.start, fmt["date"])
        ws.write_datetime(r, 2, p.end, fmt["date"])
        ws.write_string(r, 3, "阶段：开始日期（值）至结束日期" if i == 0 else "", fmt["note"])
        r += 1


def _write_roster(wb, fmt, roster) -> None:
    ws = wb.add_worksheet(SHEET_ROSTER)
    _head(ws, fmt, ROSTER_HEADERS, (16, 12, 50))
    for r, e in enumerate(roster, start=1):
        ws.write_string(r, 0, e.village, fmt["text"])
        ws.write_string(r, 1, e.contact, fmt["text"])
        ws.write_string(r, 2, "；".join(e.emails), fmt["text"])


def _write_holidays(wb, fmt, years) -> None:
    ws = wb.add_worksheet(SHEET_HOLIDAYS)
    _head(ws, fmt, HOLIDAY_HEADERS, (14, 12, 24))
    ws.data_validation(1, 1, 2000, 1, {
        "validate": "list", "source": [KIND_OFF, KIND_WORK],
        "input_title": "类型", "input_message": f"{KIND_OFF}：当天休息；{KIND_WORK}：周末调为工作日",
        "error_title": "类型不对", "error_message": f"请选择“{KIND_OFF}”或“{KIND_WORK}”。"})
    ws.set_column(0, 0, 14, fmt["date"])
    r = 1
    for hy in sorted(years, key=lambda y: y.year):
        names = dict(getattr(hy, "names", ()) or ())
        rows = [(d, KIND_OFF) for d in hy.holidays] + [(d, KIND_WORK) for d in hy.workdays]
        for d, kind in sorted(rows):
            ws.write_datetime(r, 0, d, fmt["date"])
            ws.write_string(r, 1, kind, fmt["text"])
            ws.write_string(r, 2, names.get(d, ""), fmt["text"])
            r += 1


def _write_columns(wb, fmt, columns) -> None:
    ws = wb.add_worksheet(SHEET_COLUMNS)
    _head(ws, fmt, COLUMNS_HEADERS, (24,))
    for r, name in enumerate(columns, start=1):
        ws.write_string(r, 0, name, fmt["text"])


def _write_aliases(wb, fmt, aliases) -> None:
    ws = wb.add_worksheet(SHEET_ALIASES)
    _head(ws, fmt, ALIAS_HEADERS, (24, 24))
    ws.write_comment(0, 0, f"村里台账表头的写法，原样照抄。例：{ALIAS_EXAMPLE[0]}", {"x_scale": 2})
    ws.write_comment(0, 1, f"台账的标准列名，例：{ALIAS_EXAMPLE[1]}；不需读取的列填“{OWN_COLUMN_WORDS[0]}”",
                     {"x_scale": 2})
    for r, (written, key) in enumerate(aliases, start=1):
        ws.write_string(r, 0, written, fmt["text"])
        ws.write_string(r, 1, header_for(key) if key else OWN_COLUMN_WORDS[0], fmt["text"])


# --- the default workbook -------------------------------------------------------
def default_workbook_settings(*, roster: tuple[RosterEntry, ...] = (),
                              campaign: Campaign | None = None) -> Settings:
    """The defaults with ``campaign`` (an office's year, ``campaign_for_year``; None: the worked
    example, 2010) and ``roster`` (the demo passes ``toolkit.demo.DEMO_ROSTER``)."""
    return replace(DEFAULT_SETTINGS, roster=tuple(roster), campaign=campaign or DEFAULT_SETTINGS.campaign)


def create_settings_workbook(path: Path | str, *, force: bool = False,
                             roster: tuple[RosterEntry, ...] = (),
                             campaign: Campaign | None = None) -> tuple[Path, Path | None]:
    """Write the default settings workbook (``campaign``, else the 2010 worked example);
    (path, backup of the old file or None).

    An existing file is left alone unless ``force``; then it is first copied to
    ``备份/<stem>_<YYYYmmdd-HHMMSS>.xlsx`` beside it.
    """
    path = Path(path)
    backup = None
    if path.exists():
        if not force:
            raise SettingsError(f"“{path}”已存在，未覆盖。如确要用默认设置替换它，请加 --force"
                                "（原文件会先备份）。")
        backup = backup_copy(path, path.parent / BACKUP_DIR, reuse_identical=False)
    write_settings_workbook(path, default_workbook_settings(roster=roster, campaign=campaign))
    return path, backup

"""The one registry of ledger fields, checklist items, statuses and ticks.

Everything that needs to know a Chinese header, a variant spelling, which
columns are required, which words are statuses or ticks, reads it from here.
Code uses the English ``key``; clerks see the Chinese ``header``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    key: str
    header: str
    variants: tuple[str, ...] = ()
    required: bool = False
    # text | date | int | status | id | phone | choice
    kind: str = "text"
    choices: tuple[str, ...] = ()
    group: str = "基本情况"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, *self.variants)


FIELDS: tuple[Field, ...] = (
    Field("case_id", "案件编号", ("信访编号", "积案编号", "编号", "案件号"), required=True),
    Field("village", "村（社区）", ("村居", "所属村", "村别", "单位", "村(居)", "村（居）", "村社区")),
    Field("petitioner", "信访人",
          ("信访人姓名", "来信来访人", "来访人姓名", "上访人", "信访人员", "姓名"), required=True),
    Field("id_number", "身份证号", ("身份证号码", "身份证"), kind="id"),
    Field("phone", "联系电话", ("联系方式", "手机号", "电话", "手机号码"), kind="phone"),
    Field("address", "住址", ("家庭住址", "现住址", "户籍地址")),
    Field("matter", "信访事项", ("主要诉求", "反映问题", "信访内容", "上访反映问题", "诉求内容"),
          required=True),
    Field("category", "问题类别", ("问题类型", "信访类别", "事项类别")),
    Field("first_petition_date", "首次信访时间", ("首次信访日期", "初次信访时间", "始访时间"),
          required=True, kind="date"),
    Field("assigned_date", "交办日期", ("交办时间",), required=True, kind="date", group="包案责任"),
    Field("leader", "包案领导", ("包案领导姓名", "包案责任领导"), required=True, group="包案责任"),
    Field("responsible_unit", "责任单位", ("责任单位/责任人", "责任单位责任人", "责任单位及责任人"),
          required=True, group="包案责任"),
    Field("resolution_type", "化解分类", ("分类", "处理类别"), kind="choice",
          choices=("依法依政策解决", "合理诉求过高", "无理缠访", "合理不合理交织"), group="化解情况"),
    Field("measures", "化解措施", group="化解情况"),
    Field("stability_measures", "稳控措施", group="化解情况"),
    Field("plan", "化解方案", group="化解情况"),
    Field("progress", "化解进展", ("化解情况", "办理情况", "进展情况", "工作进展"), group="化解情况"),
    Field("status", "办理状态", ("化解状态", "状态", "进展状态"), required=True, kind="status",
          group="化解情况"),
    Field("closed_date", "办结日期", ("办结时间", "结案日期", "化解日期"), kind="date", group="化解情况"),
    Field("settled", "是否息诉罢访", ("息诉罢访", "是否息访"), kind="choice", choices=("是", "否", "部分"),
          group="化解情况"),
    Field("extension_days", "延期天数", ("延期",), kind="int", group="化解情况"),
    Field("remarks", "备注", group="化解情况"),
)

FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}

# What a 台账 is about: who petitioned, about what, under which number, and how far it got.
# A sheet is a ledger only when its header names at least two of these and at least two
# columns by names a ledger's own (issue 19): rosters, address books and student lists
# share the generic names below (姓名, 编号, 状态, 电话 …), never the others.
IDENTITY_KEYS: tuple[str, ...] = ("case_id", "petitioner", "matter", "status")
GENERIC_NAMES: tuple[str, ...] = (
    "编号", "姓名", "状态", "分类", "延期", "备注", "办理情况", "进展情况", "工作进展",
    *(n for key in ("village", "id_number", "phone", "address", "remarks") for n in FIELD_BY_KEY[key].names))
# A running number nearly every sheet has: no field, and not worth a word as a village's own column.
ROW_NUMBER_HEADERS: tuple[str, ...] = ("序号", "序", "行号", "顺序号", "NO", "NO.")
REQUIRED_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.required)
DATE_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.kind == "date")


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    header: str
    # the text field that also counts as this item when filled (docs/domain.md)
    text_field: str | None = None
    variants: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, *self.variants)


@dataclass(frozen=True)
class ChecklistGroup:
    key: str
    header: str
    items: tuple[ChecklistItem, ...]
    description: str = ""


CHECKLISTS: tuple[ChecklistGroup, ...] = (
    ChecklistGroup("nine", "九个一", (
        ChecklistItem("nine_leader", "包案领导", text_field="leader", variants=("一名包案领导",)),
        ChecklistItem("nine_group", "工作小组", variants=("一个工作小组", "化解工作小组", "一个化解工作小组")),
        ChecklistItem("nine_meeting", "协调会", variants=("一次协调会",)),
        ChecklistItem("nine_plan", "化解方案", text_field="plan", variants=("一套化解方案",)),
        ChecklistItem("nine_stability", "稳控措施", text_field="stability_measures",
                      variants=("一套稳控措施",)),
        ChecklistItem("nine_deadline", "解决期限", variants=("一个解决期限",)),
        ChecklistItem("nine_minutes", "会议纪要", variants=("一份会议纪要", "协调会纪要", "一份协调会纪要")),
        ChecklistItem("nine_meet_petitioner", "信访人见面", variants=("一次信访人见面",)),
    ), "一件积案、一名包案领导、一个工作小组、一次协调会、一套化解方案、一套稳控措施、"
       "一个解决期限、一份协调会纪要、一次信访人见面"),
    ChecklistGroup("five", "五包", (
        ChecklistItem("five_situation", "包掌握情况"),
        ChecklistItem("five_thinking", "包思想转化"),
        ChecklistItem("five_solve", "包解决问题"),
        ChecklistItem("five_persuade", "包劝返"),
        ChecklistItem("five_settle", "包息诉罢访"),
    ), "包案领导亲自落实的五项责任"),
    ChecklistGroup("clear", "六清楚", (
        ChecklistItem("clear_background", "背景经过"),
        ChecklistItem("clear_mood", "思想情绪"),
        ChecklistItem("clear_opinion", "办案意见"),
        ChecklistItem("clear_family", "亲属态度"),
        ChecklistItem("clear_public", "各界看法"),
        ChecklistItem("clear_policy", "政策法规"),
    ), "排查阶段须搞清楚的六个方面"),
    ChecklistGroup("archive", "六有", (
        ChecklistItem("archive_basic", "基本案情材料"),
        ChecklistItem("archive_letter", "交办函", variants=("交办案件台账及交办函",)),
        ChecklistItem("archive_assign", "包案文件", variants=("包案领导和责任单位文件",)),
        ChecklistItem("archive_report", "查办报告"),
        ChecklistItem("archive_reply", "答复回访材料"),
        ChecklistItem("archive_stability", "稳控材料"),
    ), "结案销号前须归档的六项材料"),
)

CHECKLIST_BY_KEY: dict[str, ChecklistGroup] = {g.key: g for g in CHECKLISTS}
CHECKLIST_ITEMS: dict[str, ChecklistItem] = {i.key: i for g in CHECKLISTS for i in g.items}
ITEM_GROUP: dict[str, ChecklistGroup] = {i.key: g for g in CHECKLISTS for i in g.items}


@dataclass(frozen=True)
class ComputedColumn:
    key: str
    header: str


# Written by the toolkit (fill, master); recognised on read and never taken as input.
COMPUTED: tuple[ComputedColumn, ...] = (
    ComputedColumn("deadline", "办结期限"),
    ComputedColumn("workdays_left", "剩余工作日"),
    ComputedColumn("alert", "预警"),
    ComputedColumn("nine_done", "九个一完成"),
    ComputedColumn("five_done", "五包完成"),
    ComputedColumn("clear_done", "六清楚完成"),
    ComputedColumn("archive_done", "六有完成"),
    ComputedColumn("missing_items", "缺项"),
    ComputedColumn("can_close", "可否销号"),
    ComputedColumn("in_scope", "积案范围"),
    ComputedColumn("phase", "所处阶段"),
)
COMPUTED_BY_KEY: dict[str, ComputedColumn] = {c.key: c for c in COMPUTED}
COMPUTED_GROUP_HEADER = "系统计算，勿填"

# --- statuses ---------------------------------------------------------------
# every module names a status by these words (canonical first; the variants a sheet may use)
PENDING, IN_PROGRESS, RESOLVED, STRUCK_OFF, SUSPENDED_STATUS = "待化解", "化解中", "已化解", "已销号", "中止"
STATUSES: dict[str, tuple[str, ...]] = {
    PENDING: ("未启动", "待办理"),
    IN_PROGRESS: ("推进中", "办理中", "正在化解"),
    RESOLVED: ("已办结", "已息诉"),
    STRUCK_OFF: ("已结案销号", "结案销号", "已结案"),
    SUSPENDED_STATUS: ("暂停",),
}
CLOSED_STATUSES = (RESOLVED, STRUCK_OFF)

# --- alerts -----------------------------------------------------------------
ALERT_OVERDUE = "逾期"
ALERT_DUE_SOON = "临期"
ALERT_NORMAL = "正常"
ALERT_CLOSED = "已办结"
ALERT_SUSPENDED = "中止"

# --- ticks ------------------------------------------------------------------
TICK_DONE = ("√", "✓", "✔", "是", "有", "已", "Y", "y", "1", "TRUE")
TICK_NOT_DONE = ("", "×", "✗", "否", "无", "N", "n", "0", "FALSE")
TICK_MARK = "√"

# --- markers in the toolkit's own template ----------------------------------
# The template carries a very hidden sheet: A1 "taizhang", B1 version, A2 "village", B2 village.
TEMPLATE_MARKER_SHEET = "_台账标记"
TEMPLATE_MARKER_TAG = "taizhang"
TEMPLATE_VERSION = "1"
REPORTER_LABELS = ("填报单位", "报送单位", "填报村")
REPORT_DATE_LABELS = ("填报日期", "报送日期", "填表日期")
FOOTER_PREFIXES = ("填表人", "审核人", "注：", "注:", "说明：", "说明:", "负责人", "制表人", "联系人：", "备注：")
LEDGER_TITLE_WORD = "台账"


# --- header normalisation ---------------------------------------------------
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")",
                           "／": "/", "：": ":", "＊": "*"})
_STRIP = re.compile(r"[\s\u3000*★※]+")


def normalize_header(text: object) -> str:
    """Fold a header cell to a comparable form: NFKC, ASCII brackets, no spaces or stars."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).translate(_BRACKETS)
    s = _STRIP.sub("", s)
    return s


def _index() -> tuple[dict[str, str], dict[str, str], dict[tuple[str, str], str], dict[str, str]]:
    fields: dict[str, str] = {}
    for f in FIELDS:
        for n in f.names:
            fields.setdefault(normalize_header(n), f.key)
    items_any: dict[str, str] = {}
    items_grouped: dict[tuple[str, str], str] = {}
    for g in CHECKLISTS:
        for it in g.items:
            for n in it.names:
                items_any.setdefault(normalize_header(n), it.key)
                items_grouped[(normalize_header(g.header), normalize_header(n))] = it.key
    computed = {normalize_header(c.header): c.key for c in COMPUTED}
    # plain group names as computed headers ("九个一" under 系统计算 means nine_done)
    for g in CHECKLISTS:
        computed.setdefault(normalize_header(g.header) + "完成情况", f"{g.key}_done")
    return fields, items_any, items_grouped, computed


_FIELD_INDEX, _ITEM_INDEX, _ITEM_GROUPED, _COMPUTED_INDEX = _index()
_GROUP_NAMES = {normalize_header(g.header): g.key for g in CHECKLISTS}
_COMPUTED_GROUP = normalize_header(COMPUTED_GROUP_HEADER)


def match_header(text: object, group: object = None) -> str | None:
    """Return the key a header cell stands for, or None.

    ``group`` is the cell above in a two-level header (九个一, 五包, …, 系统计算).
    Under a checklist group an item name is the tick column (稳控措施 under 九个一
    is ``nine_stability``); elsewhere a text field wins (稳控措施 alone is the text
    column ``stability_measures``, which also counts for the item).
    """
    h = normalize_header(text)
    if not h:
        return None
    g = normalize_header(group)
    if g and g.startswith(_COMPUTED_GROUP[:4]):
        key = _COMPUTED_INDEX.get(h) or (f"{_GROUP_NAMES[h]}_done" if h in _GROUP_NAMES else None)
        if key:
            return key
    if g in _GROUP_NAMES and (g, h) in _ITEM_GROUPED:
        return _ITEM_GROUPED[(g, h)]
    if h in _COMPUTED_INDEX:
        return _COMPUTED_INDEX[h]
    if h in _FIELD_INDEX:
        return _FIELD_INDEX[h]
    if h in _ITEM_INDEX:
        return _ITEM_INDEX[h]
    # "责任单位\n责任人", "责任单位(责任人)" and similar
    if h.startswith("责任单位"):
        return "responsible_unit"
    return None


_GENERIC_INDEX = frozenset(normalize_header(n) for n in GENERIC_NAMES)
_ROW_NUMBER_INDEX = frozenset(normalize_header(n) for n in ROW_NUMBER_HEADERS)


def is_row_number_header(text: object) -> bool:
    """序号, 行号, No. …: the column of running numbers."""
    return normalize_header(text).upper() in _ROW_NUMBER_INDEX


def identifies_ledger(named: list[tuple[str, str]]) -> bool:
    """True when header cells (key, text as written, bracketed notes removed) name a ledger:
    two of ``IDENTITY_KEYS`` by any name, and two columns by a name that is not generic."""
    families = {key for key, _ in named if key in IDENTITY_KEYS}
    specific = sum(1 for _, text in named if normalize_header(text) not in _GENERIC_INDEX)
    return len(families) >= 2 and specific >= 2


def is_group_header(text: object) -> bool:
    h = normalize_header(text)
    return h in _GROUP_NAMES or h.startswith(_COMPUTED_GROUP[:4]) or h in {
        normalize_header(x) for x in ("基本情况", "包案责任", "化解情况", "检查清单")}


def header_for(key: str) -> str:
    """The Chinese header of any key: field, checklist item or computed column."""
    if key in FIELD_BY_KEY:
        return FIELD_BY_KEY[key].header
    if key in CHECKLIST_ITEMS:
        it = CHECKLIST_ITEMS[key]
        return f"{ITEM_GROUP[key].header}·{it.header}"
    if key in COMPUTED_BY_KEY:
        return COMPUTED_BY_KEY[key].header
    return key


# --- value vocabularies -----------------------------------------------------
_STATUS_INDEX = {normalize_header(v): canon for canon, vs in STATUSES.items() for v in (canon, *vs)}
_TICK_DONE = {normalize_header(t).upper() for t in TICK_DONE}
_TICK_NOT = {normalize_header(t).upper() for t in TICK_NOT_DONE}


def canonical_status(text: object) -> str | None:
    """Canonical status for a status word or its variant; None for an unknown word."""
    return _STATUS_INDEX.get(normalize_header(text))


def parse_tick(value: object) -> bool | None:
    """True for a done mark, False for a not-done mark or blank, None when unrecognised."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    s = normalize_header(value).upper()
    if s in _TICK_DONE:
        return True
    if s in _TICK_NOT:
        return False
    return None


ALL_ITEM_KEYS: tuple[str, ...] = tuple(CHECKLIST_ITEMS)
ALL_INPUT_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS) + ALL_ITEM_KEYS

"""The one generator of realistic village ledgers (村级台账) for the demo, tests and benchmarks.

``make_case`` invents one believable backlog case of 南郊乡 (温州市鹿城区): a
petitioner with a valid GB 11643 ID (area 330302), a matter (征地补偿, 宅基地纠纷,
拆迁安置, …), a township leader, a responsible unit, dates, a status and the
checklists. ``make_ledger`` writes cases into a workbook the way a village
really sends it; ``LedgerStyle`` switches each quirk DOMAIN.md lists and each
fault the validator must catch. ``build_demo_inbox`` writes the bundled demo
inbox (see its docstring for what it holds); ``make_bench_inbox`` writes the
300 x 100 benchmark inbox.

Case dicts use the registry's keys (``toolkit.core.fields``): every field plus every
checklist item that has its own tick column (items that are a text column —
包案领导, 化解方案, 稳控措施 — are counted from that text). Values are typed:
``date`` for dates, ``bool`` for ticks, canonical words for statuses. The key
``_plan`` (not a column) says which alert the case was made for.
"""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterable, Sequence

from toolkit.core import fields
from toolkit.core.config import DEMO_AS_OF
from toolkit.core.cells import cell_ref
from toolkit.core.normalize import id_check_digit
from toolkit.core.settings import DEMO_ROSTER, Campaign
from toolkit.outputs import template as tpl

AREA_CODE = "330302"                    # 温州市鹿城区
CITY = "温州市鹿城区"
TOWNSHIP = Campaign().township          # 南郊乡
EXCEL_EPOCH = date(1899, 12, 30)

# --- content pools -------------------------------------------------------------
SURNAMES = "陈林黄王郑周吴徐潘胡金叶张李刘杨朱蔡池谢缪董章姜余戴季项"
MALE_NAMES = ("建国 志强 海涛 文斌 光明 立新 德胜 伟东 国平 永福 顺发 金宝 锡荣 长根 忠良 明华 建军 "
              "林峰 国华 正义 加友 宝林 克勤 仁杰 荣华 振华 一鸣 小平 寿松 启明 斌 强 勇 军 杰 涛 伟").split()
FEMALE_NAMES = ("美玲 丽华 晓红 金花 秀英 月娥 素珍 玉兰 雪芳 彩凤 爱琴 小燕 秀芬 菊芳 莲英 丽娟 海燕 "
                "碎妹 燕 芳 红 娟 霞").split()
LEADERS = (
    ("乡党委书记", "郑光明"), ("乡长", "张立新"), ("乡党委副书记", "吴丽萍"), ("副乡长", "陈伟东"),
    ("副乡长", "林建平"), ("乡纪委书记", "黄晓东"), ("乡人大主席", "周德胜"), ("乡武装部长", "潘国强"),
    ("乡党委委员", "金海波"), ("乡组织委员", "叶素珍"),
)
ROADS = ("村前路", "河滨路", "新村路", "中心街", "塘河路", "学堂巷", "老街", "后垟路", "山脚路")
PHONE_PREFIXES = ("130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "158", "159",
                  "186", "189")
REMARKS = ("区交办", "市交办", "重点积案", "群体访", "曾赴省进京访", "列入区级督办", "涉及多户")
STABILITY = (
    "落实村干部专人联系，每周上门走访一次，掌握思想动态",
    "由包案领导牵头，村两委、亲属共同做好稳控，重要时期专人看护",
    "建立一人一档，敏感时期每日联系，发现苗头及时报告",
    "请其亲属和村老年协会做思想工作，劝其依法逐级反映",
    "落实“一案一专班”，联系人手机24小时畅通",
)
PROGRESS_BY_STATUS = {
    "待化解": ("已交办{unit}，正在调阅卷宗、调查核实情况", "已登记交办，责任单位尚在了解情况"),
    "化解中": ("已召开协调会{m}次，{step}；信访人对方案尚有异议，继续做思想工作",
              "包案领导已约见信访人，{step}，化解方案正在征求意见",
              "{step}，拟于近期再次召开协调会"),
    "已化解": ("经多次协调，{done}，信访人签字表示息诉罢访", "{done}，已回访，信访人表示满意"),
    "已销号": ("{done}，经回访信访人息诉罢访，案卷材料已归档，经乡信访办审核销号",),
    "中止": ("信访人已向法院提起诉讼，待判决后再行处理", "因信访人长期在外地务工无法联系，暂停化解"),
}


@dataclass(frozen=True)
class MatterKind:
    name: str
    category: str
    units: tuple[str, ...]
    matters: tuple[str, ...]
    plan: str
    measures: str
    step: str
    done: str


MATTER_KINDS: tuple[MatterKind, ...] = (
    MatterKind("征地补偿", "国土资源", ("乡国土所", "乡财政所"),
               ("反映{year}年{village}集体土地被征用后，征地补偿款分配不公，要求按人口补足补偿款{n}万元",
                "反映其责任田被征用后至今未领到青苗补偿费，要求兑现"),
               "核对征地面积和分配名册，按政策补足应得部分", "调阅征地档案，核对补偿标准和分配方案",
               "已复核分配名册，补足差额", "补偿款已按政策补发到位"),
    MatterKind("宅基地纠纷", "国土资源", ("乡国土所", "乡司法所", "村委会"),
               ("反映与邻居{other}宅基地界址纠纷，要求确认宅基地使用权",
                "反映{year}年旧房翻建审批未获通过，要求补办宅基地审批手续"),
               "现场勘测界址，依据原批准文件调处", "组织双方现场勘测，调取原审批资料",
               "已现场确界", "双方签订调解协议，界址已确认"),
    MatterKind("拆迁安置", "城乡建设", ("乡城建办", "乡国土所"),
               ("反映{year}年旧村改造拆迁后安置面积不足，要求增加安置用房{n}0平方米",
                "反映拆迁过渡费停发，要求补发并尽快安置"),
               "按旧村改造安置政策核定安置面积，合理部分予以解决", "核定原房屋面积和安置人口",
               "已重新核定安置面积", "安置面积已按政策核定，过渡费已补发"),
    MatterKind("劳动报酬", "劳动社保", ("乡劳动保障所", "乡司法所"),
               ("反映在本乡某建筑工地务工被拖欠工资{n}万元，要求帮助追讨",
                "反映原所在鞋厂倒闭，拖欠{n}名工人工资，要求解决"),
               "协调用工单位和承包人，依法追讨欠薪，必要时引导劳动仲裁", "约谈用工单位负责人，核实欠薪数额",
               "已约谈包工头并核实欠薪", "欠薪已全部支付到位"),
    MatterKind("山林权属", "农村农业", ("乡林业站", "乡司法所", "村委会"),
               ("反映与邻村的山林权属争议，要求确认{year}年林权证所载山林归其所有",
                "反映其承包的山林被他人砍伐，要求赔偿损失并确认林权"),
               "调取林权档案，组织双方村委会协商，协商不成依法裁决", "调取林权证及山林承包档案",
               "已调取原林权档案，组织双方踏勘", "双方村委会达成协议，林权已确认"),
    MatterKind("低保待遇", "民政", ("乡民政办",),
               ("反映家庭困难、本人患病，要求享受最低生活保障待遇",
                "反映其低保被取消，要求恢复"),
               "入户核查家庭收入，符合条件的按程序纳入", "入户调查家庭经济状况",
               "已入户核查并经村民代表评议", "已按程序纳入低保，并给予临时救助"),
    MatterKind("医疗纠纷", "卫生", ("乡卫生院", "乡司法所"),
               ("反映其父在乡卫生院治疗期间死亡，要求追究医生责任并赔偿",
                "反映在卫生院手术后留下后遗症，要求赔偿医疗费{n}万元"),
               "委托医疗事故技术鉴定，引导通过医调委调解或诉讼解决", "调取病历资料，申请医疗事故技术鉴定",
               "鉴定结论已出，医调委正在调解", "经医调委调解达成赔偿协议，已履行"),
    MatterKind("企业改制", "企业改制", ("乡经济发展办", "乡劳动保障所"),
               ("反映原乡办企业改制时职工身份置换补偿不到位，要求补发{n}万元",
                "反映原乡企业改制后养老保险未续缴，要求解决"),
               "查阅改制档案，按当时政策核算，属实的予以补发", "查阅企业改制档案和职工花名册",
               "已核算应补金额", "已按改制政策补发并办理社保接续"),
    MatterKind("涉法涉诉", "政法", ("乡司法所", "乡综治办", "乡派出所"),
               ("不服区法院{year}年民事判决，要求再审",
                "反映其被打伤后对方未被追究刑事责任，要求严惩"),
               "引导依法申诉，做好法律释明和思想疏导，落实司法救助", "邀请律师进行法律释明",
               "已协助其向法院递交申诉材料", "经法律释明，信访人接受处理结果"),
    MatterKind("村务管理", "村务管理", ("乡农办", "乡纪委", "村委会"),
               ("反映{village}村干部财务不公开，要求审计{year}年以来村集体账目",
                "反映村集体厂房出租未经村民代表会议讨论，要求查处"),
               "委托乡农经站审计村集体账目，结果向村民公开", "乡农经站进场审计村账",
               "审计已完成，正在整理结果", "审计结果已公开，相关人员已作处理"),
    MatterKind("环境污染", "环境保护", ("乡城建办", "乡安监站"),
               ("反映附近企业排放废水污染农田，要求停产并赔偿损失",
                "反映村边石料加工场粉尘噪音扰民，要求关停"),
               "会同环保部门监测，督促企业整改，依法赔偿", "会同区环保局现场监测",
               "已责令企业限期整改", "企业已整改到位并赔偿农户损失"),
    MatterKind("土地承包", "农村农业", ("乡农办", "村委会"),
               ("反映其土地承包经营权被村里收回另行发包，要求返还",
                "反映二轮延包时未分到承包地，要求补分"),
               "核查二轮承包合同和台账，依法确权", "核查二轮延包合同和登记台账",
               "已核清承包档案", "已依法确认承包经营权并补签合同"),
)
MATTER_BY_NAME = {m.name: m for m in MATTER_KINDS}

# Plans: which alert a case is made for, as of ``as_of``. Assignment windows are
# calendar-day offsets calibrated on the demo date 2010-10-20 (60 working days
# after 交办日期, National Day week included); elsewhere they are approximate.
PLANS = ("overdue", "due_soon", "normal", "resolved", "struck_off", "suspended", "waiting")
PLAN_WEIGHTS = (20, 12, 25, 22, 13, 3, 5)
PLAN_WINDOWS = {
    "overdue": (-167, -96), "due_soon": (-85, -78), "normal": (-65, -22), "waiting": (-65, -22),
    "resolved": (-167, -50), "struck_off": (-167, -80), "suspended": (-167, -50),
}
PLAN_STATUS = {"overdue": "化解中", "due_soon": "化解中", "normal": "化解中", "waiting": "待化解",
               "resolved": "已化解", "struck_off": "已销号", "suspended": "中止"}


# --- small generators ------------------------------------------------------------
def make_id_number(rng: random.Random, *, male: bool = True, area: str = AREA_CODE) -> str:
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 45))
    seq = rng.randrange(100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def make_name(rng: random.Random, *, male: bool = True) -> str:
    return rng.choice(SURNAMES) + rng.choice(MALE_NAMES if male else FEMALE_NAMES)


def make_phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def is_workday(d: date) -> bool:
    """Whether a made-up date looks like an office day: the toolkit's official calendar
    where it knows the year; Monday to Friday for the early 2000s of old petitions
    (only sample data is drawn this way, never a deadline)."""
    from toolkit.compute.calendar import calendar_for
    from toolkit.core.settings import DEFAULT_SETTINGS
    cal = calendar_for(DEFAULT_SETTINGS)
    return cal.is_workday(d) if cal.knows(d.year) else d.weekday() < 5


def _workday_between(rng: random.Random, lo: date, hi: date) -> date:
    span = max((hi - lo).days, 0)
    for _ in range(40):
        d = lo + timedelta(days=rng.randint(0, span))
        if is_workday(d):
            return d
    return lo


def _ticks(rng: random.Random, group: str, p: float) -> dict[str, bool]:
    return {it.key: rng.random() < p for it in fields.CHECKLIST_BY_KEY[group].items
            if it.text_field is None}


# --- one case ------------------------------------------------------------------
def make_case(rng: random.Random, *, village: str, case_id: str, plan: str | None = None,
              as_of: date = DEMO_AS_OF, report_date: date | None = None,
              kind: str | None = None) -> dict:
    """One realistic case of ``village`` made for ``plan`` (an alert as of ``as_of``)."""
    plan = plan or rng.choices(PLANS, PLAN_WEIGHTS)[0]
    report_date = report_date or as_of - timedelta(days=2)
    mk = MATTER_BY_NAME[kind] if kind else rng.choice(MATTER_KINDS)
    male = rng.random() < 0.7
    name = make_name(rng, male=male)
    status = PLAN_STATUS[plan]
    lo, hi = PLAN_WINDOWS[plan]
    assigned = _workday_between(rng, as_of + timedelta(days=lo), as_of + timedelta(days=hi))
    first = _workday_between(rng, date(2001, 3, 1), date(2008, 12, 20))
    unit = rng.choice(mk.units)
    if unit == "村委会":
        unit = village + ("居委会" if village.endswith("社区") else "村委会")
    title, leader = rng.choice(LEADERS)
    closed = None
    if status in fields.CLOSED_STATUSES:
        closed = _workday_between(rng, min(assigned + timedelta(days=20), report_date - timedelta(days=1)),
                                  report_date - timedelta(days=1))
    case = {
        "case_id": case_id,
        "village": village,
        "petitioner": name + (f"等{rng.randint(3, 30)}人" if rng.random() < 0.12 else ""),
        "id_number": make_id_number(rng, male=male),
        "phone": make_phone(rng),
        "address": f"{CITY}{TOWNSHIP}{village}{rng.choice(ROADS)}{rng.randint(1, 188)}号",
        "matter": rng.choice(mk.matters).format(year=first.year, village=village, n=rng.randint(2, 30),
                                                other=make_name(rng)),
        "category": mk.category,
        "first_petition_date": first,
        "assigned_date": assigned,
        "leader": f"{title} {leader}",
        "responsible_unit": f"{unit} {make_name(rng)}",
        "resolution_type": _resolution_type(rng, status),
        "measures": mk.measures,
        "stability_measures": rng.choice(STABILITY) if status != "待化解" or rng.random() < 0.5 else None,
        "plan": mk.plan if status != "待化解" or rng.random() < 0.4 else None,
        "progress": _progress(rng, status, mk, unit),
        "status": status,
        "closed_date": closed,
        "settled": _settled(rng, status),
        "extension_days": rng.choice((10, 15, 20)) if plan == "normal" and rng.random() < 0.15 else None,
        "remarks": rng.choice(REMARKS) if rng.random() < 0.25 else None,
        "_plan": plan,
        "_kind": mk.name,
    }
    case.update(_checklists(rng, plan))
    return case


def _resolution_type(rng: random.Random, status: str) -> str | None:
    choices = fields.FIELD_BY_KEY["resolution_type"].choices
    if status == "待化解" and rng.random() < 0.5:
        return None
    weights = (6, 1, 1, 2) if status in fields.CLOSED_STATUSES else (3, 3, 1, 3)
    return rng.choices(choices, weights)[0]


def _settled(rng: random.Random, status: str) -> str | None:
    if status in fields.CLOSED_STATUSES:
        return "是" if rng.random() < 0.9 else "部分"
    return None if status == "待化解" else "否"


def _progress(rng: random.Random, status: str, mk: MatterKind, unit: str) -> str:
    text = rng.choice(PROGRESS_BY_STATUS[status])
    return text.format(unit=unit, m=rng.randint(1, 4), step=mk.step, done=mk.done)


def _checklists(rng: random.Random, plan: str) -> dict[str, bool]:
    p_nine, p_five, p_clear, p_archive = {
        "struck_off": (1, 1, 1, 1), "resolved": (1, 0.95, 0.95, 0.6), "overdue": (0.7, 0.6, 0.85, 0.25),
        "due_soon": (0.75, 0.6, 0.85, 0.25), "normal": (0.6, 0.5, 0.8, 0.2),
        "suspended": (0.6, 0.4, 0.8, 0.3), "waiting": (0.2, 0.1, 0.5, 0.1),
    }[plan]
    ticks = {**_ticks(rng, "nine", p_nine), **_ticks(rng, "five", p_five),
             **_ticks(rng, "clear", p_clear), **_ticks(rng, "archive", p_archive)}
    if plan != "waiting":   # the township hands over the case file with the assignment
        ticks["archive_basic"] = ticks["archive_letter"] = True
    return ticks


def make_cases(rng: random.Random, *, village: str, n: int, first_number: int = 1,
               prefix: str = "NJ2010-", as_of: date = DEMO_AS_OF,
               report_date: date | None = None, plans: Sequence[str] | None = None) -> list[dict]:
    """``n`` cases numbered ``prefix`` + 001…; ``plans`` (cycled) fixes the alert mix."""
    return [make_case(rng, village=village, case_id=f"{prefix}{first_number + i:03d}",
                      plan=plans[i % len(plans)] if plans else None, as_of=as_of,
                      report_date=report_date)
            for i in range(n)]


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
    """How a village's workbook looks: each switch is one quirk of real sheets (DOMAIN.md)."""
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
    c["progress"] = _progress(rng, status, kind, c.get("responsible_unit") or "")
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
    c["first_petition_date"] = _workday_between(rng, date(2009, 2, 16), date(2009, 11, 30))
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


@dataclass(frozen=True)
class _Column:
    key: str
    header: str
    group: str | None      # checklist group title over this column (grouped layout), else None
    width: float
    kind: str


def _plain_columns(layout: LedgerStyle, lrng: random.Random) -> list[_Column]:
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
        cols.append(_Column(c.key, header, group, c.width, c.kind))
    return cols


# --- writing -----------------------------------------------------------------------
class _PlainFormats:
    def __init__(self, wb, date_format: str) -> None:
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = wb.add_format({**base, "font_size": 16, "bold": True, "align": "center"})
        self.plain = wb.add_format(base)
        self.header = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True})
        self.text = wb.add_format({**cell, "text_wrap": True})
        self.date = wb.add_format({**cell, "align": "center", "num_format": date_format})
        self.plain_date = wb.add_format({**base, "num_format": "yyyy年m月d日", "align": "left"})
        self.note = wb.add_format({**base, "text_wrap": True, "valign": "top"})


def _write_value(ws, row: int, col: int, value: object, fmt: _PlainFormats) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt.text)
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt.date)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt.text)
    else:
        ws.write_string(row, col, str(value), fmt.text)


def _write_reporter(ws, row: int, mode: str, village: str, day: date, ncol: int, fmt) -> None:
    right = max(min(ncol - 3, 9), 4)
    cn_day = f"{day.year}年{day.month}月{day.day}日"
    if mode == "one_cell":
        ws.merge_range(row, 0, row, max(min(ncol - 1, 11), 1),
                       f"填报单位（盖章）：{village}{'　' * 10}填报日期：{cn_day}", fmt.plain)
    elif mode == "two_cells":
        ws.merge_range(row, 0, row, 3, f"填报单位（盖章）：{village}", fmt.plain)
        ws.merge_range(row, right, row, right + 2, f"填报日期：{cn_day}", fmt.plain)
    elif mode == "label_value":
        ws.write_string(row, 0, "填报单位：", fmt.plain)
        ws.merge_range(row, 1, row, 2, village, fmt.plain)
        ws.write_string(row, right, "填报日期：", fmt.plain)
        ws.write_datetime(row, right + 1, datetime(day.year, day.month, day.day), fmt.plain_date)
    elif mode != "none":
        raise ValueError(f"unknown reporter layout {mode!r}")


def _write_header_rows(ws, row: int, cols: list[_Column], grouped: bool, fmt) -> list[int]:
    """Write one or two header rows starting at 0-based ``row``; return them 1-based."""
    if not grouped:
        for i, c in enumerate(cols):
            ws.write_string(row, i, c.header, fmt.header)
        ws.set_row(row, 42)
        return [row + 1]
    spans: list[tuple[str | None, int, int]] = []
    for i, c in enumerate(cols):
        if spans and c.group and spans[-1][0] == c.group and spans[-1][2] == i - 1:
            spans[-1] = (c.group, spans[-1][1], i)
        else:
            spans.append((c.group, i, i))
    for group, first, last in spans:
        if group is None:              # an ordinary column: one header cell over both rows
            ws.merge_range(row, first, row + 1, first, cols[first].header, fmt.header)
        elif first == last:
            ws.write_string(row, first, group, fmt.header)
        else:
            ws.merge_range(row, first, row, last, group, fmt.header)
        if group is not None:
            for i in range(first, last + 1):
                ws.write_string(row + 1, i, cols[i].header, fmt.header)
    ws.set_row(row + 1, 54)
    return [row + 1, row + 2]


def _write_instructions_sheet(wb, fmt) -> None:
    ws = wb.add_worksheet("填表说明")
    ws.set_column(0, 0, 90)
    lines = ("填表说明", "1. 本表每月底前报乡信访办，一案一行。",
             "2. “九个一”“五包”“六清楚”“六有”各项已落实的打“√”，未落实的空白。",
             "3. 日期请写具体到日，如2010年7月1日。",
             "4. 办理状态填：待化解、化解中、已化解、已销号、中止。",
             "5. 已化解、已销号的须填办结日期；销号须六有材料齐全。")
    for i, line in enumerate(lines):
        ws.write_string(i, 0, line, fmt.title if i == 0 else fmt.note)


def _write_footer(ws, row: int, ncol: int, contact: str, fmt, rng: random.Random) -> None:
    last = max(min(ncol - 1, 15), 1)
    ws.merge_range(row + 1, 0, row + 1, last,
                   f"填表人：{contact}　　　　审核人：{make_name(rng)}　　　　"
                   f"联系电话：0577-8{rng.randrange(10**7):07d}", fmt.plain)
    ws.merge_range(row + 2, 0, row + 2, last,
                   "注：1.本表每月底前报乡信访办；2.“九个一”“五包”“六清楚”“六有”已落实的打“√”；"
                   "3.已销号案件须六有材料齐全。", fmt.plain)


def _blank_after(i: int, n: int, layout: LedgerStyle) -> int:
    """How many blank rows a clerk left after case ``i`` (0-based)."""
    if not layout.blank_rows or i == n - 1:
        return 0
    return 2 if i == 10 else (1 if i % 6 == 5 else 0)


def xlwings_vba_project() -> bytes:
    """The vbaProject.bin of xlwings' bundled quickstart_standalone.xlsm (BSD)."""
    import xlwings
    src = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(src) as z:
        return z.read("xl/vbaProject.bin")


def _new_workbook(path: Path, *, title: str, macros: bool):
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    wb.set_properties({"title": title, "author": "村信访信息员", "created": tpl.FIXED_CREATED})
    if macros:
        wb.add_vba_project(io.BytesIO(xlwings_vba_project()), is_stream=True)
        wb.set_vba_name("ThisWorkbook")
    return wb


def _write_plain(path: Path, layout: LedgerStyle, village: str, rendered: list[dict],
                 cols: list[_Column], report_date: date, contact: str, rng: random.Random
                 ) -> tuple[list[int], list[int]]:
    title = f"{TOWNSHIP}{village}信访积案化解工作台账"
    wb = _new_workbook(path, title=title, macros=layout.fmt == "xlsm")
    fmt = _PlainFormats(wb, layout.date_format)
    if layout.instructions_first:
        _write_instructions_sheet(wb, fmt)
    ws = wb.add_worksheet(layout.sheet_name)
    ncol, row = len(cols), 0
    for i, c in enumerate(cols):
        ws.set_column(i, i, c.width)
    if layout.title:
        ws.merge_range(row, 0, row, ncol - 1, title, fmt.title)
        ws.set_row(row, 30)
        row += 1
    if layout.reporter != "none":
        _write_reporter(ws, row, layout.reporter, village, report_date, ncol, fmt)
        row += 1
    header_rows = _write_header_rows(ws, row, cols, layout.grouped, fmt)
    row = header_rows[-1]              # 0-based index of the first data row
    case_rows = []
    for n, values in enumerate(rendered):
        for i, c in enumerate(cols):
            _write_value(ws, row, i, values.get(c.key), fmt)
        height = tpl.row_height((values.get(c.key), c.width) for c in cols if c.kind == "text")
        if height:
            ws.set_row(row, height)
        case_rows.append(row + 1)
        row += 1 + _blank_after(n, len(rendered), layout)
    if layout.footer:
        _write_footer(ws, row, ncol, contact, fmt, rng)
    ws.freeze_panes(header_rows[-1], 0)
    if layout.extra_sheets:
        wb.add_worksheet("Sheet2")
        wb.add_worksheet("Sheet3")
    if layout.fmt == "xlsm":
        for sheet in wb.worksheets():
            sheet.set_vba_name()
    wb.close()
    return case_rows, header_rows


# --- one ledger ------------------------------------------------------------------
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
            path = convert_with_libreoffice([src], "xls", outdir=path.parent)[0]
    else:
        shape = _write(path, layout, village, rendered, report_date, contact, lrng)
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


# --- LibreOffice -------------------------------------------------------------------
def find_soffice() -> str | None:
    """The LibreOffice executable, also in its usual Windows folders."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for base in (Path("C:/Program Files/LibreOffice/program"),
                 Path("C:/Program Files (x86)/LibreOffice/program")):
        exe = base / "soffice.exe"
        if exe.exists():
            return str(exe)
    return None


def convert_with_libreoffice(paths: Iterable[Path | str], fmt: str, *, outdir: Path | str | None = None,
                             timeout: float = 600) -> list[Path]:
    """Convert many files with ONE headless LibreOffice call per output folder.

    ``fmt`` is LibreOffice's target (xls, pdf, csv, xlsx, …). Outputs go to
    ``outdir`` (default: each file's own folder) and are returned in order. A
    private profile folder lets several conversions run side by side.
    """
    paths = [Path(p).resolve() for p in paths]
    soffice = find_soffice()
    if soffice is None:
        raise RuntimeError("没有找到 LibreOffice（soffice），无法转换文件格式。")
    by_dir: dict[Path, list[Path]] = {}
    for p in paths:
        by_dir.setdefault(Path(outdir).resolve() if outdir else p.parent, []).append(p)
    ext = fmt.split(":")[0]
    results = [(Path(outdir).resolve() if outdir else p.parent) / f"{p.stem}.{ext}" for p in paths]
    for r, p in zip(results, paths):
        if r != p:
            r.unlink(missing_ok=True)     # never mistake an old file for a fresh conversion
    with tempfile.TemporaryDirectory(prefix="taizhang-lo-") as profile:
        for out, files in by_dir.items():
            out.mkdir(parents=True, exist_ok=True)
            cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
                   "--norestore", "--convert-to", fmt, "--outdir", str(out), *map(str, files)]
            subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    missing = [r.name for r in results if not r.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice 未能生成：{'、'.join(missing)}")
    return results


# --- the bundled demo inbox -----------------------------------------------------------
DEMO_SEED = 2010
DEMO_SILENT_VILLAGE = "新桥村"          # on the roster, has not reported: the master shows 未报


@dataclass(frozen=True)
class DemoVillage:
    village: str
    filename: str
    n_cases: int
    layout: LedgerStyle


DEMO_VILLAGES: tuple[DemoVillage, ...] = (
    DemoVillage("东村", "东村信访积案台账.xlsx", 12,
                LedgerStyle(template=True, report_date=date(2010, 10, 18))),
    DemoVillage("西村", "西村积案化解台账（2010年10月）.xlsx", 16,
                LedgerStyle(instructions_first=True, date_format="yyyy年m月d日", sheet_name="积案台账",
                            report_date=date(2010, 10, 15), faults=("id_as_number",))),
    DemoVillage("南村", "南村台账10.15.xlsx", 9,
                LedgerStyle(grouped=False, variants=True, messy_headers=True, reporter="two_cells",
                            ticks="mixed", phone_as_number=True, checklists_last=True,
                            sheet_name="Sheet1", report_date=date(2010, 10, 15),
                            faults=("impossible_date", "unknown_status"))),
    DemoVillage("北村", "北村信访积案台账.xls", 8,
                LedgerStyle(fmt="xls", reporter="label_value", dates="mixed", extra_sheets=True,
                            sheet_name="Sheet1", report_date=date(2010, 10, 19),
                            faults=("date_order", "invalid_tick"))),
    DemoVillage("前垟村", "前垟村信访台账.xlsm", 14,
                LedgerStyle(fmt="xlsm", report_date=date(2010, 10, 18))),
    DemoVillage("后垟村", "信访积案化解工作台账（10月报）.xlsx", 10,
                LedgerStyle(village_column=False, dates="mixed", report_date=date(2010, 10, 14),
                            faults=("archive_incomplete", "closed_without_date"))),
    DemoVillage("江滨社区", "江滨社区积案台账.xlsx", 22,
                LedgerStyle(reporter="two_cells", blank_rows=True, footer=True, omit=("extension_days",),
                            report_date=date(2010, 10, 19),
                            faults=("out_of_scope", "bad_id_check", "duplicate_case_id"))),
)
# The same case number in two villages: a 山林权属 dispute both sides report.
DEMO_SHARED_CASE = ("南村", "北村")
# 东村's September ledger: an earlier submission the archive keeps. The master
# counts the October file and reports the case that vanished in between.
DEMO_EARLIER_FILE = "东村2010年9月台账.xlsx"     # sorts before 东村信访积案台账.xlsx (bytes and casefold)
DEMO_EARLIER_REPORT = date(2010, 9, 20)
DEMO_EARLIER_RECEIVED = datetime(2010, 9, 20, 16, 30)    # its modified time after build_demo_inbox
# 前垟村 sent its ledger again as .xlsx and the mail cut it off: rejected, the .xlsm still counts.
DEMO_DAMAGED = ("前垟村", "前垟村信访台账（重发）.xlsx")


def _demo_plans(rng: random.Random, n: int) -> list[str]:
    """At least one case for each alert, the rest drawn like real ledgers, shuffled."""
    plans = ["overdue", "due_soon", "normal", "resolved"]
    plans += rng.choices(PLANS, PLAN_WEIGHTS, k=max(n - len(plans), 0))
    rng.shuffle(plans)
    return plans[:n]


def _demo_cases(rng: random.Random) -> dict[str, list[dict]]:
    cases: dict[str, list[dict]] = {}
    number = 1
    for v in DEMO_VILLAGES:
        report = v.layout.report_date
        cases[v.village] = make_cases(rng, village=v.village, n=v.n_cases, first_number=number,
                                      as_of=DEMO_AS_OF, report_date=report,
                                      plans=_demo_plans(rng, v.n_cases))
        number += v.n_cases
    first, second = DEMO_SHARED_CASE
    a = make_case(rng, village=first, case_id=cases[first][2]["case_id"], plan="overdue",
                  kind="山林权属", report_date=DEMO_VILLAGES[2].layout.report_date)
    a["matter"] = f"反映与{second}的山林权属争议，要求确认其承包的后山林地归{first}所有"
    b = make_case(rng, village=second, case_id=a["case_id"], plan="overdue", kind="山林权属",
                  report_date=DEMO_VILLAGES[3].layout.report_date)
    b.update(assigned_date=a["assigned_date"], first_petition_date=a["first_petition_date"],
             leader=a["leader"], matter=f"反映{first}村民越界砍伐本村集体山林，要求确认林权并赔偿")
    a["_keep"] = b["_keep"] = True
    cases[first][2] = a
    cases[second][-1] = b
    # the README's example: assigned 2010-07-01 -> deadline 2010-09-25, a make-up Saturday
    example = next(c for c in cases[DEMO_VILLAGES[0].village] if c["_plan"] == "overdue")
    example["assigned_date"] = date(2010, 7, 1)
    return cases


def _reopen(case: dict, rng: random.Random, status: str) -> None:
    """``case`` as it stood before it was closed (化解中) or worked on (待化解)."""
    case.update(status=status, closed_date=None, settled=None if status == "待化解" else "否")
    unit = (case.get("responsible_unit") or "").split(" ")[0]
    case["progress"] = _progress(rng, status, MATTER_BY_NAME[case["_kind"]], unit)
    if status == "待化解":
        case["resolution_type"] = None


def demo_earlier_cases(current: Sequence[dict] | None = None) -> list[dict]:
    """东村's September ledger (填报日期 DEMO_EARLIER_REPORT), made from its October cases.

    Cases assigned after that day are not in it yet; a case closed after it is
    still 化解中, and the newest open case still 待化解. Two more cases are in it
    only: NJ2010-092 (已化解; the October file dropped it without 已销号, so the
    master reports it as vanished) and NJ2010-093 (已销号; dropping it is fine).
    A separate RNG: the other demo files keep their bytes.
    """
    village = DEMO_VILLAGES[0].village
    if current is None:
        current = _demo_cases(random.Random(DEMO_SEED))[village]
    report = DEMO_EARLIER_REPORT
    rng = random.Random(f"{DEMO_SEED}:{village}:earlier")
    earlier = []
    for c in current:
        if c["assigned_date"] is None or c["assigned_date"] > report:
            continue
        e = dict(c)
        if e["closed_date"] is not None and e["closed_date"] > report:
            _reopen(e, rng, "化解中")
        earlier.append(e)
    open_now = {c["case_id"] for c in current if c["status"] == "化解中"}
    waiting = max((e for e in earlier if e["case_id"] in open_now), key=lambda e: e["assigned_date"])
    _reopen(waiting, rng, "待化解")
    first = sum(v.n_cases for v in DEMO_VILLAGES) + 1
    for n, plan in enumerate(("resolved", "struck_off")):
        earlier.append(make_case(rng, village=village, case_id=f"NJ2010-{first + n:03d}", plan=plan,
                                 as_of=DEMO_AS_OF, report_date=report))
    return earlier


def demo_vanished_case() -> tuple[str, str]:
    """(village, case number) the master must report as vanished."""
    gone = [c for c in demo_earlier_cases() if c["status"] != "已销号"]
    current = {c["case_id"] for c in _demo_cases(random.Random(DEMO_SEED))[DEMO_VILLAGES[0].village]}
    (case,) = [c for c in gone if c["case_id"] not in current]
    return DEMO_VILLAGES[0].village, case["case_id"]


def _write_demo_earlier(folder: Path, cases: Sequence[dict], contact: str | None) -> SampleLedger:
    v = DEMO_VILLAGES[0]
    sample = make_ledger(folder / DEMO_EARLIER_FILE, village=v.village, cases=demo_earlier_cases(cases),
                         seed=DEMO_SEED, layout=replace(v.layout, report_date=DEMO_EARLIER_REPORT),
                         contact=contact)
    stamp = DEMO_EARLIER_RECEIVED.timestamp()
    os.utime(sample.path, (stamp, stamp))
    return sample


def _write_demo_damaged(folder: Path, cases: Sequence[dict], contact: str | None) -> Path:
    """The resubmission as .xlsx, cut off after three fifths of its bytes (no zip directory)."""
    village, filename = DEMO_DAMAGED
    v = next(d for d in DEMO_VILLAGES if d.village == village)
    with tempfile.TemporaryDirectory(prefix="taizhang-demo-") as tmp:
        whole = make_ledger(Path(tmp) / filename, village=village, cases=cases, seed=DEMO_SEED,
                            layout=replace(v.layout, fmt="xlsx"), contact=contact).path.read_bytes()
    path = folder / filename
    path.write_bytes(whole[:len(whole) * 3 // 5])
    return path


def build_demo_inbox(folder: Path | str | None = None) -> list[SampleLedger]:
    """Write the bundled demo inbox (default ``workbooks/demo_inbox``); deterministic.

    Seven of the eight villages of ``settings.DEMO_ROSTER`` have reported
    (新桥村 has not: 未报), as of ``config.DEMO_AS_OF`` 2010-10-20, 91 cases
    numbered NJ2010-001…, assigned 2010-05…09 so that the master shows 逾期,
    临期, 正常, 已办结 and 中止 cases (60 working days after 交办日期; 东村's
    first overdue case is assigned 2010-07-01: deadline 2010-09-25).

    - 东村 东村信访积案台账.xlsx: the toolkit's own template (marker sheet); clean.
    - 西村 西村积案化解台账（2010年10月）.xlsx: 填表说明 sheet first, dates shown
      as 2010年7月1日; fault: an 18-digit ID typed as a number (id_number_as_number).
    - 南村 南村台账10.15.xlsx: one flat header row with variants, line breaks and
      stray spaces, checklists after 化解情况, ticks 是/有/1/Y/✓, phones as numbers,
      填报单位 and 填报日期 in two cells; faults: 交办日期 2010年13月5日
      (invalid_date), status 基本化解 (unknown_status).
    - 北村 北村信访积案台账.xls: legacy .xls made through LibreOffice (as WPS
      saves it), label and value in separate cells, dates in every form, empty
      Sheet2/Sheet3; faults: 办结日期 before 交办日期 (date_order), tick 部分
      (invalid_tick).
    - 前垟村 前垟村信访台账.xlsm: a macro workbook (macros_present); clean.
    - 后垟村 信访积案化解工作台账（10月报）.xlsx: the file name has no village and
      there is no village column: only 填报单位 names it; mixed date forms;
      faults: 已销号 without 答复回访材料 (archive_incomplete), 已化解 without
      办结日期.
    - 江滨社区 江滨社区积案台账.xlsx: blank rows inside the data and 填表人/审核人/注：
      footer rows, no 延期天数 column; faults: first petition in 2009
      (out_of_scope), a wrong ID check digit (invalid_id_number), a case number
      used twice (duplicate_case_id).
    - 南村 and 北村 both report the same case number (a 山林权属 dispute between
      them): the master lists it as a duplicate across villages.

    Two more files show the submission archive at work (``demo_filenames`` lists
    them; the return value holds the seven counted ledgers only):

    - 东村 东村2010年9月台账.xlsx: its earlier submission (填报日期 2010-09-20,
      same template; see ``demo_earlier_cases``). The master counts the October
      file and reports NJ2010-092 (已化解 in September, then dropped without
      已销号) as vanished in 变更记录; NJ2010-093, dropped after 已销号, is not.
      It counts as earlier both here (written first, modified time set to
      2010-09-20 16:30) and in a fresh git clone (no kept times: checkout writes
      in path byte order, and the archive breaks a tie of seconds by the order
      files are found, casefolded names; the name sorts first in both).
    - 前垟村 前垟村信访台账（重发）.xlsx: a resubmission cut off in transit (the
      first 3/5 of the .xlsx, no zip directory): listed as rejected (unreadable);
      前垟村's .xlsm still counts.
    """
    from toolkit.core.config import DEMO_INBOX
    folder = Path(folder) if folder is not None else DEMO_INBOX
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(DEMO_SEED)
    cases = _demo_cases(rng)
    contacts = {r.village: r.contact for r in DEMO_ROSTER}
    east = DEMO_VILLAGES[0].village      # the September file first: it must not look newer
    _write_demo_earlier(folder, cases[east], contacts.get(east))
    ledgers = [make_ledger(folder / v.filename, village=v.village, cases=cases[v.village],
                           seed=DEMO_SEED, layout=v.layout, contact=contacts.get(v.village))
               for v in DEMO_VILLAGES]
    _write_demo_damaged(folder, cases[DEMO_DAMAGED[0]], contacts.get(DEMO_DAMAGED[0]))
    return ledgers


def demo_filenames() -> list[str]:
    """Every file of the demo inbox: the villages' current ledgers, then the two extra files."""
    return [v.filename for v in DEMO_VILLAGES] + [DEMO_EARLIER_FILE, DEMO_DAMAGED[1]]


# --- the benchmark inbox -----------------------------------------------------------------
BENCH_VERSION = 1
BENCH_MANIFEST = "_bench.json"
_BENCH_HEADS = "东西南北前后上下新老大小黄林陈江山河桥塘石沙岭溪"
_BENCH_TAILS = ("垟", "岙", "岸", "湾", "头", "屿", "浦", "洋", "坑", "门", "塘", "埠")
# realistic layouts, ~40 columns each (the registry's 44 input columns minus a few)
_BENCH_LAYOUTS = (
    LedgerStyle(omit=("measures", "extension_days", "remarks", "village")),
    LedgerStyle(grouped=False, variants=True, messy_headers=True, reporter="two_cells",
                omit=("measures", "extension_days", "remarks", "address")),
    LedgerStyle(instructions_first=True, dates="mixed", ticks="mixed",
                omit=("measures", "extension_days", "plan", "village")),
    LedgerStyle(reporter="label_value", blank_rows=True, footer=True,
                omit=("measures", "remarks", "category", "village")),
)


def bench_villages(n: int) -> list[str]:
    """``n`` distinct village names (东垟村, 西岙社区, …)."""
    names = [f"{h}{t}村" for h in _BENCH_HEADS for t in _BENCH_TAILS]
    names += [f"{h}{t}社区" for h in _BENCH_HEADS for t in _BENCH_TAILS]
    if n > len(names):
        names += [f"第{i}村" for i in range(1, n - len(names) + 1)]
    return names[:n]


def make_bench_inbox(folder: Path | str, villages: int = 300, cases: int = 100,
                     seed: int = 0) -> list[Path]:
    """Write ``villages`` realistic ledgers of ``cases`` cases each into ``folder``.

    Files already there from a run with the same parameters are kept (a
    ``_bench.json`` manifest records them), so benchmarks pay for generation once.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = {"version": BENCH_VERSION, "villages": villages, "cases": cases, "seed": seed}
    manifest = folder / BENCH_MANIFEST
    old = _read_manifest(manifest)
    if old.get("params") != params:
        for name in old.get("files", []):
            (folder / name).unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
    paths = []
    for i, village in enumerate(bench_villages(villages)):
        path = folder / f"{i + 1:03d}_{village}台账.xlsx"
        if not path.exists():
            layout = _BENCH_LAYOUTS[i % len(_BENCH_LAYOUTS)]
            if i % 10 == 7:
                layout = replace(layout, faults=("bad_id_check", "unknown_status"))
            make_ledger(path, village=village, n_cases=cases, seed=seed + i, layout=layout,
                        first_number=1, prefix=f"NJ2010-{i + 1:03d}-")
        paths.append(path)
    manifest.write_text(json.dumps({"params": params, "files": [p.name for p in paths]},
                                   ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}

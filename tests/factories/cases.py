"""Believable backlog cases of 南郊乡 (温州市鹿城区) for the demo, tests and benchmarks.

``make_case`` invents one case: a petitioner with a valid GB 11643 ID (area 330302), a
matter (征地补偿, 宅基地纠纷, 拆迁安置, …), a township leader, a responsible unit, dates,
a status and the checklists, made for one alert (``plan``) as of a date.

Case dicts use the registry's keys (``toolkit.core.fields``): every field plus every
checklist item that has its own tick column (items that are a text column —
包案领导, 化解方案, 稳控措施 — are counted from that text). Values are typed:
``date`` for dates, ``bool`` for ticks, canonical words for statuses. The keys
``_plan`` and ``_kind`` (not columns) say which alert and which matter the case was
made for.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from toolkit.core import fields
from toolkit.core.normalize import id_check_digit
from toolkit.core.settings import Campaign
from toolkit.demo import DEMO_AS_OF

AREA_CODE = "330302"                    # 温州市鹿城区
CITY = "温州市鹿城区"
TOWNSHIP = Campaign().township          # 南郊乡

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


def workday_between(rng: random.Random, lo: date, hi: date) -> date:
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
    assigned = workday_between(rng, as_of + timedelta(days=lo), as_of + timedelta(days=hi))
    first = workday_between(rng, date(2001, 3, 1), date(2008, 12, 20))
    unit = rng.choice(mk.units)
    if unit == "村委会":
        unit = village + ("居委会" if village.endswith("社区") else "村委会")
    title, leader = rng.choice(LEADERS)
    closed = None
    if status in fields.CLOSED_STATUSES:
        closed = workday_between(rng, min(assigned + timedelta(days=20), report_date - timedelta(days=1)),
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
        "progress": progress_text(rng, status, mk, unit),
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


def progress_text(rng: random.Random, status: str, mk: MatterKind, unit: str) -> str:
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


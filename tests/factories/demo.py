"""The generator of the bundled demo inbox (``toolkit.demo.PRISTINE``); deterministic.

``build_demo_inbox`` writes the nine files ``toolkit.demo.DEMO_FILES`` describes; run
``python devtools/make_demo.py`` to regenerate the committed copies, and a test checks
that they are current. Villages, file names, case counts, the roster and the demo date
come from ``toolkit.demo``; what only the generator needs (each village's layout and
planted faults, the seed, the shared case, the earlier and the damaged file) is here.
"""
from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Sequence

from factories.cases import MATTER_BY_NAME, PLAN_WEIGHTS, PLANS, make_case, make_cases, progress_text
from factories.ledgers import LedgerStyle, SampleLedger, make_ledger
from toolkit.demo import DEMO_AS_OF, DEMO_FILES, DEMO_ROSTER

DEMO_SEED = 2010


@dataclass(frozen=True)
class DemoVillage:
    village: str
    filename: str
    n_cases: int
    layout: LedgerStyle


_LAYOUTS = {
    "东村": LedgerStyle(template=True, report_date=date(2010, 10, 18)),
    "西村": LedgerStyle(instructions_first=True, date_format="yyyy年m月d日", sheet_name="积案台账",
                      report_date=date(2010, 10, 15), faults=("id_as_number",)),
    "南村": LedgerStyle(grouped=False, variants=True, messy_headers=True, reporter="two_cells",
                      ticks="mixed", phone_as_number=True, checklists_last=True,
                      sheet_name="Sheet1", report_date=date(2010, 10, 15),
                      faults=("impossible_date", "unknown_status")),
    "北村": LedgerStyle(fmt="xls", reporter="label_value", dates="mixed", extra_sheets=True,
                      sheet_name="Sheet1", report_date=date(2010, 10, 19),
                      faults=("date_order", "invalid_tick")),
    "前垟村": LedgerStyle(fmt="xlsm", report_date=date(2010, 10, 18)),
    "后垟村": LedgerStyle(village_column=False, dates="mixed", report_date=date(2010, 10, 14),
                       faults=("archive_incomplete", "closed_without_date")),
    "江滨社区": LedgerStyle(reporter="two_cells", blank_rows=True, footer=True, omit=("extension_days",),
                        report_date=date(2010, 10, 19),
                        faults=("out_of_scope", "bad_id_check", "duplicate_case_id")),
}
DEMO_VILLAGES: tuple[DemoVillage, ...] = tuple(
    DemoVillage(f.village, f.name, f.cases, _LAYOUTS[f.village]) for f in DEMO_FILES if f.counted)
# on the roster, has not reported: the master shows 未报
DEMO_SILENT_VILLAGE = next(r.village for r in DEMO_ROSTER if r.village not in _LAYOUTS)
# The same case number in two villages: a 山林权属 dispute both sides report.
DEMO_SHARED_CASE = ("南村", "北村")
_EARLIER, _DAMAGED = (f for f in DEMO_FILES if not f.counted)
# 东村's September ledger: an earlier submission the archive keeps. The master
# counts the October file and reports the case that vanished in between.
DEMO_EARLIER_FILE = _EARLIER.name     # sorts before 东村信访积案台账.xlsx (bytes and casefold)
DEMO_EARLIER_REPORT = date(2010, 9, 20)
# 前垟村 sent its ledger again as .xlsx and the mail cut it off: rejected, the .xlsm still counts.
DEMO_DAMAGED = (_DAMAGED.village, _DAMAGED.name)


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
    case["progress"] = progress_text(rng, status, MATTER_BY_NAME[case["_kind"]], unit)
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
    return make_ledger(folder / DEMO_EARLIER_FILE, village=v.village, cases=demo_earlier_cases(cases),
                       seed=DEMO_SEED, layout=replace(v.layout, report_date=DEMO_EARLIER_REPORT),
                       contact=contact)


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


def build_demo_inbox(folder: Path | str) -> list[SampleLedger]:
    """Write the demo inbox into ``folder``; deterministic.

    Seven of the eight villages of ``toolkit.demo.DEMO_ROSTER`` have reported
    (新桥村 has not: 未报), as of ``toolkit.demo.DEMO_AS_OF`` 2010-10-20, 91 cases
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

    Two more files show the submission archive at work (``toolkit.demo.demo_filenames``
    lists them; the return value holds the seven counted ledgers only):

    - 东村 东村2010年9月台账.xlsx: its earlier submission (填报日期 2010-09-20,
      same template; see ``demo_earlier_cases``). The master counts the October
      file and reports NJ2010-092 (已化解 in September, then dropped without
      已销号) as vanished in 变更记录; NJ2010-093, dropped after 已销号, is not.
      It counts as earlier after ``restore_demo_inbox`` (which dates it
      2010-09-20 16:30), and even where times are lost (a checkout writes in path
      byte order, and the archive breaks a tie of seconds by the order files are
      found, casefolded names; the name sorts first in both).
    - 前垟村 前垟村信访台账（重发）.xlsx: a resubmission cut off in transit (the
      first 3/5 of the .xlsx, no zip directory): listed as rejected (unreadable);
      前垟村's .xlsm still counts.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(DEMO_SEED)
    cases = _demo_cases(rng)
    contacts = {r.village: r.contact for r in DEMO_ROSTER}
    east = DEMO_VILLAGES[0].village
    _write_demo_earlier(folder, cases[east], contacts.get(east))
    ledgers = [make_ledger(folder / v.filename, village=v.village, cases=cases[v.village],
                           seed=DEMO_SEED, layout=v.layout, contact=contacts.get(v.village))
               for v in DEMO_VILLAGES]
    _write_demo_damaged(folder, cases[DEMO_DAMAGED[0]], contacts.get(DEMO_DAMAGED[0]))
    return ledgers


"""The bundled demo: its villages, its date, and the committed inbox it restores.

``PRISTINE`` (``toolkit/demo/inbox/``, shipped as package data) holds nine ledgers as
南郊乡's villages sent them by 2010-10-20 (``DEMO_AS_OF``): seven of the eight villages
of ``DEMO_ROSTER`` have reported (新桥村 has not: the master shows 未报), 91 cases in
all, each file with the quirks and faults real ones have (``DEMO_FILES`` says which),
南村 and 北村 reporting the same case number, plus an earlier submission of 东村 (a
case vanished since) and a resubmission of 前垟村 cut off in transit (rejected).

``restore_demo_inbox`` copies them into a working inbox: no generator, no LibreOffice.
The files are made by ``python devtools/make_demo.py`` (a development tool, not
installed); a test checks they are what it makes and that the counts below are
what the reader finds.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from toolkit.core.config import SPREADSHEET_SUFFIXES
from toolkit.core.errors import EXIT_ATTENTION, TaizhangError
from toolkit.core.files import atomic_path
from toolkit.core.settings import RosterEntry

PRISTINE = Path(__file__).resolve().parent / "inbox"
DEMO_AS_OF = date(2010, 10, 20)      # a morning of the 督导检查 phase: the demo's fixed date
# 东村's September ledger is dated by its modified time: received before the October one.
DEMO_EARLIER_RECEIVED = datetime(2010, 9, 20, 16, 30)

# The villages of the demo (also the roster of workbooks/设置.xlsx).
DEMO_ROSTER = (
    RosterEntry("东村", "陈建国", ("dongcun@example.com",)),
    RosterEntry("西村", "林晓红", ("xicun@example.com",)),
    RosterEntry("南村", "王志强", ("nancun@example.com",)),
    RosterEntry("北村", "黄丽华", ("beicun@example.com",)),
    RosterEntry("前垟村", "周海涛", ("qianyang@example.com",)),
    RosterEntry("后垟村", "吴美玲", ("houyang@example.com", "houyang.wu@example.com")),
    RosterEntry("江滨社区", "郑文斌", ("jiangbin@example.com",)),
    RosterEntry("新桥村", "徐国平", ("xinqiao@example.com",)),
)



class DemoError(TaizhangError):
    """The demo inbox was not restored (the folder holds other spreadsheets)."""
    exit_code = EXIT_ATTENTION


@dataclass(frozen=True)
class DemoFile:
    """One file of the demo inbox: whose it is, how many cases it holds, what it shows."""
    name: str
    village: str
    cases: int              # case rows in it (0: unreadable)
    counted: bool           # the master counts it (else it is there to show the archive at work)
    note: str               # what it shows, for the clerk
    received: datetime | None = None    # its file time after a restore: when it reached the township


DEMO_FILES: tuple[DemoFile, ...] = (
    DemoFile("东村信访积案台账.xlsx", "东村", 12, True, "用本工具的模板填写，无错误",
             received=datetime(2010, 10, 18, 17, 30)),
    DemoFile("西村积案化解台账（2010年10月）.xlsx", "西村", 16, True,
             "前面有一张填表说明，日期写作“2010年7月1日”；一个身份证号被存成了数字",
             received=datetime(2010, 10, 15, 17, 30)),
    DemoFile("南村台账10.15.xlsx", "南村", 9, True,
             "只有一行表头，写法五花八门（换行、空格、别称），勾选写作是、有、1、Y；"
             "一个不存在的日期（2010年13月5日），一个不认识的办理状态", received=datetime(2010, 10, 15, 17, 40)),
    DemoFile("北村信访积案台账.xls", "北村", 8, True,
             "旧版 .xls 文件，日期写法各异；办结日期早于交办日期，勾选处写了“部分”",
             received=datetime(2010, 10, 19, 17, 30)),
    DemoFile("前垟村信访台账.xlsm", "前垟村", 14, True, "带宏的工作簿（宏不会被运行），无错误",
             received=datetime(2010, 10, 18, 17, 35)),
    DemoFile("信访积案化解工作台账（10月报）.xlsx", "后垟村", 10, True,
             "文件名里没有村名，也没有村（社区）列，靠“填报单位”认出；"
             "已销号但六有材料不全，已化解但没写办结日期", received=datetime(2010, 10, 14, 17, 30)),
    DemoFile("江滨社区积案台账.xlsx", "江滨社区", 22, True,
             "数据中间有空行，表尾有填表人、审核人和注；首次信访在 2009 年（不在积案范围），"
             "身份证号校验位不对，案件编号重复", received=datetime(2010, 10, 19, 17, 40)),
    DemoFile("东村2010年9月台账.xlsx", "东村", 13, False,
             "东村上月报送的旧台账，用来演示“案件消失”", received=DEMO_EARLIER_RECEIVED),
    DemoFile("前垟村信访台账（重发）.xlsx", "前垟村", 0, False, "传输中断的重发件，用来演示“被拒收”",
             received=datetime(2010, 10, 19, 9, 10)),
)


def demo_filenames() -> list[str]:
    """Every file of the demo inbox: the villages' current ledgers, then the two extra files."""
    return [f.name for f in DEMO_FILES]


def _other_spreadsheets(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    names = set(demo_filenames())
    return sorted(p.name for p in folder.iterdir()
                  if p.suffix.lower() in SPREADSHEET_SUFFIXES and p.name not in names and p.is_file())


def restore_demo_inbox(folder: Path | str, *, force: bool = False) -> list[DemoFile]:
    """Copy the committed demo ledgers into ``folder`` (made if missing); return them.

    Each file is written whole or not at all and equals its pristine copy byte for
    byte; demo files already there are replaced, nothing else is touched. A folder
    holding other spreadsheets is refused (``DemoError``) unless ``force``: demo
    cases must not mix into a real inbox.
    """
    folder = Path(folder)
    others = [] if force else _other_spreadsheets(folder)
    if others:
        raise DemoError(f"文件夹 {folder} 里已有其他表格（{'、'.join(others[:3])}等），"
                        "为免混入演示数据，请换一个文件夹，或加 --force。")
    folder.mkdir(parents=True, exist_ok=True)
    for f in DEMO_FILES:
        target = folder / f.name
        with atomic_path(target) as tmp:
            shutil.copyfile(PRISTINE / f.name, tmp)
        if f.received is not None:
            stamp = f.received.timestamp()
            os.utime(target, (stamp, stamp))
    return list(DEMO_FILES)

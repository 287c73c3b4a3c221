"""What a clerk decides: campaign dates and thresholds, the village roster,
extra holiday years, the columns the township owns in the master.

These live in the settings workbook ``workbooks/设置.xlsx`` (clerks edit Excel,
not config files). With no workbook the 2010 campaign of the seed document is
the default, so a newcomer needs nothing to see the demo.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Phase:
    name: str
    start: date
    end: date


DEFAULT_PHASES = (
    Phase("排查准备", date(2010, 4, 1), date(2010, 6, 30)),
    Phase("集中化解", date(2010, 7, 1), date(2010, 9, 30)),
    Phase("督导检查", date(2010, 10, 1), date(2010, 10, 31)),
    Phase("审理结案", date(2010, 11, 1), date(2010, 12, 31)),
)


@dataclass(frozen=True)
class Campaign:
    name: str = "南郊乡2010年“信访积案化解年”活动"
    township: str = "南郊乡"
    cutoff: date = date(2008, 12, 31)          # 积案范围: first petition on or before
    workdays: int = 60                         # 60 working days from 交办日期
    due_soon_workdays: int = 10                # 临期 threshold
    archive_due: date = date(2010, 10, 15)     # 六有 case files due at the township
    report_every_days: int = 7                 # villages report at least this often (催报)
    phases: tuple[Phase, ...] = DEFAULT_PHASES

    def phase_of(self, day: date) -> str:
        for p in self.phases:
            if p.start <= day <= p.end:
                return p.name
        if self.phases and day < self.phases[0].start:
            return "活动未开始"
        return "活动已结束"


@dataclass(frozen=True)
class RosterEntry:
    village: str
    contact: str = ""
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class HolidayYear:
    """A year the township supplies itself (the package does not know it yet)."""
    year: int
    holidays: frozenset[date] = frozenset()     # 放假 days (weekdays or weekends)
    workdays: frozenset[date] = frozenset()     # 调休上班 weekend days


@dataclass(frozen=True)
class NamedHolidayYear(HolidayYear):
    """A user-supplied year that also carries the 说明 of each date (for explanations)."""
    names: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True)
class Settings:
    campaign: Campaign = Campaign()
    roster: tuple[RosterEntry, ...] = ()
    extra_years: tuple[HolidayYear, ...] = ()
    township_columns: tuple[str, ...] = ("督办意见", "乡级备注")
    source: Path | None = None                 # the workbook these came from, if any

    def village_for_email(self, address: str) -> str | None:
        a = address.strip().lower()
        for r in self.roster:
            if a in (e.lower() for e in r.emails):
                return r.village
        return None


DEFAULT_SETTINGS = Settings()

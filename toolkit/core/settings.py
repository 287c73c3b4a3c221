"""What a clerk decides: campaign dates and thresholds, the village roster,
extra holiday years, the columns the township owns in the master, the header
spellings villages use (表头别名).

These live in the office's settings workbook (``设置.xlsx`` beside taizhang.toml; clerks
edit Excel, not config files).

The seed document's campaign, 南郊乡's 2010 “信访积案化解年”, is the worked example: the
demo and the tests run on it (``DEFAULT_SETTINGS``). An office gets its own year's campaign
(``campaign_for_year``): the same shape (four phases from April to December, a scope cut-off
at the end of the year before last, 60 working days), dated in its year, with a township
name to fill in. ``taizhang doctor`` says when today is outside every phase or the cut-off
leaves most cases out of scope.
"""
from __future__ import annotations

import hashlib
import json
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
    # 表头别名: (header as a village writes it, the field key it means; None: the village's own column)
    header_aliases: tuple[tuple[str, str | None], ...] = ()
    source: Path | None = None                 # the workbook these came from, if any

    @property
    def aliases_key(self) -> str:
        return aliases_key(self.header_aliases)

    def village_for_email(self, address: str) -> str | None:
        a = address.strip().lower()
        for r in self.roster:
            if a in (e.lower() for e in r.emails):
                return r.village
        return None


def aliases_key(aliases: tuple[tuple[str, str | None], ...]) -> str:
    """A short name for a set of 表头别名 ("" for none): a file read with other aliases is read
    again (the parse cache's key, the judge's findings)."""
    if not aliases:
        return ""
    words = json.dumps(sorted([list(a) for a in aliases], key=str), ensure_ascii=False)
    return hashlib.sha256(words.encode("utf-8")).hexdigest()[:16]


DEFAULT_SETTINGS = Settings()      # the worked example: 南郊乡, 2010 (the demo's)
TOWNSHIP_PLACEHOLDER = "××乡"       # until the office writes its own name


def campaign_for_year(year: int, township: str = TOWNSHIP_PLACEHOLDER) -> Campaign:
    """An office's campaign in ``year``, shaped as the worked example (2010 -> the seed's dates):
    phases from 1 April to 31 December, 六有 due 15 October, and the scope cut-off at the end
    of the year before last, so a case counts as a backlog case (积案) when it has been open
    for more than a whole year when the campaign starts, as 2008-12-31 does for 2010."""
    def day(month: int, d: int) -> date:
        return date(year, month, d)
    phases = tuple(Phase(p.name, day(p.start.month, p.start.day), day(p.end.month, p.end.day))
                   for p in DEFAULT_PHASES)
    return Campaign(name=f"{township}{year}年信访积案化解活动", township=township,
                    cutoff=date(year - 2, 12, 31), archive_due=day(10, 15), phases=phases)


def office_settings(year: int, township: str = TOWNSHIP_PLACEHOLDER) -> Settings:
    """What an office without a settings workbook runs with: its year's campaign, no roster."""
    return Settings(campaign=campaign_for_year(year, township))

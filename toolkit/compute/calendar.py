"""Working days on the official Chinese calendar.

Public holidays are off and the weekend days the State Council moves into work
(调休上班) are on. The years the ``chinesecalendar`` package knows come from it;
a township adds a year the package does not know yet in the 节假日 sheet of the
settings workbook, and such a year also replaces the package's version.

A year nobody has supplied is refused with :class:`CalendarYearMissing` (a
Chinese message naming the year); it is never guessed from weekends. Only what
needs that year's days asks for it: the day-walking below touches a year only
when it has to look inside it.

Per-year data is cached (sorted ordinals of the working days), so the Nth
working day after a date is a couple of ``bisect`` calls.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import chinese_calendar

from toolkit.core.errors import TaizhangError
from toolkit.core.settings import HolidayYear

if TYPE_CHECKING:  # pragma: no cover
    from toolkit.core.settings import Settings

ONE_DAY = timedelta(days=1)
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# chinesecalendar's English holiday names -> the names a clerk knows
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
NATIONAL_AND_MID_AUTUMN = "国庆中秋"


def settings_sheet_hint(settings_file: Path | str | None) -> str:
    """Where a clerk adds a year: the office's own settings workbook, named when known."""
    where = (f"“{settings_file}”" if settings_file else
             "（taizhang.toml 中 settings_workbook 所指的文件，默认是 taizhang.toml 旁的 设置.xlsx；"
             "还没有就运行 taizhang settings 新建）")
    return f"设置工作簿{where}的“节假日”表"


class CalendarYearMissing(TaizhangError):
    """A computation needs a year whose official holidays nobody has supplied.
    ``settings_file``: the office's settings workbook, which the message names."""

    def __init__(self, year: int, settings_file: Path | str | None = None):
        super().__init__(year)
        self.year, self.settings_file = year, settings_file

    def __str__(self) -> str:
        return (f"工具还没有 {self.year} 年的法定节假日安排（国务院办公厅一般在上一年 11 月公布），"
                f"无法按工作日推算，也不会按周末猜测。请在{settings_sheet_hint(self.settings_file)}中"
                f"补充 {self.year} 年全部放假日期和调休上班日期，或升级 chinesecalendar 包。")


@dataclass(frozen=True)
class _Year:
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    names: dict[date, str]
    workday_ordinals: tuple[int, ...]   # sorted ordinals of every working day of the year
    source: str                          # "package" | "user"


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


@lru_cache(maxsize=1)
def _package_years() -> dict[int, tuple[dict[date, str], dict[date, str]]]:
    """{year: (holiday off-days -> name, make-up workdays -> name)} from chinesecalendar."""

    years: dict[int, tuple[dict[date, str], dict[date, str]]] = {}
    lo = min(chinese_calendar.holidays).year
    hi = max(chinese_calendar.holidays).year
    for y in range(lo, hi + 1):
        years[y] = ({}, {})
    for d, name in chinese_calendar.holidays.items():
        years[d.year][0][d] = HOLIDAY_NAMES_ZH.get(name, name)
    for d, name in chinese_calendar.workdays.items():
        years[d.year][1][d] = HOLIDAY_NAMES_ZH.get(name, name)
    return years


def package_years() -> range:
    """The years the installed chinesecalendar knows (2004-2026 for version 1.11)."""
    ys = _package_years()
    return range(min(ys), max(ys) + 1)


def _build_year(year: int, holidays: dict[date, str], workdays: dict[date, str], source: str) -> _Year:
    first = date(year, 1, 1).toordinal()
    last = date(year, 12, 31).toordinal()
    ordinals = []
    for o in range(first, last + 1):
        d = date.fromordinal(o)
        if d in workdays or (d.weekday() < 5 and d not in holidays):
            ordinals.append(o)
    names = {**holidays, **workdays}
    return _Year(year, frozenset(holidays), frozenset(workdays), names, tuple(ordinals), source)


class WorkCalendar:
    """The official working-day calendar, package years plus user-supplied ones."""

    def __init__(self, extra_years: Iterable[HolidayYear] = (), settings_file: Path | str | None = None):
        self.settings_file = settings_file          # named when a year is missing
        self._extra: dict[int, HolidayYear] = {}
        for hy in extra_years:
            self._extra[hy.year] = hy
        self._years: dict[int, _Year] = {}

    # --- years ---------------------------------------------------------------
    def knows(self, year: int) -> bool:
        return year in self._extra or year in _package_years()

    def known_years(self) -> list[int]:
        return sorted(set(self._extra) | set(_package_years()))

    def _year(self, year: int) -> _Year:
        y = self._years.get(year)
        if y is not None:
            return y
        if year in self._extra:
            hy = self._extra[year]
            names = dict(getattr(hy, "names", ()) or ())
            y = _build_year(year, {d: names.get(d, "") for d in hy.holidays},
                            {d: names.get(d, "") for d in hy.workdays}, "user")
        elif year in _package_years():
            hol, wd = _package_years()[year]
            y = _build_year(year, hol, wd, "package")
        else:
            raise CalendarYearMissing(year, self.settings_file)
        self._years[year] = y
        return y

    # --- single days ---------------------------------------------------------
    def is_holiday(self, d: date) -> bool:
        """True on an official holiday off-day (放假), including weekend days inside the break.

        A plain weekend is not a holiday here (see :meth:`is_workday`).
        """
        d = _as_date(d)
        return d in self._year(d.year).holidays

    def is_makeup_workday(self, d: date) -> bool:
        d = _as_date(d)
        return d in self._year(d.year).workdays

    def is_workday(self, d: date) -> bool:
        d = _as_date(d)
        y = self._year(d.year)
        return d in y.workdays or (d.weekday() < 5 and d not in y.holidays)

    def holiday_name(self, d: date) -> str:
        d = _as_date(d)
        return self._year(d.year).names.get(d, "")

    # --- counting ------------------------------------------------------------
    def add_workdays(self, start: date, n: int) -> date:
        """The Nth working day after ``start`` (start itself not counted); N < 0 counts back."""
        start = _as_date(start)
        n = int(n)
        if n == 0:
            return start
        o = start.toordinal()
        if n > 0:
            year = (start + ONE_DAY).year
            while True:
                wd = self._year(year).workday_ordinals
                i = bisect_right(wd, o)
                available = len(wd) - i
                if n <= available:
                    return date.fromordinal(wd[i + n - 1])
                n -= available
                year += 1
        m = -n
        year = (start - ONE_DAY).year
        while True:
            wd = self._year(year).workday_ordinals
            i = bisect_left(wd, o)
            if m <= i:
                return date.fromordinal(wd[i - m])
            m -= i
            year -= 1

    def workdays_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when b < a."""
        lo, hi = self.workdays_between_bounds(a, b, strict=True)
        return lo

    def workdays_between_bounds(self, a: date, b: date, *, strict: bool = False) -> tuple[int, int]:
        """(least, most) working days in (a, b]; exact (lo == hi) when every year is known.

        An unknown year counts as anything from none to all of its days in the span,
        unless ``strict``, when it raises :class:`CalendarYearMissing`.
        """
        a, b = _as_date(a), _as_date(b)
        if a == b:
            return 0, 0
        if b < a:
            lo, hi = self.workdays_between_bounds(b, a, strict=strict)
            return -hi, -lo
        oa, ob = a.toordinal(), b.toordinal()
        lo = hi = 0
        for year in range((a + ONE_DAY).year, b.year + 1):
            if strict or self.knows(year):
                wd = self._year(year).workday_ordinals
                k = bisect_right(wd, ob) - bisect_right(wd, oa)
                lo += k
                hi += k
            else:
                first = max(oa + 1, date(year, 1, 1).toordinal())
                last = min(ob, date(year, 12, 31).toordinal())
                hi += last - first + 1
        return lo, hi

    def add_days_statutory(self, start: date, n: int) -> date:
        """``start`` + N calendar days; a last day in a public holiday moves to the day after it.

        Only official holiday off-days move the end (信访条例: 法定节假日); a plain
        weekend does not.
        """
        end = _as_date(start) + timedelta(days=int(n))
        while self.is_holiday(end):
            end += ONE_DAY
        return end

    # --- explanation ---------------------------------------------------------
    def explain(self, start: date, end: date) -> list[str]:
        """Chinese lines naming the holidays and make-up workdays in (start, end]."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            start, end = end, start
        lines = []
        runs = self._holiday_runs(start, end)
        for first, last, names in runs:
            days = (last - first).days + 1
            span = _day(first) if first == last else f"{_day(first)} 至 {_day(last)}"
            lines.append(f"经过{_holiday_label(names)}放假：{span}（{days} 天）")
        for d in self._makeup_days(start, end):
            name = self.holiday_name(d)
            what = f"{name}调休上班" if name else "调休上班"
            lines.append(f"{_day(d)}（{WEEKDAY_NAMES[d.weekday()]}）{what}，计为工作日")
        if not lines:
            lines.append("期间没有法定节假日和调休上班日")
        return lines

    def _holiday_runs(self, start: date, end: date) -> list[tuple[date, date, list[str]]]:
        runs: list[tuple[date, date, list[str]]] = []
        for year in range((start + ONE_DAY).year, end.year + 1):
            for d in sorted(self._year(year).holidays):
                if not (start < d <= end):
                    continue
                name = self.holiday_name(d)
                if runs and runs[-1][1] + ONE_DAY == d:
                    first, _, names = runs[-1]
                    if name and name not in names:
                        names.append(name)
                    runs[-1] = (first, d, names)
                else:
                    runs.append((d, d, [name] if name else []))
        return runs

    def _makeup_days(self, start: date, end: date) -> list[date]:
        out = []
        for year in range((start + ONE_DAY).year, end.year + 1):
            out.extend(d for d in sorted(self._year(year).workdays) if start < d <= end)
        return out


def _day(d: date) -> str:
    return d.isoformat()


def _holiday_label(names: list[str]) -> str:
    if {"国庆节", "中秋节"} <= set(names):
        return NATIONAL_AND_MID_AUTUMN
    return "、".join(names) if names else "节假日"


@lru_cache(maxsize=16)
def _calendar_for_years(extra_years: tuple[HolidayYear, ...], settings_file: Path | None) -> WorkCalendar:
    return WorkCalendar(extra_years, settings_file)


def calendar_for(settings: "Settings") -> WorkCalendar:
    """The calendar for these settings (package years plus the 节假日 sheet's years, whose
    workbook a missing year's message names), cached."""
    return _calendar_for_years(tuple(settings.extra_years), settings.source)


def deadline_lines(cal: WorkCalendar, start: date, *, workdays: int | None = None,
                   days: int | None = None) -> list[str]:
    """What ``taizhang deadline`` prints: the date alone, then Chinese lines explaining it."""
    start = _as_date(start)
    if workdays is not None:
        end = cal.add_workdays(start, workdays)
        lines = [end.isoformat(),
                 f"{_day(start)} 之后第 {workdays} 个工作日（起算日不计，按法定节假日和调休）："
                 f"{_day(end)}（{WEEKDAY_NAMES[end.weekday()]}）"]
    else:
        plain = start + timedelta(days=int(days or 0))
        end = cal.add_days_statutory(start, int(days or 0))
        lines = [end.isoformat(),
                 f"{_day(start)} 之后第 {days} 天：{_day(plain)}（{WEEKDAY_NAMES[plain.weekday()]}）"]
        if end != plain:
            name = _holiday_label([cal.holiday_name(plain)] if cal.holiday_name(plain) else [])
            lines.append(f"{_day(plain)} 是{name}放假，期限顺延至放假后第一天 {_day(end)}"
                         f"（{WEEKDAY_NAMES[end.weekday()]}）")
        if end.weekday() >= 5 and not cal.is_workday(end):
            lines.append(f"注意：{_day(end)} 是{WEEKDAY_NAMES[end.weekday()]}；"
                         "本工具只按法定节假日顺延，普通周末不顺延。")
    lines.extend(cal.explain(start, end))
    return lines

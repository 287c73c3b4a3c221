"""The working-day calendar: every year the package knows, user years, refusals."""
from __future__ import annotations

import random
from datetime import date, timedelta

import chinese_calendar
import pytest

from toolkit.compute.calendar import (CalendarYearMissing, WorkCalendar, calendar_for, deadline_lines,
                                      package_years)
from toolkit.core.settings import DEFAULT_SETTINGS, HolidayYear, NamedHolidayYear, Settings

CAL = WorkCalendar()
KNOWN = list(range(2004, 2027))


def step_workdays(cal: WorkCalendar, start: date, n: int) -> date:
    """The slow reference: walk day by day."""
    d, left = start, n
    while left:
        d += timedelta(days=1)
        if cal.is_workday(d):
            left -= 1
    return d


def test_package_knows_2004_to_2026():
    assert list(package_years())[:1] == [2004]
    assert set(KNOWN) <= set(package_years())
    assert all(CAL.knows(y) for y in KNOWN)


@pytest.mark.parametrize("year", KNOWN)
def test_year_against_the_package(year):
    days = [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    for d in days:
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d
    makeups = [d for d in chinese_calendar.workdays if d.year == year]
    offs = [d for d in chinese_calendar.holidays if d.year == year]
    assert offs, "every known year has holidays"
    for d in makeups:
        assert d.weekday() >= 5, f"调休上班 {d} is not a weekend"
        assert CAL.is_workday(d) and CAL.is_makeup_workday(d)
    for d in offs:
        assert not CAL.is_workday(d) and CAL.is_holiday(d)
    rng = random.Random(year)
    for _ in range(25):
        start = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        n = rng.randrange(0, 130)
        try:
            expected = step_workdays(CAL, start, n)
        except CalendarYearMissing as e:
            with pytest.raises(CalendarYearMissing) as got:
                CAL.add_workdays(start, n)
            assert got.value.year == e.year == 2027
            continue
        assert CAL.add_workdays(start, n) == expected
        assert CAL.workdays_between(start, expected) == n
        assert CAL.workdays_between(expected, start) == -n
        if n:
            assert CAL.add_workdays(expected, -n) <= start  # back to start or the workday before it


@pytest.mark.parametrize("start, n, expected", [
    (date(2010, 7, 1), 60, date(2010, 9, 25)),
    (date(2010, 6, 1), 60, date(2010, 8, 25)),
    (date(2010, 7, 15), 60, date(2010, 10, 13)),
])
def test_domain_workday_examples(start, n, expected):
    assert CAL.add_workdays(start, n) == expected


def test_2010_09_25_is_a_saturday_makeup_day():
    d = date(2010, 9, 25)
    assert d.weekday() == 5 and CAL.is_workday(d) and CAL.is_makeup_workday(d)
    assert CAL.holiday_name(d) == "中秋节"


def test_statutory_days_roll_over_a_holiday():
    assert CAL.add_days_statutory(date(2010, 8, 2), 60) == date(2010, 10, 8)
    # inside the Spring Festival break of 2010 (02-13..02-19) -> 02-20, a make-up Saturday
    assert CAL.add_days_statutory(date(2010, 2, 1), 14) == date(2010, 2, 20)
    # a plain weekend does not move (only public holidays do)
    assert CAL.add_days_statutory(date(2010, 8, 2), 5) == date(2010, 8, 7)
    # a working day stays
    assert CAL.add_days_statutory(date(2010, 8, 2), 2) == date(2010, 8, 4)


def test_workdays_between_signs():
    a = date(2010, 9, 24)
    assert CAL.workdays_between(a, a) == 0
    assert CAL.workdays_between(date(2010, 9, 24), date(2010, 9, 25)) == 1   # make-up Saturday
    assert CAL.workdays_between(date(2010, 9, 30), date(2010, 10, 8)) == 1   # National Day
    assert CAL.workdays_between(date(2010, 10, 8), date(2010, 9, 30)) == -1


def test_refusal_names_2027():
    with pytest.raises(CalendarYearMissing) as e:
        CAL.add_workdays(date(2026, 11, 20), 60)
    assert e.value.year == 2027
    msg = str(e.value)
    assert "2027" in msg and "节假日" in msg and "设置" in msg
    with pytest.raises(CalendarYearMissing):
        CAL.is_workday(date(2027, 1, 4))
    with pytest.raises(CalendarYearMissing) as e:
        CAL.add_workdays(date(2004, 1, 10), -30)
    assert e.value.year == 2003


def test_refusal_names_the_offices_own_settings_workbook(tmp_path):
    from dataclasses import replace

    from toolkit.core.settings import DEFAULT_SETTINGS
    own = tmp_path / "南郊乡" / "乡设置.xlsx"
    with pytest.raises(CalendarYearMissing) as e:
        calendar_for(replace(DEFAULT_SETTINGS, source=own)).add_workdays(date(2026, 11, 20), 60)
    assert str(own) in str(e.value) and "workbooks/" not in str(e.value)
    with pytest.raises(CalendarYearMissing) as e:      # no workbook read: the config's setting
        calendar_for(DEFAULT_SETTINGS).add_workdays(date(2026, 11, 20), 60)
    assert "settings_workbook" in str(e.value) and "workbooks/" not in str(e.value)


def test_only_what_needs_a_year_asks_for_it():
    # counting forward from 2026-12-31 looks only at 2027
    with pytest.raises(CalendarYearMissing) as e:
        CAL.add_workdays(date(2026, 12, 31), 1)
    assert e.value.year == 2027
    # a start in an unknown year whose counted days lie in a known year: 2003-12-31 + 1 workday
    assert CAL.add_workdays(date(2003, 12, 31), 1) == date(2004, 1, 2)
    assert CAL.workdays_between(date(2003, 12, 31), date(2004, 1, 2)) == 1


def test_bounds_over_an_unknown_year():
    lo, hi = CAL.workdays_between_bounds(date(2026, 12, 30), date(2027, 1, 3))
    assert (lo, hi) == (1, 4)          # 2026-12-31 is a workday; 2027-01-01..03 unknown (0..3)
    assert CAL.workdays_between_bounds(date(2027, 1, 3), date(2026, 12, 30)) == (-4, -1)
    assert CAL.workdays_between_bounds(date(2010, 7, 1), date(2010, 9, 25)) == (60, 60)


def test_current_year_2026():
    assert CAL.knows(2026)
    assert CAL.is_holiday(date(2026, 10, 1))
    assert CAL.add_workdays(date(2026, 1, 5), 60) == step_workdays(CAL, date(2026, 1, 5), 60)
    assert CAL.add_workdays(date(2026, 7, 1), 60) == step_workdays(CAL, date(2026, 7, 1), 60)


def test_user_year_2027_is_used_and_explained():
    y2027 = NamedHolidayYear(
        2027,
        holidays=frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}),
        workdays=frozenset({date(2027, 1, 9)}),
        names=((date(2027, 1, 1), "元旦"), (date(2027, 1, 2), "元旦"), (date(2027, 1, 3), "元旦"),
               (date(2027, 1, 9), "元旦")))
    cal = WorkCalendar([y2027])
    assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 1, 9))
    assert cal.is_workday(date(2027, 1, 4))
    got = cal.add_workdays(date(2026, 11, 20), 60)
    assert got == step_workdays(cal, date(2026, 11, 20), 60)
    assert got.year == 2027
    text = "\n".join(cal.explain(date(2026, 11, 20), got))
    assert "元旦放假：2027-01-01 至 2027-01-03（3 天）" in text
    assert "2027-01-09（星期六）元旦调休上班" in text
    # a plain HolidayYear (no names) works too
    plain = WorkCalendar([HolidayYear(2027, frozenset({date(2027, 1, 1)}))])
    assert plain.add_days_statutory(date(2026, 12, 31), 1) == date(2027, 1, 2)
    with pytest.raises(CalendarYearMissing) as e:
        plain.add_workdays(date(2027, 12, 20), 30)
    assert e.value.year == 2028


def test_user_year_overrides_the_package():
    # pretend 2010-09-24 was a working day and 09-25 not (user data wins for the whole year)
    cal = WorkCalendar([HolidayYear(2010, frozenset({date(2010, 10, 1)}), frozenset())])
    assert cal.is_workday(date(2010, 9, 24))
    assert not cal.is_workday(date(2010, 9, 25))
    assert CAL.is_workday(date(2010, 9, 25))


def test_first_of_january_of_an_unknown_year():
    jan1 = date(2027, 1, 1)
    with pytest.raises(CalendarYearMissing):
        CAL.is_workday(jan1)
    # a comparison with a known deadline needs no calendar at all; counting across it does
    assert jan1 > CAL.add_workdays(date(2010, 7, 1), 60)
    with pytest.raises(CalendarYearMissing):
        CAL.workdays_between(date(2010, 9, 25), jan1)


def test_explain_names_holidays_in_chinese():
    lines = CAL.explain(date(2010, 7, 1), date(2010, 9, 25))
    assert lines[0] == "经过中秋节放假：2010-09-22 至 2010-09-24（3 天）"
    assert "2010-09-25（星期六）中秋节调休上班，计为工作日" in lines
    merged = CAL.explain(date(2023, 9, 1), date(2023, 10, 31))
    assert merged[0].startswith("经过国庆中秋放假：2023-09-29 至 2023-10-06")
    assert CAL.explain(date(2010, 7, 1), date(2010, 7, 20)) == ["期间没有法定节假日和调休上班日"]
    spring = "\n".join(CAL.explain(date(2010, 1, 1), date(2010, 6, 30)))
    for name in ("春节", "清明节", "劳动节", "端午节"):
        assert name in spring
    assert "元旦" in "\n".join(CAL.explain(date(2009, 12, 30), date(2010, 1, 5)))


def test_deadline_lines():
    lines = deadline_lines(CAL, date(2010, 7, 1), workdays=60)
    assert lines[0] == "2010-09-25"
    lines = deadline_lines(CAL, date(2010, 8, 2), days=60)
    assert lines[0] == "2010-10-08"
    assert any("国庆节放假，期限顺延" in line for line in lines)


def test_calendar_for_settings_is_cached_and_uses_extra_years():
    assert calendar_for(DEFAULT_SETTINGS) is calendar_for(Settings())
    s = Settings(extra_years=(HolidayYear(2027, frozenset({date(2027, 1, 1)})),))
    assert calendar_for(s).knows(2027)
    assert not calendar_for(DEFAULT_SETTINGS).knows(2027)


def test_datetime_inputs_are_days():
    from datetime import datetime
    assert CAL.add_workdays(datetime(2010, 7, 1, 15, 30), 60) == date(2010, 9, 25)


from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402


@hsettings(max_examples=300, deadline=None)
@given(start=st.dates(date(2004, 1, 1), date(2026, 12, 31)), n=st.integers(0, 400))
def test_counting_forward_and_back_agree(start, n):
    try:
        end = CAL.add_workdays(start, n)
    except CalendarYearMissing as e:
        assert e.year == 2027
        return
    assert CAL.workdays_between(start, end) == n
    if n:
        assert CAL.is_workday(end)
        assert CAL.workdays_between(start, end - timedelta(days=1)) == n - 1

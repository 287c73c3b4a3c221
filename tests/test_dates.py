"""The date parser: every form villages write, impossible dates never guessed."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.core.dates import excel_serial, parse_date_text, parse_date_value

JULY_1 = date(2010, 7, 1)


@pytest.mark.parametrize("text", [
    "2010-07-01", "2010-7-1", "2010/7/1", "2010/07/01", "2010.7.1", "2010.07.01",
    "2010年7月1日", "2010年07月01日", "2010年7月1", "2010年7月1号", "20100701",
    " 2010-07-01 ", "\u30002010年7月1日\u3000", "2010 年 7 月 1 日", "2010 - 07 - 01",
    "２０１０年７月１日", "２０１０－０７－０１", "２０１００７０１", "2010／7／1",
    "2010-07-01 10:30", "2010-07-01 10:30:15", "2010-07-01T10:30:00", "2010/7/1 9:05",
    "2010年7月1日 10:30", "2010年7月1日10时30分", "2010-07-01 00:00:00", "20100701 08:00",
])
def test_text_forms(text):
    assert parse_date_value(text) == (JULY_1, None)
    assert parse_date_text(text) == JULY_1


@pytest.mark.parametrize("value", [
    JULY_1, datetime(2010, 7, 1), datetime(2010, 7, 1, 23, 59),
    40360, 40360.0, 40360.75, 20100701, 20100701.0,
])
def test_cell_values(value):
    assert parse_date_value(value) == (JULY_1, None)


def test_serial_matches_excel():
    assert excel_serial(JULY_1) == 40360
    assert parse_date_value(excel_serial(date(2008, 12, 31)))[0] == date(2008, 12, 31)


@pytest.mark.parametrize("value, reason", [
    ("2010年13月5日", "（2010年没有13月）"),
    ("2010-02-30", "（2010年2月没有30日）"),
    ("2010-02-29", "（2010年2月没有29日）"),
    ("2010/0/12", "（2010年没有0月）"),
    ("2010.4.31", "（2010年4月没有31日）"),
    ("20101301", "（2010年没有13月）"),
    (20100230, "（2010年2月没有30日）"),
    ("2010年7月", "（缺少日）"),
    ("2010", "（只有年份，缺少月、日）"),
    (2010, "（只有年份，缺少月、日）"),
    (5, "（数字 5 不是日期）"),
    ("1850-01-01", "（年份 1850 超出范围）"),
    ("2010-07-01 25:00", "（时间部分有误）"),
])
def test_impossible_dates_give_a_reason_not_a_guess(value, reason):
    assert parse_date_value(value) == (None, reason)
    if isinstance(value, str):
        assert parse_date_text(value) is None


@pytest.mark.parametrize("value", [
    "abc", "待定", "7月1日", "10.7.1", "2010-7/1", "40360", "2010-07-01至2010-08-01",
    True, float("nan"), float("inf"), time(10, 30), timedelta(days=3), -40360.0, [1, 2], object(),
])
def test_junk_is_refused_with_a_reason(value):
    d, reason = parse_date_value(value)
    assert d is None
    assert reason and reason.startswith("（") and reason.endswith("）")


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_blank_is_neither_date_nor_error(value):
    assert parse_date_value(value) == (None, None)


def test_leap_day_is_accepted():
    assert parse_date_value("2008年2月29日") == (date(2008, 2, 29), None)


def _full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" or c in "-/." else c for c in s)


TEXT_FORMS = (
    lambda d: d.isoformat(),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year}年{d.month:02d}月{d.day:02d}日",
    lambda d: f"{d:%Y%m%d}",
    lambda d: f"{d.isoformat()} 08:30",
    lambda d: f" {d.year} 年 {d.month} 月 {d.day} 日 ",
    lambda d: _full_width(d.isoformat()),
    lambda d: _full_width(f"{d.year}年{d.month}月{d.day}日"),
)


@settings(max_examples=300, deadline=None)
@given(d=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       form=st.sampled_from(TEXT_FORMS))
def test_every_date_round_trips_in_every_text_form(d, form):
    assert parse_date_value(form(d)) == (d, None)


@settings(max_examples=300, deadline=None)
@given(d=st.dates(min_value=date(1920, 1, 1), max_value=date(2100, 12, 31)))
def test_every_serial_round_trips(d):
    assert parse_date_value(excel_serial(d)) == (d, None)
    assert parse_date_value(float(excel_serial(d)) + 0.5) == (d, None)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789年月日-/.: 号时分\u3000０１２３")))
def test_arbitrary_text_never_raises(s):
    d, reason = parse_date_value(s)
    assert d is None or isinstance(d, date)
    assert (d is None) or reason is None
    assert parse_date_text(s) == d


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_arbitrary_numbers_never_raise(v):
    d, reason = parse_date_value(v)
    assert (d is None) != (reason is None)


_CN = "〇一二三四五六七八九"


def _cn_small(n: int) -> str:
    """Month/day in Chinese numerals the way documents write them: 七, 十, 十二, 二十一, 三十."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _CN[tens]) + "十" if tens else "") + (_CN[ones] if ones else "")


@given(d=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       day_word=st.sampled_from("日号"), zero=st.sampled_from("〇零"))
def test_chinese_numeral_dates_round_trip(d, day_word, zero):
    year = "".join(_CN[int(c)] for c in str(d.year)).replace("〇", zero)
    assert parse_date_text(f"{year}年{_cn_small(d.month)}月{_cn_small(d.day)}{day_word}") == d


@pytest.mark.parametrize("text,reason", [
    ("二〇一〇年十三月五日", "（2010年没有13月）"),
    ("二〇一〇年二月三十日", "（2010年2月没有30日）"),
    ("二〇一〇年七月十十日", "（无法识别的日期写法）"),
])
def test_impossible_chinese_numeral_dates_are_refused(text, reason):
    assert parse_date_value(text) == (None, reason)

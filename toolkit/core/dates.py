"""Dates as villages write them: real dates, Excel serials and text forms.

Accepted (docs/domain.md): date/datetime cells, Excel serial numbers, and text such
as 2010-07-01, 2010/7/1, 2010.7.1, 2010年7月1日 (日 or 号 optional), 20100701,
each optionally followed by a time, in full-width digits, with stray spaces.

An impossible or ambiguous value is never guessed: ``parse_date_value``
returns ``(None, reason)`` with a short Chinese reason in full-width brackets,
ready to follow the ``invalid_date`` message. Nothing here raises.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta

MIN_YEAR = 1900
MAX_YEAR = 2100
_EXCEL_EPOCH = date(1899, 12, 30)
# Serials a ledger can plausibly hold: 1920-01-01 .. 2100-12-31. Smaller
# numbers (a year typed alone, a count) are not silently turned into 1905.
SERIAL_MIN = (date(1920, 1, 1) - _EXCEL_EPOCH).days
SERIAL_MAX = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days

_TIME = r"(?:(?:(?<=[日号])|\s*[T\s])\s*(?P<h>\d{1,2})\s*[:时点]\s*(?P<mi>\d{1,2})\s*分?" \
        r"(?:\s*[:]?\s*(?P<s>\d{1,2})(?:\.\d+)?\s*秒?)?)?"
_PATTERNS = (
    # 2010-07-01, 2010/7/1, 2010.7.1 (optionally with a time)
    re.compile(r"(?P<y>\d{4})\s*([-/.])\s*(?P<m>\d{1,2})\s*\2\s*(?P<d>\d{1,2})\s*[日号]?" + _TIME),
    # 2010年7月1日 / 2010年07月01 / 2010年7月1号
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?" + _TIME),
    # 20100701
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})" + _TIME),
)
_MONTH_ONLY = re.compile(r"\d{4}\s*(?:[-/.年])\s*\d{1,2}\s*月?")
# 9月15日, 9月15号, 9-15, 9/15, 9.15 (as text): a month and a day with no year
_NO_YEAR = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]?|\d{1,2}\s*([-/.])\s*\d{1,2}")
_YEAR_ONLY = re.compile(r"\d{4}\s*年?")
_MONTH_NO_YEAR = re.compile(r"\d{1,2}\s*月(份)?")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


def parse_date_text(s: str) -> date | None:
    """The date a text cell stands for, or None (blank, unrecognised or impossible)."""
    d, _ = _parse_text(s)
    return d


def parse_date_value(v: object) -> tuple[date | None, str | None]:
    """(date, None) for a date; (None, reason) when unparseable or impossible; (None, None) when blank."""
    try:
        return _parse_value(v)
    except Exception:  # pragma: no cover - a parser must never take the reader down
        return None, "（无法识别的日期）"


def _parse_value(v: object) -> tuple[date | None, str | None]:
    if v is None:
        return None, None
    t = type(v)
    if t is date:
        return v, None  # type: ignore[return-value]
    if t is datetime or isinstance(v, datetime):
        return v.date(), None  # type: ignore[union-attr]
    if isinstance(v, date):
        return v, None
    if isinstance(v, str):
        return _parse_text(v)
    if isinstance(v, bool):
        return None, "（不是日期）"
    if isinstance(v, (int, float)):
        return _parse_number(v)
    if isinstance(v, (time, timedelta)):
        return None, "（只有时间，没有日期）"
    return _parse_text(str(v))


def _parse_number(v: int | float) -> tuple[date | None, str | None]:
    if isinstance(v, float):
        if not math.isfinite(v):
            return None, "（不是日期）"
        whole = math.floor(v)
    else:
        whole = v
    if 10000101 <= whole <= 99991231 and whole == v:
        return _ymd(whole // 10000, whole // 100 % 100, whole % 100)
    if SERIAL_MIN <= whole <= SERIAL_MAX:
        return _EXCEL_EPOCH + timedelta(days=int(whole)), None
    if MIN_YEAR <= whole <= MAX_YEAR and whole == v:
        return None, "（只有年份，缺少月、日）"
    shown = int(whole) if whole == v else v
    return None, f"（数字 {shown} 不是日期）"


def _parse_text(s: str) -> tuple[date | None, str | None]:
    if not isinstance(s, str):
        return None, "（不是日期）"
    text = s.strip()
    if not text:
        return None, None
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    text = _SPACES.sub(" ", text)
    if _CN_DATE.fullmatch(text):
        return _parse_chinese_numerals(text)
    for pat in _PATTERNS:
        m = pat.fullmatch(text)
        if m:
            return _from_match(m)
    if _MONTH_ONLY.fullmatch(text):
        return None, "（缺少日）"
    if _NO_YEAR.fullmatch(text):
        return None, "（缺少年份：请写全年、月、日）"
    if _MONTH_NO_YEAR.fullmatch(text):
        return None, "（只有月份，缺少年份和日）"
    if _YEAR_ONLY.fullmatch(text):
        return None, "（只有年份，缺少月、日）"
    return None, "（无法识别的日期写法）"


# 二〇一〇年七月一日 / 二零一零年十二月三十一号: formal documents write dates in Chinese numerals.
_CN_DIGITS = {c: n for n, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "O": 0}
_CN_DATE = re.compile(r"([〇○零O一二三四五六七八九]{4})\s?年\s?([一二三四五六七八九十]{1,3})\s?月"
                      r"\s?([一二三四五六七八九十]{1,4})\s?[日号]")


def _cn_number(text: str) -> int | None:
    """一..九, 十, 十一..十九, 二十..三十一 (month and day numbers)."""
    if "十" not in text:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _parse_chinese_numerals(text: str) -> tuple[date | None, str | None]:
    m = _CN_DATE.fullmatch(text)
    year = int("".join(str(_CN_DIGITS[c]) for c in m[1]))
    month, day = _cn_number(m[2]), _cn_number(m[3])
    if month is None or day is None:
        return None, "（无法识别的日期写法）"
    return _ymd(year, month, day)


def _from_match(m: re.Match) -> tuple[date | None, str | None]:
    d, reason = _ymd(int(m["y"]), int(m["m"]), int(m["d"]))
    if d is None:
        return d, reason
    if m["h"] is not None:
        h, mi, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
        if h > 24 or mi > 59 or sec > 59:
            return None, "（时间部分有误）"
    return d, None


def _ymd(y: int, m: int, d: int) -> tuple[date | None, str | None]:
    if not MIN_YEAR <= y <= MAX_YEAR:
        return None, f"（年份 {y} 超出范围）"
    if not 1 <= m <= 12:
        return None, f"（{y}年没有{m}月）"
    try:
        return date(y, m, d), None
    except ValueError:
        return None, f"（{y}年{m}月没有{d}日）"


def date_example(year: int) -> str:
    """How to write a date, in the year that matters to the reader (the campaign's):
    "2026-07-01 或 2026年7月1日"."""
    return f"{year}-07-01 或 {year}年7月1日"


def when_text(iso: str | None) -> str:
    """A recorded ISO time as clerks read it, to the minute: "2010-10-18 09:12" ("" for none)."""
    return (iso or "").replace("T", " ")[:16]


def excel_serial(d: date) -> int:
    """The Excel serial number of a date (for tests and writers)."""
    return (d - _EXCEL_EPOCH).days

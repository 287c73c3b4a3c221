"""Text cleaning, GB 11643 ID numbers, phone shapes, numbers as digits."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.core.normalize import (clean_text, fold_code, id_check_digit, id_number_problem,
                               id_number_valid, normalize_id_number, number_to_digits,
                               phone_numbers, phone_valid)


@pytest.mark.parametrize("raw, clean", [
    ("  张三  ", "张三"), ("\u3000张三\u3000", "张三"), ("\u00a0张三\u00a0", "张三"),
    ("\ufeff张三\u200b", "张三"), ("已召开协调会，方案已报乡政府。", "已召开协调会，方案已报乡政府。"),
    ("（一）入户走访；（二）协调会", "（一）入户走访；（二）协调会"),
    ("张\u00a0三", "张 三"), ("", None), ("   ", None), ("\u3000", None), (None, None),
    (12.0, "12"), (12, "12"), (3.5, "3.5"), (date(2010, 7, 1), "2010-07-01"),
    (datetime(2010, 7, 1), "2010-07-01"), (datetime(2010, 7, 1, 9, 30), "2010-07-01 09:30"),
])
def test_clean_text_keeps_chinese_punctuation(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("raw, folded", [
    ("ＮＪ２０１０－００１", "NJ2010-001"), (" NJ2010-001 ", "NJ2010-001"), (12.0, "12"),
    ("１３８ ５７７０ ００１２", "13857700012"), ("\u3000", None),
])
def test_fold_code(raw, folded):
    assert fold_code(raw) == folded


@pytest.mark.parametrize("v, digits", [
    (12, "12"), (12.0, "12"), (-3.0, "-3"), (3.5, "3.5"), (0.1, "0.1"), (1e-7, "0.0000001"),
    (13857712345.0, "13857712345"), (1.1010519491231e17, "110105194912310000"),
    (4.40524188001010e17, "440524188001010000"), (123456789012345678, "123456789012345678"),
])
def test_number_to_digits_has_no_exponent_or_point_zero(v, digits):
    assert number_to_digits(v) == digits


# --- GB 11643 -------------------------------------------------------------------
@pytest.mark.parametrize("good", ["11010519491231002X", "11010519491231002x", "440524188001010014",
                                  " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ"])
def test_valid_ids(good):
    assert id_number_valid(good)
    assert id_number_problem(good) is None


def test_normalised_id_is_ascii_upper():
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("bad, words", [
    ("110105194912310021", "校验位"),
    ("11010519491231002", "18 位，现为 17 位"),
    ("110105491231002", "第一代身份证"),
    ("11010519491331002X", "出生日期 19491331 不存在"),
    ("1101051949123100AX", "数字以外"),
    ("110105194912310000", "校验位"),
    ("", "为空"),
])
def test_invalid_ids_say_why(bad, words):
    assert not id_number_valid(bad)
    assert words in id_number_problem(bad)


def test_check_digit_examples():
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"


birth = st.dates(min_value=date(1900, 1, 1), max_value=date(2009, 12, 31))


@settings(max_examples=300, deadline=None)
@given(area=st.text(alphabet="0123456789", min_size=6, max_size=6), born=birth,
       seq=st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_computed_check_digit_always_validates(area, born, seq):
    first17 = f"{area}{born:%Y%m%d}{seq}"
    assert id_number_valid(first17 + id_check_digit(first17))


@settings(max_examples=300, deadline=None)
@given(area=st.text(alphabet="0123456789", min_size=6, max_size=6), born=birth,
       seq=st.text(alphabet="0123456789", min_size=3, max_size=3),
       pos=st.integers(0, 17), delta=st.integers(1, 9))
def test_any_single_digit_change_invalidates(area, born, seq, pos, delta):
    first17 = f"{area}{born:%Y%m%d}{seq}"
    good = first17 + id_check_digit(first17)
    chars = "0123456789X" if pos == 17 else "0123456789"
    i = chars.index(good[pos])
    changed = good[:pos] + chars[(i + delta) % len(chars)] + good[pos + 1:]
    assert changed != good
    assert not id_number_valid(changed)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_id_checks_never_raise(s):
    assert isinstance(id_number_valid(s), bool)


# --- phones ---------------------------------------------------------------------
@pytest.mark.parametrize("good", [
    "13857712345", "138 5771 2345", "138-5771-2345", "１３８５７７１２３４５", "0577-88123456",
    "057788123456", "(0577)88123456", "88123456", "8812345", "0577 88123456",
    "13857712345，0577-88123456", "13857712345、13957712345", "13857712345/88123456",
    "13857712345 13957712345", "+8613857712345", "0577-88123456-123",
])
def test_phone_shapes_accepted(good):
    assert phone_valid(good)


@pytest.mark.parametrize("bad", ["12345", "1385771234", "138577123456", "12857712345", "无",
                                 "13857712345，123", "", "0577-123"])
def test_phone_shapes_refused(bad):
    assert not phone_valid(bad)


def test_phone_numbers_split():
    assert phone_numbers("13857712345，0577-88123456") == ["13857712345", "0577-88123456"]


@pytest.mark.parametrize("value,expected", [
    (5, 5), (5.0, 5), ("5", 5), ("５天", 5), ("10个工作日", 10), (" 30 日 ", 30),
    (5.5, None), (True, None), ("五天", None), ("5-10", None), (None, None)])
def test_day_counts_as_clerks_type_them(value, expected):
    from toolkit.core.normalize import parse_day_count
    assert parse_day_count(value) == expected

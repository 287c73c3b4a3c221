"""Masking of petitioners' personal data in anything that leaves the office.

PIPL Art. 28 and 51: ID numbers, phones and addresses are sensitive. A receipt
e-mail or a report to the district shows an ID as its first 6 and last 4
characters (330302********1234) and a phone as its first 3 and last 4 digits
(138****5678). Every value quoted outside the office goes through here.
"""
from __future__ import annotations

import re
from datetime import date

__all__ = ["mask_id", "mask_phone", "mask_address", "mask_name", "mask_text"]


def mask_id(value: object) -> str:
    """330302199001011234 -> 330302********1234 (any length >= 11 keeps 6 + 4)."""
    s = _compact(value)
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_phone(value: object) -> str:
    """13812345678 -> 138****5678; 0577-88123456 -> 057*******3456 (digits only kept)."""
    digits = re.sub(r"\D", "", _compact(value))
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_address(value: object) -> str:
    """Keep the place down to the township/street level, hide the rest.

    浙江省温州市鹿城区南郊乡东村12号 -> 浙江省温州市鹿城区南郊乡****.
    """
    s = str(value or "").strip()
    if not s:
        return ""
    m = None
    for m in re.finditer(r"(省|自治区|市|自治州|州|盟|区|县|旗|乡|镇|街道)", s[:24]):
        pass
    keep = m.end() if m else min(3, len(s) // 2)
    if keep >= len(s):
        keep = min(3, len(s) // 2)
    return s[:keep] + "****"


# 15- or 18-character ID numbers (also an 18-digit ID that Excel turned into a
# number and printed as 3.30302199001011E+17 is only 15 digits of mantissa).
_ID = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?![\dXx])")
_SCI = re.compile(r"(?<![\d.])(\d\.\d{6,})[eE]\+?(\d{1,2})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[-－ ](\d{7,8})(?!\d)")
_DIGITS = re.compile(r"(?<![\d*])(\d{7,})(?![\d*])")      # any run, however long


def mask_name(value: object) -> str:
    """张三 -> 张*, 欧阳明华 -> 欧***; "缪建国等16人" -> 缪**等16人; each of 张三、李四 alike."""
    def one(name: str) -> str:
        head, sep, tail = name.partition("等")
        return (head[:1] + "*" * (len(head) - 1) + sep + tail) if head else name
    text = "" if value is None else str(value).strip()
    return re.sub(r"[^、,，;；\s]+", lambda m: one(m.group(0)), text)


def mask_text(text: object) -> str:
    """Mask every ID number and phone number that appears in free text."""
    s = "" if text is None else str(text)
    s = _SCI.sub(lambda m: mask_id(m.group(1).replace(".", "")) + "E+" + m.group(2), s)
    s = _ID.sub(lambda m: mask_id(m.group(1)), s)
    s = _LANDLINE.sub(lambda m: mask_phone(m.group(1) + m.group(2)), s)
    return _DIGITS.sub(_mask_digit_run, s)


def _mask_digit_run(m: re.Match) -> str:
    run = m.group(1)
    if len(run) == 8 and _looks_like_date(run):
        return run                      # 20100701 is a date, not a phone
    if len(run) >= 15:
        return mask_id(run)
    return mask_phone(run)


def _looks_like_date(run: str) -> bool:
    try:
        d = date(int(run[:4]), int(run[4:6]), int(run[6:]))
    except ValueError:
        return False
    return 1900 <= d.year <= 2100


def _compact(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s", "", str(value))

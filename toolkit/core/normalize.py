"""Cleaning cell values: text, codes, ID numbers (GB 11643), phone numbers.

Free text keeps its Chinese punctuation and only loses surrounding whitespace
(including the ideographic space U+3000 and NBSP). Codes, ID numbers, phone
numbers and other numbers are folded to ASCII (NFKC: full-width digits and
letters become half-width). Numbers typed into cells become digit strings
without exponent or a trailing ".0".
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal

_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_WS_ANY = re.compile(r"[\s\u3000\u00a0" + _INVISIBLE + "]+")


def number_to_digits(v: float | int) -> str:
    """12 -> "12", 12.0 -> "12", 1.1010519491231e+17 -> "110105194912310000", 3.5 -> "3.5"."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        s = format(Decimal(repr(v)), "f")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        return s
    return str(v)


def clean_text(v: object) -> str | None:
    """Free text: stripped (incl. U+3000, NBSP, zero-width); None when blank.

    Numbers become digit strings, dates ISO text; Chinese punctuation stays.
    """
    if v is None:
        return None
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        if s.isascii():
            return s
        s = s.strip(_INVISIBLE).strip()
        if "\u00a0" in s:
            s = s.replace("\u00a0", " ")
        return s or None
    if isinstance(v, (int, float)):
        return number_to_digits(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="minutes") if (v.hour or v.minute) else v.date().isoformat()
    if isinstance(v, (date, time)):
        return v.isoformat()
    return clean_text(str(v))


def fold_code(v: object, *, keep_spaces: bool = False) -> str | None:
    """Codes, IDs and numbers: NFKC to ASCII; whitespace removed (or collapsed)."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return number_to_digits(v)
    s = v if type(v) is str else clean_text(v)
    if s is None:
        return None
    if s.isascii() and s.isprintable() and " " not in s:
        return s or None  # the common case: ASCII without whitespace, nothing to fold
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)
    s = _WS_ANY.sub(" " if keep_spaces else "", s).strip()
    return s or None


# --- GB 11643 citizen identity numbers --------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


def id_check_digit(first17: str) -> str:
    """The check character (0-9 or X) for the first 17 digits of an ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def normalize_id_number(s: object) -> str | None:
    """ASCII, no spaces, upper-case X."""
    folded = fold_code(s)
    return folded.upper() if folded else folded


def id_number_problem(s: str) -> str | None:
    """Chinese reason why ``s`` is not a valid 18-character ID number, or None when valid."""
    n = normalize_id_number(s)
    if not n:
        return "为空"
    if len(n) != 18:
        extra = "，可能是第一代身份证号，请换成 18 位新号码" if len(n) == 15 and n.isdigit() else ""
        return f"位数不对（应为 18 位，现为 {len(n)} 位{extra}）"
    if not _ID_SHAPE.fullmatch(n):
        return "含有数字以外的字符（只有末位可以是 X）"
    y, m, d = int(n[6:10]), int(n[10:12]), int(n[12:14])
    try:
        born = date(y, m, d)
    except ValueError:
        return f"中的出生日期 {n[6:14]} 不存在"
    if born.year < 1800 or born > date.today():
        return f"中的出生日期 {n[6:14]} 不合理"
    if id_check_digit(n[:17]) != n[17]:
        return "校验位不符（有数字录错了）"
    return None


def id_number_valid(s: str) -> bool:
    """GB 11643: 18 characters, a real birth date, a matching check digit."""
    return id_number_problem(s) is None


# --- phone numbers -------------------------------------------------------------
_PHONE_SPLIT = re.compile(r"[，,、/;；]+")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_FIXED = re.compile(r"(?:\(0\d{2,3}\)|0\d{2,3}-?)?[1-9]\d{6,7}(?:-\d{1,5})?")


def _phone_ok(p: str) -> bool:
    compact = p.replace("-", "").replace(" ", "")
    return bool(_MOBILE.fullmatch(compact) or _FIXED.fullmatch(p.replace(" ", "")))


def phone_numbers(s: object) -> list[str]:
    """The separate numbers in a phone cell (ASCII, stripped).

    Numbers are separated by ，、/; or whitespace; a space inside one number
    (138 1234 5678, 0577 88123456) does not split it.
    """
    folded = fold_code(s, keep_spaces=True)
    if not folded:
        return []
    out: list[str] = []
    for part in _PHONE_SPLIT.split(folded):
        part = part.strip()
        if not part:
            continue
        if " " in part and not _phone_ok(part):
            out.extend(part.split())
        else:
            out.append(part)
    return out


def phone_valid(s: str) -> bool:
    """Each number is an 11-digit mobile (1[3-9]…) or a fixed line (0577-88123456, 88123456)."""
    parts = phone_numbers(s)
    return bool(parts) and all(_phone_ok(p) for p in parts)


# --- whole numbers of days ---------------------------------------------------------
_INT_TEXT = re.compile(r"(\d+)\s*(?:个)?(?:工作日|天|日)?")


def parse_day_count(v: object) -> int | None:
    """A whole number of days as a clerk types it: 5, 5.0, "5", "５天", "5个工作日".

    None for anything else (booleans, fractions, words); blank is the caller's business."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    if isinstance(v, str):
        m = _INT_TEXT.fullmatch(fold_code(v) or "")
        return int(m.group(1)) if m else None
    return None

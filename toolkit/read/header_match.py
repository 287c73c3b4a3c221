"""Near misses: which field a header means when it names none exactly.

Villages type 反应问题 for 反映问题, 包案领到 for 包案领导, paste 編號 from a traditional-
character file, add a colon or quotes, or slip one character. ``near_field`` folds such a
header and the registry's names (``toolkit.core.fields``) the same way and measures how far
apart they are. The knowledge here is generic (character confusions), never field names:
those live in the registry only.

How near is near enough depends on the length of what was written: a short header is
compared only after folding (序号 is not 编号, 姓名 stays a roster's column), a header of
four to six characters may be one character off, a longer one two. When the nearest names
belong to two fields the header is ambiguous: nothing is guessed.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from toolkit.core import fields as F

# Traditional forms of the characters the registry's names use (folded to simplified).
_TRADITIONAL = dict(zip(
    "個親會內決況別勸辦區協單號員處備復覆複導屬態戶報數時現電碼積穩類係繫紀組經結緒編罷聯見規議訪證訴話調責賬帳轉過進問間項領題註來機狀",
    "个亲会内决况别劝办区协单号员处备复复复导属态户报数时现电码积稳类系系纪组经结绪编罢联见规议访证诉话调责账账转过进问间项领题注来机状"))
# Characters a pinyin input method (or a hurried hand) puts for the right one: 反应问题 for
# 反映问题, 包案领到 for 包案领导, 会议记要, 身分证, 述求, 连系电话.
_CONFUSED = {"应": "映", "到": "导", "记": "纪", "帐": "账", "分": "份", "述": "诉", "霸": "罢",
             "连": "联"}
_FOLD = {**_TRADITIONAL, **_CONFUSED}


def fold(text: str) -> str:
    """NFKC, letters and digits only (no brackets, colons, quotes, spaces), traditional and
    commonly confused characters replaced by the registry's."""
    s = unicodedata.normalize("NFKC", text)
    return "".join(_FOLD.get(ch, ch) for ch in s if unicodedata.category(ch)[0] in "LN")


def allowed_distance(length: int) -> int:
    """Characters a header of ``length`` (folded) may differ by and still be read."""
    return 0 if length < 4 else 1 if length < 7 else 2


@dataclass(frozen=True)
class Near:
    """What a header that names no field exactly seems to mean."""
    keys: tuple[str, ...]          # one key: read as it; two or more: ambiguous
    names: tuple[str, ...]         # the registry's name each key was nearest by


def _names() -> tuple[tuple[str, str, str], ...]:
    """(folded name, name, key) for every field and checklist item name."""
    names = [n for f in F.FIELDS for n in f.names]
    names += [n for item in F.CHECKLIST_ITEMS.values() for n in item.names]
    # a name read exactly stands for what the registry reads it as (包案领导: the text field)
    return tuple((fold(n), n, F.match_header(n)) for n in names)


_NAMES = _names()


@lru_cache(maxsize=4096)
def near_field(text: str) -> Near | None:
    """The field(s) ``text`` is nearest to, within ``allowed_distance``; None when none is."""
    h = fold(text)
    if not h or len(h) > 40:
        return None
    limit = allowed_distance(len(h))
    best, found = limit + 1, {}
    for folded, name, key in _NAMES:
        if abs(len(folded) - len(h)) > min(best, limit):
            continue
        d = 0 if folded == h else (_distance(h, folded, best + 1) if len(folded) >= 4 else limit + 1)
        if d < best:
            best, found = d, {key: name}
        elif d == best and d <= limit:
            found.setdefault(key, name)
    if best > limit or not found:
        return None
    return Near(tuple(found), tuple(found.values()))


def _distance(a: str, b: str, stop: int) -> int:
    """Levenshtein distance of ``a`` and ``b``; anything from ``stop`` up is reported as ``stop``
    (the caller only needs to know it is not nearer than what it has)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) >= stop:
            return stop
        prev = cur
    return min(prev[-1], stop)

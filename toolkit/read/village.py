"""Which village a ledger is from, and its reporting date.

In order (docs/domain.md): the template's marker sheet, the 填报单位 line above the
header, the most common 村（社区） value, the file name. Blank village cells get
the ledger's village.

The marker is hidden, and a village sometimes fills in a neighbour's template: when the
填报单位 and the 村（社区） column both name another village, the file is that village's
(its rows are not filed under the neighbour, whose own ledger would then look replaced);
any disagreement with the marker is a warning naming both.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from toolkit.core import fields as F
from toolkit.core.dates import parse_date_value
from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import Ledger
from toolkit.core.normalize import clean_text
from toolkit.read.rows import WHITESPACE, blank

_LABEL_TAIL = re.compile(r"^\s*(?:[（(][^）)]{0,8}[）)])?\s*[:：]?\s*")
_STOP_WORDS = F.REPORTER_LABELS + F.REPORT_DATE_LABELS + ("填表人", "联系电话", "审核人", "负责人")
_FILE_VILLAGE = re.compile(r"[\u4e00-\u9fff]{1,15}?(?:社区|村|居)")


def identify_village(ledger: Ledger, marker: str | None, above: list[list],
                     data: dict[str, list]) -> None:
    """Village and its source (docs/domain.md order); blank village cells get the ledger's village."""
    reporter, report_date = _reporter(above)
    if report_date not in (None, ""):
        ledger.report_date = parse_date_value(report_date)[0]
    names = [v for v in data.get("village", ()) if v]
    column = Counter(names).most_common(1)[0][0] if names else None
    if marker:
        marker = _checked_marker(ledger, marker, reporter, column)
    if marker:
        ledger.village, ledger.village_source = marker, "marker"
    elif reporter:
        ledger.village, ledger.village_source = reporter, "reporter"
    elif column:
        ledger.village, ledger.village_source = column, "column"
    else:
        name = village_from_filename(ledger.path)
        ledger.village, ledger.village_source = name or ledger.path.stem, "filename"
        if not name:
            ledger.issues.append(make_issue(Code.VILLAGE_UNKNOWN, file=str(ledger.path),
                                            village=ledger.village))
    if data:
        n = len(next(iter(data.values())))
        data["village"] = [v or ledger.village for v in data.get("village", [None] * n)]


def _checked_marker(ledger: Ledger, marker: str, reporter: str | None, column: str | None) -> str | None:
    """The marker's village, or None when the sheet itself says, in both its 填报单位 and its
    村（社区） column, that it is another village's; a warning whenever the sheet disagrees."""
    said = [(where, name) for where, name in (("填报单位", reporter), ("“村（社区）”列", column))
            if name and not _same_village(name, marker)]
    if not said:
        return marker
    taken = bool(reporter and column and _same_village(reporter, column)) and len(said) == 2
    ledger.issues.append(make_issue(Code.MARKER_MISMATCH, file=str(ledger.path), marker=marker,
                                    where="和".join(w for w, _ in said), visible=said[0][1],
                                    counted=said[0][1] if taken else marker))
    return None if taken else marker


def _same_village(a: str, b: str) -> bool:
    """One name within the other, spaces aside (东村 and 南郊乡东村村委会 are one village)."""
    a, b = WHITESPACE.sub("", a), WHITESPACE.sub("", b)
    return bool(a and b) and (a in b or b in a)


def village_from_filename(path: Path) -> str | None:
    """A leading name ending in 村/社区/居 ("东村信访积案台账.xlsx" -> "东村"), else None."""
    stem = clean_text(Path(path).stem) or ""
    stem = re.sub(r"^[\s\d_\-.()（）【】\[\]]+", "", stem)
    m = _FILE_VILLAGE.match(stem)
    return m.group(0) if m else None


def _reporter(rows: list[list]) -> tuple[str | None, object]:
    """(village from 填报单位, raw 填报日期) found in the rows above the header."""
    village, when = None, None
    for row in rows:
        for c, v in enumerate(row):
            if type(v) is not str or not v.strip():
                continue
            if village is None:
                found = _labelled(row, c, F.REPORTER_LABELS)
                if found is not None:
                    village = _first_token(found)
            if when is None:
                when = _labelled(row, c, F.REPORT_DATE_LABELS)
    return village or None, when


def _labelled(row: list, c: int, labels: tuple[str, ...]):
    """The value after a label in cell ``c`` (same cell, or the next non-empty cell)."""
    text = row[c]
    for label in labels:
        at = text.find(label)
        if at < 0:
            continue
        rest = _LABEL_TAIL.sub("", text[at + len(label):], count=1)
        cut = [rest.find(w) for w in _STOP_WORDS if rest.find(w) >= 0]
        rest = rest[:min(cut)] if cut else rest
        rest = rest.strip(" \u3000\u00a0…._-")
        if rest:
            return rest
        for v in row[c + 1:]:
            if blank(v):
                continue
            if type(v) is str and any(w in v for w in _STOP_WORDS):
                return None
            return v.strip() if type(v) is str else v
        return None
    return None


def _first_token(v: object) -> str | None:
    text = clean_text(v)
    if not text:
        return None
    token = WHITESPACE.split(text)[0].strip("…")
    token = re.sub(r"[（(]盖章[）)]$", "", token)
    return token or None

"""The schema of a village ledger's case table, declared once (``LEDGER_COLUMNS``).

Built from the field registry (toolkit.core.fields), so a new field or variant is
added in one place. The declaration runs two ways with the same verdicts: as a pandera
schema (``ledger_schema``) and row by row in plain Python (``plain_failures``), which is
what the commands run: the checks work on plain lists and pandera's schema only wraps them,
so it gives the same failures, only slower, and costs a button half a second to import
(toolkit/validation/rules.py says what was measured); tests/test_schema_runners.py runs
both over many messy ledgers and holds the plain runner to pandera's verdicts.

Checks run on the *normalised* case table the reader produces (dates already parsed,
statuses already canonical); cross-field rules (date order, closing rules, scope) live in
toolkit/validation/rules.py.

Each check has a stable name; ``CHECK_CODES`` maps it to an issue code of the
catalogue in toolkit/core/issues.py. Kept in Python rather than YAML: a YAML schema
silently drops lambdas and ignores misspelled check names (docs/design.md).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from toolkit.core.fields import FIELDS, STATUSES
from toolkit.core.normalize import id_number_valid, phone_valid
from toolkit.core.issues import Code

if TYPE_CHECKING:
    import pandas as pd

# check name (as pandera reports it) -> issue code
CHECK_CODES = {
    "not_nullable": Code.MISSING_VALUE,
    "unique_in_file": Code.DUPLICATE_CASE_ID,
    "gb11643": Code.INVALID_ID_NUMBER,
    "id_area_code": Code.UNKNOWN_AREA_CODE,
    "phone_shape": Code.INVALID_PHONE,
    "known_status": Code.UNKNOWN_STATUS,
    "extension_range": Code.INVALID_NUMBER,
}

# First two digits of GB/T 2260 province-level codes (current and retired ones).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83 91".split())


def _id_ok(value: object) -> bool:
    return value is None or id_number_valid(str(value))


def _area_ok(value: object) -> bool:
    return value is None or str(value)[:2] in PROVINCE_CODES


def _phone_ok(value: object) -> bool:
    return value is None or phone_valid(str(value))


def _extension_ok(value: object) -> bool:
    return value is None or 0 <= int(value) <= 250


# --- whole-column checks: one pass over a list of values, one verdict (True = good) per value.
# Each gives exactly the verdicts of the per-value function above it; fast paths only
# ever prove a value good, and every other value goes through that function.

def _ids_ok(values: list) -> list[bool]:
    """gb11643 for a column: usual 18-character numbers are proven valid together (numpy);
    the rest (lower-case x, spaces, 29 February, wrong ones) go through ``_id_ok``."""
    return [good or _id_ok(v) for good, v in zip(_ids_proven(values), values)]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = tuple(ord(c) - 48 for c in "10X98765432")        # check character - "0"
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)   # 29 Feb: one by one


def _ids_proven(values: list) -> list[bool]:
    """True where a value is 17 ASCII digits and a check character that matches them,
    with a real birth date between 1800 and today (what ``id_number_valid`` accepts)."""
    import numpy as np
    ok = np.zeros(len(values), dtype=bool)
    at = [i for i, v in enumerate(values) if type(v) is str and len(v) == 18 and v.isascii()]
    if not at:
        return ok.tolist()
    raw = "".join([values[i] for i in at]).encode("ascii")
    a = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18).astype(np.int64) - 48
    body = a[:, :17]
    digits = ((body >= 0) & (body <= 9)).all(axis=1)
    check = np.array(_ID_CHECK)[(body @ np.array(_ID_WEIGHTS)) % 11]
    y, m, d = body[:, 6:10] @ [1000, 100, 10, 1], body[:, 10:12] @ [10, 1], body[:, 12:14] @ [10, 1]
    today = date.today()
    born_ok = ((y >= 1800) & (m >= 1) & (m <= 12) & (d >= 1)
               & (d <= np.array(_MONTH_DAYS)[np.clip(m, 0, 12)])
               & (y * 10000 + m * 100 + d <= today.year * 10000 + today.month * 100 + today.day))
    ok[at] = digits & (a[:, 17] == check) & born_ok
    return ok.tolist()


def _areas_ok(values: list) -> list[bool]:
    return [_area_ok(v) for v in values]


_MOBILE_PLAIN = re.compile(r"1[3-9][0-9]{9}")


def _phones_ok(values: list) -> list[bool]:
    """phone_shape for a column: a bare 11-digit mobile number is good at sight."""
    plain = _MOBILE_PLAIN.fullmatch
    return [v is None or (type(v) is str and plain(v) is not None) or _phone_ok(v) for v in values]


def _statuses_ok(values: list) -> list[bool]:
    allowed = frozenset(STATUSES)
    return [v is None or v in allowed for v in values]


def _extensions_ok(values: list) -> list[bool]:
    return [_extension_ok(v) for v in values]


def _unique_in_file(keys: list) -> list[bool]:
    """True where a (file, case number) pair occurs once; blank numbers pass."""
    seen = Counter(k for k in keys if k is not None)
    return [k is None or seen[k] == 1 for k in keys]


# --- the declaration: once, run by pandera (``ledger_schema``) or row by row (``plain_failures``)
@dataclass(frozen=True)
class ColumnRules:
    """One column of the case table: may it be blank, and its named whole-column checks
    (check name -> function from the column's values to a verdict per value)."""
    key: str
    nullable: bool
    checks: tuple[tuple[str, Callable[[list], list[bool]]], ...] = ()


def _kind_checks(kind: str) -> tuple[tuple[str, Callable[[list], list[bool]]], ...]:
    return {"id": (("gb11643", _ids_ok), ("id_area_code", _areas_ok)),
            "phone": (("phone_shape", _phones_ok),),
            "status": (("known_status", _statuses_ok),),
            "int": (("extension_range", _extensions_ok),)}.get(kind, ())


# Every field, then ``case_key``: "<file no>\x1f<case number>" (None when the case number
# is blank), so uniqueness is checked within each file.
LEDGER_COLUMNS: tuple[ColumnRules, ...] = (
    *(ColumnRules(f.key, not f.required, _kind_checks(f.kind)) for f in FIELDS),
    ColumnRules("case_key", True, (("unique_in_file", _unique_in_file),)),
)


@lru_cache(maxsize=1)
def ledger_schema():
    """``LEDGER_COLUMNS`` as the pandera schema for the combined case table of one or many
    ledgers (pandera's ``ignore_na``: a blank value passes every check but not_nullable)."""
    import pandera.pandas as pa

    columns = {c.key: pa.Column(None, nullable=c.nullable, required=True,
                                checks=[pa.Check(_on_series(fn), name=name) for name, fn in c.checks])
               for c in LEDGER_COLUMNS}
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name="村级台账")


def _on_series(fn: Callable[[list], list[bool]]):
    def check(column: "pd.Series") -> "pd.Series":
        import pandas as pd
        return pd.Series(fn(column.tolist()), index=column.index, dtype=bool)
    return check


Failure = tuple[str, str, int]        # (column, check name, position in the table)


def plain_failures(columns: dict[str, list]) -> list[Failure]:
    """``LEDGER_COLUMNS`` run without pandera on the table's columns (key -> values, None for
    blank): the failures pandera's lazy validation reports, as (column, check, position).
    A check that raises reports nothing, as pandera's failure without an index is dropped."""
    out: list[Failure] = []
    for c in LEDGER_COLUMNS:
        values = columns[c.key]
        if not c.nullable:
            out += [(c.key, "not_nullable", pos) for pos, v in enumerate(values) if v is None]
        for name, fn in c.checks:
            try:
                verdicts = fn(values)
            except Exception:   # noqa: BLE001 - pandera too reports such a check without rows
                continue
            out += [(c.key, name, pos) for pos, (good, v) in enumerate(zip(verdicts, values))
                    if not good and v is not None]
    return out

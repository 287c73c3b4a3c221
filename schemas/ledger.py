"""The pandera schema of a village ledger's case table.

Built from the field registry (toolkit.fields), so a new field or variant is
added in one place. Checks run on the *normalised* case table the reader
produces (dates already parsed, statuses already canonical); cross-field rules
(date order, closing rules, scope) live in toolkit/validate.py.

Each check has a stable name; ``CHECK_CODES`` maps it to an issue code of the
catalogue in toolkit/issues.py. Kept in Python rather than YAML: a YAML schema
silently drops lambdas and ignores misspelled check names (DESIGN.md).
"""
from __future__ import annotations

from functools import lru_cache

from toolkit.fields import FIELDS, STATUSES
from toolkit.normalize import id_number_valid, phone_valid

# check name (as pandera reports it) -> issue code
CHECK_CODES = {
    "not_nullable": "missing_value",
    "unique_in_file": "duplicate_case_id",
    "gb11643": "invalid_id_number",
    "id_area_code": "unknown_area_code",
    "phone_shape": "invalid_phone",
    "known_status": "unknown_status",
    "extension_range": "invalid_number",
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


def _unique_in_file(keys):
    """True where a (file, case number) pair occurs once; blank numbers pass."""
    return keys.isna() | ~keys.duplicated(keep=False)


@lru_cache(maxsize=1)
def ledger_schema():
    """The schema for the combined case table of one or many ledgers.

    Expected extra column ``case_key``: "<file no>\\x1f<case number>" (None when
    the case number is blank), so uniqueness is checked within each file.
    """
    import pandera.pandas as pa

    columns = {}
    for f in FIELDS:
        checks = []
        if f.kind == "id":
            checks += [pa.Check(_id_ok, element_wise=True, name="gb11643"),
                       pa.Check(_area_ok, element_wise=True, name="id_area_code")]
        elif f.kind == "phone":
            checks.append(pa.Check(_phone_ok, element_wise=True, name="phone_shape"))
        elif f.kind == "status":
            allowed = set(STATUSES)
            checks.append(pa.Check(lambda v: v is None or v in allowed, element_wise=True,
                                   name="known_status"))
        elif f.kind == "int":
            checks.append(pa.Check(_extension_ok, element_wise=True, name="extension_range"))
        columns[f.key] = pa.Column(None, nullable=not f.required, checks=checks, required=True)
    columns["case_key"] = pa.Column(None, nullable=True,
                                    checks=pa.Check(_unique_in_file, name="unique_in_file"))
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name="村级台账")

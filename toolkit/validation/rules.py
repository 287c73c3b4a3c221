"""Validation: the schema of schemas/ledger.py plus the cross-field rules.

All ledgers of a run are validated together in one combined table (the schema's
declaration run over its columns, see ``schema_failures``; the rules on plain lists),
and every failure is mapped back to its
ledger, sheet and cell through the combined table's position index. Reading
files and computing deadlines around this are ``toolkit.pipeline.check``'s.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

from schemas.ledger import CHECK_CODES, LEDGER_COLUMNS, ledger_schema, plain_failures
from toolkit.core.fields import CHECKLIST_BY_KEY, CLOSED_STATUSES, FIELDS, STRUCK_OFF, header_for
from toolkit.core.issues import Code, Issue, make_issue
from toolkit.core.ledger import Ledger, case_columns
from toolkit.core.normalize import id_number_problem
from toolkit.core.settings import Settings

# Rules that only make sense when these keys' cells were read without error.
_ARCHIVE_ITEMS = tuple(i.key for i in CHECKLIST_BY_KEY["archive"].items)
# The columns validation looks at: every field (schema and rules) and the 六有 items.
_CHECKED_KEYS = tuple(f.key for f in FIELDS) + _ARCHIVE_ITEMS


def validate_ledgers(ledgers: Sequence[Ledger], *, as_of: date, settings: Settings,
                     use_pandera: bool = False) -> list[Ledger]:
    """Append schema and rule issues to every readable ledger, in place (``use_pandera``: see
    ``schema_failures``; both runners give the same issues)."""
    readable = [lg for lg in ledgers if lg.readable and lg.n_cases]
    if readable:
        combined, where = _combine(readable)
        found = _schema_issues(combined, where, readable, use_pandera) + _rule_issues(combined, where, readable,
                                                                         as_of, settings)
        _attach(found, readable)
    return list(ledgers)


def _combine(ledgers: Sequence[Ledger]) -> tuple[dict[str, list], list[tuple[int, int]]]:
    """One table of all cases as plain columns, ``where[pos] = (ledger no, excel row)``.

    Columns: the keys validation looks at (None where a ledger lacks one or a cell is blank),
    then ``case_key`` (the case number within its ledger, for uniqueness per file).
    """
    table, where = case_columns(ledgers, _CHECKED_KEYS)
    table["case_key"] = [None if v is None else f"{n}\x1f{v}"
                         for (n, _), v in zip(where, table["case_id"])]
    return table, where


# pandera runs the schema only when asked (``use_pandera=True``): the declaration's checks work on
# plain lists and pandera's only wraps them, so it finds the same failures (tests/test_schema_runners.py
# compares the two on realistic and messy tables), only later: 30,000 rows take 0.15 s in plain Python
# and 0.19 s through pandera once imported, and the import and first use cost 0.4-0.9 s and 25 MB more
# (docs/development.md, issue 21). So every command checks with the plain runner.


def schema_failures(combined, *, use_pandera: bool = False) -> list[tuple[str, str, int]]:
    """The schema's failures on the combined table as (column, check, position), in table
    order (position, then the declaration's column and check order), from the plain runner of
    ``schemas.ledger``'s declaration or, with ``use_pandera``, from pandera's schema of it."""
    if use_pandera:
        found = _pandera_failures(combined)
    else:
        found = plain_failures(combined)
    return sorted(set(found), key=lambda f: (f[2], _ORDER.get(f[:2], len(_ORDER))))


_ORDER = {(c.key, name): n for n, (c, name) in enumerate(
    (c, name) for c in LEDGER_COLUMNS for name in ("not_nullable", *(n for n, _ in c.checks)))}


def _pandera_failures(combined: dict[str, list]) -> list[tuple[str, str, int]]:
    import pandas as pd
    import pandera.errors as pe

    try:
        ledger_schema().validate(pd.DataFrame(combined, dtype=object), lazy=True)
        return []
    except pe.SchemaErrors as err:
        failures = err.failure_cases
    out = []
    for col, check, pos in zip(failures["column"], failures["check"], failures["index"]):
        name = str(check).split("(")[0]
        if name in CHECK_CODES and pos is not None and pos == pos:
            out.append((str(col), name, int(pos)))
    return out


def _schema_issues(combined, where, ledgers, use_pandera: bool) -> list[tuple[int, Issue]]:
    out = []
    for col, name, pos in schema_failures(combined, use_pandera=use_pandera):
        code = CHECK_CODES.get(name)
        if code is None:
            continue
        key = "case_id" if col == "case_key" else col
        n, row = where[pos]
        lg = ledgers[n]
        if key not in lg.columns:
            continue  # a missing column is reported once, by the reader
        out.append((n, _cell_issue(code, lg, key, row, combined[key][pos], combined["case_id"][pos])))
    return out


def _cell_issue(code: str, lg: Ledger, key: str, row: int, value, case_id) -> Issue:
    extra = {}
    if code == Code.INVALID_ID_NUMBER:
        extra["reason"] = id_number_problem(str(value)) or "校验位不符"
    elif code == Code.DUPLICATE_CASE_ID:
        (ids,) = lg.case_columns(("case_id",))
        rows = [r for r, v in zip(lg.case_rows(), ids) if v == value]
        extra["where"] = "、".join(f"第{r}行" for r in rows)
    return make_issue(code, sheet=lg.sheet, cell=lg.cell(key, row), row=row,
                      column=header_for(key), case_id=case_id, value=value,
                      file=str(lg.path), **extra)


def _rule_issues(combined, where, ledgers, as_of: date, settings: Settings) -> list[tuple[int, Issue]]:
    """Date order, future dates, scope and closing rules, on plain lists (fast)."""
    out: list[tuple[int, Issue]] = []
    cutoff = settings.campaign.cutoff
    dated = ("first_petition_date", "assigned_date", "closed_date")
    for pos, (first, assigned, closed, status) in enumerate(zip(
            combined["first_petition_date"], combined["assigned_date"], combined["closed_date"], combined["status"])):
        found = []
        for key, d in zip(dated, (first, assigned, closed)):
            if d is not None and d > as_of:
                found.append((Code.DATE_ORDER, key, d,
                              {"reason": f"{header_for(key)} {d} 晚于核对日期 {as_of}。"}))
        if first is not None and assigned is not None and first > assigned:
            found.append((Code.DATE_ORDER, "assigned_date", assigned,
                          {"reason": f"交办日期 {assigned} 早于首次信访时间 {first}。"}))
        if assigned is not None and closed is not None and assigned > closed:
            found.append((Code.DATE_ORDER, "closed_date", closed,
                          {"reason": f"办结日期 {closed} 早于交办日期 {assigned}。"}))
        if first is not None and first > cutoff:
            found.append((Code.OUT_OF_SCOPE, "first_petition_date", first, {"cutoff": cutoff}))
        if status in CLOSED_STATUSES and closed is None:
            found.append((Code.CLOSED_DATE_MISSING, "status", status, {"status": status}))
        if status == STRUCK_OFF:
            missing = [header_for(k).split("·")[-1] for k in _ARCHIVE_ITEMS if combined[k][pos] is not True]
            if missing:
                found.append((Code.ARCHIVE_INCOMPLETE, "status", status, {"missing": "、".join(missing)}))
        if found:
            n, row = where[pos]
            lg = ledgers[n]
            for code, key, value, params in found:
                if key not in lg.columns:
                    continue
                out.append((n, make_issue(code, sheet=lg.sheet, cell=lg.cell(key, row), row=row,
                                          column=header_for(key), case_id=combined["case_id"][pos],
                                          value=value, file=str(lg.path), **params)))
    return out


def _attach(found: list[tuple[int, Issue]], ledgers: Sequence[Ledger]) -> None:
    """Add issues to their ledgers; a cell the reader already flagged keeps only its first issue."""
    flagged = [{i.cell for i in lg.issues if i.cell and i.is_error} for lg in ledgers]
    for n, issue in sorted(found, key=lambda t: (t[0], t[1].row or 0)):
        lg = ledgers[n]
        if issue.code in _SUPPRESSED_BY:
            cells = {lg.cell(k, issue.row) for k in _SUPPRESSED_BY[issue.code]}
        else:
            cells = {issue.cell}
        if cells & flagged[n]:
            continue
        lg.issues.append(issue)


# A rule issue is not repeated where the reader already reported an error at the
# cell it depends on (an unreadable 办结日期 is not also "missing").
_SUPPRESSED_BY = {
    Code.CLOSED_DATE_MISSING: ("closed_date",),
    Code.ARCHIVE_INCOMPLETE: (),
    Code.DATE_ORDER: (),
}


def exit_code(ledgers: Sequence[Ledger]) -> int:
    """0 no errors, 1 some errors, 2 some file could not be read (issue 2)."""
    if any(not lg.readable for lg in ledgers):
        return 2
    return 1 if any(lg.errors for lg in ledgers) else 0

"""Schema and cross-field rules on hand-built case tables (no workbook needed).

The reader's output shape is the contract here: index = Excel row, columns =
every input key, normalised values. Workbook-level validation is covered in
tests/test_validate_cli.py.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from toolkit.core.fields import ALL_INPUT_KEYS, CHECKLIST_BY_KEY, FIELDS
from toolkit.core.issues import make_issue
from toolkit.core.ledger import Ledger
from toolkit.core.settings import DEFAULT_SETTINGS
from toolkit.validation.rules import exit_code, validate_ledgers

AS_OF = date(2010, 10, 20)
ARCHIVE = [i.key for i in CHECKLIST_BY_KEY["archive"].items]


def good_case(**over):
    case = {k: None for k in ALL_INPUT_KEYS}
    case.update(case_id="NJ2010-001", village="东村", petitioner="张三", id_number="11010519491231002X",
                phone="13857712345", matter="征地补偿", first_petition_date=date(2007, 3, 1),
                assigned_date=date(2010, 7, 1), leader="李乡长", responsible_unit="乡国土所",
                status="化解中")
    case.update(over)
    return case


def ledger(*cases, name="东村.xlsx", columns=None):
    df = pd.DataFrame(list(cases), index=range(5, 5 + len(cases)), columns=list(ALL_INPUT_KEYS),
                      dtype=object)
    df = df.astype(object).where(df.notna(), None)
    cols = columns if columns is not None else {k: n for n, k in enumerate(ALL_INPUT_KEYS)}
    return Ledger(path=Path(name), sheet="台账", village="东村", cases=df, columns=cols)


def codes(lg):
    return sorted((i.code, i.cell) for i in lg.issues)


def col(key):
    from toolkit.core.cells import column_letter
    return column_letter(ALL_INPUT_KEYS.index(key))


def run(*ledgers):
    return validate_ledgers(list(ledgers), as_of=AS_OF, settings=DEFAULT_SETTINGS)


def test_clean_case_has_no_issues():
    lg = ledger(good_case())
    run(lg)
    assert lg.issues == []
    assert exit_code([lg]) == 0


def test_required_values_missing_are_errors_at_their_cells():
    lg = ledger(good_case(petitioner=None, leader=None))
    run(lg)
    assert codes(lg) == sorted([("missing_value", f"{col('petitioner')}5"),
                                ("missing_value", f"{col('leader')}5")])
    issue = lg.issues[0]
    assert issue.severity == "error" and issue.case_id == "NJ2010-001" and issue.sheet == "台账"
    assert exit_code([lg]) == 1


def test_missing_value_not_reported_for_a_column_the_sheet_lacks():
    cols = {k: n for n, k in enumerate(ALL_INPUT_KEYS) if k != "leader"}
    lg = ledger(good_case(leader=None), columns=cols)
    run(lg)
    assert lg.issues == []   # the reader reports missing_column once, not per row


def test_duplicate_case_number_within_a_file_flags_both_rows():
    lg = ledger(good_case(), good_case(petitioner="王五"))
    run(lg)
    dup = [i for i in lg.issues if i.code == "duplicate_case_id"]
    assert [i.row for i in dup] == [5, 6]
    assert "第5行" in dup[0].message and "第6行" in dup[0].message


def test_same_case_number_in_two_files_is_not_a_file_error():
    a, b = ledger(good_case(), name="a.xlsx"), ledger(good_case(), name="b.xlsx")
    run(a, b)
    assert a.issues == [] and b.issues == []


@pytest.mark.parametrize("bad", ["110105194912310021", "11010519491231002", "110105194913310028"])
def test_bad_id_numbers(bad):
    lg = ledger(good_case(id_number=bad))
    run(lg)
    assert codes(lg) == [("invalid_id_number", f"{col('id_number')}5")]
    assert bad in lg.issues[0].message


def test_id_cell_already_flagged_by_the_reader_is_not_reported_twice():
    lg = ledger(good_case(id_number="110105194912310000"))
    lg.issues.append(make_issue("id_number_as_number", sheet="台账", cell=f"{col('id_number')}5",
                                row=5, value=1.10105194912310e17))
    run(lg)
    assert [i.code for i in lg.issues] == ["id_number_as_number"]


def test_unknown_province_code_is_a_warning():
    # 99xxxx does not exist; check digit computed to be valid otherwise
    from toolkit.core.normalize import id_check_digit
    first17 = "99010519491231002"
    lg = ledger(good_case(id_number=first17 + id_check_digit(first17)))
    run(lg)
    assert [(i.code, i.severity) for i in lg.issues] == [("unknown_area_code", "warning")]


def test_phone_shape_warning():
    lg = ledger(good_case(phone="12345"))
    run(lg)
    assert [(i.code, i.severity) for i in lg.issues] == [("invalid_phone", "warning")]


def test_dates_out_of_order_and_in_the_future():
    lg = ledger(good_case(first_petition_date=date(2008, 5, 1), assigned_date=date(2008, 4, 1)),
                good_case(case_id="2", closed_date=date(2010, 6, 1), status="已化解"),
                good_case(case_id="3", assigned_date=date(2010, 11, 1)))
    run(lg)
    got = [(i.code, i.row, i.column) for i in lg.issues]
    assert ("date_order", 5, "交办日期") in got
    assert ("date_order", 6, "办结日期") in got
    assert ("date_order", 7, "交办日期") in got
    future = [i for i in lg.issues if i.row == 7][0]
    assert "2010-11-01" in future.message and "2010-10-20" in future.message


def test_out_of_scope_is_a_warning_with_the_cutoff():
    lg = ledger(good_case(first_petition_date=date(2009, 3, 1)))
    run(lg)
    [i] = lg.issues
    assert (i.code, i.severity) == ("out_of_scope", "warning")
    assert "2008-12-31" in i.message
    assert exit_code([lg]) == 0


def test_closing_rules():
    archived = {k: True for k in ARCHIVE}
    lg = ledger(good_case(case_id="1", status="已化解"),
                good_case(case_id="2", status="已销号", closed_date=date(2010, 9, 1),
                          **{**archived, "archive_letter": False, "archive_report": None}),
                good_case(case_id="3", status="已销号", closed_date=date(2010, 9, 1), **archived))
    run(lg)
    got = {(i.code, i.row) for i in lg.issues}
    assert got == {("closed_date_missing", 5), ("archive_incomplete", 6)}
    msg = [i.message for i in lg.issues if i.code == "archive_incomplete"][0]
    assert "交办函" in msg and "查办报告" in msg and "基本案情材料" not in msg


def test_unreadable_file_gives_exit_code_2():
    bad = Ledger(path=Path("x.xlsx"), readable=False,
                 issues=[make_issue("unreadable", file="x.xlsx", reason="压缩包不完整")])
    run(bad)
    assert exit_code([bad, ledger(good_case())]) == 2


def test_schema_holds_the_checks_it_promises():
    from schemas.ledger import CHECK_CODES, ledger_schema
    from toolkit.core.issues import CATALOGUE
    schema = ledger_schema()
    names = {c.name for col in schema.columns.values() for c in col.checks}
    assert names >= {"gb11643", "id_area_code", "phone_shape", "known_status", "extension_range",
                     "unique_in_file"}
    assert set(CHECK_CODES.values()) <= set(CATALOGUE)
    required = {f.key for f in FIELDS if f.required}
    assert {k for k, c in schema.columns.items() if not c.nullable} == required


def test_every_issue_code_has_a_name_and_no_name_is_unused():
    from toolkit.core.issues import CATALOGUE, Code
    named = {v for k, v in vars(Code).items() if k.isupper()}
    assert named == set(CATALOGUE)
    assert all(getattr(Code, c.upper()) == c for c in CATALOGUE)


def test_product_code_names_issue_codes_instead_of_spelling_them():
    """A bare "date_order" in code can be misspelt silently; Code.DATE_ORDER cannot."""
    import re
    from pathlib import Path

    import toolkit
    from toolkit.core.issues import CATALOGUE
    root = Path(toolkit.__file__).parent
    bare = re.compile(r"[\"'](" + "|".join(CATALOGUE) + r")[\"']")
    found = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.py") if p.name != "issues.py"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if bare.search(line)]
    assert found == []

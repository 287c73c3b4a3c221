"""File formats: .xlsm with macros (never run), legacy .xls as WPS/LibreOffice save it."""
from __future__ import annotations

import shutil
from datetime import date

import pytest
from factories.layouts import sample_case, sample_cases, write_ledger, xlwings_vba_project
from factories.libreoffice import convert as convert_with_soffice

from toolkit.core import fields as F
from toolkit.read.workbook import read_ledger


@pytest.fixture(scope="module")
def vba_bin(tmp_path_factory):
    return xlwings_vba_project(tmp_path_factory.mktemp("vba"))


def test_xlsm_with_macros_is_read_and_noted(tmp_path, vba_bin):
    path = write_ledger(tmp_path / "南村.xlsm", sample_cases(2), vba_project=vba_bin, reporter="南村")
    lg = read_ledger(path)
    assert (lg.file_format, lg.has_macros) == ("xlsm", True)
    issue = next(i for i in lg.issues if i.code == "macros_present")
    assert issue.severity == "warning" and "南村.xlsm" in issue.message
    assert lg.n_cases == 2 and lg.village == "南村"
    assert [i.code for i in lg.issues] == ["macros_present"]


def test_xlsx_without_macros(tmp_path):
    path = write_ledger(tmp_path / "东村.xlsx", sample_cases(1))
    lg = read_ledger(path)
    assert (lg.file_format, lg.has_macros) == ("xlsx", False)


def test_format_comes_from_the_bytes_not_the_name(tmp_path, vba_bin):
    path = write_ledger(tmp_path / "改名.xlsm", sample_cases(1), vba_project=vba_bin)
    renamed = path.rename(tmp_path / "改名.xlsx")
    lg = read_ledger(renamed)
    assert (lg.file_format, lg.has_macros) == ("xlsm", True)


def test_not_a_workbook_is_unreadable_not_a_crash(tmp_path):
    path = tmp_path / "假的.xlsx"
    path.write_text("这不是表格", encoding="utf-8")
    lg = read_ledger(path)
    assert not lg.readable and lg.issues[0].code == "unreadable" and "假的.xlsx" in lg.issues[0].message


# --- legacy .xls through LibreOffice (one soffice call for all) ----------------------------
XLS_SOURCES = {
    "东村": dict(layout="grouped", instructions_first=True,
                 cases=[sample_case(1, id_number=110105194912310000), sample_case(2),
                        sample_case(3, first_petition_date="2010年13月5日")]),
    "西村": dict(layout="mixed", merge_groups=False, reporter="西村", reporter_split=True,
                 blank_rows=[1]),
    "北村": dict(layout="flat", reporter=None, report_date=None, marker="北村"),
    "南村": dict(layout="mixed", reporter="南村", macros=True),
}


@pytest.fixture(scope="session")
def xls_files(tmp_path_factory):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) 未安装")
    src = tmp_path_factory.mktemp("xls-src")
    vba = xlwings_vba_project(src)
    sources = []
    for name, spec in XLS_SOURCES.items():
        spec = dict(spec)
        cases = spec.pop("cases", None) or sample_cases(3, village=None)
        macros = spec.pop("macros", False)
        ext = ".xlsm" if macros else ".xlsx"
        sources.append(write_ledger(src / f"{name}{ext}", cases, vba_project=vba if macros else None,
                                    **spec))
    out = convert_with_soffice(sources, "xls", tmp_path_factory.mktemp("xls"))
    return {p.stem: p for p in out}


@pytest.mark.slow
@pytest.mark.libreoffice
def test_xls_two_level_merged_header_after_an_instructions_sheet(xls_files):
    lg = read_ledger(xls_files["东村"])
    assert lg.file_format == "xls" and not lg.has_macros
    assert lg.sheet == "台账" and lg.header_rows == [3, 4]
    assert set(lg.columns) == set(F.ALL_INPUT_KEYS)
    assert (lg.village, lg.village_source, lg.report_date) == ("东村", "reporter", date(2010, 9, 18))
    assert list(lg.cases["first_petition_date"])[:2] == [date(2007, 3, 2), date(2007, 3, 3)]
    found = sorted((i.code, i.cell) for i in lg.issues)
    id_col = lg.cell("id_number", 5)
    date_cell = lg.cell("first_petition_date", 7)
    assert found == sorted([("id_number_as_number", id_col), ("invalid_date", date_cell)])
    assert lg.cases.loc[5, "id_number"] == "110105194912310000"


@pytest.mark.slow
@pytest.mark.libreoffice
def test_xls_unmerged_groups_and_split_reporter(xls_files):
    lg = read_ledger(xls_files["西村"])
    assert set(lg.columns) == set(F.ALL_INPUT_KEYS)
    assert (lg.village, lg.village_source) == ("西村", "reporter")
    assert list(lg.cases.index) == [5, 7, 8]
    assert list(lg.cases["village"]) == ["西村"] * 3
    assert not lg.issues


@pytest.mark.slow
@pytest.mark.libreoffice
def test_xls_flat_with_very_hidden_marker(xls_files):
    lg = read_ledger(xls_files["北村"])
    assert (lg.village, lg.village_source, lg.template_version) == ("北村", "marker", F.TEMPLATE_VERSION)
    assert lg.sheet == "台账" and lg.header_rows == [2] and lg.n_cases == 3


@pytest.mark.slow
@pytest.mark.libreoffice
def test_xls_with_macros_is_noted(xls_files):
    lg = read_ledger(xls_files["南村"])
    assert (lg.file_format, lg.has_macros) == ("xls", True)
    assert [i.code for i in lg.issues] == ["macros_present"]
    assert lg.n_cases == 3

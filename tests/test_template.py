"""The village template: read back by python-calamine, its XML inspected, opened by LibreOffice."""
from __future__ import annotations

import re
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from conftest import needs_soffice
from toolkit.core import fields
from toolkit.shells.cli import main
from toolkit.core.config import WORKBOOKS
from toolkit.core.cells import column_letter
from factories.libreoffice import convert as convert_with_libreoffice
from toolkit.outputs.template import (FIRST_DATA_ROW, LEDGER_SHEET, template_columns,
                              write_template)

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
COLS = template_columns()
KEYS = [c.key for c in COLS]


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "村级台账模板.xlsx")


@pytest.fixture(scope="module")
def dongcun(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "东村台账模板.xlsx", village="东村")


def _rows(path: Path, sheet: str = LEDGER_SHEET) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def _xml(path: Path, part: str):
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read(part))


def _ledger_part(path: Path) -> str:
    """The worksheet part of the ledger sheet (second sheet: 填表说明 comes first)."""
    return "xl/worksheets/sheet2.xml"


def test_sheets_in_order_and_marker_very_hidden(dongcun):
    meta = CalamineWorkbook.from_path(str(dongcun)).sheets_metadata
    assert [m.name for m in meta] == ["填表说明", LEDGER_SHEET, fields.TEMPLATE_MARKER_SHEET]
    assert meta[2].visible == SheetVisibleEnum.VeryHidden
    assert meta[0].visible == meta[1].visible == SheetVisibleEnum.Visible
    marker = _rows(dongcun, fields.TEMPLATE_MARKER_SHEET)
    assert marker[0][:2] == [fields.TEMPLATE_MARKER_TAG, fields.TEMPLATE_VERSION]
    assert marker[1][:2] == ["village", "东村"]


def test_blank_template_marker_has_no_village(blank):
    marker = _rows(blank, fields.TEMPLATE_MARKER_SHEET)
    assert marker[1][0] == "village" and (len(marker[1]) < 2 or marker[1][1] == "")


def test_title_and_reporter_row(dongcun, blank):
    rows = _rows(dongcun)
    assert rows[0][0] == "南郊乡东村信访积案化解工作台账"
    assert rows[1][0] == "填报单位（盖章）：东村"
    assert any(str(v).startswith("填报日期：") for v in rows[1][1:])
    assert _rows(blank)[1][0] == "填报单位（盖章）："


def test_headers_are_the_registry_in_group_order(blank):
    rows = _rows(blank)
    groups, headers = rows[2], rows[3]
    assert headers[:len(COLS)] == [c.header for c in COLS]
    carried, seen = [], []
    for g in groups[:len(COLS)]:
        carried.append(g or carried[-1])
        if g:
            seen.append(g)
    assert seen == ["基本情况", "包案责任", "九个一", "五包", "六清楚", "六有", "化解情况",
                    fields.COMPUTED_GROUP_HEADER]
    # each header, read under its group, maps back to its own key
    assert [fields.match_header(h, g) for h, g in zip(headers, carried)] == KEYS


def test_text_field_items_have_no_tick_column():
    assert {"nine_leader", "nine_plan", "nine_stability"}.isdisjoint(KEYS)
    assert {"leader", "plan", "stability_measures"} <= set(KEYS)
    ticks = [c.key for c in COLS if c.kind == "tick"]
    assert ticks == [i.key for g in fields.CHECKLISTS for i in g.items if i.text_field is None]
    assert [c.key for c in COLS if c.kind == "computed"] == [c.key for c in fields.COMPUTED]
    assert set(KEYS[:-len(fields.COMPUTED)]) == set(fields.ALL_INPUT_KEYS) - {
        "nine_leader", "nine_plan", "nine_stability"}


def _xf_numfmt(path: Path) -> tuple[list[int], dict[int, str], list]:
    styles = _xml(path, "xl/styles.xml")
    xfs = styles.findall("m:cellXfs/m:xf", NS)
    fmts = {int(f.get("numFmtId")): f.get("formatCode") for f in styles.findall("m:numFmts/m:numFmt", NS)}
    return [int(x.get("numFmtId", 0)) for x in xfs], fmts, xfs


def _column_styles(path: Path) -> dict[int, int]:
    """0-based column -> style index of its <col> element."""
    out = {}
    for col in _xml(path, _ledger_part(path)).findall("m:cols/m:col", NS):
        for i in range(int(col.get("min")), int(col.get("max")) + 1):
            out[i - 1] = int(col.get("style", 0))
    return out


def _cell_style(path: Path, ref: str) -> int:
    c = _xml(path, _ledger_part(path)).find(f".//m:c[@r='{ref}']", NS)
    return int(c.get("s", 0))


def test_id_phone_and_case_number_are_text_columns(blank):
    numfmt, custom, _ = _xf_numfmt(blank)
    col_styles = _column_styles(blank)

    def is_text(xf: int) -> bool:            # "@" as a numFmt, or the built-in id 49
        return numfmt[xf] == 49 or custom.get(numfmt[xf]) == "@"

    for key in ("id_number", "phone", "case_id"):
        i = KEYS.index(key)
        assert is_text(col_styles[i]), key
        assert is_text(_cell_style(blank, f"{column_letter(i)}{FIRST_DATA_ROW + 1}")), key
    assert not is_text(col_styles[KEYS.index("assigned_date")])


def test_date_columns_formatted_as_dates(blank):
    numfmt, custom, _ = _xf_numfmt(blank)
    col_styles = _column_styles(blank)
    for key in fields.DATE_KEYS:
        i = KEYS.index(key)
        assert custom[numfmt[col_styles[i]]] == "yyyy-mm-dd"


def test_computed_columns_are_grey(blank):
    _, _, xfs = _xf_numfmt(blank)
    fills = _xml(blank, "xl/styles.xml").findall("m:fills/m:fill", NS)
    col_styles = _column_styles(blank)
    for c in fields.COMPUTED:
        fill = fills[int(xfs[col_styles[KEYS.index(c.key)]].get("fillId"))]
        assert fill.find("m:patternFill/m:fgColor", NS).get("rgb").endswith("D9D9D9")


def test_data_validations(blank):
    dvs = _xml(blank, _ledger_part(blank)).findall("m:dataValidations/m:dataValidation", NS)
    by_col = {}
    for dv in dvs:
        letters = dv.get("sqref").split(":")[0].rstrip("0123456789")
        by_col[letters] = dv
    def dv(key):
        return by_col[column_letter(KEYS.index(key))]
    status = dv("status")
    assert status.get("type") == "list"
    assert status.find("m:formula1", NS).text == '"' + ",".join(fields.STATUSES) + '"'
    assert dv("status").get("sqref") == f"{column_letter(KEYS.index('status'))}5:" \
                                        f"{column_letter(KEYS.index('status'))}2004"
    for item in ("nine_group", "five_settle", "clear_policy", "archive_stability"):
        assert dv(item).find("m:formula1", NS).text == '"√,×"'
    assert "依法依政策解决" in dv("resolution_type").find("m:formula1", NS).text
    assert dv("settled").find("m:formula1", NS).text == '"是,否,部分"'
    for key in fields.DATE_KEYS:
        assert dv(key).get("type") == "date"
    assert dv("id_number").get("type") == "textLength"


def test_print_setup_and_panes(blank):
    sheet = _xml(blank, _ledger_part(blank))
    setup = sheet.find("m:pageSetup", NS)
    assert setup.get("orientation") == "landscape" and setup.get("paperSize") == "9"
    # three pages wide (one page would print at ~30%), as many pages down as needed
    assert setup.get("fitToWidth") == "3" and setup.get("fitToHeight") == "0"
    assert sheet.find("m:sheetPr/m:pageSetUpPr", NS).get("fitToPage") == "1"
    names = {(d.get("name"), d.text) for d in _xml(blank, "xl/workbook.xml").findall(
        "m:definedNames/m:definedName", NS)}
    # header rows and the columns up to 信访人 repeat on every printed page
    last = chr(ord("A") + KEYS.index("petitioner"))
    assert ("_xlnm.Print_Titles", f"{LEDGER_SHEET}!$A:${last},{LEDGER_SHEET}!$3:$4") in names
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    assert pane.get("state") == "frozen"
    assert pane.get("ySplit") == "4" and pane.get("xSplit") == str(KEYS.index("petitioner") + 1)


def test_instructions_sheet_explains_every_column(blank):
    text = "\n".join(str(v) for row in _rows(blank, "填表说明") for v in row)
    for c in COLS:
        assert c.header in text
    for word in ("√", "已销号", "2010-07-01", fields.COMPUTED_GROUP_HEADER, "报送", "2008年12月31日"):
        assert word in text


def test_rows_are_written_into_the_template(tmp_path):
    rows = [{"case_id": "NJ2010-001", "petitioner": "陈建国", "id_number": "330302196005171234",
             "assigned_date": date(2010, 7, 1), "nine_group": "√", "status": "化解中"}]
    path = write_template(tmp_path / "t.xlsx", village="东村", report_date=date(2010, 10, 18), rows=rows)
    data = _rows(path)
    first = data[FIRST_DATA_ROW]
    assert first[KEYS.index("case_id")] == "NJ2010-001"
    assert first[KEYS.index("id_number")] == "330302196005171234"
    assert first[KEYS.index("assigned_date")] == date(2010, 7, 1)
    assert first[KEYS.index("nine_group")] == "√"
    assert "填报日期：2010年10月18日" in data[1]


def test_committed_template_is_current(tmp_path):
    fresh = write_template(tmp_path / "村级台账模板.xlsx")
    committed = WORKBOOKS / "templates" / "村级台账模板.xlsx"
    assert committed.read_bytes() == fresh.read_bytes(), \
        "workbooks/templates/村级台账模板.xlsx is stale: regenerate it with `taizhang template --out … --force`"


def test_cli_template(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["template"]) == 0
    assert (tmp_path / "村级台账模板.xlsx").exists()
    assert main(["template"]) == 2                       # never overwrites silently
    assert "已存在" in capsys.readouterr().err
    assert main(["template", "--force"]) == 0
    assert main(["template", "--village", "西村"]) == 0
    assert _rows(tmp_path / "西村台账模板.xlsx")[0][0] == "南郊乡西村信访积案化解工作台账"
    assert main(["template", "--out", str(tmp_path / "x.xls")]) == 2


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_opens_in_libreoffice(blank, dongcun, tmp_path):
    pdfs = convert_with_libreoffice([blank, dongcun], "pdf", outdir=tmp_path)
    for pdf in pdfs:
        assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", "-layout", str(pdfs[1]), "-"], capture_output=True,
                          text=True, encoding="utf-8").stdout
    for word in ("填表说明", "南郊乡东村信访积案化解工作台账", "填报单位（盖章）：东村", "案件编号",
                 "系统计算，勿填"):
        assert word in text
    assert re.search(r"第 \d+ 页，共 \d+ 页", text)          # the ledger's page footer
    assert "taizhang" not in text                         # the marker sheet is not printed


def test_an_office_of_another_year_reads_its_own_year_in_the_hints(tmp_path):
    from dataclasses import replace
    from toolkit.core.settings import Campaign
    campaign = replace(Campaign(), archive_due=date(2026, 10, 15), cutoff=date(2024, 12, 31))
    path = write_template(tmp_path / "t.xlsx", campaign=campaign)
    import zipfile
    with zipfile.ZipFile(path) as z:
        text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert "2026-07-01" in text and "2026年13月5日" in text
    assert "2010-07-01" not in text and "2010年" not in text

"""`taizhang fill` and the annotated copy: values land, everything else survives.

Fixture ledgers are built with xlsxwriter plus hand-added parts (tests/factories/preserve.py)
and carry VBA, a form button, an image, a text box, notes, a threaded comment, plain and
x14 data validation, plain and x14 conditional formats, defined names, a table, print
settings, frozen panes and other sheets. Results are read back by python-calamine
(directly and through toolkit.read.workbook), by openpyxl for colours, and by LibreOffice.
"""
from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import factories.preserve as pf
from factories import libreoffice as lo
from toolkit.core import fields as F
from toolkit.compute.cases import compute_cases
from toolkit.outputs.fill import (ALERT_COLOURS, ANNOTATED_SUFFIX, ERROR_FILL, HEADER_FILL, ISSUE_SHEET,
                          WARNING_FILL, annotate_file, plan_fill)
from toolkit.core.issues import make_issue
from toolkit.read.workbook import read_ledger
from toolkit.core.settings import DEFAULT_SETTINGS
from toolkit.pipeline.check import fill_paths
from toolkit.outputs.writeback import BACKUP_DIR, parse_ref

pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")

AS_OF = date(2010, 10, 20)
EXPECTED = {   # case -> (办结期限, 预警) as of 2010-10-20 on the official calendar
    "NJ2010-001": (date(2010, 9, 25), "逾期"),
    "NJ2010-002": (date(2010, 10, 22), "临期"),
    "NJ2010-003": (date(2010, 11, 30), "正常"),
    "NJ2010-004": (date(2010, 9, 25), "已办结"),
    "NJ2010-005": (date(2010, 9, 27), "中止"),
    "NJ2010-006": (date(2010, 10, 29), "临期"),
}
LEDGER_PART = "xl/worksheets/sheet2.xml"   # 台账 follows 填表说明 in the fixtures


def sheet_rows(path: Path, sheet: str) -> list[list]:
    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def at(rows: list[list], ref: str):
    col, row = parse_ref(ref)
    return rows[row - 1][col] if row - 1 < len(rows) and col < len(rows[row - 1]) else ""


def planned_cells(path: Path) -> set[str]:
    """The cells fill is meant to write in ``path`` (header and computed cells)."""
    ledger = read_ledger(path)
    computed, _ = compute_cases(ledger.cases, as_of=AS_OF, settings=DEFAULT_SETTINGS)
    return set(plan_fill(ledger, computed).edits)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """Originals (in orig/) and their filled copies: one fill_paths call for all."""
    d = tmp_path_factory.mktemp("fill")
    orig = d / "orig"
    orig.mkdir()
    builds = {
        "xlsm": pf.build_ledger(orig / "东村台账.xlsm", rich=True),
        "two": pf.build_ledger(orig / "西村台账.xlsx", rich=True, two_header_rows=True,
                               computed=("办结期限", "预警"), village="西村"),
        "plain": pf.build_ledger(orig / "南村台账.xlsx", village="南村", instructions=False,
                                 extra={"AD5": "村里自己的备注"}),
    }
    work = {k: Path(shutil.copy(p, d / p.name)) for k, p in builds.items()}
    results = dict(zip(work, fill_paths(list(work.values()), as_of=AS_OF, settings=DEFAULT_SETTINGS)))
    return {"orig": builds, "work": work, "results": results, "dir": d}


# --------------------------------------------------------------------------- fill
def test_fill_reports_in_chinese(filled):
    for key, r in filled["results"].items():
        assert r.ok and r.changed, r.message
        assert f"已写入 {len(EXPECTED)} 个案件的期限和预警" in r.message
        assert "逾期 1 件" in r.message and "临期 2 件" in r.message
    assert filled["results"]["xlsm"].appended == [c.header for c in F.COMPUTED]
    assert "办结期限" not in filled["results"]["two"].appended   # existing columns reused
    assert "预警" not in filled["results"]["two"].appended


@pytest.mark.parametrize("key", ["xlsm", "two", "plain"])
def test_fill_changes_only_the_ledger_sheet_and_styles(filled, key):
    before, after = filled["orig"][key], filled["work"][key]
    changed = {LEDGER_PART if key != "plain" else "xl/worksheets/sheet1.xml", "xl/styles.xml"}
    assert set(filled["results"][key].changed_parts) == changed
    pf.assert_parts_preserved(before, after, changed=changed)
    pf.assert_styles_appended(before, after)
    part = next(iter(changed - {"xl/styles.xml"}))
    pf.assert_sheet_preserved(before, after, part, planned_cells(before))


def test_the_preserved_features_are_really_there(filled):
    """Guard against a vacuous proof: the fixture carries every feature named in issue 3."""
    members = pf.members(filled["work"]["xlsm"])
    sheet = members[LEDGER_PART].decode("utf-8")
    for marker in ("x14:dataValidation", "<dataValidations", "x14:conditionalFormatting",
                   "<conditionalFormatting", "<legacyDrawing", "<drawing", "<pageSetup",
                   'orientation="landscape"', "fitToPage", 'state="frozen"', "<headerFooter"):
        assert marker in sheet, marker
    for part in ("xl/vbaProject.bin", "xl/threadedComments/threadedComment1.xml",
                 "xl/persons/person.xml", "xl/comments1.xml", "xl/drawings/vmlDrawing1.vml",
                 "xl/media/image1.png", "xl/tables/table1.xml"):
        assert part in members, part
    vml = members["xl/drawings/vmlDrawing1.vml"].decode("utf-8")
    assert "SampleCall" in vml                          # the form button's macro
    workbook = members["xl/workbook.xml"].decode("utf-8")
    assert "状态选项" in workbook and "_xlnm.Print_Titles" in workbook
    assert "macroEnabled" in members["[Content_Types].xml"].decode("utf-8")


@pytest.mark.parametrize("key", ["xlsm", "two", "plain"])
def test_values_read_back(filled, key):
    before, after = filled["orig"][key], filled["work"][key]
    old, new = read_ledger(before), read_ledger(after)
    # the filled columns are recognised as computed, and no input value moved or changed
    assert set(new.computed_columns) == {c.key for c in F.COMPUTED}
    assert new.columns == old.columns
    assert new.cases.equals(old.cases)
    rows = sheet_rows(after, "台账")
    for r in new.cases.index:
        case_id = new.cases.at[r, "case_id"]
        deadline, alert = EXPECTED[case_id]
        assert at(rows, new.cell("deadline", r)) == deadline
        assert at(rows, new.cell("alert", r)) == alert
        assert at(rows, new.cell("phase", r)) == "督导检查"
    head = new.header_rows[-1]
    assert at(rows, new.cell("deadline", head)) == "办结期限"
    first = new.cases.index[0]
    assert at(rows, new.cell("workdays_left", first)) == -15


def test_text_stays_text(filled):
    rows = sheet_rows(filled["work"]["xlsm"], "台账")
    flat = [v for row in rows for v in row]
    assert "=1+1 不是公式" in flat and '=HYPERLINK("x")' in flat
    assert pf.shared_strings_unchanged(filled["orig"]["xlsm"], filled["work"]["xlsm"])


def test_alert_cells_are_coloured_and_deadlines_are_dates(filled):
    import openpyxl
    path = filled["work"]["xlsm"]
    ledger = read_ledger(path)
    ws = openpyxl.load_workbook(path)["台账"]
    for r in ledger.cases.index:
        alert = ws[ledger.cell("alert", r)].value
        fill = ws[ledger.cell("alert", r)].fill
        if alert in ALERT_COLOURS:
            assert fill.fill_type == "solid" and fill.fgColor.rgb == "FF" + ALERT_COLOURS[alert][0]
        else:
            assert fill.fill_type is None
        assert ws[ledger.cell("deadline", r)].number_format == "yyyy-mm-dd"
        assert ws[ledger.cell("deadline", r)].border.left.style == "thin"   # neighbour's border
    header = ws[ledger.cell("deadline", ledger.header_rows[-1])]
    assert header.fill.fgColor.rgb == "FF" + HEADER_FILL and header.font.b


def test_two_header_rows_get_the_group_header(filled):
    path = filled["work"]["two"]
    ledger = read_ledger(path)
    upper = ledger.header_rows[0]
    first_new = ledger.computed_columns["workdays_left"]
    rows = sheet_rows(path, "台账")
    from toolkit.core.cells import cell_ref
    assert at(rows, cell_ref(first_new, upper)) == F.COMPUTED_GROUP_HEADER
    import openpyxl
    merged = [str(m) for m in openpyxl.load_workbook(path)["台账"].merged_cells.ranges]
    assert any(m.startswith(cell_ref(first_new, upper) + ":") for m in merged)


def test_nothing_a_person_wrote_is_covered(filled):
    rows = sheet_rows(filled["work"]["plain"], "台账")
    assert at(rows, "AD5") == "村里自己的备注"
    ledger = read_ledger(filled["work"]["plain"])
    assert min(ledger.computed_columns.values()) > parse_ref("AD5")[0]


def test_backup_of_the_original_is_kept(filled):
    for key, r in filled["results"].items():
        assert r.backup is not None and r.backup.parent == filled["dir"] / BACKUP_DIR
        assert r.backup.read_bytes() == filled["orig"][key].read_bytes()


def test_second_fill_same_day_changes_nothing(filled, tmp_path):
    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in filled["work"].values()]
    before = [p.read_bytes() for p in copies]
    results = fill_paths(copies, as_of=AS_OF, settings=DEFAULT_SETTINGS)
    assert all(r.ok and not r.changed and "已是最新" in r.message for r in results)
    assert [p.read_bytes() for p in copies] == before
    assert not (tmp_path / BACKUP_DIR).exists()


def test_refusals_leave_files_alone(filled, tmp_path):
    locked = Path(shutil.copy(filled["orig"]["plain"], tmp_path / "北村台账.xlsx"))
    (tmp_path / "~$北村台账.xlsx").write_text("lock", encoding="utf-8")
    xls = tmp_path / "旧台账.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
    broken = tmp_path / "坏台账.xlsx"
    broken.write_bytes(b"PK\x03\x04broken")
    import xlsxwriter
    no_ledger = tmp_path / "通知.xlsx"
    wb = xlsxwriter.Workbook(str(no_ledger))
    wb.add_worksheet("通知").write_string(0, 0, "关于报送台账的通知")
    wb.close()
    files = [locked, xls, broken, no_ledger, tmp_path / "不存在.xlsx"]
    before = {p: p.read_bytes() for p in files if p.exists()}
    results = fill_paths(files, as_of=AS_OF, settings=DEFAULT_SETTINGS)
    assert [r.ok for r in results] == [False] * 5
    assert "正在被" in results[0].message and "~$北村台账.xlsx" in results[0].message
    assert "另存为" in results[1].message and ".xlsx" in results[1].message
    assert "坏台账.xlsx" in results[2].message
    assert "不是信访积案台账" in results[3].message
    assert "找不到文件" in results[4].message
    for r in results:
        assert r.message.startswith(r.path.name + "：未写入")
        assert "Traceback" not in r.message
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / BACKUP_DIR).exists()


def test_failure_midway_leaves_the_original(filled, tmp_path, monkeypatch):
    from toolkit.outputs import writeback as W
    path = Path(shutil.copy(filled["orig"]["xlsm"], tmp_path / "东村台账.xlsm"))
    before = path.read_bytes()
    real = W._Sheet.finish

    def crash(self):
        real(self)
        raise OSError("写到一半断电")
    monkeypatch.setattr(W._Sheet, "finish", crash)
    [r] = fill_paths([path], as_of=AS_OF, settings=DEFAULT_SETTINGS)
    assert not r.ok and "原文件未改动" in r.message
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_cli_fill(filled, tmp_path, capsys):
    from toolkit.shells.cli import main
    ok = Path(shutil.copy(filled["orig"]["plain"], tmp_path / "南村台账.xlsx"))
    assert main(["fill", str(ok), "--as-of", "2010-10-20"]) == 0
    assert "南村台账.xlsx：已写入 6 个案件的期限和预警" in capsys.readouterr().out
    xls = tmp_path / "旧.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert main(["fill", str(ok), str(xls), "--as-of", "2010-10-20"]) == 1
    demo_line, *out = capsys.readouterr().out.splitlines()
    assert demo_line.startswith("未找到 taizhang.toml")           # no office here: the demo's settings, said
    assert out[0].startswith("南村台账.xlsx：") and "已是最新" in out[0]
    assert out[1].startswith("旧.xls：未写入") and "另存为" in out[1]


# --------------------------------------------------------------------------- annotate
def issues_for(ledger):
    path = str(ledger.path)
    return [
        make_issue("invalid_date", sheet="台账", cell="H5", row=5, column="交办日期",
                   value="2010年13月5日", file=path, reason="（月份不存在）"),
        make_issue("invalid_phone", sheet="台账", cell="E6", row=6, column="联系电话",
                   value="123", file=path),
        make_issue("invalid_phone", sheet="台账", cell="H5", row=5, column="联系电话",
                   value="x", file=path),   # a warning on an error cell: stays red
        make_issue("village_unknown", file=path, village="东村"),
    ]


@pytest.fixture(scope="module")
def annotated(filled, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("annotated")
    ledger = read_ledger(filled["orig"]["xlsm"])
    ledger.issues += issues_for(ledger)
    return ledger, annotate_file(ledger, out_dir)


def test_annotated_copy_changes_only_what_it_must(filled, annotated):
    ledger, out = annotated
    src = filled["orig"]["xlsm"]
    assert out.name == f"东村台账{ANNOTATED_SUFFIX}.xlsm"
    changed = {LEDGER_PART, "xl/styles.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
               "[Content_Types].xml", "xl/comments1.xml", "xl/drawings/vmlDrawing1.vml"}
    pf.assert_parts_preserved(src, out, changed=changed, added={"xl/worksheets/sheet5.xml"})
    pf.assert_styles_appended(src, out)
    pf.assert_sheet_preserved(src, out, LEDGER_PART, {"H5", "E6"}, layout=("dimension",))
    assert src.read_bytes() == filled["orig"]["xlsm"].read_bytes()


def test_annotated_cells_and_issue_sheet(annotated):
    ledger, out = annotated
    assert pf.cell_fill(out, "台账", "H5") == "FF" + ERROR_FILL
    assert pf.cell_fill(out, "台账", "E6") == "FF" + WARNING_FILL
    rows = sheet_rows(out, ISSUE_SHEET)
    warnings = len(ledger.issues) - 1      # 3 made here, plus the reader's macros_present
    assert "错误 1 个" in rows[0][0] and f"提醒 {warnings} 个" in rows[0][0]
    assert rows[1][:6] == ["单元格", "级别", "问题", "怎么改", "案件编号", "列"]
    file_level = [r for r in rows[2:4] if r[0] == "（整个文件）"]   # file-level issues first
    assert len(file_level) == 2 and any("村（社区）" in r[2] for r in file_level)
    assert any("宏" in r[2] for r in file_level)
    body = rows[4:]
    assert len(rows) == 2 + len(ledger.issues)
    assert [r[:2] for r in body] == [["H5", "错误"], ["H5", "提醒"], ["E6", "提醒"]]  # errors first
    assert "2010年13月5日" in body[0][2] and "日期" in body[0][3] and body[0][5] == "交办日期"
    values = read_ledger(out)
    assert values.cases.equals(read_ledger(ledger.path).cases)   # the ledger itself unchanged


def test_problem_cells_carry_notes_and_the_clerks_own_notes_stay(filled, annotated):
    """Read back with openpyxl (a second reader of the comments parts); LibreOffice opens
    the copy in the LibreOffice tests below."""
    import openpyxl
    _, out = annotated
    before = {c.coordinate: c.comment.text for row in openpyxl.load_workbook(
        filled["orig"]["xlsm"])["台账"].iter_rows() for c in row if c.comment}
    after = {c.coordinate: c.comment.text for row in openpyxl.load_workbook(out)["台账"].iter_rows()
             for c in row if c.comment}
    assert before and all(after[ref] == text for ref, text in before.items())   # theirs kept
    assert "【错误】" in after["H5"] and "2010年13月5日" in after["H5"] and "怎么改：" in after["H5"]
    assert "【提醒】" in after["H5"]                  # both problems of the cell, in one note
    assert "【提醒】" in after["E6"] and "联系电话" in after["E6"]
    assert set(after) == set(before) | {"H5", "E6"}


def test_notes_on_a_sheet_that_had_none(tmp_path):
    import openpyxl

    from toolkit.outputs.writeback import patch_workbook
    src = pf.build_ledger(tmp_path / "西村.xlsx", village="西村")
    out = tmp_path / "副本.xlsx"
    patch_workbook(src, out, {}, notes={"台账": {"D5": "身份证号校验位不符。\n怎么改：核对原件。"}})
    cell = openpyxl.load_workbook(out)["台账"]["D5"]
    assert cell.comment is not None and "核对原件" in cell.comment.text
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"xl/comments1.xml", "xl/drawings/vmlDrawing1.vml"} <= names
        assert 'Extension="vml"' in z.read("[Content_Types].xml").decode()
    assert read_ledger(out).cases.equals(read_ledger(src).cases)


def test_annotate_unreadable_file_gives_an_issue_workbook(tmp_path):
    from toolkit.core.ledger import Ledger
    bad = tmp_path / "乱码.xlsx"
    bad.write_bytes(b"not a workbook")
    ledger = Ledger(bad, readable=False,
                    issues=[make_issue("unreadable", file=str(bad), reason="不是 zip 文件")])
    out = annotate_file(ledger, tmp_path / "out")
    assert out.name == f"乱码{ANNOTATED_SUFFIX}.xlsx"
    assert CalamineWorkbook.from_path(str(out)).sheet_names == [ISSUE_SHEET]
    rows = sheet_rows(out, ISSUE_SHEET)
    assert rows[2][0] == "（整个文件）" and "乱码.xlsx" in rows[2][2]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [out.name]


# --------------------------------------------------------------------------- LibreOffice
@pytest.fixture(scope="module")
def libreoffice(filled, annotated, tmp_path_factory):
    """One soffice call per target format for every file: an LO-saved ledger (then filled),
    an .xls (then annotated), CSV of every sheet, and PDF."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    d = tmp_path_factory.mktemp("lo")
    saved = d / "saved"
    lo.convert([filled["orig"]["two"]], "xlsx:Calc MS Excel 2007 XML", saved)
    lo_orig = saved / "西村台账.xlsx"
    lo_work = Path(shutil.copy(lo_orig, d / "西村台账_LO.xlsx"))
    lo.convert([filled["orig"]["plain"]], "xls:MS Excel 97", saved)
    xls_ledger = read_ledger(saved / "南村台账.xls")
    xls_ledger.issues += [make_issue("invalid_phone", sheet="台账", cell="E6", row=6,
                                     column="联系电话", value="123", file=str(xls_ledger.path))]
    xls_annotated = annotate_file(xls_ledger, d / "annotated")
    [lo_result] = fill_paths([lo_work], as_of=AS_OF, settings=DEFAULT_SETTINGS)
    outputs = [*filled["work"].values(), annotated[1], lo_work, xls_annotated]
    lo.convert(outputs, lo.CSV_ALL_SHEETS, d / "csv")
    lo.convert(outputs, "pdf", d / "pdf")
    return {"dir": d, "lo_orig": lo_orig, "lo_work": lo_work, "lo_result": lo_result,
            "xls_annotated": xls_annotated, "xls_ledger": xls_ledger, "outputs": outputs}


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_saved_ledger_is_filled_surgically(libreoffice):
    lo = libreoffice
    assert lo["lo_result"].ok and lo["lo_result"].changed, lo["lo_result"].message
    sheet_part = pf.sheet_part(lo["lo_orig"], "台账")
    changed = {sheet_part, "xl/styles.xml"}
    assert set(lo["lo_result"].changed_parts) == changed
    pf.assert_parts_preserved(lo["lo_orig"], lo["lo_work"], changed=changed)
    pf.assert_styles_appended(lo["lo_orig"], lo["lo_work"])
    pf.assert_sheet_preserved(lo["lo_orig"], lo["lo_work"], sheet_part, planned_cells(lo["lo_orig"]))
    ledger = read_ledger(lo["lo_work"])
    rows = sheet_rows(lo["lo_work"], "台账")
    for r in ledger.cases.index:
        assert at(rows, ledger.cell("deadline", r)) == EXPECTED[ledger.cases.at[r, "case_id"]][0]


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_reads_the_written_values(libreoffice, filled):
    csv = libreoffice["dir"] / "csv"
    for path in [*filled["work"].values(), libreoffice["lo_work"]]:
        sheets = lo.read_csv_sheets(csv, path.stem)
        ledger = read_ledger(path)
        rows = sheets["台账"]
        for r in ledger.cases.index:
            deadline, alert = EXPECTED[ledger.cases.at[r, "case_id"]]
            assert at(rows, ledger.cell("deadline", r)) == deadline.isoformat()   # yyyy-mm-dd shown
            assert at(rows, ledger.cell("alert", r)) == alert
    annotated = lo.read_csv_sheets(csv, f"东村台账{ANNOTATED_SUFFIX}")
    assert annotated[ISSUE_SHEET][1][:4] == ["单元格", "级别", "问题", "怎么改"]
    assert {"台账", "填表说明", "选项", "统计", ISSUE_SHEET} <= set(annotated)


@pytest.mark.slow
@pytest.mark.libreoffice
def test_xls_is_annotated_as_a_new_xlsx(libreoffice):
    out = libreoffice["xls_annotated"]
    assert out.suffix == ".xlsx" and out.stem == f"南村台账{ANNOTATED_SUFFIX}"
    assert pf.cell_fill(out, "台账", "E6") == "FF" + WARNING_FILL
    rows = sheet_rows(out, "台账")
    assert at(rows, "A4") == "NJ2010-001" and at(rows, "AD5") == "村里自己的备注"
    assert sheet_rows(out, ISSUE_SHEET)[2][0] == "E6"
    csv = lo.read_csv_sheets(libreoffice["dir"] / "csv", out.stem)
    assert at(csv["台账"], "A4") == "NJ2010-001"


@pytest.mark.slow
@pytest.mark.libreoffice
def test_every_output_still_opens_in_libreoffice(libreoffice):
    pdf = libreoffice["dir"] / "pdf"
    for path in libreoffice["outputs"]:
        out = pdf / (path.stem + ".pdf")
        assert out.exists(), f"LibreOffice could not open {path.name}"
        assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 1000

"""The surgical patcher: values, styles, order, new sheets, backups, locks, atomicity.

Workbooks are written by xlsxwriter or by hand; results are read back by
python-calamine (and openpyxl for fills), never by the patcher itself.
"""
from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from lxml import etree
from python_calamine import CalamineWorkbook

import factories.preserve as pf
from toolkit.outputs import writeback as W
from toolkit.outputs.writeback import CellEdit, NewSheet, patch_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def rows(path: Path, sheet: str) -> list[list]:
    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def value(path: Path, sheet: str, ref: str):
    col, row = W.parse_ref(ref)
    data = rows(path, sheet)
    try:
        return data[row - 1][col]
    except IndexError:
        return ""


@pytest.fixture
def simple(tmp_path) -> Path:
    p = tmp_path / "简单.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("台账")
    border = wb.add_format({"border": 1, "num_format": "0.00"})
    ws.write_row(0, 0, ["案件编号", "信访人"], wb.add_format({"bold": True}))
    ws.write_string(0, 4, "备注")
    ws.write_number(2, 0, 1, border)
    ws.write_string(2, 1, "张三", border)
    ws.set_row(2, 30)
    other = wb.add_worksheet("其他")
    other.write_string(0, 0, "不动")
    wb.close()
    return p


def test_values_of_every_kind_read_back(simple, tmp_path):
    out = tmp_path / "out.xlsx"
    edits = {
        "C1": CellEdit("=1+1"),                 # text, never a formula
        "D1": CellEdit("  前后空格 \n换行"),
        "F1": CellEdit("控制\x01字符 _x0041_"),
        "A2": CellEdit(42), "B2": CellEdit(-1.5), "C2": CellEdit(True),
        "D2": CellEdit(dt.date(2010, 9, 25)), "E2": CellEdit(dt.datetime(2010, 10, 8, 12, 0)),
        "B3": CellEdit(None),                   # cleared, style kept
    }
    patch_workbook(simple, out, {"台账": edits})
    got = rows(out, "台账")
    assert got[0][2] == "=1+1"
    assert got[0][3] == "  前后空格 \n换行"
    assert got[0][5] == "控制\x01字符 _x0041_"
    assert got[1][:5] == [42, -1.5, True, dt.date(2010, 9, 25), dt.datetime(2010, 10, 8, 12, 0)]
    assert got[2][1] == ""
    sheet = etree.fromstring(zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml"))
    c1 = sheet.find(f".//{{{MAIN}}}c[@r='C1']")
    assert c1.get("t") == "inlineStr" and c1.find(f"{{{MAIN}}}f") is None
    b3 = sheet.find(f".//{{{MAIN}}}c[@r='B3']")
    assert b3.get("s") and len(b3) == 0          # the bordered style stays on the cleared cell
    pf.assert_parts_preserved(simple, out, changed={"xl/worksheets/sheet1.xml", "xl/styles.xml"})


def test_row_and_cell_order_kept(simple, tmp_path):
    out = tmp_path / "out.xlsx"
    patch_workbook(simple, out, {"台账": {"C1": CellEdit("中"), "A2": CellEdit("新行"),
                                         "Z9": CellEdit("末"), "AA1": CellEdit("远")}})
    sheet = etree.fromstring(zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml"))
    row_nums = [int(r.get("r")) for r in sheet.iter(f"{{{MAIN}}}row")]
    assert row_nums == sorted(row_nums) == [1, 2, 3, 9]
    first = [c.get("r") for c in sheet.find(f".//{{{MAIN}}}row[@r='1']")]
    assert first == ["A1", "B1", "C1", "E1", "AA1"]
    assert sheet.find(f"{{{MAIN}}}dimension").get("ref") == "A1:AA9"
    assert sheet.find(f".//{{{MAIN}}}row[@r='3']").get("ht") == "30"   # row attributes kept
    assert value(out, "台账", "Z9") == "末"
    pf.assert_sheet_preserved(simple, out, "xl/worksheets/sheet1.xml", {"C1", "A2", "Z9", "AA1"})


def test_styles_are_appended_reused_and_based_on_the_cell(simple, tmp_path):
    out = tmp_path / "out.xlsx"
    edits = {"A3": CellEdit(fill="FFC7CE", font_color="9C0006"),     # value: KEEP
             "B3": CellEdit(W.KEEP, fill="FFC7CE", font_color="9C0006"),
             "D5": CellEdit(dt.date(2010, 9, 25))}
    patch_workbook(simple, out, {"台账": edits})
    pf.assert_styles_appended(simple, out)
    assert pf.cell_fill(out, "台账", "A3") == "FFFFC7CE"
    import openpyxl
    ws = openpyxl.load_workbook(out)["台账"]
    assert ws["A3"].border.left.style == "thin"          # base style (border) kept
    assert ws["A3"].number_format == "0.00"
    assert ws["A3"].value == 1 and ws["B3"].value == "张三"   # KEEP kept the values
    assert ws["A3"].font.color.rgb == "FF9C0006"
    assert ws["D5"].number_format == "yyyy-mm-dd"
    # applying the same edit again adds nothing: styles converge
    again = tmp_path / "again.xlsx"
    patch_workbook(out, again, {"台账": edits})
    assert zipfile.ZipFile(again).read("xl/styles.xml") == zipfile.ZipFile(out).read("xl/styles.xml")


def test_in_place_backup_once_and_no_rewrite_when_nothing_changes(simple):
    original = simple.read_bytes()
    res = patch_workbook(simple, simple, {"台账": {"C3": CellEdit("已写")}})
    assert res.changed and res.backup is not None
    assert res.backup.parent.name == W.BACKUP_DIR and res.backup.read_bytes() == original
    assert value(simple, "台账", "C3") == "已写"
    after_first = simple.read_bytes()
    res2 = patch_workbook(simple, simple, {"台账": {"C3": CellEdit("已写")}})
    assert not res2.changed and res2.backup is None and simple.read_bytes() == after_first
    # the clerk restores the original: no second identical backup is made
    simple.write_bytes(original)
    res3 = patch_workbook(simple, simple, {"台账": {"C3": CellEdit("已写")}})
    assert res3.backup == res.backup
    assert len(list((simple.parent / W.BACKUP_DIR).iterdir())) == 1


def test_new_sheet_touches_only_the_registration_parts(simple, tmp_path):
    out = tmp_path / "out.xlsx"
    sheet = NewSheet("校验结果", [["摘要"], ["单元格", "问题"], ["B3", "=不是公式"]],
                     column_widths=(10, 40), header_row=1, freeze_rows=2,
                     links={"A3": "'台账'!B3"})
    res = patch_workbook(simple, out, {}, new_sheets=[sheet])
    assert set(res.changed_parts) == {"[Content_Types].xml", "xl/workbook.xml",
                                      "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
    assert res.added_parts == ["xl/worksheets/sheet3.xml"]
    pf.assert_parts_preserved(simple, out, changed=set(res.changed_parts), added=set(res.added_parts))
    assert rows(out, "校验结果") == [["摘要", ""], ["单元格", "问题"], ["B3", "=不是公式"]]
    assert CalamineWorkbook.from_path(str(out)).sheet_names == ["台账", "其他", "校验结果"]
    # a second annotation of the copy replaces the sheet instead of adding another
    again = tmp_path / "again.xlsx"
    res2 = patch_workbook(out, again, {}, new_sheets=[NewSheet("校验结果", [["新"]])])
    assert res2.added_parts == [] and CalamineWorkbook.from_path(str(again)).sheet_names[-1] == "校验结果"
    assert rows(again, "校验结果") == [["新"]]


def test_hand_written_package_without_row_numbers(tmp_path):
    src = pf.build_hand_package(tmp_path / "手写.xlsx")
    out = tmp_path / "out.xlsx"
    res = patch_workbook(src, out, {"台账": {"C2": CellEdit("新"), "B2": CellEdit(5),
                                            "A4": CellEdit(dt.date(2010, 7, 1))}})
    got = rows(out, "台账")
    assert got[0][:2] == ["案件编号", "信访人"]
    assert got[1][:3] == [1, 5, "新"]
    assert got[3][0] == dt.date(2010, 7, 1)
    assert got[4][0] == 3
    # B2 lost its formula: its calcChain entry went, and with it the empty calcChain part
    assert res.removed_parts == ["xl/calcChain.xml"]
    # the package had no styles part: the date format needed one, registered in rels + types
    assert res.added_parts == ["xl/styles.xml"]
    assert set(res.changed_parts) == {"[Content_Types].xml", "xl/_rels/workbook.xml.rels",
                                      "xl/worksheets/s.xml"}
    pf.assert_parts_preserved(src, out, changed=set(res.changed_parts), added={"xl/styles.xml"},
                              removed={"xl/calcChain.xml"})
    z = zipfile.ZipFile(out)
    assert b"calcChain" not in z.read("xl/_rels/workbook.xml.rels")
    assert b"calcChain" not in z.read("[Content_Types].xml")
    assert z.getinfo("docProps/stored.txt").compress_type == zipfile.ZIP_STORED
    assert z.read("xl/sharedStrings.xml") == zipfile.ZipFile(src).read("xl/sharedStrings.xml")
    assert z.read("xl/worksheets/s.xml").count(b"<x:row") == 4   # prefix kept, no ns0


def test_overwriting_a_shared_formula_master_keeps_followers(tmp_path):
    src = pf.build_hand_package(tmp_path / "共享.xlsx", pf.SHARED_FORMULA_SHEET,
                                calc_chain='<c r="B1" i="7"/><c r="B2"/><c r="B3"/>')
    out = tmp_path / "out.xlsx"
    res = patch_workbook(src, out, {"台账": {"B1": CellEdit("手填")}})
    sheet = etree.fromstring(zipfile.ZipFile(out).read("xl/worksheets/s.xml"))
    formulas = {f.getparent().get("r"): f.text for f in sheet.iter(f"{{{MAIN}}}f")}
    assert formulas == {"B2": "A2*2", "B3": "A3*2"}
    chain = etree.fromstring(zipfile.ZipFile(out).read("xl/calcChain.xml"))
    assert [(c.get("r"), c.get("i")) for c in chain] == [("B2", "7"), ("B3", None)]
    assert "xl/calcChain.xml" in res.changed_parts
    assert rows(out, "台账")[0][1] == "手填"


@pytest.mark.parametrize("lock", ["~${name}", "~${short}", ".~lock.{name}#"])
def test_open_workbook_is_left_alone(simple, tmp_path, lock):
    name = simple.name
    (simple.parent / lock.format(name=name, short=name[2:])).write_text("x", encoding="utf-8")
    before = simple.read_bytes()
    assert W.workbook_in_use(simple)
    with pytest.raises(W.WorkbookInUse) as e:
        patch_workbook(simple, simple, {"台账": {"A1": CellEdit("x")}})
    assert "正在被" in str(e.value) and name in str(e.value)
    assert simple.read_bytes() == before
    assert not (simple.parent / W.BACKUP_DIR).exists()


def test_refusals_name_the_file_and_what_to_do(tmp_path):
    xls = tmp_path / "旧.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    with pytest.raises(W.NotPatchable, match="另存为"):
        patch_workbook(xls, xls, {})
    enc = tmp_path / "加密.xlsx"
    enc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    with pytest.raises(W.NotPatchable, match="密码"):
        patch_workbook(enc, enc, {})
    broken = tmp_path / "坏.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(W.NotPatchable, match="坏.xlsx"):
        patch_workbook(broken, broken, {})


def test_unknown_sheet_is_an_error_and_nothing_is_written(simple, tmp_path):
    out = tmp_path / "out.xlsx"
    with pytest.raises(W.WritebackError, match="没有工作表"):
        patch_workbook(simple, out, {"不存在": {"A1": CellEdit(1)}})
    assert not out.exists()


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(W.TEMP_PREFIX)]


def test_failure_while_writing_leaves_the_original(simple, monkeypatch):
    before = simple.read_bytes()

    def broken_write(self, fileobj):
        fileobj.write(b"PK\x03\x04half a workbook")
        raise OSError("磁盘已满")
    monkeypatch.setattr(W._Package, "write_to", broken_write)
    with pytest.raises(OSError):
        patch_workbook(simple, simple, {"台账": {"A1": CellEdit("x")}})
    assert simple.read_bytes() == before
    assert _temps(simple.parent) == []


def test_failure_at_the_replace_leaves_the_original(simple, monkeypatch):
    before = simple.read_bytes()

    real_replace = os.replace

    def no_replace(a, b):   # Windows: Excel opened the workbook meanwhile
        if Path(b) == simple:
            raise PermissionError("被占用")
        return real_replace(a, b)
    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(W.WorkbookInUse):
        patch_workbook(simple, simple, {"台账": {"A1": CellEdit("x")}})
    assert simple.read_bytes() == before
    assert _temps(simple.parent) == []


def test_stale_temp_of_a_killed_run_is_cleared(simple):
    stale = simple.parent / f"{W.TEMP_PREFIX}{simple.name}-abc.tmp"
    stale.write_bytes(b"partial")
    patch_workbook(simple, simple, {"台账": {"A1": CellEdit("x")}})
    assert not stale.exists()


KILL_SCRIPT = """
import sys
from pathlib import Path
from toolkit.outputs import writeback as W

real_write = W._write_temp


def announced(tmp, pkg):          # tell the test the risky part starts now
    print("writing", flush=True)
    return real_write(tmp, pkg)


W._write_temp = announced
p = Path(sys.argv[1])
edits = {f"{c}{r}": W.CellEdit(f"新值{r}") for r in range(2, 3002) for c in ("B", "C", "D", "E")}
W.patch_workbook(p, p, {"台账": edits})
print("done", flush=True)
"""


@pytest.mark.slow
def test_killed_process_leaves_old_or_new_never_corrupt(tmp_path):
    """SIGKILL at a random moment of the write (temp file, fsync, backup, replace)."""
    import random
    import subprocess
    import sys
    import time

    src = tmp_path / "大.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("台账")
    for r in range(3001):
        ws.write_row(r, 0, [f"NJ{r}", "旧", "旧", "旧", "旧", r])
    wb.close()
    original = src.read_bytes()
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rng = random.Random(20101020)
    outcomes: list[str] = []
    for delay in [0.0, rng.uniform(0, 0.05), rng.uniform(0, 0.05), 0.5]:
        src.write_bytes(original)
        proc = subprocess.Popen([sys.executable, str(script), str(src)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(delay)
        proc.kill()
        proc.wait()
        data = src.read_bytes()
        if data != original:
            with zipfile.ZipFile(src) as z:       # the complete new file, never a torn one
                assert z.testzip() is None
            assert value(src, "台账", "B3001") == "新值3001"
            outcomes.append("new")
        else:
            outcomes.append("old")
    assert len(outcomes) == 4   # (kills land inside the write: timing-dependent, not asserted)
    # whatever a killed run left behind, the next run clears it and completes
    patch_workbook(src, src, {"台账": {"A1": CellEdit("再次")}})
    assert _temps(src.parent) == [] and value(src, "台账", "A1") == "再次"


def test_a_copy_may_be_made_from_an_open_workbook(simple, tmp_path):
    (simple.parent / f"~${simple.name}").write_text("x", encoding="utf-8")
    out = tmp_path / "副本" / "out.xlsx"
    patch_workbook(simple, out, {"台账": {"A1": CellEdit(fill="FFFF66")}})
    assert pf.cell_fill(out, "台账", "A1") == "FFFFFF66"


def test_malformed_sheet_is_refused_in_chinese(tmp_path):
    bad = pf.build_hand_package(tmp_path / "坏表.xlsx",
                                '<x:sheetData><x:row r="1"><x:c r="1A"><x:v>1</x:v></x:c></x:row>'
                                '</x:sheetData>')
    before = bad.read_bytes()
    with pytest.raises(W.NotPatchable, match="坏表.xlsx"):
        patch_workbook(bad, bad, {"台账": {"B1": CellEdit("x")}})
    assert bad.read_bytes() == before


def test_dates_follow_the_workbooks_date_system(tmp_path):
    src = tmp_path / "1904.xlsx"
    wb = xlsxwriter.Workbook(str(src), {"date_1904": True})
    wb.add_worksheet("台账").write_string(0, 0, "交办日期")
    wb.close()
    out = tmp_path / "out.xlsx"
    patch_workbook(src, out, {"台账": {"A2": CellEdit(dt.date(2010, 7, 1))}})
    assert value(out, "台账", "A2") == dt.date(2010, 7, 1)

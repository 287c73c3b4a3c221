"""Finding workbooks and the pre-flight checks (in-process, fast)."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

import factories.hostile as hf
from toolkit.intake import farvalues
from toolkit.intake import preflight as intake
from toolkit.core.files import file_sha256
from toolkit.intake.find import find_workbooks
from toolkit.intake.preflight import preflight
from toolkit.core.issues import CATALOGUE


# --------------------------------------------------------------------------- find_workbooks

def test_find_workbooks_walks_folders_sorted_and_lists_every_file_but_locks_and_hidden(tmp_path):
    """Every file a village could have sent is listed (and so gets a verdict): .xlsb, a web
    page, a Word document, a backup copy; only lock files, hidden and system files are not."""
    inbox = tmp_path / "收件箱"
    (inbox / "东片" / "子目录").mkdir(parents=True)
    (inbox / ".git").mkdir()
    for name in ["西村.xlsx", "东村.XLSX", "南村.xls", "北村.xlsm", "中村.ods", "老村.et", "新村.xlsb",
                 "网页.htm", "~$西村.xlsx", ".~lock.东村.xlsx#", ".~西村.xlsx", ".hidden.xlsx",
                 "说明.docx", "备份.xlsx.bak", "Thumbs.db", "desktop.ini"]:
        (inbox / name).write_bytes(b"x")
    (inbox / "东片" / "甲村.xlsx").write_bytes(b"x")
    (inbox / "东片" / "子目录" / "乙村.xlsx").write_bytes(b"x")
    (inbox / ".git" / "x.xlsx").write_bytes(b"x")

    found = find_workbooks([inbox])
    rel = [p.relative_to(inbox).as_posix() for p in found]
    assert sorted(rel) == sorted(["西村.xlsx", "东村.XLSX", "南村.xls", "北村.xlsm", "中村.ods", "老村.et",
                                  "新村.xlsb", "网页.htm", "说明.docx", "备份.xlsx.bak",
                                  "东片/甲村.xlsx", "东片/子目录/乙村.xlsx"])
    assert rel == sorted(rel, key=lambda r: [s.casefold() for s in r.split("/")])


def test_find_workbooks_keeps_explicit_files_even_odd_ones_and_dedupes(tmp_path):
    text = tmp_path / "说明.txt"
    text.write_text("不是表格", encoding="utf-8")
    lock = tmp_path / "~$村.xlsx"
    lock.write_bytes(b"x")
    book = tmp_path / "村.xlsx"
    book.write_bytes(b"x")
    missing = tmp_path / "没有这个文件.xlsx"
    found = find_workbooks([text, lock, str(book), tmp_path, missing])
    assert found[:3] == [text, lock, book]
    assert found[3:] == [missing]          # the folder adds nothing new; the missing file is kept


# --------------------------------------------------------------------------- good files pass

def test_good_workbooks_pass(tmp_path):
    assert preflight(hf.good_workbook(tmp_path / "good.xlsx")) is None
    assert preflight(hf.good_ods(tmp_path / "good.ods")) is None
    big = [[(f"{col}{r}", r) for col in ("A", "B", "AR")] for r in range(1, 3001)]
    assert preflight(hf.hand_xlsx(tmp_path / "3000行.xlsx", hf.sheet_xml(big, dimension="A1:AR3000"))) is None


def test_real_samples_pass(tmp_path):
    samples = pytest.importorskip("factories.ledgers")
    path = samples.make_ledger(tmp_path / "东村.xlsx", village="东村", n_cases=30).path
    assert preflight(path) is None


# --------------------------------------------------------------------------- refusals

def _refused(path: Path, code: str, *words: str):
    issue = preflight(path)
    assert issue is not None, f"{path.name} passed pre-flight"
    assert issue.code == code, issue.message
    assert issue.code in CATALOGUE and issue.severity == "error"
    assert issue.file == str(path)
    assert f"“{path}”" in issue.message
    for w in words:
        assert w in issue.message, issue.message
    return issue


def test_missing_empty_and_folder(tmp_path):
    _refused(tmp_path / "无.xlsx", "unreadable", "找不到")
    (tmp_path / "空.xlsx").write_bytes(b"")
    _refused(tmp_path / "空.xlsx", "unreadable", "0 字节")


@pytest.mark.parametrize("kind, words", [
    ("text", "文本文件"), ("csv", "CSV"), ("html", "网页"), ("pdf", "PDF"), ("png", "图片"),
    ("exe", "可执行程序"),
])
def test_other_files_named_xlsx(tmp_path, kind, words):
    _refused(hf.disguised(tmp_path / f"{kind}.xlsx", kind), "not_spreadsheet", words)


def test_other_zips(tmp_path):
    _refused(hf.docx(tmp_path / "文档.xlsx"), "not_spreadsheet", "Word")
    _refused(hf.zip_of(tmp_path / "打包.xlsx", {"东村.xlsx": b"PK"}), "not_spreadsheet", "解压")
    _refused(hf.zip_of(tmp_path / "照片.xlsx", {"a.jpg": b"\xff\xd8\xff"}), "not_spreadsheet", "压缩包")
    # an .xlsb is a spreadsheet now (issue 19): pre-flight measures it, the reader says the rest
    assert preflight(hf.zip_of(tmp_path / "b.xlsx", {"xl/workbook.bin": b"x"})) is None


def test_truncated_and_damaged_zip(tmp_path):
    good = hf.good_workbook(tmp_path / "good.xlsx")
    _refused(hf.truncated_zip(tmp_path / "半截.xlsx", good), "unreadable", "不完整")
    data = bytearray(good.read_bytes())
    info = zipfile.ZipFile(good).getinfo("xl/worksheets/sheet1.xml")
    data[info.header_offset + 60] ^= 0xFF           # inside the compressed sheet: CRC or inflate fails
    (tmp_path / "坏.xlsx").write_bytes(bytes(data))
    _refused(tmp_path / "坏.xlsx", "unreadable", "损坏")


def test_encrypted_ooxml_is_encrypted_not_corrupt(tmp_path):
    good = hf.good_workbook(tmp_path / "good.xlsx")
    enc = hf.encrypted_workbook(tmp_path / "加密.xlsx", good)
    assert enc.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    _refused(enc, "encrypted", "密码")


def test_far_cell_refused_declared_dimension_not(tmp_path):
    """A value at XFD1048576 is refused; a <dimension> declared that far costs a parser
    nothing (issue 10) and passes: test_intake_realworld reads such files in full."""
    far = hf.far_cell_sheet(tmp_path / "远.xlsx")
    assert far.stat().st_size < 6000
    _refused(far, "too_large", "台账", "XFD1048576", "1048576 行")
    assert preflight(hf.declared_only_sheet(tmp_path / "声明.xlsx")) is None


_DATA = [("A2", "序号"), ("B2", "案件编号"), ("C2", "信访人")]          # a sheet that holds something


@pytest.mark.parametrize("cells, word, far", [
    ([("A1", 1), ("A250000", 1)], "250000 行", "A250000"),          # too many rows
    ([("A1", 1), ("CCC1", 1)], "2109 列", "CCC1"),                  # too many columns
    ([("A1", 1), ("ZZ9000", 1)], "9000 行 × 702 列", "ZZ9000"),     # 6.3 million cells
])
def test_grid_limits(tmp_path, cells, word, far):
    """A far value in a sheet that holds data is refused, naming it; the same far value with
    no more than two values beside it is left out of the reading (issue 19: lone far values)."""
    rows = [[c] for c in cells + _DATA]
    _refused(hf.hand_xlsx(tmp_path / "g.xlsx", hf.sheet_xml(rows)), "too_large", word, far)
    lone = hf.hand_xlsx(tmp_path / "孤.xlsx", hf.sheet_xml([[c] for c in cells]))
    assert preflight(lone) is None
    [note] = farvalues.notes_for(lone)
    assert note.cells == [far] and note.sheet == "台账"


_SPELLINGS = [
    # r not first, prefixed elements, r-less cells, lower-case refs, odd spacing; every far cell holds a value
    ('<worksheet {ns}><sheetData>{data}<row r="1"><c s="0" r="A1"/><c t="n" r="XFD1048576"><v>1</v></c></row>'
     '</sheetData></worksheet>', "XFD1048576"),
    ('<x:worksheet {xns}><x:sheetData>{xdata}<x:row r="1"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>'
     '</x:sheetData></x:worksheet>', "XFD1048576"),
    ('<worksheet {ns}><sheetData>{data}<row r="1048576"><c/>' + "<c/>" * 2100 + '<c><v>1</v></c></row></sheetData>'
     '</worksheet>', "CBV1048576"),
    ('<worksheet {ns}><sheetData>{data}<row r="1"><c r="xfd1048576" t="inlineStr"><is><t/></is></c></row>'
     '</sheetData></worksheet>', "XFD1048576"),
    ('<worksheet {ns}><sheetData>{data}<row r="1"><c\n r = "XFD1048576"\n><v\n>1</v></c></row></sheetData>'
     '</worksheet>', "XFD1048576"),
    ('<worksheet {ns}><sheetData>{data}<row r="1"><c r="XFD1048576" x="/>"><v>1</v></c></row></sheetData>'
     '</worksheet>', "XFD1048576"),
    ('<worksheet {ns}><sheetData>{data}<row r="1048576"><c r="XFD1048576" s="1"/><c><v>1</v></c></row>'
     '</sheetData></worksheet>', "XFE1048576"),                     # an r-less value after a styled far cell
    ("<!--" + "填充" * 3000 + '--><worksheet {ns}><sheetData>{data}<row r="1"><c r="XFD1048576"><v>1</v></c>'
     "</row></sheetData></worksheet>", "XFD1048576"),                # root element beyond the first 4 KB
]
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_XNS = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NEAR = '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c><c r="C2"><v>3</v></c></row>'


@pytest.mark.parametrize("n", range(len(_SPELLINGS)))
def test_far_cells_in_unusual_spellings(tmp_path, n):
    """Beside data, the far value is refused in every spelling; alone, it is found in every
    spelling and left out (the reader then gives calamine the near cells only)."""
    sheet, far = _SPELLINGS[n]
    with_data = sheet.format(ns=_NS, xns=_XNS, data=_NEAR, xdata=_NEAR.replace("<", "<x:").replace("<x:/", "</x:"))
    _refused(hf.hand_xlsx(tmp_path / "odd.xlsx", with_data), "too_large")
    lone = hf.hand_xlsx(tmp_path / "lone.xlsx", sheet.format(ns=_NS, xns=_XNS, data="", xdata=""))
    assert preflight(lone) is None
    [note] = farvalues.notes_for(lone)
    assert note.cells == [far]


def test_far_cell_split_across_chunks(tmp_path, monkeypatch):
    """The scan works on streamed pieces: a tag cut in two must still be seen."""
    rows = [[(f"A{r}", "x" * 50)] for r in range(1, 400)] + [[("XFD400", 1)]]
    path = hf.hand_xlsx(tmp_path / "split.xlsx", hf.sheet_xml(rows))
    for size in (997, 4099, 65536):
        monkeypatch.setattr(intake, "_OUT_CHUNK", size)
        _refused(path, "too_large", "XFD400")


def test_small_chunk_bounds_are_rechecked_cell_by_cell(tmp_path, monkeypatch):
    """Rows 1-999 read by the fast proof (bound: 999 rows x 702 columns) and 8000 rows below:
    8000 x 702 would be refused, the real 8000 x 40 is not; a real far value still is."""
    rows = [[(f"A{r}", 1), (f"AN{r}", 2)] for r in range(1, 300)] + [[(f"A{r}", 3)] for r in range(7950, 8001)]
    monkeypatch.setattr(intake, "_OUT_CHUNK", 997)
    assert preflight(hf.hand_xlsx(tmp_path / "长.xlsx", hf.sheet_xml(rows))) is None
    far = hf.hand_xlsx(tmp_path / "长远.xlsx", hf.sheet_xml(rows + [[("ZZ8001", 4)]]))
    _refused(far, "too_large", "ZZ8001", "8001 行 × 702 列")


def test_dtd_and_entities_refused(tmp_path):
    _refused(hf.dtd_bomb(tmp_path / "实体.xlsx"), "unreadable", "DTD")
    external = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    path = hf.hand_xlsx(tmp_path / "外部.xlsx", hf.sheet_xml([[("A1", 1)]]),
                        shared_strings=f'<?xml version="1.0"?>{external}<sst/>')
    _refused(path, "unreadable", "DTD")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><sst/>').encode("utf-16")
    path = hf.hand_xlsx(tmp_path / "utf16.xlsx", hf.sheet_xml([[("A1", 1)]]), extra={"xl/x.xml": utf16})
    _refused(path, "unreadable", "DTD")


def test_zip_bombs(tmp_path, monkeypatch):
    _refused(hf.lying_zip_bomb(tmp_path / "炸弹.xlsx", mib=24), "too_large", "压缩炸弹")
    # the total cap, met by honest but incompressible-enough data (cap lowered for speed)
    monkeypatch.setattr(intake, "MAX_UNCOMPRESSED", 2 * 2**20)
    import random
    noise = random.Random(1).randbytes(300_000)
    path = hf.hand_xlsx(tmp_path / "大.xlsx", hf.sheet_xml([[("A1", 1)]]),
                        extra={f"xl/media/image{i}.png": noise for i in range(8)})
    hf.lie_about_size(path, path, "xl/media/image1.png", size=10)
    _refused(path, "too_large", "解压后超过")


def test_ods_repeat_bomb(tmp_path):
    _refused(hf.ods_repeat_bomb(tmp_path / "重复.ods"), "too_large", "台账", "1000000 行")


def test_member_count_and_file_size_caps(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_MEMBERS", 10)
    path = hf.hand_xlsx(tmp_path / "多.xlsx", hf.sheet_xml([[("A1", 1)]]),
                        extra={f"xl/x{i}.xml": b"<x/>" for i in range(10)})
    _refused(path, "too_large", "部件")
    monkeypatch.setattr(intake, "MAX_FILE_BYTES", 1000)
    _refused(hf.good_workbook(tmp_path / "g.xlsx"), "too_large", "上限")


def test_preflight_never_raises_on_garbage(tmp_path):
    for i, blob in enumerate([b"PK\x03\x04" + bytes(100), b"PK\x05\x06" + bytes(18),
                              b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)]):
        path = tmp_path / f"{i}.xlsx"
        path.write_bytes(blob)
        issue = preflight(path)
        assert issue is not None and issue.code in ("unreadable", "not_spreadsheet")


def test_file_sha256(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"abc" * 1_000_000)
    assert file_sha256(path) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


def test_toolkit_own_backup_and_history_folders_are_not_submissions(tmp_path):
    from toolkit.core.config import OWN_FOLDERS
    from toolkit.intake.find import find_workbooks
    (tmp_path / "东村.xlsx").write_bytes(b"x")
    for folder in OWN_FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "东村_20101020-083000.xlsx").write_bytes(b"x")
    assert [p.name for p in find_workbooks([tmp_path])] == ["东村.xlsx"]

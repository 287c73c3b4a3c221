"""Issue 19: what a second survey of 1,297 public spreadsheets found still refused or misjudged.

Each odd file is an honest ledger (factories.ledgers) written the way the producing program
writes it (LibreOffice for passwords, pretty-printed ODS and web pages; by hand, record by
record, for what no program here writes: .xlsb, Excel 95 with a Mac code page, RC4
CryptoAPI), read through the sandboxed path the runs use and compared with the same ledger
read unchanged. The loosened paths still refuse what costs a parser memory (test_hostile.py
and test_read_realworld.py are unchanged; the new hostile files are at the end).
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import factories.hostile as hf
from conftest import needs_soffice
from factories.ole import biff5_workbook, encrypt_cryptoapi, sector_loop
from factories.xlsb import ledger_as_xlsb, write_xlsb
from toolkit.intake.preflight import preflight
from toolkit.read.explain import explain
from toolkit.read.sandboxed import read_ledgers

from test_read_realworld import N_CASES, _refused, baseline, ledger  # noqa: F401 - the same fixtures


@pytest.fixture(scope="module")
def plain_xls(ledger, tmp_path_factory):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) 未安装")
    [xls] = hf.to_xls([ledger], tmp_path_factory.mktemp("xls"))
    return xls


def _same_ledger(lg, baseline, *extra_codes, saved=True):
    """Read in full: the same cases, values and issues as the unchanged ledger (plus ``extra_codes``),
    and the workbook's own last-saved time when the format has one."""
    assert lg.readable, [i.message for i in lg.issues]
    assert lg.n_cases == baseline.n_cases and lg.village == baseline.village
    assert lg.cases.astype(str).equals(baseline.cases.astype(str))
    assert sorted(i.code for i in lg.issues) == sorted([*extra_codes, *(i.code for i in baseline.issues)])
    if saved:
        assert lg.saved == baseline.saved


def _calamine_refuses(path):
    """The precondition: python-calamine alone cannot read this file (or reads it wrong)."""
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            for name in wb.sheet_names:
                wb.get_sheet_by_name(name).to_python()
    except Exception:        # noqa: BLE001 - any refusal will do
        return True
    return False


# --------------------------------------------------------------------------- A. default-password .xls

@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_default_password_xls_written_by_libreoffice_opens_a_typed_one_does_not(tmp_path, ledger, baseline):
    """LibreOffice (like Excel 97/2000) writes the old 40-bit RC4: the default password opens it."""
    from factories.lomacro import save_as
    default, typed = save_as([ledger, ledger], [tmp_path / "东村.xls", tmp_path / "加密.xls"],
                             filter_name="MS Excel 97", password="VelvetSweatshop")
    save_as([ledger], [typed], filter_name="MS Excel 97", password="1234")
    lg, locked = read_ledgers([default, typed])
    _same_ledger(lg, baseline)
    assert lg.file_format == "xls"
    assert [i.code for i in locked.issues] == ["encrypted"] and not locked.readable


@pytest.mark.slow
@pytest.mark.libreoffice
def test_default_password_xls_with_rc4_cryptoapi_opens(tmp_path, plain_xls, baseline):
    """Excel 2002 and later encrypt with RC4 CryptoAPI (128-bit); a typed password stays one."""
    default = encrypt_cryptoapi(tmp_path / "东村.xls", plain_xls)
    typed = encrypt_cryptoapi(tmp_path / "加密.xls", plain_xls, password="1234")
    assert _calamine_refuses(default)
    lg, locked = read_ledgers([default, typed])
    _same_ledger(lg, baseline)
    assert [i.code for i in locked.issues] == ["encrypted"]


# --------------------------------------------------------------------------- B. the format behind the wrong extension

@pytest.mark.slow
@pytest.mark.libreoffice
def test_the_reader_follows_the_bytes_not_the_extension(tmp_path, ledger, plain_xls, baseline):
    xls_as_xlsx = shutil.copyfile(plain_xls, tmp_path / "东村.xlsx")      # WPS: an .xls named .xlsx
    xlsx_as_xls = shutil.copyfile(ledger, tmp_path / "东村.xls")
    xlsx_as_et = shutil.copyfile(ledger, tmp_path / "东村.et")
    xlsx_upper = shutil.copyfile(ledger, tmp_path / "东村台账.XLSX")
    assert _calamine_refuses(xls_as_xlsx) and _calamine_refuses(xlsx_as_xls)
    read = read_ledgers([xls_as_xlsx, xlsx_as_xls, xlsx_as_et, xlsx_upper])
    assert [lg.file_format for lg in read] == ["xls", "xlsx", "xlsx", "xlsx"]
    for lg in read:
        _same_ledger(lg, baseline)


# --------------------------------------------------------------------------- C. web pages saved as .xls

@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_a_web_page_libreoffice_saved_is_read_under_an_xls_name(tmp_path, ledger, baseline):
    from factories.libreoffice import convert
    [page] = convert([ledger], "html", tmp_path / "网页")
    xls = shutil.copyfile(page, tmp_path / "东村.xls")
    [lg] = read_ledgers([xls])
    _same_ledger(lg, baseline, saved=False)
    assert lg.file_format == "html" and lg.saved is None          # a web page keeps no save time


def test_a_web_systems_export_in_gbk_is_read(tmp_path, ledger, baseline):
    page = hf.web_export(tmp_path / "东村.xls", hf.rows_of(ledger))
    assert page.read_bytes()[:6] == b"<html " and _calamine_refuses(page)
    [lg] = read_ledgers([page])
    _same_ledger(lg, baseline, saved=False)
    assert lg.sheet == "信访台账" and lg.file_format == "html"


def test_a_web_page_in_utf16_with_spans_is_read(tmp_path):
    """Header cells merged with colspan/rowspan, the title above, UTF-16 with a BOM."""
    page = ('<html><body><h2>南郊乡西村信访积案台账</h2><p>填报单位：西村</p><table>'
            '<tr><th rowspan="2">案件编号</th><th rowspan="2">信访人</th><th rowspan="2">信访事项</th>'
            '<th colspan="2">办理</th></tr><tr><th>办理状态</th><th>办结日期</th></tr>'
            '<tr><td>XC-1</td><td>王五</td><td>宅基地纠纷</td><td>已化解</td><td>2010-09-01</td></tr>'
            '<tr><td>XC-2</td><td>赵六</td><td>低保认定</td><td>化解中</td><td></td></tr></table></body></html>')
    path = tmp_path / "西村.xls"
    path.write_bytes(page.encode("utf-16"))
    [lg] = read_ledgers([path])
    assert lg.readable and lg.n_cases == 2 and lg.village == "西村", [i.message for i in lg.issues]
    assert list(lg.cases["case_id"]) == ["XC-1", "XC-2"]
    assert list(lg.cases["status"]) == ["已化解", "化解中"]
    assert str(lg.cases["closed_date"].iloc[0]) == "2010-09-01"


def test_a_web_page_without_a_table_is_not_a_spreadsheet(tmp_path):
    _refused(hf.disguised(tmp_path / "下载.xls", "html"), "not_spreadsheet", "网页", "没有表格")


# --------------------------------------------------------------------------- D. ODS calamine refuses

@pytest.fixture(scope="module")
def plain_ods(ledger, tmp_path_factory):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) 未安装")
    from factories.libreoffice import convert
    [ods] = convert([ledger], "ods", tmp_path_factory.mktemp("ods"))
    return ods


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_pretty_printed_ods_from_libreoffice_is_read(tmp_path, ledger, baseline):
    """LibreOffice with "size optimization for ODF format" off writes whitespace between cells."""
    from factories.lomacro import save_as
    [pretty] = save_as([ledger], [tmp_path / "东村.ods"], filter_name="calc8", pretty=True)
    assert b"\n     <table:table-cell" in zipfile.ZipFile(pretty).read("content.xml")
    assert _calamine_refuses(pretty)
    [lg] = read_ledgers([pretty])
    _same_ledger(lg, baseline)
    assert lg.file_format == "ods"


@pytest.mark.slow
@pytest.mark.libreoffice
def test_ods_without_its_mimetype_member_is_read(tmp_path, plain_ods, baseline):
    path = hf.ods_without_mimetype(tmp_path / "东村.ods", plain_ods)
    assert "mimetype" not in zipfile.ZipFile(path).namelist() and _calamine_refuses(path)
    [lg] = read_ledgers([path])
    _same_ledger(lg, baseline)


# --------------------------------------------------------------------------- E. unusual but valid xlsx

@pytest.mark.parametrize("build, extra", [
    (hf.utf16_package, ()),
    (hf.sheet_state, ()),
    (hf.bad_dimension, ()),
    (lambda path, src: hf.bad_dimension(path, src, "1:9"), ()),
    (hf.missing_sheet_part, ("missing_sheet",)),
    (lambda path, src: hf.missing_sheet_part(path, src, with_relationship=False), ("missing_sheet",)),
], ids=["utf16", "state-show", "dimension-A1:", "dimension-1:9", "missing-part", "missing-relationship"])
def test_unusual_but_valid_xlsx_is_read(tmp_path, ledger, baseline, build, extra):
    path = build(tmp_path / "东村.xlsx", ledger)
    assert preflight(path) is None and _calamine_refuses(path)
    [lg] = read_ledgers([path])
    _same_ledger(lg, baseline, *extra)
    if extra:
        warning = next(i for i in lg.issues if i.code == "missing_sheet")
        assert "“汇总”" in warning.message and warning.severity == "warning"


@pytest.mark.parametrize("technical, words, wrong", [
    ("CalamineError: Range is missing the expected row component.", "尺寸记录", "部件不存在"),
    ("CalamineError: Unrecognized sheet:state: show", "显示状态", "部件不存在"),
    ("WorksheetNotFound: 汇总", "不存在", "损坏或不完整（可能"),
    ("CalamineError: Cfb error: Codepage 2718 not found", "文字编码", "传输中断"),
    ("XmlError: cannot decode input using UTF-8", "文字编码", "部件"),
])
def test_explanations_name_what_is_wrong(technical, words, wrong):
    said = explain(technical)
    assert words in said and wrong not in said, said


# --------------------------------------------------------------------------- F. an empty member

def test_an_empty_thumbnail_member_is_not_damage(tmp_path, ledger, baseline):
    path = hf.empty_member(tmp_path / "东村.xlsx", ledger)
    info = zipfile.ZipFile(path).getinfo("docProps/thumbnail.wmf")
    assert (info.compress_type, info.compress_size, info.file_size) == (zipfile.ZIP_DEFLATED, 0, 0)
    assert preflight(path) is None
    [lg] = read_ledgers([path])
    _same_ledger(lg, baseline)


# --------------------------------------------------------------------------- G. Excel 5.0/95 (BIFF5)

@pytest.mark.parametrize("codepage, encoding", [(10008, "gb2312"), (936, "gbk")])
def test_excel95_ledgers_in_chinese_code_pages_are_read(tmp_path, ledger, baseline, codepage, encoding):
    """Mac Excel's Simplified Chinese (10008, which calamine refuses) and Windows GBK (936, which
    calamine decodes as noise) both give the ledger's own text."""
    rows = [[v.isoformat() if hasattr(v, "isoformat") else v for v in row] for row in hf.rows_of(ledger)]
    path = biff5_workbook(tmp_path / "东村.xls", rows, codepage=codepage, encoding="gb18030")
    [lg] = read_ledgers([path])
    _same_ledger(lg, baseline, saved=False)
    assert lg.file_format == "xls"


def test_excel95_calamine_misreads_gbk_and_refuses_mac_chinese(tmp_path):
    gbk = biff5_workbook(tmp_path / "gbk.xls", [["案件编号"]], codepage=936, encoding="gbk")
    with CalamineWorkbook.from_path(str(gbk)) as wb:
        assert wb.get_sheet_by_name(wb.sheet_names[0]).to_python()[0][0] != "案件编号"
    assert _calamine_refuses(biff5_workbook(tmp_path / "mac.xls", [["案件编号"]], codepage=10008, encoding="gb2312"))


def test_mac_roman_excel95_sheet_keeps_its_accents(tmp_path):
    path = biff5_workbook(tmp_path / "mac.xls", [["Café", "naïve"], ["Zürich", 3]], codepage=10000,
                          encoding="mac_roman", sheet="Données")
    [lg] = read_ledgers([path])
    [issue] = lg.issues
    assert issue.code == "not_a_ledger" and "“Données”" in issue.message


# --------------------------------------------------------------------------- H. lone far values

def test_a1_and_xfd1_is_read_without_the_far_value(tmp_path):
    path = hf.hand_xlsx(tmp_path / "两格.xlsx", hf.sheet_xml([[("A1", "标题"), ("XFD1", 1)]]), sheet_name="Sheet1")
    [lg] = read_ledgers([path], memory_limit_mb=300)
    assert lg.readable
    assert [i.code for i in lg.issues] == ["far_value", "not_a_ledger"]
    far = lg.issues[0]
    assert far.severity == "warning" and "XFD1" in far.message and "“Sheet1”" in far.message


def test_a_lone_far_value_on_a_second_sheet_leaves_the_ledger_whole(tmp_path, ledger, baseline):
    far = hf.sheet_xml([[("XFD1048576", 7)]]).encode()

    def change(name, data):
        if name == "xl/workbook.xml":
            data = data.replace(b"</sheets>", '<sheet name="Sheet2" sheetId="9" r:id="rId99"/></sheets>'.encode())
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.'
                                b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet99.xml"/>'
                                b"</Relationships>")
        return name, data
    path = hf._rewrite_zip(tmp_path / "东村.xlsx", ledger, change)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("xl/worksheets/sheet99.xml", far)
    [lg] = read_ledgers([path], memory_limit_mb=300)
    _same_ledger(lg, baseline, "far_value")
    warning = next(i for i in lg.issues if i.code == "far_value")
    assert "XFD1048576" in warning.message and "“Sheet2”" in warning.message


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_one_cell_at_iv65536_in_an_xls_is_read_without_it(tmp_path):
    """Two values (A1 and the one LibreOffice wrote last, moved to IV65536): read in little memory."""
    small = hf.hand_xlsx(tmp_path / "小.xlsx", hf.sheet_xml([[("A1", "说明"), ("B2", 5)]]), sheet_name="Sheet1")
    [xls] = hf.to_xls([small], tmp_path / "xls")
    far = hf.far_cell_xls(tmp_path / "远.xls", xls)
    [lg] = read_ledgers([far], memory_limit_mb=300)
    assert lg.readable and [i.code for i in lg.issues] == ["far_value", "not_a_ledger"]
    assert "IV65536" in lg.issues[0].message


# --------------------------------------------------------------------------- I. .xlsb, and no file skipped

def test_xlsb_ledger_is_read_in_full(tmp_path, ledger, baseline):
    path = ledger_as_xlsb(tmp_path / "东村.xlsb", ledger, modified="2010-10-18T01:00:00Z")
    [lg] = read_ledgers([path])
    _same_ledger(lg, baseline, saved=False)
    assert lg.file_format == "xlsb" and lg.saved is not None


def test_every_file_in_a_folder_gets_a_verdict(tmp_path, ledger):
    from toolkit import api
    folder = tmp_path / "各村"
    folder.mkdir()
    ledger_as_xlsb(folder / "东村.xlsb", ledger)
    hf.web_export(folder / "西村.xls", hf.rows_of(ledger))
    hf.disguised(folder / "说明.pdf", "pdf")
    (folder / "通知.txt").write_text("请各村周五前报送", encoding="utf-8")
    hf.docx(folder / "汇报.docx")
    by_name = {Path(lg.path).name: lg for lg in api.validate([folder], as_of="2010-10-20")}
    assert set(by_name) == {"东村.xlsb", "西村.xls", "说明.pdf", "通知.txt", "汇报.docx"}
    codes = {name: [i.code for i in lg.issues] for name, lg in by_name.items()}
    assert codes["说明.pdf"] == codes["通知.txt"] == codes["汇报.docx"] == ["not_spreadsheet"]
    assert by_name["东村.xlsb"].n_cases == by_name["西村.xls"].n_cases == N_CASES


def test_a_village_that_sends_xlsb_or_a_web_page_is_counted_not_missing(tmp_path, ledger):
    """consolidate: the .xlsb village and the web-page village are 已报; the PDF is listed, rejected."""
    from datetime import date

    from toolkit.core.settings import RosterEntry, Settings
    from toolkit.pipeline.consolidate import consolidate
    from factories.layouts import sample_cases, write_ledger
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    ledger_as_xlsb(inbox / "东村台账.xlsb", ledger)
    west = write_ledger(tmp_path / "西村.xlsx", sample_cases(3, "西村"), reporter="西村")
    hf.web_export(inbox / "西村台账.xls", hf.rows_of(west))
    hf.disguised(inbox / "南村台账.pdf", "pdf")
    settings = Settings(roster=(RosterEntry("东村"), RosterEntry("西村"), RosterEntry("南村")))
    result = consolidate(inbox, tmp_path / "总台账.xlsx", as_of=date(2010, 10, 20), settings=settings,
                         archive_root=tmp_path / "存档", state_dir=tmp_path / "状态").to_dict()
    assert {v["village"]: v["cases"] for v in result["villages"]} == {"东村": N_CASES, "西村": 3}
    assert [(r["file"], r["code"]) for r in result["rejected"]] == [("南村台账.pdf", "not_spreadsheet")]


# --------------------------------------------------------------------------- the shared-string table

def test_an_honest_6_mb_shared_string_table_passes_and_is_counted_exactly(tmp_path, monkeypatch):
    """2,500 cases with five long Chinese text columns: 12,500 strings in over 6 MB. The old
    estimate (bytes / 3) made that 2 million strings and refused the file."""
    import xlsxwriter
    path = tmp_path / "大台账.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    ws.write_row(0, 0, ["案件编号", "信访人", "信访事项", "化解措施", "稳控措施", "化解进展", "备注"])
    filler = "反映征地补偿款未足额发放要求按政策补发并追究有关人员责任" * 6
    for r in range(1, 2501):
        ws.write_row(r, 0, [f"NJ-{r:05d}", f"信访人{r}"] + [f"{r}-{c}{filler}" for c in range(5)])
    wb.close()
    sst = zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml").file_size
    assert sst > 6 * 2**20
    assert preflight(path) is None
    from toolkit.intake import xmlscan
    monkeypatch.setattr(xmlscan, "MAX_SHARED_STRINGS", 10_000)
    issue = preflight(path)
    assert issue.code == "too_large" and f"{2 * 2500 + 5 * 2500 + 7} 条文本" in issue.message
    lying = hf.lie_about_size(tmp_path / "谎报.xlsx", path, "xl/sharedStrings.xml", size=1000)
    issue = preflight(lying)               # read again and counted: the zip's claim is only a hint
    assert issue.code == "too_large" and f"{2 * 2500 + 5 * 2500 + 7} 条文本" in issue.message


# --------------------------------------------------------------------------- the loosened paths stay bounded

def test_a_far_value_beside_data_is_refused_in_every_new_path(tmp_path, ledger):
    far = hf.far_cell_sheet(tmp_path / "远.xlsx")
    _refused(hf.utf16_package(tmp_path / "远16.xlsx", far), "too_large", "XFD1048576")
    _refused(hf.missing_sheet_part(tmp_path / "远缺.xlsx", far), "too_large", "XFD1048576")
    _refused(shutil.copyfile(far, tmp_path / "远.xls"), "too_large", "XFD1048576")        # wrong extension
    _refused(hf.empty_member(tmp_path / "远空.xlsx", far), "too_large", "XFD1048576")
    rows = hf.rows_of(ledger)
    _refused(write_xlsb(tmp_path / "远.xlsb", {"台账": rows}, far=(1_048_575, 16_383)), "too_large", "XFD1048576",
             "工作表“台账”")


def test_a_lone_far_value_in_an_xlsb_is_still_refused(tmp_path):
    """Lone far values are left out of .xlsx and .xls only; an .xlsb keeps the old rule."""
    path = write_xlsb(tmp_path / "孤.xlsb", {"Sheet1": [["标题"]]}, far=(0, 16_383))
    [lg] = read_ledgers([path], memory_limit_mb=300)
    assert not lg.readable and lg.issues[0].code == "too_large"      # .xlsb: refused as before


def test_a_web_page_whose_spans_reach_far_is_refused(tmp_path):
    """Spans are counted as browsers clamp them: three cells of colspan 1000 make 3,000 columns;
    two cells spanning 65,534 rows carry their width into every row below."""
    wide = tmp_path / "宽.xls"
    wide.write_text("<html><body><table><tr>" + "<td colspan='99999'>a</td>" * 3 + "</tr></table></body></html>",
                    encoding="utf-8")
    _refused(wide, "too_large", "3000 列")
    tall = tmp_path / "高.xls"
    tall.write_text("<html><body><table>" + "<tr><td rowspan='99999' colspan='1000'>a</td></tr>" * 2
                    + "<tr><td>b</td></tr>" * 6000 + "</table></body></html>", encoding="utf-8")
    _refused(tall, "too_large", "2001 列")


def test_an_entity_bomb_in_utf16_is_refused(tmp_path):
    bomb = hf.dtd_bomb(tmp_path / "实体.xlsx")
    path = hf.utf16_package(tmp_path / "实体16.xlsx", bomb)
    part = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert part[:2] == b"\xff\xfe" and "<!ENTITY".encode("utf-16-le") in part
    _refused(path, "unreadable", "DTD")


def test_an_ole_sector_loop_is_refused_by_preflight(tmp_path):
    book = biff5_workbook(tmp_path / "原.xls", [["案件编号", "信访人", "办理状态"]], codepage=936, encoding="gbk")
    looped = sector_loop(tmp_path / "环.xls", book)
    issue = preflight(looped)
    assert issue is not None and issue.code == "unreadable" and "内部结构损坏" in issue.message
    _refused(looped, "unreadable", "内部结构损坏")


@pytest.mark.slow
@pytest.mark.libreoffice
def test_a_far_value_behind_the_default_password_of_an_xls_is_refused_by_name(tmp_path, plain_xls):
    far = hf.far_cell_xls(tmp_path / "远原.xls", plain_xls)
    path = encrypt_cryptoapi(tmp_path / "远.xls", far)
    _refused(path, "too_large", "IV65536")


def test_an_ods_repeat_bomb_without_mimetype_is_refused(tmp_path):
    bomb = hf.ods_without_mimetype(tmp_path / "重复.ods", hf.ods_repeat_bomb(tmp_path / "原.ods"))
    _refused(bomb, "too_large", "1000000 行")


# --------------------------------------------------------------------------- no parser English

@pytest.mark.slow
def test_no_parser_english_from_the_new_paths(tmp_path, ledger):
    """Broken copies of every new kind of file: whatever fails says so in Chinese."""
    import random

    from test_read_realworld import _english
    from toolkit.core.issues import CATALOGUE
    rng = random.Random(19)
    files = [hf.zip_of(tmp_path / "假.xlsb", {"xl/workbook.bin": b"x"}),
             hf.zip_of(tmp_path / "半.xlsb", {"xl/workbook.bin": b"\x83\x01\x00\x9c\x01\x30" + bytes(48)}),
             hf.disguised(tmp_path / "页.xls", "html"),
             sector_loop(tmp_path / "环.xls", biff5_workbook(tmp_path / "b5.xls", [["a"]], codepage=936,
                                                             encoding="gbk")),
             biff5_workbook(tmp_path / "未知.xls", [["a"]], codepage=4321, encoding="latin-1", sheet="S")]
    sources = {"xlsb": ledger_as_xlsb(tmp_path / "源.xlsb", ledger), "u16": hf.utf16_package(tmp_path / "源16.xlsx", ledger),
               "miss": hf.missing_sheet_part(tmp_path / "源缺.xlsx", ledger),
               "b5": biff5_workbook(tmp_path / "源.xls", hf.rows_of(ledger), codepage=10008, encoding="gb18030")}
    page = hf.web_export(tmp_path / "源页.xls", hf.rows_of(ledger)).read_bytes()
    for kind, source in sources.items():
        data = source.read_bytes()
        for i in range(8):
            path = tmp_path / f"{kind}{i}{source.suffix}"
            path.write_bytes(hf.mutate(data, rng) if data[:2] == b"PK" else _flip(data, rng))
            files.append(path)
    for i in range(4):
        (tmp_path / f"页{i}.xls").write_bytes(_flip(page, rng))
        files.append(tmp_path / f"页{i}.xls")
    seen = 0
    for path, lg in zip(files, read_ledgers(files, memory_limit_mb=300, time_limit=60)):
        for issue in lg.issues:
            assert issue.code in CATALOGUE
            if issue.cell:               # a cell's own text, quoted back: the village's words
                continue
            seen += 1
            for text in (issue.message, issue.action):
                assert not _english(text, str(path)), (path.name, text)
    assert seen >= len(files) // 2        # most broken copies say something about the file


def _flip(data: bytes, rng) -> bytes:
    b = bytearray(data[: rng.randrange(len(data) // 2, len(data))])
    for _ in range(rng.randint(1, 12)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)

"""Feature-rich village ledgers for the write-back preservation tests, and the proofs.

``build_ledger`` writes a ledger through the one sheet writer (``factories.sheet``),
then adds with xlsxwriter and a little hand editing of the package every feature fill
and annotate must not lose: VBA and a form button (.xlsm), an image, a text box,
notes, a threaded comment (parts added by hand), data validation (plain and the x14
extension kind, added by hand), conditional formats (plain and a 2010 data bar whose
x14 part lives in extLst), defined names, a table, print settings, frozen panes and
other sheets. ``build_hand_package`` writes a minimal package by hand, unlike any
library's output. The ``assert_*`` proofs compare a workbook before and after.
"""
from __future__ import annotations

import io
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from factories.sheet import (Column, Span, Styles, new_workbook, write_instructions, write_ledger_sheet,
                             xlwings_vba_project)
from toolkit.core import fields as F

STATUS_OPTIONS = ("待化解", "化解中", "已化解", "已销号", "中止")

# The ledger's columns, in sheet order. Checklist items sit under a group header row
# when ``two_header_rows`` is set (九个一 over its items), else flat.
BASE_HEADERS = ("案件编号", "村（社区）", "信访人", "身份证号", "联系电话", "信访事项", "首次信访时间",
                "交办日期", "包案领导", "责任单位", "化解分类", "化解进展", "办理状态", "办结日期",
                "延期天数")
NINE_ITEMS = ("工作小组", "协调会", "化解方案", "稳控措施", "解决期限", "会议纪要", "信访人见面")
ARCHIVE_ITEMS = tuple(i.header for i in F.CHECKLIST_BY_KEY["archive"].items)
STATUS_COL = BASE_HEADERS.index("办理状态")


@dataclass(frozen=True)
class Case:
    case_id: str
    petitioner: str
    assigned: date | None
    status: str
    closed: date | None = None
    matter: str = "宅基地纠纷"
    first: date = date(2007, 5, 1)
    ticks: int = 3            # how many 九个一 items are ticked


def sample_cases(n: int = 6) -> list[Case]:
    """Cases that, as of 2010-10-20, give 逾期, 临期, 正常, 已办结 and 中止."""
    base = [
        Case("NJ2010-001", "张三", date(2010, 7, 1), "化解中"),                       # 逾期
        Case("NJ2010-002", "李四", date(2010, 7, 26), "化解中"),                      # 临期
        Case("NJ2010-003", "王五", date(2010, 9, 1), "待化解"),                       # 正常
        Case("NJ2010-004", "赵六", date(2010, 7, 1), "已化解", closed=date(2010, 9, 20)),
        Case("NJ2010-005", "钱七", date(2010, 7, 5), "中止"),
        Case("NJ2010-006", "=HYPERLINK(\"x\")", date(2010, 8, 2), "化解中",
             matter="=1+1 不是公式"),
    ]
    out = list(base[:n])
    for i in range(len(out), n):
        b = base[i % len(base)]
        out.append(Case(f"NJ2010-{i + 1:03d}", f"信访人{i + 1}", b.assigned, b.status, b.closed))
    return out


def tiny_png() -> bytes:
    """A valid 2x2 red PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def headers(*, with_checklists: bool = True, computed: tuple[str, ...] = ()) -> list[str]:
    out = list(BASE_HEADERS)
    if with_checklists:
        out += list(NINE_ITEMS) + list(ARCHIVE_ITEMS)
    return out + list(computed)


def _columns(computed: tuple[str, ...]) -> list[Column]:
    groups = {**{h: "九个一" for h in NINE_ITEMS}, **{h: "六有" for h in ARCHIVE_ITEMS},
              **{h: F.COMPUTED_GROUP_HEADER for h in computed}}
    return [Column(h, h, groups.get(h)) for h in headers(computed=computed)]


def _values(case: Case, village: str) -> dict[str, object]:
    """One case keyed by header: fixed person data, its dates, its ticks."""
    values = {"案件编号": case.case_id, "村（社区）": village, "信访人": case.petitioner,
              "身份证号": "11010519491231002X", "联系电话": "13800138000", "信访事项": case.matter,
              "首次信访时间": case.first, "交办日期": case.assigned, "包案领导": "陈副乡长",
              "责任单位": "乡司法所", "化解分类": "依法依政策解决", "化解进展": "已开协调会",
              "办理状态": case.status, "办结日期": case.closed}
    values.update((h, "√") for h in NINE_ITEMS[:case.ticks])
    if case.status == "已化解":
        values.update((h, "√") for h in ARCHIVE_ITEMS)
    return values


def build_ledger(path: Path, cases: list[Case] | None = None, *, village: str = "东村",
                 two_header_rows: bool = False, computed: tuple[str, ...] = (),
                 rich: bool = False, instructions: bool = True,
                 extra: dict[str, str] | None = None) -> Path:
    """A ledger sheet 台账 (title, 填报单位 row, header row(s), cases, a footer), written
    through the one sheet writer, then 选项 (the status list) and the features.

    ``computed`` adds existing computed columns (e.g. ("办结期限", "预警")) at the end.
    ``rich`` adds every preservable feature (see the module docstring); with a
    .xlsm ``path`` it adds the VBA project and a form button. ``extra`` writes
    more text cells on the ledger sheet ({"AF5": "村里自己的备注"}).
    """
    path = Path(path)
    cases = sample_cases() if cases is None else cases
    macro = path.suffix.lower() == ".xlsm"
    wb = new_workbook(path, vba=xlwings_vba_project() if macro else None)
    if instructions:
        write_instructions(wb, ["填表说明：每个案件一行，日期写作 2010-07-01。"])
    ws = wb.add_worksheet("台账")
    opts = wb.add_worksheet("选项")
    for i, s in enumerate(STATUS_OPTIONS):
        opts.write_string(i, 0, s)
    styles = Styles(header=wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True,
                                          "align": "center", "valign": "vcenter"}),
                    text=wb.add_format({"border": 1}),
                    date=wb.add_format({"border": 1, "num_format": "yyyy年m月d日"}),
                    title=wb.add_format({"bold": True, "font_size": 16, "align": "center"}))
    cols = _columns(computed)
    shape = write_ledger_sheet(
        ws, cols, [_values(c, village) for c in cases], styles,
        title=f"南郊乡{village}信访积案化解工作台账",
        reporter=[Span(0, 0, f"填报单位（盖章）：{village}"), Span(8, 8, "填报日期：2010年9月18日")],
        header_rows=2 if two_header_rows else 1, lone="lower",
        footer=[[], [Span(0, 0, "填表人：李明    审核人：王芳")]])
    hr = shape.header_rows[-1] - 1          # 0-based row of the column headers
    last = hr + len(cases)
    ws.set_column(0, len(cols) - 1, 11)
    ws.freeze_panes(hr + 1, 3)
    for ref, text in (extra or {}).items():
        ws.write_string(ref, text)
    if rich:
        _rich_features(wb, ws, opts, hr, last, len(cols), macro)
    wb.close()
    if rich:
        add_x14_validation(path, "台账", f"{_col(STATUS_COL)}5:{_col(STATUS_COL)}200", "选项!$A$1:$A$5")
        add_threaded_comment(path, "台账", "C5", "请核实信访人姓名")
    return path


def _col(c: int) -> str:
    from toolkit.core.cells import column_letter
    return column_letter(c)


def _rich_features(wb, ws, opts, hr: int, last: int, ncols: int, macro: bool) -> None:
    ws.data_validation(hr + 1, STATUS_COL, 200, STATUS_COL,
                       {"validate": "list", "source": list(STATUS_OPTIONS)})
    ws.conditional_format(hr + 1, STATUS_COL, 200, STATUS_COL,
                          {"type": "cell", "criteria": "==", "value": '"中止"',
                           "format": wb.add_format({"font_color": "#808080"})})
    ext = BASE_HEADERS.index("延期天数")
    ws.conditional_format(hr + 1, ext, last, ext, {"type": "data_bar", "data_bar_2010": True})
    ws.write_comment(hr + 1, 0, "乡信访办：编号已核对", {"author": "乡信访办"})
    ws.write_comment(hr + 1, 2, "[Threaded comment]\n请核实信访人姓名", {"author": "乡信访办"})
    ws.insert_image(last + 4, 1, "seal.png", {"image_data": io.BytesIO(tiny_png())})
    ws.insert_textbox(last + 4, 4, "乡信访办审核意见：请按期办结", {"width": 240, "height": 50})
    if macro:
        ws.insert_button(1, 12, {"macro": "SampleCall", "caption": "计算期限", "width": 100})
    ws.set_landscape()
    ws.set_paper(9)
    ws.repeat_rows(0, hr)
    ws.print_area(0, 0, last, ncols - 1)
    ws.fit_to_pages(1, 0)
    ws.set_header("&C南郊乡信访积案台账")
    ws.set_footer("&C第 &P 页")
    wb.define_name("状态选项", "=选项!$A$1:$A$5")
    wb.define_name("台账!本村名称", '="东村"')
    stats = wb.add_worksheet("统计")
    stats.add_table(0, 0, 3, 2, {"name": "统计表", "columns": [
        {"header": "状态"}, {"header": "件数"}, {"header": "备注"}],
        "data": [["化解中", 3, ""], ["已化解", 1, ""], ["中止", 1, ""]]})
    stats.write_formula(5, 1, "=SUM(统计表[件数])", None, 5)
    stats.insert_image(6, 0, "chart.png", {"image_data": io.BytesIO(tiny_png())})
    opts.hide()


# --------------------------------------------------------------------------- by hand
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _rewrite_zip(path: Path, change) -> None:
    """Rewrite ``path`` with ``change(dict name->bytes) -> dict`` (member order kept, new last)."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        parts = {i.filename: z.read(i.filename) for i in infos}
    new = change(dict(parts))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for i in infos:
            if i.filename in new:
                out.writestr(i, new[i.filename])
        for name, data in new.items():
            if name not in parts:
                out.writestr(name, data)
    shutil.move(tmp, path)


def sheet_part(path: Path, sheet: str) -> str:
    """The zip member of the worksheet called ``sheet``."""
    from lxml import etree
    with zipfile.ZipFile(path) as z:
        wb = etree.fromstring(z.read("xl/workbook.xml"))
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    rid = None
    for s in wb.iter(f"{{{_MAIN}}}sheet"):
        if s.get("name") == sheet:
            rid = next(v for k, v in s.attrib.items() if k.endswith("}id"))
    for r in rels:
        if r.get("Id") == rid:
            t = r.get("Target")
            return t.lstrip("/") if t.startswith("/") else "xl/" + t
    raise KeyError(sheet)


def add_x14_validation(path: Path, sheet: str, sqref: str, source: str) -> None:
    """A list validation whose source is on another sheet, as Excel 2010+ writes it."""
    part = sheet_part(path, sheet)
    ext = ('<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
           '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
           f'<x14:formula1><xm:f>{source}</xm:f></x14:formula1><xm:sqref>{sqref}</xm:sqref>'
           '</x14:dataValidation></x14:dataValidations></ext>')

    def change(parts):
        xml = parts[part].decode("utf-8")
        if "<extLst>" in xml:
            xml = xml.replace("</extLst>", ext + "</extLst>")
        else:
            xml = xml.replace("</worksheet>", f"<extLst>{ext}</extLst></worksheet>")
        parts[part] = xml.encode("utf-8")
        return parts
    _rewrite_zip(path, change)


def add_threaded_comment(path: Path, sheet: str, ref: str, text: str) -> None:
    """A threaded comment (Excel 365) with its person list: parts, rels, content types."""
    part = sheet_part(path, sheet)
    folder, name = part.rsplit("/", 1)
    rels_name = f"{folder}/_rels/{name}.rels"
    person = "{5F1D2A3B-0000-4000-8000-000000000001}"
    tc_ns = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
    rel_tc = "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment"
    rel_person = "http://schemas.microsoft.com/office/2017/10/relationships/person"

    def change(parts):
        parts["xl/threadedComments/threadedComment1.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<ThreadedComments xmlns="{tc_ns}" xmlns:x="{_MAIN}"><threadedComment ref="{ref}" '
            f'dT="2010-09-18T10:00:00.00" personId="{person}" '
            'id="{5F1D2A3B-0000-4000-8000-0000000000AA}"><text>' + text + '</text></threadedComment>'
            '</ThreadedComments>').encode("utf-8")
        parts["xl/persons/person.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<personList xmlns="{tc_ns}" xmlns:x="{_MAIN}"><person displayName="乡信访办" '
            f'id="{person}" userId="乡信访办" providerId="None"/></personList>').encode("utf-8")
        rels = parts[rels_name].decode("utf-8")
        parts[rels_name] = rels.replace("</Relationships>", (
            f'<Relationship Id="rIdTC1" Type="{rel_tc}" '
            'Target="../threadedComments/threadedComment1.xml"/></Relationships>')).encode("utf-8")
        wrels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
        parts["xl/_rels/workbook.xml.rels"] = wrels.replace("</Relationships>", (
            f'<Relationship Id="rIdP1" Type="{rel_person}" Target="persons/person.xml"/>'
            '</Relationships>')).encode("utf-8")
        ct = parts["[Content_Types].xml"].decode("utf-8")
        parts["[Content_Types].xml"] = ct.replace("</Types>", (
            '<Override PartName="/xl/threadedComments/threadedComment1.xml" '
            'ContentType="application/vnd.ms-excel.threadedcomments+xml"/>'
            '<Override PartName="/xl/persons/person.xml" '
            'ContentType="application/vnd.ms-excel.person+xml"/></Types>')).encode("utf-8")
        return parts
    _rewrite_zip(path, change)


ROWLESS_SHEET = ('<x:sheetData><x:row><x:c t="s"><x:v>0</x:v></x:c><x:c t="s"><x:v>1</x:v></x:c></x:row>'
                 '<x:row><x:c><x:v>1</x:v></x:c><x:c><x:f>A2*2</x:f><x:v>2</x:v></x:c></x:row>'
                 '<x:row r="5"><x:c><x:v>3</x:v></x:c></x:row></x:sheetData>')
SHARED_FORMULA_SHEET = ('<x:sheetData>'
                        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c><x:c r="B1"><x:f t="shared" ref="B1:B3" si="0">A1*2</x:f><x:v>2</x:v></x:c></x:row>'
                        '<x:row r="2"><x:c r="A2"><x:v>2</x:v></x:c><x:c r="B2"><x:f t="shared" si="0"/><x:v>4</x:v></x:c></x:row>'
                        '<x:row r="3"><x:c r="A3"><x:v>3</x:v></x:c><x:c r="B3"><x:f t="shared" si="0"/><x:v>6</x:v></x:c></x:row>'
                        '</x:sheetData>')


def build_hand_package(path: Path, sheet_data: str = ROWLESS_SHEET,
                       calc_chain: str = '<c r="B2" i="7"/>') -> Path:
    """A minimal hand-written package, unlike any library's output: a prefixed main
    namespace (x:), rows and cells that may omit r, an absolute relationship target,
    no styles part, a shared string table, a calcChain, and a STORED member."""
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/s.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
          '<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8"?><x:workbook xmlns:x="' + _MAIN + '" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          '<x:sheets><x:sheet name="台账" sheetId="7" r:id="rId9"/></x:sheets></x:workbook>')
    wrels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/s.xml"/>'
             '<Relationship Id="rId10" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
             '<Relationship Id="rId11" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
             '</Relationships>')
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="' + _MAIN + '">'
             + sheet_data + '</x:worksheet>')
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="' + _MAIN + '" count="2" uniqueCount="2">'
           '<si><t>案件编号</t></si><si><t>信访人</t></si></sst>')
    chain = f'<?xml version="1.0" encoding="UTF-8"?><calcChain xmlns="{_MAIN}">{calc_chain}</calcChain>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wrels)
        z.writestr("xl/worksheets/s.xml", sheet)
        z.writestr("xl/sharedStrings.xml", sst)
        z.writestr("xl/calcChain.xml", chain)
        zi = zipfile.ZipInfo("docProps/stored.txt", date_time=(2010, 9, 18, 10, 0, 0))
        zi.compress_type = zipfile.ZIP_STORED
        z.writestr(zi, "stored member")
    return path


def members(path: Path) -> dict[str, bytes]:
    """Every zip member, decompressed."""
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def shared_strings_unchanged(before: Path, after: Path) -> bool:
    a, b = members(before), members(after)
    return a.get("xl/sharedStrings.xml") == b.get("xl/sharedStrings.xml")


# --------------------------------------------------------------------------- proofs
def assert_parts_preserved(before: Path, after: Path, *, changed: set[str] = frozenset(),
                           added: set[str] = frozenset(), removed: set[str] = frozenset()) -> None:
    """Every member of ``before`` except ``changed``/``removed`` is in ``after`` with the same
    decompressed bytes and compression type, in the same order; ``after`` adds only ``added``."""
    with zipfile.ZipFile(before) as za, zipfile.ZipFile(after) as zb:
        ia = {i.filename: i for i in za.infolist()}
        ib = {i.filename: i for i in zb.infolist()}
        kept = [n for n in ia if n not in removed]
        assert [n for n in ib if n not in added] == kept, "member order or set differs"
        assert set(ib) - set(kept) == set(added), f"unexpected new members {set(ib) - set(kept)}"
        for n in kept:
            assert ib[n].compress_type == ia[n].compress_type, n
            if n not in changed:
                assert zb.read(n) == za.read(n), f"{n} changed"


def _tree(path: Path, part: str):
    from lxml import etree
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read(part))


def _c14n(el) -> bytes:
    from lxml import etree
    return etree.tostring(el, method="c14n")


def assert_sheet_preserved(before: Path, after: Path, part: str, edited_cells: set[str],
                           layout: tuple[str, ...] = ("dimension", "cols", "mergeCells")) -> None:
    """In the edited sheet, every element but sheetData (and the ``layout`` ones) is unchanged,
    extLst (x14 validation, data bars) included, and every cell not in ``edited_cells`` too."""
    from lxml import etree
    a, b = _tree(before, part), _tree(after, part)
    skip = {"sheetData", *layout}
    ka = [_c14n(el) for el in a if etree.QName(el).localname not in skip]
    kb = [_c14n(el) for el in b if etree.QName(el).localname not in skip]
    assert ka == kb, "sheet elements outside sheetData changed"
    cells_a = {c.get("r"): _c14n(c) for c in a.iter(f"{{{_MAIN}}}c")}
    cells_b = {c.get("r"): _c14n(c) for c in b.iter(f"{{{_MAIN}}}c")}
    for ref, xml in cells_a.items():
        if ref not in edited_cells:
            assert cells_b.get(ref) == xml, f"cell {ref} changed"
    assert set(cells_b) - set(cells_a) <= edited_cells, "cells appeared that were not edited"


def assert_styles_appended(before: Path, after: Path, part: str = "xl/styles.xml") -> None:
    """Existing fonts, fills, borders, number formats and cell formats keep their index."""
    from lxml import etree
    a, b = _tree(before, part), _tree(after, part)
    for name in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                 "dxfs"):
        ea, eb = a.find(f"{{{_MAIN}}}{name}"), b.find(f"{{{_MAIN}}}{name}")
        if ea is None:
            continue
        old = [_c14n(x) for x in ea if isinstance(x.tag, str)]
        new = [_c14n(x) for x in eb if isinstance(x.tag, str)]
        assert new[:len(old)] == old, f"{name} renumbered"
        if eb.get("count") is not None:
            assert int(eb.get("count")) == len(new), f"{name} count"
    _ = etree


def cell_fill(path: Path, sheet: str, ref: str) -> str | None:
    """The solid fill colour (ARGB) of a cell, read by openpyxl (a second reader)."""
    import openpyxl
    wb = openpyxl.load_workbook(path)
    fill = wb[sheet][ref].fill
    return fill.fgColor.rgb if fill is not None and fill.fill_type == "solid" else None

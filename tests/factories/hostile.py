"""Builders of hostile and broken files for the intake tests (all made in code).

Every builder writes one file at the path given and returns that path. The big
ones stream their content through zipfile so a test never holds it in memory.
"""
from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_EMPTY_SST = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {_NS} count="0" uniqueCount="0"/>'


def sheet_xml(rows: list[list[tuple[str, object]]] | None = None, *, dimension: str | None = None,
              prolog: str = "") -> str:
    """A worksheet part; ``rows`` is a list of [(cell ref, value), ...] (numbers inline)."""
    body = []
    for cells in rows or []:
        if not cells:
            continue
        r = "".join(ch for ch in cells[0][0] if ch.isdigit())
        cs = "".join(_cell(ref, v) for ref, v in cells)
        body.append(f'<row r="{r}">{cs}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}'
            f'<worksheet {_NS}>{dim}<sheetData>{"".join(body)}</sheetData></worksheet>')


def _cell(ref: str, v: object) -> str:
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"><v>{v}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'


def hand_xlsx(path: Path, sheet: str, *, shared_strings: str = _EMPTY_SST, sheet_name: str = "台账",
              extra: dict[str, bytes] | None = None) -> Path:
    """A minimal workbook zipped by hand (no library to tidy up what we write)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(name=sheet_name))
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def good_workbook(path: Path, *, cases: int = 12) -> Path:
    """A small, honest ledger-like workbook written by xlsxwriter."""
    import xlsxwriter
    rng = random.Random(7)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    ws.write_row(0, 0, ["某某村信访积案台账"])
    ws.write_row(1, 0, ["填报单位：某某村", "", "填报日期：2024-05-06"])
    ws.write_row(2, 0, ["序号", "案件编号", "信访人", "身份证号", "联系电话", "首次信访时间", "办理状态"])
    for i in range(cases):
        ws.write_row(3 + i, 0, [i + 1, f"XF-{i + 1:03d}", f"张{i}", f"3201{rng.randrange(10**13, 10**14)}",
                                f"139{rng.randrange(10**7, 10**8)}", "2010-07-01", "化解中"])
    wb.close()
    return path


def truncated_zip(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def encrypted_workbook(path: Path, source: Path, password: str = "1234") -> Path:
    """An OOXML workbook encrypted the way Excel does it (an OLE container)."""
    from msoffcrypto.format.ooxml import OOXMLFile
    with open(source, "rb") as src, open(path, "wb") as out:
        OOXMLFile(src).encrypt(password, out)
    return path


def far_cell_sheet(path: Path) -> Path:
    """~5 KB: a few honest rows, then a cell at XFD1048576, and the dimension to match."""
    rows = [[(f"{c}{r}", f"值{r}{c}") for c in "ABCDEFGH"] for r in range(1, 8)]
    rows.append([("XFD1048576", 1)])
    sheet = sheet_xml(rows, dimension="A1:XFD1048576")
    sheet = sheet.replace("<sheetData>", "<sheetData>" + "<!-- padding -->" * 160)
    return hand_xlsx(path, sheet)


def declared_only_sheet(path: Path) -> Path:
    """Tiny content, but <dimension ref="A1:XFD1048576">."""
    return hand_xlsx(path, sheet_xml([[("A1", 1)]], dimension="A1:XFD1048576"))


def huge_string_zip(path: Path, gib: float = 1.0) -> Path:
    """~1 MB zip whose sharedStrings holds one string of ``gib`` GiB; its headers tell the truth.

    Built in well under a second without ever holding or compressing the string:
    one 16 MiB block of "A" is deflated once, ending on a full flush (which resets
    the compressor), so the same compressed bytes can be repeated in the stream.
    See ``lie_about_size`` for a copy whose headers lie.
    """
    sheet = sheet_xml([[("A1", 0)]]).replace('<c r="A1"><v>0</v></c>', '<c r="A1" t="s"><v>0</v></c>')
    head = (f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="1" uniqueCount="1">'
            "<si><t>").encode()
    tail, block, repeats = b"</t></si></sst>", b"A" * (16 * 2**20), int(gib * 64)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)
    middle = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    last = z.compress(tail) + z.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    members = [(name, [_deflate(text.encode())], zlib.crc32(text.encode()), len(text.encode()))
               for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                                  ("xl/workbook.xml", _WORKBOOK.format(name="台账")),
                                  ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                                  ("xl/worksheets/sheet1.xml", sheet))]
    size = len(head) + repeats * len(block) + len(tail)
    members.append(("xl/sharedStrings.xml", [first] + [middle] * repeats + [last], crc, size))
    _raw_zip(path, members)
    return path


def _deflate(data: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush()


def _raw_zip(path: Path, members: list[tuple[str, list[bytes], int, int]]) -> None:
    """Write a zip from already-deflated members: (name, compressed pieces, crc32, size)."""
    central = []
    with open(path, "wb") as f:
        for name, pieces, crc, size in members:
            raw_name, offset = name.encode("utf-8"), f.tell()
            csize = sum(map(len, pieces))
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 8, 0, 0x21, crc, csize, size,
                                len(raw_name), 0) + raw_name)
            for piece in pieces:
                f.write(piece)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, 8, 0, 0x21,
                                       crc, csize, size, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)
        start = f.tell()
        for entry in central:
            f.write(entry)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                            f.tell() - start, start, 0))


def dtd_bomb(path: Path) -> Path:
    """The "billion laughs" entity expansion inside a worksheet."""
    lol = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                     for i in range(1, 10)]
    prolog = f'<!DOCTYPE worksheet [{"".join(lol)}]>'
    return hand_xlsx(path, sheet_xml([[("A1", "&lol9;")]], prolog=prolog))


def lying_zip_bomb(path: Path, mib: int = 64) -> Path:
    """A member that says it holds 1,000 bytes but inflates to ``mib`` MiB of zeros."""
    hand_xlsx(path, sheet_xml([[("A1", 1)]]))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/media/image1.png", "w") as f:
            block = bytes(4 * 2**20)
            for _ in range(mib // 4):
                f.write(block)
    return lie_about_size(path, path, "xl/media/image1.png")


def lie_about_size(path: Path, source: Path, member: str, size: int = 1000) -> Path:
    """Copy ``source`` to ``path`` with ``member``'s uncompressed size set to ``size`` in both headers."""
    data = bytearray(source.read_bytes())
    name = member.encode()
    local = _find_header(data, b"PK\x03\x04", 26, name)
    struct.pack_into("<I", data, local + 22, size)          # uncompressed size (local header)
    central = _find_header(data, b"PK\x01\x02", 28, name)
    struct.pack_into("<I", data, central + 24, size)        # uncompressed size (central directory)
    path.write_bytes(bytes(data))
    return path


def _find_header(data: bytearray, sig: bytes, name_len_at: int, name: bytes) -> int:
    pos = data.find(sig)
    while pos >= 0:
        n = struct.unpack_from("<H", data, pos + name_len_at)[0]
        start = pos + (30 if sig == b"PK\x03\x04" else 46)
        if data[start:start + n] == name:
            return pos
        pos = data.find(sig, pos + 4)
    raise ValueError(name)


def ods_repeat_bomb(path: Path, rows: int = 1_000_000, cols: int = 1000) -> Path:
    """OpenDocument sheet: one content cell repeated ``rows`` x ``cols`` times, in 1 KB."""
    cell = (f'<table:table-cell table:number-columns-repeated="{cols}" office:value-type="float" '
            'office:value="1"><text:p>1</text:p></table:table-cell>')
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="台账">'
        f'<table:table-row table:number-rows-repeated="{rows}">{cell}</table:table-row>'
        '</table:table></office:spreadsheet></office:body></office:document-content>')
    return _ods(path, content)


def good_ods(path: Path) -> Path:
    """A small ODS written the LibreOffice way: trailing empty rows with a huge repeat count."""
    row = ('<table:table-row><table:table-cell office:value-type="string"><text:p>案件编号</text:p>'
           '</table:table-cell><table:table-cell table:number-columns-repeated="1023"/></table:table-row>')
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="台账">' + row * 3 +
        '<table:table-row table:number-rows-repeated="1048573"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>'
        '</table:table></office:spreadsheet></office:body></office:document-content>')
    return _ods(path, content)


def _ods(path: Path, content: str) -> Path:
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def docx(path: Path) -> Path:
    return zip_of(path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def disguised(path: Path, kind: str) -> Path:
    """A file of another kind given a spreadsheet name: text, csv, html, pdf, png, exe."""
    content = {
        "text": "这是一份说明，不是表格。\n".encode("utf-8") * 20,
        "csv": "案件编号,信访人\nXF-001,张三\n".encode("gbk"),
        # a web page with no table (a download page saved under the file's name); a page
        # with a table is what web systems export as .xls, and is read (web_export below)
        "html": "<html><head><meta charset='utf-8'></head><body><p>文件下载</p></body></html>".encode(),
        "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "exe": b"MZ\x90\x00" + bytes(60) + b"This program cannot be run in DOS mode.",
    }[kind]
    path.write_bytes(content)
    return path


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation of a workbook's bytes: byte flips, a truncation, or a flip inside the XML."""
    how = rng.choice(["flip", "flip", "truncate", "xml", "xml", "xml"])
    if how == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)
    if how == "truncate":
        return data[: rng.randrange(1, len(data))]
    return _mutate_inside(data, rng)


def _mutate_inside(data: bytes, rng: random.Random) -> bytes:
    """Change bytes inside one decompressed XML part, then zip it all up again (valid zip)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    names = [n for n in src.namelist() if n.endswith((".xml", ".rels"))]
    victim = rng.choice(names)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            part = bytearray(src.read(name))
            if name == victim and part:
                for _ in range(rng.randint(1, 6)):
                    i = rng.randrange(len(part))
                    part[i] = rng.choice(b'<>"/=&;:0123456789AZ\x00\xff \xe4')
            z.writestr(name, bytes(part))
    return out.getvalue()


def to_xls(sources: list[Path], out_dir: Path) -> list[Path]:
    """Convert workbooks to legacy .xls with LibreOffice, all in one soffice call."""
    from factories.libreoffice import convert
    return convert(sources, "xls", out_dir, timeout=180)


def far_cell_xls(path: Path, source: Path) -> Path:
    """Copy an .xls and move its last cell record to IV65536 (the furthest BIFF8 cell)."""
    import olefile
    import shutil
    shutil.copyfile(source, path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        data = bytearray(ole.openstream("Workbook").read())
        pos, last = 0, None
        while pos + 4 <= len(data):
            rtype, size = struct.unpack_from("<HH", data, pos)
            if rtype in (0x0203, 0x027E, 0x00FD):          # NUMBER, RK, LABELSST
                last = pos
            pos += 4 + size
        struct.pack_into("<HH", data, last + 4, 65535, 255)
        ole.write_stream("Workbook", bytes(data))
    return path


def encrypted_xls(path: Path, source: Path) -> Path:
    """Copy an .xls and turn its WRITEACCESS record into a FILEPASS (RC4) one, as Excel's
    "encrypt with password" leaves it (the rest stays readable: only the marker matters here)."""
    import olefile
    import shutil
    shutil.copyfile(source, path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        data = bytearray(ole.openstream("Workbook").read())
        pos = 0
        while pos + 4 <= len(data):
            rtype, size = struct.unpack_from("<HH", data, pos)
            if rtype == 0x005C:                              # WRITEACCESS
                struct.pack_into("<HHH", data, pos, 0x002F, size, 1)
                break
            pos += 4 + size
        ole.write_stream("Workbook", bytes(data))
    return path


# --------------------------------------------------------------------------- odd but honest files
# What Excel, WPS and LibreOffice open without a question (issue 10): each builder
# copies a real ledger and changes only what the office program would have written.

def _rewrite_zip(path: Path, source: Path, change) -> Path:
    """Copy the zip ``source`` to ``path``; ``change(name, data)`` returns (new name, new data) or None to drop."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            kept = change(name, src.read(name))
            if kept is not None:
                out.writestr(kept[0], kept[1])
    return path


def whole_rows_formatted(path: Path, source: Path, last: str = "XFD") -> Path:
    """WPS-style: every row formatted to the last column ends in a styled empty cell
    (``<c r="XFD3" s="0"/>``), an empty formatted row sits at 1048576 and the declared
    dimension spans the whole grid."""
    import re

    def change(name: str, data: bytes):
        if not name.startswith("xl/worksheets/"):
            return name, data
        data = re.sub(rb'<row r="([0-9]+)"([^>]*)>(.*?)</row>',
                      lambda m: b'<row r="%s"%s>%s<c r="%s%s" s="0"/></row>' % (
                          m.group(1), m.group(2), m.group(3), last.encode(), m.group(1)), data, flags=re.S)
        data = data.replace(b"</sheetData>", b'<row r="1048576" s="0" customFormat="1">'
                            b'<c r="A1048576" s="0" t="n"/><c r="%s1048576" s="0"/></row></sheetData>'
                            % last.encode())
        data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:%s1048576"/>' % last.encode(), data)
        return name, data
    return _rewrite_zip(path, source, change)


_MACRO_KINDS = {
    "macrosheet": ("xl/macrosheets/sheet9.xml", "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
                   "application/vnd.ms-excel.macrosheet+xml", "xm:macrosheet"),
    "dialogsheet": ("xl/dialogsheets/sheet9.xml",
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/dialogsheet",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.dialogsheet+xml", "dialogsheet"),
}


def with_macro_sheet(path: Path, source: Path, kind: str = "macrosheet") -> Path:
    """The ledger plus an empty Excel 4.0 macro sheet (or a dialog sheet), wired in as Excel does."""
    part, rel_type, content_type, root = _MACRO_KINDS[kind]
    xm = ' xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"' if root.startswith("xm:") else ""
    body = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{root} {_NS}{xm}>'
            f'<sheetData/></{root}>').encode()
    target = part.split("/", 1)[1]

    def change(name: str, data: bytes):
        if name == "xl/workbook.xml":
            data = data.replace(b"</sheets>", '<sheet name="宏1" sheetId="9" r:id="rId90"/></sheets>'.encode())
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", f'<Relationship Id="rId90" Type="{rel_type}" '
                                f'Target="{target}"/></Relationships>'.encode())
        elif name == "[Content_Types].xml":
            data = data.replace(b"</Types>", f'<Override PartName="/{part}" ContentType="{content_type}"/>'
                                f'</Types>'.encode())
        return name, data
    _rewrite_zip(path, source, change)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr(part, body)
    return path


def workbook_outside_xl(path: Path, source: Path, folder: str = "book") -> Path:
    """The same package with its workbook under ``folder/`` instead of ``xl/``; _rels/.rels points there."""
    def change(name: str, data: bytes):
        if name == "_rels/.rels" or name == "[Content_Types].xml":
            data = data.replace(b'"xl/', f'"{folder}/'.encode()).replace(b'"/xl/', f'"/{folder}/'.encode())
        return (f"{folder}/" + name[3:] if name.startswith("xl/") else name), data
    return _rewrite_zip(path, source, change)


def biff_old(path: Path, version: int = 2, rows: list[list] | None = None) -> Path:
    """An Excel 2.x/3.0/4.0 worksheet (a bare BIFF2/3/4 stream, no OLE container), byte by byte:
    BOF, CODEPAGE 936 (GBK, as Chinese Excel wrote it), a LABEL per text cell and a NUMBER per
    number (dates as text, which the reader accepts), EOF."""
    bof_type = {2: 0x0009, 3: 0x0209, 4: 0x0409}[version]
    label, number = (0x0004, 0x0003) if version == 2 else (0x0204, 0x0203)
    out = bytearray()
    bof = struct.pack("<HH", 0x0002 if version == 2 else 0x0000, 0x0010) + (b"" if version == 2 else bytes(2))
    out += struct.pack("<HH", bof_type, len(bof)) + bof
    out += struct.pack("<HHH", 0x0042, 2, 936)
    for r, row in enumerate(rows or [["案件编号", "信访人", "办理状态"], ["NJ-1", "张三", "化解中"]]):
        for c, value in enumerate(row):
            cell = struct.pack("<HH", r, c) + (b"\0\0\0" if version == 2 else struct.pack("<H", 0x0F))
            if value is None or value == "":
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out += struct.pack("<HH", number, len(cell) + 8) + cell + struct.pack("<d", value)
                continue
            raw = str(value).encode("gbk")[:255]
            body = cell + (struct.pack("<B", len(raw)) if version == 2 else struct.pack("<H", len(raw))) + raw
            out += struct.pack("<HH", label, len(body)) + body
    out += struct.pack("<HH", 0x000A, 0)
    path.write_bytes(bytes(out))
    return path


def ledger_as_biff(path: Path, source: Path, version: int = 2) -> Path:
    """The ledger sheet of ``source`` (read with calamine) saved as an Excel 2.x-4.0 file."""
    from python_calamine import CalamineWorkbook
    with CalamineWorkbook.from_path(str(source)) as wb:
        rows = wb.get_sheet_by_name(wb.sheet_names[0]).to_python(skip_empty_area=False)
    text = [[v.isoformat() if hasattr(v, "isoformat") else v for v in row] for row in rows]
    return biff_old(path, version, text)


def styled_blank_far_xls(path: Path, source: Path) -> Path:
    """Copy an .xls and move its formatting-only cell records (BLANK, MULBLANK) to row 65536,
    column IV, as a row formatted to the last column leaves them; values stay where they were."""
    import olefile
    import shutil
    shutil.copyfile(source, path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        data = bytearray(ole.openstream("Workbook").read())
        pos, moved = 0, 0
        while pos + 4 <= len(data):
            rtype, size = struct.unpack_from("<HH", data, pos)
            if rtype == 0x0201:                              # BLANK: row, col, xf
                struct.pack_into("<HH", data, pos + 4, 65535, 255)
                moved += 1
            elif rtype == 0x00BE:                            # MULBLANK: row, first col, xfs, last col
                struct.pack_into("<H", data, pos + 4, 65535)
                struct.pack_into("<H", data, pos + 4 + size - 2, 255)
                moved += 1
            pos += 4 + size
        assert moved, "no BLANK/MULBLANK record to move"
        ole.write_stream("Workbook", bytes(data))
    return path


# --------------------------------------------------------------------------- round 3 (issue 19)
# Valid packages Excel, WPS and LibreOffice open that python-calamine 0.9 refuses, each made
# from an honest ledger by changing only what the producing program would have written.

def utf16_package(path: Path, source: Path) -> Path:
    """Every XML part in UTF-16 with a byte order mark, as some generators write them."""
    def change(name: str, data: bytes):
        if name.endswith((".xml", ".rels")):
            text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
            return name, text.encode("utf-16")
        return name, data
    return _rewrite_zip(path, source, change)


def sheet_state(path: Path, source: Path, state: str = "show") -> Path:
    """``<sheet ... state="show">``: not a value of the schema, and Excel shows the sheet."""
    import re
    return _rewrite_zip(path, source, lambda n, d: (n, re.sub(rb"(<sheet [^>]*?)(/?>)", rb'\1 state="%s"\2' % state.encode(), d, count=1)
                                                 if n == "xl/workbook.xml" else d))


def bad_dimension(path: Path, source: Path, ref: str = "A1:") -> Path:
    """A ``<dimension ref>`` calamine cannot parse ("A1:", written by some report generators)."""
    import re
    return _rewrite_zip(path, source, lambda n, d: (n, re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="%s"/>'
                                                              % ref.encode(), d) if n.startswith("xl/worksheets/") else d))


def missing_sheet_part(path: Path, source: Path, name: str = "汇总", with_relationship: bool = True) -> Path:
    """The workbook lists a second sheet whose part is not in the package (with or without
    its relationship), as a tool that failed half-way through writing leaves it."""
    def change(member: str, data: bytes):
        if member == "xl/workbook.xml":
            data = data.replace(b"</sheets>", f'<sheet name="{name}" sheetId="9" r:id="rId99"/></sheets>'.encode())
        elif member == "xl/_rels/workbook.xml.rels" and with_relationship:
            data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                                b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet99.xml"/>'
                                b"</Relationships>")
        return member, data
    return _rewrite_zip(path, source, change)


def empty_member(path: Path, source: Path, member: str = "docProps/thumbnail.wmf") -> Path:
    """The package plus a 0-byte member stored "deflated" with no compressed bytes at all, as
    Excel 2010 writes an empty thumbnail (Python's zipfile would write two bytes instead)."""
    data = bytearray(Path(source).read_bytes())
    end = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack_from("<HII", data, end + 10)
    name = member.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, 0, 0, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0, 0, 0, len(name), 0, 0, 0,
                          0, 0, cd_offset) + name
    directory = bytes(data[cd_offset:cd_offset + cd_size]) + central
    out = bytes(data[:cd_offset]) + local
    out += directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count + 1, count + 1, len(directory),
                                   len(out), 0)
    Path(path).write_bytes(out)
    return Path(path)


def ods_without_mimetype(path: Path, source: Path) -> Path:
    """An .ods with no ``mimetype`` member (some export tools leave it out; LibreOffice opens it)."""
    return _rewrite_zip(path, source, lambda n, d: None if n == "mimetype" else (n, d))


def web_export(path: Path, rows: list[list], *, encoding: str = "gb18030", charset: str = "gb2312",
               sheet: str = "信访台账") -> Path:
    """What a web system's "导出Excel" sends: an HTML table in GBK, Excel's sheet name in a
    conditional comment, text cells marked ``mso-number-format:"\\@"`` so Excel keeps IDs."""
    def cell(v: object) -> str:
        text = "" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v)
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
        return f'<td style=\'mso-number-format:"\\@"\'>{text}</td>'
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>\n" for row in rows)
    page = (f'<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
            f"<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet><x:Name>{sheet}"
            f"</x:Name></x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook></xml><![endif]-->"
            f"<title>导出数据</title></head><body><table border=\"1\">\n{body}</table></body></html>")
    Path(path).write_bytes(page.encode(encoding))
    return Path(path)


def rows_of(source: Path) -> list[list]:
    """The first sheet's values of a workbook, as python-calamine reads them."""
    from python_calamine import CalamineWorkbook
    with CalamineWorkbook.from_path(str(source)) as wb:
        return wb.get_sheet_by_name(wb.sheet_names[0]).to_python(skip_empty_area=False)

"""Excel binary workbooks (.xlsb) written record by record, as MS-XLSB lays them out: no
program on the test machine writes .xlsb (LibreOffice reads it only), so the fixtures are
built here from the values a real ledger holds.

A BIFF12 record is a type (1-2 byte varint), a size (1-4 byte varint) and a body. Strings
go to the shared string table (BrtCellIsst), numbers are BrtCellReal, dates are numbers
with a date style (built-in format 14), as Excel stores them.
"""
from __future__ import annotations

import struct
import zipfile
from datetime import date, datetime
from pathlib import Path

_EPOCH = date(1899, 12, 30)
_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '{overrides}'
       '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
       '</Types>')
_ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'officeDocument" Target="xl/workbook.bin"/>'
              '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
              'core-properties" Target="docProps/core.xml"/></Relationships>')
_CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
         'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>村信访信息员</dc:creator>'
         '<dcterms:modified xsi:type="dcterms:W3CDTF">{modified}</dcterms:modified></cp:coreProperties>')
_REL = ('<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}" '
        'Target="{target}"/>')


def record(typ: int, body: bytes = b"") -> bytes:
    head = bytes([typ]) if typ < 0x80 else bytes([(typ & 0x7F) | 0x80, typ >> 7])
    size, out = len(body), bytearray()
    while True:
        byte = size & 0x7F
        size >>= 7
        out.append(byte | (0x80 if size else 0))
        if not size:
            break
    return head + bytes(out) + body


def wide(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw) // 2) + raw


def write_xlsb(path: Path, sheets: dict[str, list[list]], *, modified: str = "2010-10-18T09:00:00Z",
               far: tuple[int, int] | None = None) -> Path:
    """Sheets of values (str, int, float, date, None) as an .xlsb; ``far`` (row, col), 0-based,
    adds one number there in the first sheet."""
    strings: dict[str, int] = {}
    parts: dict[str, bytes] = {}
    for n, (name, rows) in enumerate(sheets.items(), 1):
        parts[f"xl/worksheets/sheet{n}.bin"] = _sheet(rows, strings, far if n == 1 else None)
    names = list(sheets)
    book = record(0x83) + record(0x99, struct.pack("<II", 0, 0) + wide("")) + record(0x8F)
    for n, name in enumerate(names, 1):
        book += record(0x9C, struct.pack("<II", 0, n) + wide(f"rId{n}") + wide(name))
    book += record(0x90) + record(0x84)
    parts["xl/workbook.bin"] = book
    sst = record(0x9F, struct.pack("<II", len(strings), len(strings)))
    for text in strings:
        sst += record(0x13, b"\x00" + wide(text))
    parts["xl/sharedStrings.bin"] = sst + record(0xA0)
    parts["xl/styles.bin"] = (record(0x116) + record(0x267, struct.pack("<I", 0)) + record(0x268)
                              + record(0x269, struct.pack("<I", 2))
                              + record(0x2F, struct.pack("<HH", 0xFFFF, 0) + bytes(12))
                              + record(0x2F, struct.pack("<HH", 0, 14) + bytes(12))
                              + record(0x26A) + record(0x117))
    rels = [_REL.format(id=f"rId{n}", kind="worksheet", target=f"worksheets/sheet{n}.bin")
            for n in range(1, len(names) + 1)]
    rels += [_REL.format(id="rIdS", kind="sharedStrings", target="sharedStrings.bin"),
             _REL.format(id="rIdT", kind="styles", target="styles.bin")]
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.bin" '
                        'ContentType="application/vnd.ms-excel.worksheet"/>' for n in range(1, len(names) + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT.format(overrides=overrides))
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("docProps/core.xml", _CORE.format(modified=modified))
        z.writestr("xl/_rels/workbook.bin.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                   'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   + "".join(rels) + "</Relationships>")
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def _sheet(rows: list[list], strings: dict[str, int], far: tuple[int, int] | None) -> bytes:
    width = max((len(r) for r in rows), default=1)
    last_row = max(len(rows) - 1, far[0] if far else 0)
    last_col = max(width - 1, far[1] if far else 0)
    out = record(0x81) + record(0x94, struct.pack("<IIII", 0, last_row, 0, last_col)) + record(0x91)
    cells_by_row: dict[int, list[tuple[int, object]]] = {}
    for r, row in enumerate(rows):
        cells_by_row[r] = [(c, v) for c, v in enumerate(row) if v not in (None, "")]
    if far:
        cells_by_row.setdefault(far[0], []).append((far[1], 1.0))
    for r in sorted(cells_by_row):
        out += record(0x00, struct.pack("<IIHB", r, 0, 300, 0) + bytes(8))
        for c, v in cells_by_row[r]:
            out += _cell(c, v, strings)
    return out + record(0x92) + record(0x82)


def _cell(c: int, v: object, strings: dict[str, int]) -> bytes:
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return record(0x05, struct.pack("<II", c, 1) + struct.pack("<d", (v - _EPOCH).days))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return record(0x05, struct.pack("<II", c, 0) + struct.pack("<d", float(v)))
    text = str(v)
    index = strings.setdefault(text, len(strings))
    return record(0x07, struct.pack("<II", c, 0) + struct.pack("<I", index))


def ledger_as_xlsb(path: Path, source: Path, **kw) -> Path:
    """Every sheet of ``source`` (read with calamine) saved as an .xlsb with the same values."""
    from python_calamine import CalamineWorkbook
    with CalamineWorkbook.from_path(str(source)) as wb:
        sheets = {m.name: wb.get_sheet_by_name(m.name).to_python(skip_empty_area=False)
                  for m in wb.sheets_metadata}
    return write_xlsb(path, sheets, **kw)

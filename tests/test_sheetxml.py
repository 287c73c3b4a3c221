"""The streamed big sheets against xlsxwriter writing the same cells one by one.

``reference_master`` is how the master was rendered before the rows were streamed
(xlsxwriter ``write_*`` per cell, the same rules); both files are read back by
python-calamine and their sheet XML is compared with shared strings and styles
resolved, so everything but the numbering of strings and styles must be equal.
"""
from __future__ import annotations

import math
import numbers
import re
import subprocess
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from conftest import needs_soffice
from factories.libreoffice import convert
from toolkit.outputs import master as m
from toolkit.outputs.sheetxml import MAX_UNITS, fit_text, serial

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ASTRAL = "\U00020000"                       # 𠀀: two UTF-16 units
HOSTILE = ["=1+1", "=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "\x01控制\x1f字符", "_x0041_",
           " 前后空格 ", "末尾换行\n", "\u3000全角空格", "a&b<c>\"d\"", "x" * 40000, ASTRAL * 20000,
           "0012", "1e5", "TRUE"]


def case_row(i: int, **over) -> dict:
    r = {k: None for k, _, _ in m.CASE_COLUMNS}
    r.update(village="东村", source_file="东村.xlsx", row=5 + i, case_id=f"NJ-{i:03d}",
             petitioner=f"信访人{i}", id_number="11010519491231002X", phone="013857700001",
             matter="征地补偿", assigned_date=date(2010, 7, 1), status="化解中",
             deadline=date(2010, 9, 25), workdays_left=-15, alert="逾期", nine_done="6/8",
             nine_group=True, n_errors=0, 督办意见=None, 乡级备注=None)
    r.update(over)
    return r


def hostile_book(rich: str | None = None) -> m.MasterBook:
    """Hostile values in every kind of column; ``rich``: a progress text (xlsxwriter would
    pass "<r>…</r>" through as raw rich-text XML, so the reference never gets one)."""
    rows = [case_row(i, petitioner=h, matter=h, flags=h if i % 2 else None, 督办意见=h)
            for i, h in enumerate(HOSTILE)]
    rows += [
        case_row(90, case_id="0012", phone=13857700001, workdays_left=2.5, alert="临期",
                 nine_group=False, five_group="√", 乡级备注=date(2010, 10, 1)),
        case_row(91, case_id=12, assigned_date=datetime(2010, 7, 1, 13, 30), workdays_left=np.int64(7),
                 alert="其他", 乡级备注=True, 督办意见=Decimal("1.5")),
        case_row(92, assigned_date=date(1900, 1, 1), accept_date=pd.NaT, workdays_left=float("nan"),
                 alert="逾期", 乡级备注=10 ** 17, 督办意见=""),
        case_row(93, village="西村", alert="临期", workdays_left=None, matter="", progress=rich),
    ]
    return m.MasterBook(as_of=date(2010, 10, 20), township="南郊乡", cases=pd.DataFrame(rows),
                        township_columns=("督办意见", "乡级备注"),
                        reports=[{"村（社区）": "东村", "报送情况": "已报"}],
                        changes=[{"变更类型": "新增案件", "村（社区）": "东村", "案件编号": "=1+1"}],
                        generated=datetime(2010, 10, 20, 7, 30))


# --- the reference: xlsxwriter, one write call per cell (the master before streaming) -------
def reference_master(path: Path, book: m.MasterBook) -> None:
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False,
                                         "default_date_format": "yyyy-mm-dd"})
    wb.set_properties({"title": book.title, "company": book.township,
                       "comments": "由台账工具生成；乡级列（橙色表头）可直接填写，重新汇总时保留。"})
    st = m._Styles(wb)
    _reference_cases(wb, st, book)
    m._write_summary(wb, st, book)
    _reference_alerts(wb, st, book)
    m._write_issues(wb, st, book)
    m._write_table(wb, st, book, m.SHEET_REPORTS, m.REPORT_COLUMNS, book.reports, widths=m.REPORT_WIDTHS)
    m._write_table(wb, st, book, m.SHEET_CHANGES, (*m.CHANGE_COLUMNS, *book.township_columns),
                   book.changes, widths=m.CHANGE_WIDTHS)
    wb.close()


def _reference_alerts(wb, st, book) -> None:
    """预警 cell by cell through xlsxwriter, as the streamed rows write it (long texts wrap, a row
    as tall as its wrapped texts need)."""
    rows = [{h: r.get(k) for h, k in m._ALERT_KEYS.items()} for r in m.alert_rows(book.cases)]
    ws, _ = m._table_sheet(wb, st, book, m.SHEET_ALERTS, m.ALERT_COLUMNS, len(rows), m.ALERT_WIDTHS)
    heights = m.row_heights([([r.get(h) for r in rows], w) for h, w in m.ALERT_WIDTHS.items()], len(rows))
    for i, row in enumerate(rows):
        if heights[i] is not None:
            ws.set_row(i + 2, heights[i])
        for c, h in enumerate(m.ALERT_COLUMNS):
            v = row.get(h)
            if h == "预警" and v in st.alert:
                ws.write_string(i + 2, c, v, st.alert[v])
            elif h in m.ALERT_WIDTHS and isinstance(v, str):
                ws.write_string(i + 2, c, v, st.wrap)
            else:
                m._write_any(ws, st, i + 2, c, v, st.date if isinstance(v, date) else
                             st.int if h == "剩余工作日" else st.top)


def _reference_cases(wb, st, book) -> None:
    ws = wb.add_worksheet(m.SHEET_CASES)
    cols = list(m.CASE_COLUMNS) + [(h, h, "any") for h in book.township_columns]
    m._title(ws, st, book.title, len(cols))
    ws.set_row(1, 48)
    for c, (key, head, kind) in enumerate(cols):
        township = kind == "any"
        ws.write_string(1, c, head, st.head_township if township else st.head)
        ws.set_column(c, c, 20 if township else m._WIDE.get(key, m._WIDTH[kind]),
                      st.text if key in m._TEXT_KEYS else None)
    data = book.cases
    lists = {key: data[key].tolist() for key, _, _ in cols if key in data.columns}
    wrap = {key for key, _, kind in cols if key in m.CASE_WRAP or kind == "any"}
    heights = m.row_heights([(lists[key], 20 if kind == "any" else m._WIDE.get(key, m._WIDTH[kind]))
                             for key, _, kind in cols if key in wrap and key in lists], len(data))
    for i in range(len(data)):
        if heights[i] is not None:
            ws.set_row(i + 2, heights[i])
        for c, (key, _, kind) in enumerate(cols):
            if key not in lists:
                continue
            v = lists[key][i]
            if v is None or (not isinstance(v, Decimal) and v is not pd.NaT and v == "") or v != v:
                continue
            plain = st.text if key in m._TEXT_KEYS else st.top      # every cell starts at its row's top
            if kind == "tick":
                if v is True:
                    ws.write_string(i + 2, c, "√", plain)
            elif v.__class__ is str:
                if key in wrap:
                    fmt = st.flag_wrap if key == "flags" else st.wrap
                else:
                    fmt = st.alert.get(v, plain) if key == "alert" else plain
                ws.write_string(i + 2, c, v, fmt)
            elif key in wrap and (isinstance(v, bool) or not isinstance(v, (numbers.Real, date))):  # as text
                m._write_any(ws, st, i + 2, c, v, st.flag_wrap if key == "flags" else st.wrap)
            else:
                m._write_any(ws, st, i + 2, c, v, st.date if isinstance(v, date) else plain)
    ws.freeze_panes(2, 4)
    ws.autofilter(1, 0, max(len(data), 1) + 1, len(cols) - 1)
    m._page(ws, book, m.SHEET_CASES, fit_width=False)
    ws.fit_to_pages(4, 0)
    ws.repeat_columns(0, 3)


# --- comparing two packages ---------------------------------------------------------------
def _package(path: Path):
    z = zipfile.ZipFile(path)
    sst = ["".join(t.text or "" for t in si.iter(NS + "t"))
           for si in ET.fromstring(z.read("xl/sharedStrings.xml"))]
    styles = ET.fromstring(z.read("xl/styles.xml"))
    parts = {k: [ET.tostring(e) for e in styles.find(NS + k)] for k in ("fonts", "fills", "borders")}
    numfmts = {x.get("numFmtId"): x.get("formatCode") for x in (styles.find(NS + "numFmts") or [])}
    xfs = []
    for x in styles.find(NS + "cellXfs"):
        a = dict(x.attrib)
        a["fmt"] = numfmts.get(a.pop("numFmtId"), x.get("numFmtId"))
        for k, idx in (("fonts", "fontId"), ("fills", "fillId"), ("borders", "borderId")):
            a[k] = parts[k][int(a.pop(idx, 0))]
        a["children"] = [ET.tostring(c) for c in x]
        xfs.append(repr(sorted(a.items())).encode())
    return z, sst, xfs


def _resolved(xml: bytes, sst: list[str], xfs: list[bytes]) -> bytes:
    """The sheet XML with string indexes as their strings and style indexes as the styles."""
    def cell(mt):
        style = xfs[int(mt.group(3) or 0)]
        value = mt.group(6) or b""
        if mt.group(4):
            value = repr(sst[int(value)]).encode()
        return b'<c r="%s" S=%s%s>%s' % (mt.group(1), style, mt.group(4) or b"", value)
    xml = re.sub(rb'<c r="([A-Z]+\d+)"( s="(\d+)")?( t="s")?>(<v>([^<]*)</v>)?', cell, xml)
    xml = re.sub(rb'<c r="([A-Z]+\d+)" s="(\d+)"/>', lambda mt: b'<c r="%s" S=%s/>' % (
        mt.group(1), xfs[int(mt.group(2))]), xml)
    return re.sub(rb'(<col [^>]*)style="(\d+)"', lambda mt: mt.group(1) + b"S=" + xfs[int(mt.group(2))],
                  xml)


def assert_same_package(ours: Path, theirs: Path) -> None:
    za, ssta, xfa = _package(ours)
    zb, sstb, xfb = _package(theirs)
    assert sorted(za.namelist()) == sorted(zb.namelist())
    for name in za.namelist():
        a, b = za.read(name), zb.read(name)
        if name.startswith("xl/worksheets/sheet"):
            assert _resolved(a, ssta, xfa) == _resolved(b, sstb, xfb), name
        elif name not in ("xl/sharedStrings.xml", "xl/styles.xml", "docProps/core.xml"):
            assert a == b, name             # workbook.xml: defined names, print titles …


def sheets(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names}


# --- tests ---------------------------------------------------------------------------------
def test_streamed_master_is_xlsxwriters_for_the_same_cells(tmp_path):
    book = hostile_book()
    m.render_master(tmp_path / "ours.xlsx", book)
    reference_master(tmp_path / "theirs.xlsx", book)
    ours, theirs = sheets(tmp_path / "ours.xlsx"), sheets(tmp_path / "theirs.xlsx")
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name] == theirs[name], name
    assert_same_package(tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx")


def test_text_stays_text_and_limits_hold(tmp_path):
    book = hostile_book(rich="<r>粗</r>")
    out = m.render_master(tmp_path / "ours.xlsx", book)
    got = sheets(out)["总台账"]
    head = got[1]
    header = {k: h for k, h, _ in m.CASE_COLUMNS}
    at = {k: head.index(header[k]) for k in ("case_id", "petitioner", "phone", "assigned_date", "progress")}
    by_row = {r[2]: r for r in got[2:]}                      # 行号
    petitioners = [by_row[5 + i][at["petitioner"]] for i in range(len(HOSTILE))]
    assert petitioners[0] == "=1+1" and petitioners[5] == "\x01控制\x1f字符"
    assert petitioners[6] == "_x0041_" and petitioners[7] == " 前后空格 "
    assert petitioners[11] == "x" * MAX_UNITS
    assert petitioners[12] == ASTRAL * (MAX_UNITS // 2)        # never half a character
    assert by_row[95][at["case_id"]] == "0012"                   # a text ID stays text
    assert by_row[95][at["phone"]] == 13857700001
    assert by_row[96][at["assigned_date"]] == datetime(2010, 7, 1, 13, 30)
    assert by_row[5][at["assigned_date"]] == date(2010, 7, 1)
    with zipfile.ZipFile(out) as z:
        sheet1 = z.read("xl/worksheets/sheet1.xml")
        assert b"<f>" not in sheet1                           # nothing became a formula
        assert b'xml:space="preserve"> ' in z.read("xl/sharedStrings.xml")
        assert b'<autoFilter ref="A2:' in sheet1 and b'<pane xSplit="4" ySplit="2"' in sheet1
        assert b"_xlnm.Print_Titles" in z.read("xl/workbook.xml")
    assert by_row[98][at["progress"]] == "<r>粗</r>"                # escaped, never raw rich text


def test_fit_text_and_serials():
    assert fit_text("a" * 10) == "a" * 10
    assert fit_text("a" * (MAX_UNITS - 1) + ASTRAL) == "a" * (MAX_UNITS - 1)
    assert serial(date(2010, 10, 20)) == 40471 and serial(date(1900, 1, 1)) == 1
    assert math.isclose(serial(datetime(2010, 10, 20, 12)), 40471.5)


def test_empty_master_matches_too(tmp_path):
    book = m.MasterBook(as_of=date(2010, 10, 20), township="南郊乡",
                        cases=pd.DataFrame(columns=[k for k, _, _ in m.CASE_COLUMNS]),
                        generated=datetime(2010, 10, 20, 7, 30))
    m.render_master(tmp_path / "ours.xlsx", book)
    reference_master(tmp_path / "theirs.xlsx", book)
    assert_same_package(tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx")


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_libreoffice_renders_both_the_same(tmp_path):
    rows = [case_row(i, village="东村" if i % 2 else "西村", alert=("逾期", "临期", "正常")[i % 3],
                     petitioner=HOSTILE[i % 11], workdays_left=i - 20) for i in range(60)]
    book = m.MasterBook(as_of=date(2010, 10, 20), township="南郊乡", cases=pd.DataFrame(rows),
                        township_columns=("督办意见", "乡级备注"), generated=datetime(2010, 10, 20, 7, 30))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    m.render_master(tmp_path / "a" / "总台账.xlsx", book)
    reference_master(tmp_path / "b" / "总台账.xlsx", book)
    [pa] = convert([tmp_path / "a" / "总台账.xlsx"], "pdf", tmp_path / "a", timeout=180)
    [pb] = convert([tmp_path / "b" / "总台账.xlsx"], "pdf", tmp_path / "b", timeout=180)
    text = [subprocess.run(["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True,
                           timeout=60).stdout for p in (pa, pb)]
    assert text[0] == text[1] and "南郊乡信访积案总台账" in text[0] and "NJ-001" in text[0]

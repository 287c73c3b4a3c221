"""What writing back leaves behind and says (issue 18): no lock file per workbook piling up in
the temp folder, one writer per workbook still, and no parser English for a deeply nested part."""
from __future__ import annotations

import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from factories.layouts import sample_cases, write_ledger
from toolkit import api
from toolkit.outputs.writeback import WritebackError, locks


@pytest.fixture
def lock_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "locks"
    monkeypatch.setattr(locks, "LOCK_DIR", folder)
    return folder


def ledger(path: Path) -> Path:
    return write_ledger(path, sample_cases(2, "东村"), reporter="东村")


@pytest.mark.skipif(os.name == "nt", reason="filelock removes its own file on Windows")
def test_writes_leave_no_lock_files_and_old_ones_are_cleared(tmp_path, lock_dir):
    books = [ledger(tmp_path / f"村{i}.xlsx") for i in range(3)]
    lock_dir.mkdir()
    stale = lock_dir / ("0" * 40 + ".lock")                 # left by an earlier version, days ago
    stale.write_text("", encoding="utf-8")
    os.utime(stale, (time.time() - 3 * 86400,) * 2)
    for _ in range(2):
        results = api.fill(books, as_of="2010-10-20")
        assert all(r.ok for r in results), [r.message for r in results]
    assert list(lock_dir.iterdir()) == []


def test_a_second_writer_of_the_same_workbook_is_still_refused(tmp_path, lock_dir):
    book = ledger(tmp_path / "东村.xlsx")
    with locks.writer_lock(book):
        with pytest.raises(WritebackError, match="另一个台账工具进程"):
            with locks.writer_lock(book):
                pass
        with locks.writer_lock(tmp_path / "西村.xlsx"):       # another workbook: free
            pass
    with locks.writer_lock(book):                              # and free again once released
        pass


def test_a_deeply_nested_sheet_is_refused_in_chinese(tmp_path):
    """lxml refuses more than 256 levels ("Excessive depth in document ... XML_PARSE_HUGE"):
    a clerk reads why in Chinese, and the file is not touched."""
    plain = ledger(tmp_path / "原.xlsx")
    deep = tmp_path / "东村.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(deep, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                nest = b"<x:a xmlns:x='urn:x'>" * 300 + b"</x:a>" * 300
                data = data.replace(b"</worksheet>", b"<extLst><ext uri='{X}'>" + nest + b"</ext></extLst></worksheet>")
            out.writestr(item, data)
    before = deep.read_bytes()
    (result,) = api.fill([deep], as_of="2010-10-20")
    assert not result.ok and "嵌套层数过多" in result.message and "另存为" in result.message
    english = set(re.findall(r"[A-Za-z]{3,}", result.message)) - {"xlsx", "worksheets", "sheet", "xml", "Excel", "WPS"}
    assert english == set(), result.message
    assert deep.read_bytes() == before

"""The proof of issue 2: hostile files are each reported, quickly and in little memory,
alongside a good file that is read in full; and the sandbox holds even without pre-flight.

"Quickly" is shown without a timing assert: every hostile file must be refused by
the pre-flight's own words (not by the worker's time or memory limit), and the
run's time is printed (pytest -s).
"""
from __future__ import annotations

import threading
import time

import psutil
import pytest

import factories.hostile as hf
from conftest import needs_soffice
from toolkit.read.sandboxed import read_ledgers
from toolkit.intake.sandbox import CRASHED, MEMORY, OK, WorkerPool

try:
    import toolkit.read.workbook  # noqa: F401
    READER = "toolkit.read.workbook:read_ledger"
except ImportError:        # until the reader lands: calamine reading every sheet
    READER = "hostile_readers:calamine_ledger"

GIB = 2**30


class PeakRss:
    """Samples the RSS of this process and of each child every 10 ms."""

    def __init__(self) -> None:
        self.parent = self.child = 0
        self._stop = threading.Event()

    def __enter__(self) -> "PeakRss":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.01):
            self.parent = max(self.parent, me.memory_info().rss)
            for child in me.children(recursive=True):
                try:
                    self.child = max(self.child, child.memory_info().rss)
                except psutil.Error:
                    pass


@pytest.fixture(scope="session")
def huge_string_xlsx(tmp_path_factory):
    """~1 MB zip holding a 1 GiB string; written streaming, once per session (~3 s)."""
    return hf.huge_string_zip(tmp_path_factory.mktemp("hostile") / "十亿字符.xlsx")


def _good_ledger(folder):
    try:
        from factories.ledgers import make_ledger
    except ImportError:
        return hf.good_workbook(folder / "东村.xlsx", cases=20), 20
    return make_ledger(folder / "东村.xlsx", village="东村", n_cases=20).path, 20


@pytest.mark.slow
def test_hostile_files_reported_alongside_a_good_one(tmp_path, huge_string_xlsx):
    good, n_cases = _good_ledger(tmp_path)
    hostile = {
        "truncated": (hf.truncated_zip(tmp_path / "半截.xlsx", good), "unreadable", "不完整"),
        "encrypted": (hf.encrypted_workbook(tmp_path / "加密.xlsx", good), "encrypted", "密码"),
        "far cell": (hf.far_cell_sheet(tmp_path / "远处单元格.xlsx"), "too_large", "XFD1048576"),
        "1 GiB string": (huge_string_xlsx, "too_large", "解压后"),
        "1 GiB string, lying headers": (
            hf.lie_about_size(tmp_path / "谎报.xlsx", huge_string_xlsx, "xl/sharedStrings.xml"),
            "too_large", "压缩炸弹"),
        "text as xlsx": (hf.disguised(tmp_path / "文本.xlsx", "text"), "not_spreadsheet", "文本文件"),
        "entity bomb": (hf.dtd_bomb(tmp_path / "实体.xlsx"), "unreadable", "DTD"),
        "zip bomb": (hf.lying_zip_bomb(tmp_path / "炸弹.xlsx"), "too_large", "压缩炸弹"),
        "ods repeats": (hf.ods_repeat_bomb(tmp_path / "重复.ods"), "too_large", "1000000 行"),
    }
    assert huge_string_xlsx.stat().st_size < 1.1 * 2**20
    assert hostile["far cell"][0].stat().st_size < 6000
    paths = [p for p, _, _ in hostile.values()]
    paths.insert(3, good)

    with PeakRss() as peak:
        started = time.monotonic()
        ledgers = read_ledgers(paths, reader=READER, time_limit=60)
        elapsed = time.monotonic() - started
    print(f"\n{len(paths)} files in {elapsed:.1f} s; peak RSS parent {peak.parent / 2**20:.0f} MB, "
          f"largest worker {peak.child / 2**20:.0f} MB")

    by_path = dict(zip(paths, ledgers))
    read = by_path[good]
    assert read.readable and read.n_cases == n_cases and not [i for i in read.issues if i.is_error]
    for what, (path, code, words) in hostile.items():
        lg = by_path[path]
        assert not lg.readable, what
        [issue] = lg.issues
        assert (issue.code, words in issue.message) == (code, True), f"{what}: {issue.message}"
        assert str(path) in issue.message
    assert peak.parent < GIB / 2 and peak.child < GIB / 2


@pytest.mark.slow
def test_sandbox_holds_without_preflight(tmp_path, huge_string_xlsx):
    """calamine itself on the hostile files (no pre-flight): workers die, the run goes on."""
    far = hf.far_cell_sheet(tmp_path / "远处单元格.xlsx")
    good = hf.good_workbook(tmp_path / "好.xlsx")
    with PeakRss() as peak, WorkerPool("hostile_readers:calamine_ledger", workers=2,
                                        memory_limit_mb=300, time_limit=60) as pool:
        tickets = [pool.submit(p) for p in (far, huge_string_xlsx, good)]
        out = pool.drain()
    assert out[tickets[0]].status in (MEMORY, CRASHED)
    assert out[tickets[1]].status in (MEMORY, CRASHED)
    assert out[tickets[2]].status == OK and out[tickets[2]].value.n_cases == 15
    assert peak.child < 600 * 2**20


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_legacy_xls_good_far_cell_and_encrypted(tmp_path):
    source = hf.good_workbook(tmp_path / "西村.xlsx")
    [xls] = hf.to_xls([source], tmp_path)
    far = hf.far_cell_xls(tmp_path / "远处.xls", xls)
    locked = hf.encrypted_xls(tmp_path / "加密.xls", xls)
    good_lg, far_lg, locked_lg = read_ledgers([xls, far, locked], reader=READER)
    assert good_lg.readable, good_lg.issues
    [issue] = far_lg.issues
    assert issue.code == "too_large" and "IV65536" in issue.message and "台账" in issue.message
    assert [i.code for i in locked_lg.issues] == ["encrypted"]

"""read_ledgers and the worker pool: whatever a reader does, the parent carries on.

The readers in hostile_readers.py stand in for toolkit.read.workbook: one returns a small
Ledger, others abort, segfault, allocate 4 GiB, sleep forever or raise.
"""
from __future__ import annotations

import _thread
import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

import factories.hostile as hf
from toolkit.read.sandboxed import read_ledgers
from toolkit.core.ledger import Ledger
from toolkit.intake.sandbox import MEMORY, WorkerPool


def _workers_left() -> list[psutil.Process]:
    """Our child processes still around (multiprocessing's resource tracker is not a worker)."""
    left = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()):
                left.append(p)
        except psutil.NoSuchProcess:
            pass
    return left


def _copies(tmp_path: Path, names: list[str]) -> list[Path]:
    good = hf.good_workbook(tmp_path / "_good.xlsx")
    out = []
    for n in names:
        p = tmp_path / f"{n}.xlsx"
        p.write_bytes(good.read_bytes())
        out.append(p)
    return out


@pytest.mark.slow
def test_each_misbehaviour_costs_only_its_own_file(tmp_path, caplog):
    names = ["ok-1", "abort", "ok-2", "segv", "hog", "raise", "sleep", "nota", "ok-3"]
    paths = _copies(tmp_path, names) + [hf.disguised(tmp_path / "text.xlsx", "text")]
    with caplog.at_level(logging.WARNING, logger="taizhang"):
        ledgers = read_ledgers(paths, reader="hostile_readers:by_name", workers=2, time_limit=2)

    assert [lg.path for lg in ledgers] == paths
    got = {p.stem: lg for p, lg in zip(paths, ledgers)}
    for ok in ("ok-1", "ok-2", "ok-3"):
        assert got[ok].readable and got[ok].n_cases == 2 and got[ok].village == "测试村"
    expect = {"abort": ("unreadable", "异常退出"), "segv": ("unreadable", "异常退出"),
              "hog": ("too_large", "内存"), "raise": ("unreadable", "损坏或不规范"),   # the exception's text: log only
              "sleep": ("too_large", "2 秒"), "nota": ("unreadable", "读取结果无效"),
              "text": ("not_spreadsheet", "文本文件")}
    for stem, (code, words) in expect.items():
        lg = got[stem]
        assert not lg.readable and len(lg.issues) == 1, stem
        assert lg.issues[0].code == code and words in lg.issues[0].message, lg.issues[0].message
        assert str(paths[names.index(stem)] if stem in names else paths[-1]) in lg.issues[0].message
    assert "Traceback" in caplog.text and "ValueError" in caplog.text   # logged, not printed
    assert _workers_left() == []


def test_single_file_goes_through_a_child_and_results_keep_order(tmp_path):
    [path] = _copies(tmp_path, ["ok"])
    [lg] = read_ledgers([path], reader="hostile_readers:small_ledger")
    assert isinstance(lg, Ledger) and lg.readable and lg.path == path
    assert read_ledgers([], reader="hostile_readers:small_ledger") == []
    assert _workers_left() == []


def test_a_reader_that_cannot_be_imported_is_a_loud_error(tmp_path):
    [path] = _copies(tmp_path, ["x"])
    with pytest.raises(RuntimeError, match="无法加载"):
        read_ledgers([path], reader="hostile_readers:no_such_function")
    assert _workers_left() == []


@pytest.mark.slow
def test_rss_watchdog_alone_stops_a_creeping_reader(tmp_path):
    """The Windows path: no RLIMIT, the parent kills a worker whose RSS passes the limit."""
    [path] = _copies(tmp_path, ["x"])
    with WorkerPool("hostile_readers:creep_4gib", memory_limit_mb=400,
                    address_space_limit=False) as pool:
        ticket = pool.submit(path)
        outcome = pool.drain()[ticket]
    assert outcome.status == MEMORY and "exit code" in outcome.detail


@pytest.mark.slow
def test_ctrl_c_leaves_no_worker_behind(tmp_path):
    paths = _copies(tmp_path, ["sleep-1", "sleep-2", "sleep-3"])
    timer = threading.Timer(1.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            read_ledgers(paths, reader="hostile_readers:by_name", workers=2, time_limit=60)
    finally:
        timer.cancel()
    assert _workers_left() == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="kills the parent with SIGKILL")
def test_workers_exit_when_the_parent_is_killed(tmp_path):
    [path] = _copies(tmp_path, ["sleep"])
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {[str(Path(__file__).parent), str(Path(__file__).parents[1])]!r}
        from pathlib import Path
        from toolkit.read.sandboxed import read_ledgers
        read_ledgers([Path({str(path)!r})], reader="hostile_readers:by_name", time_limit=600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and not workers:
            time.sleep(0.2)
            workers = [p for p in psutil.Process(parent.pid).children()
                       if "resource_tracker" not in " ".join(p.cmdline())]
        assert workers, "no worker started"
        time.sleep(1.0)                     # let it get to the sleeping reader
        parent.kill()
        parent.wait()
        gone, alive = psutil.wait_procs(workers, timeout=20)
        assert alive == []
    finally:
        if parent.poll() is None:
            parent.kill()


def test_real_reader_reads_a_good_ledger(tmp_path):
    pytest.importorskip("toolkit.read.workbook")
    samples = pytest.importorskip("factories.ledgers")
    good = samples.make_ledger(tmp_path / "东村.xlsx", village="东村", n_cases=12).path
    text = hf.disguised(tmp_path / "西村.xlsx", "text")
    ledgers = read_ledgers([good, text])
    assert ledgers[0].readable and ledgers[0].n_cases == 12 and ledgers[0].path == good
    assert ledgers[1].issues[0].code == "not_spreadsheet"

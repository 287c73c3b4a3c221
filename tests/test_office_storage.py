"""The office's own trouble is the office's (issue 17): a full or read-only archive or state folder
stops the run with a Chinese message naming the folder and what to do, exit code 1, the previous
master kept; it is never reported as a village's unreadable file.

Real file systems, not mocks: each test mounts a small tmpfs (or remounts it read-only) where the
office keeps its archive or state. That needs root (CI runs as root); elsewhere the tests skip.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from factories.layouts import sample_case, write_ledger
from toolkit.core.settings import RosterEntry
from toolkit.core.settings_workbook import create_settings_workbook

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                                reason="mounts a small tmpfs (Linux, as root)")


@pytest.fixture
def small_disk(tmp_path):
    """mount(size_kb) -> a folder on a fresh tmpfs of that size; remount(folder, 'ro')."""
    mounted = []

    def mount(name: str, size_kb: int) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
        mounted.append(folder)
        return folder

    def remount(folder: Path, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)

    mount.remount = remount
    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill_up(folder: Path) -> None:
    """Take every free byte of ``folder``'s file system."""
    with open(folder / "填满.bin", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def office(root: Path, archive: Path, state: Path) -> Path:
    """A real office folder whose archive and state are where the test says."""
    create_settings_workbook(root / "设置.xlsx", roster=(RosterEntry("东村"), RosterEntry("西村")))
    (root / "收件箱").mkdir()
    toml = root / "taizhang.toml"
    toml.write_text(f'[paths]\narchive = "{archive.as_posix()}"\nstate = "{state.as_posix()}"\n\n'
                    '[daily]\nas_of = "2026-12-07"\n', encoding="utf-8")
    return toml


def put(root: Path, village: str, n: int, *, big: bool = False) -> Path:
    """A village's ledger in the inbox; ``big``: about 400 KB that do not compress."""
    rng = random.Random(n)
    noise = lambda: "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(4000))  # noqa: E731
    rows = [sample_case(i, village, case_id=f"{village}-{i:03d}", progress=noise() if big else "已走访")
            for i in range(1, n + 1)]
    return write_ledger(root / "收件箱" / f"{village}台账.xlsx", rows, reporter=village,
                        saved=datetime(2026, 12, 5))


def taizhang(toml: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.shells.cli", *args, "--config", str(toml)],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def master_of(root: Path) -> Path:
    return root / "输出" / "总台账.xlsx"


def assert_office_trouble(done: subprocess.CompletedProcess, folder: Path, words: str) -> None:
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert str(folder) in said and words in said and "上一版保持不变" in said, said
    assert "Traceback" not in said and "意外错误" not in said and "被拒收" not in said, said
    assert "No space left" not in said and "Read-only" not in said and "database" not in said, said


def test_a_full_archive_stops_the_run_and_keeps_the_master(tmp_path, small_disk):
    archive = small_disk("archive", 320)
    toml = office(tmp_path, archive, tmp_path / "state")
    put(tmp_path, "东村", 3)
    first = taizhang(toml, "consolidate")
    assert first.returncode == 0, first.stderr
    before = master_of(tmp_path).read_bytes()
    put(tmp_path, "西村", 40, big=True)         # bigger than what is left of the archive's disk
    done = taizhang(toml, "consolidate")
    assert_office_trouble(done, archive, "磁盘已满")
    assert master_of(tmp_path).read_bytes() == before
    fill_up(archive)                            # full from the start: stopped before anything
    done = taizhang(toml, "consolidate", "--json")
    assert done.returncode == 1 and "磁盘已满" in json.loads(done.stdout)["error"]
    assert master_of(tmp_path).read_bytes() == before
    (archive / "填满.bin").unlink()
    small_disk.remount(archive, "size=4m")      # the clerk makes room: the run goes on as usual
    done = taizhang(toml, "consolidate", "--json")
    assert done.returncode == 0 and {v["village"] for v in json.loads(done.stdout)["villages"]} == {"东村", "西村"}


def test_a_read_only_archive_or_state_is_named(tmp_path, small_disk):
    archive, state = small_disk("archive", 4096), small_disk("state", 4096)
    toml = office(tmp_path, archive, state)
    put(tmp_path, "东村", 3)
    assert taizhang(toml, "consolidate").returncode == 0
    before = master_of(tmp_path).read_bytes()
    put(tmp_path, "西村", 2)
    small_disk.remount(archive, "ro")
    assert_office_trouble(taizhang(toml, "consolidate"), archive, "没有权限写入")
    small_disk.remount(archive, "rw")
    small_disk.remount(state, "ro")
    assert_office_trouble(taizhang(toml, "consolidate"), state, "没有权限写入")
    for command in ("submissions", "remind"):       # every command that asks the judge
        done = taizhang(toml, command)
        assert done.returncode == 1 and str(state) in done.stdout + done.stderr, command
        assert "意外错误" not in done.stdout + done.stderr, command
    assert master_of(tmp_path).read_bytes() == before


def test_a_full_archive_record_is_the_offices_trouble_not_an_unexpected_error(tmp_path, small_disk):
    """The archive's SQLite record cannot grow: `submissions` (which judges new files) says so."""
    archive = small_disk("archive", 4096)
    toml = office(tmp_path, archive, tmp_path / "state")
    put(tmp_path, "东村", 3)
    assert taizhang(toml, "consolidate").returncode == 0
    from toolkit.intake.archive import SubmissionArchive
    with SubmissionArchive(archive) as a:                 # 20 files arrived, none judged yet
        for n in range(20):
            a.add(f"{n}".encode() * 10, filename=f"文件{n}.xlsx", source="inbox")
    fill_up(archive)
    done = taizhang(toml, "submissions")
    said = done.stdout + done.stderr
    assert done.returncode == 1 and str(archive) in said and "磁盘已满" in said, said
    assert "意外错误" not in said and "database" not in said, said

"""toolkit.core.files: the one home of atomic writes, hashes, backup names and the run lock."""
from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from toolkit.core.files import (RunBusy, atomic_path, atomic_write_text, backup_copy, backup_name,
                                file_sha256, is_backup_of, run_lock, temp_prefix)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "总台账.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("power cut")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["总台账.xlsx"]
    atomic_write_text(target, "新内容")
    assert target.read_text(encoding="utf-8") == "新内容"
    assert not list(tmp_path.glob(f"{temp_prefix(target)}*"))


def test_backup_names_are_unique_and_recognised(tmp_path):
    when = datetime(2010, 10, 20, 7, 30, 5)
    first = backup_name(tmp_path, "东村台账", ".xlsx", when)
    assert first.name == "东村台账_20101020-073005.xlsx"
    first.write_bytes(b"x")
    second = backup_name(tmp_path, "东村台账", ".xlsx", when)
    assert second.name == "东村台账_20101020-073005-2.xlsx"
    assert is_backup_of(first.name, "东村台账", ".xlsx") and is_backup_of(second.name, "东村台账", ".xlsx")
    assert not is_backup_of("东村台账_说明.xlsx", "东村台账", ".xlsx")
    assert not is_backup_of("东村台账_20101020-073005.xls", "东村台账", ".xlsx")


def test_backup_copy_reuses_an_identical_backup(tmp_path):
    src = tmp_path / "设置.xlsx"
    src.write_bytes(b"settings v1")
    one = backup_copy(src, tmp_path / "备份")
    assert backup_copy(src, tmp_path / "备份") == one
    src.write_bytes(b"settings v2")
    two = backup_copy(src, tmp_path / "备份", when=datetime(2030, 1, 1))
    assert two != one and two.read_bytes() == b"settings v2" and one.read_bytes() == b"settings v1"
    assert file_sha256(two) == hashlib.sha256(b"settings v2").hexdigest()


def test_the_run_lock_tells_a_second_caller(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(RunBusy, match="另一汇总正在进行") as e:
            with run_lock(tmp_path, timeout=0.1):
                pass
    assert e.value.exit_code == 1
    with run_lock(tmp_path, timeout=0.1):      # released
        pass

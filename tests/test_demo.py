"""toolkit.demo: restoring the committed demo inbox by copying it (no generator, no LibreOffice),
refusing to mix it into a folder of real ledgers, and describing the files truthfully."""
from __future__ import annotations

import os

import pytest

from factories.fresh import fresh_python
from test_samples_demo_master import assert_every_feature, consolidate_demo
from toolkit.core.errors import EXIT_ATTENTION, TaizhangError
from toolkit.demo import (DEMO_EARLIER_RECEIVED, DEMO_FILES, DEMO_ROSTER, PRISTINE, DemoError, demo_filenames,
                          restore_demo_inbox)


def _pristine_bytes() -> dict[str, bytes]:
    return {name: (PRISTINE / name).read_bytes() for name in demo_filenames()}


def test_restore_copies_every_file_byte_for_byte(tmp_path):
    inbox = tmp_path / "演示" / "收件箱"                  # made, parents too
    assert restore_demo_inbox(inbox) == list(DEMO_FILES)
    assert {p.name: p.read_bytes() for p in inbox.iterdir()} == _pristine_bytes()
    for f in DEMO_FILES:                          # each reached the township on its day in 2010
        assert (inbox / f.name).stat().st_mtime == f.received.timestamp()
    earlier = next(f for f in DEMO_FILES if f.received == DEMO_EARLIER_RECEIVED)
    assert all(f.received > DEMO_EARLIER_RECEIVED for f in DEMO_FILES if f is not earlier)


def test_restore_replaces_the_demo_files_and_keeps_other_files(tmp_path):
    restore_demo_inbox(tmp_path)
    first = DEMO_FILES[0].name
    (tmp_path / first).write_bytes(b"clerk's edits")
    (tmp_path / "说明.txt").write_text("不是表格", encoding="utf-8")
    restore_demo_inbox(tmp_path)                         # only demo files and a text file: fine
    assert (tmp_path / first).read_bytes() == (PRISTINE / first).read_bytes()
    assert (tmp_path / "说明.txt").read_text(encoding="utf-8") == "不是表格"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".taizhang-")]   # no temp left


def test_restore_refuses_a_folder_with_other_spreadsheets(tmp_path):
    (tmp_path / "东村台账.xlsx").write_bytes(b"a real village's ledger")
    (tmp_path / "西村.XLS").write_bytes(b"another")
    with pytest.raises(DemoError) as caught:
        restore_demo_inbox(tmp_path)
    message = str(caught.value)
    assert "东村台账.xlsx" in message and "西村.XLS" in message and "--force" in message
    assert isinstance(caught.value, TaizhangError) and caught.value.exit_code == EXIT_ATTENTION
    assert sorted(p.name for p in tmp_path.iterdir()) == ["东村台账.xlsx", "西村.XLS"]   # nothing copied


def test_force_restores_beside_other_spreadsheets(tmp_path):
    (tmp_path / "东村台账.xlsx").write_bytes(b"a real village's ledger")
    restore_demo_inbox(tmp_path, force=True)
    assert (tmp_path / "东村台账.xlsx").read_bytes() == b"a real village's ledger"
    assert {name: (tmp_path / name).read_bytes() for name in demo_filenames()} == _pristine_bytes()


def test_restore_needs_neither_the_generator_nor_libreoffice(tmp_path):
    """A fresh interpreter with no soffice on PATH: the copy imports no workbook library."""
    code = ("import sys; from pathlib import Path; from toolkit.demo import restore_demo_inbox; "
            "restore_demo_inbox(Path(sys.argv[1])); "
            "print(sorted(m for m in ('xlsxwriter', 'python_calamine', 'openpyxl', 'pandas', 'factories') "
            "if m in sys.modules))")
    env = {**os.environ, "PATH": ""}
    assert fresh_python(code, str(tmp_path / "inbox"), cwd=tmp_path, env=env) == []
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == sorted(demo_filenames())


def test_demo_files_are_described_truthfully():
    """The counts and villages toolkit.demo states without reading the files are what the
    reader finds in the committed files."""
    from toolkit.read.workbook import read_ledger
    assert sorted(p.name for p in PRISTINE.iterdir()) == sorted(demo_filenames())
    for f in DEMO_FILES:
        ledger = read_ledger(PRISTINE / f.name)
        if f.cases:
            assert (ledger.village, ledger.n_cases) == (f.village, f.cases), f.name
        else:
            assert not ledger.readable, f.name
    counted = [f for f in DEMO_FILES if f.counted]
    assert sum(f.cases for f in counted) == 91 and len({f.village for f in counted}) == len(counted) == 7
    assert {f.village for f in DEMO_FILES} < {r.village for r in DEMO_ROSTER}
    assert all(f.note for f in DEMO_FILES)


def test_restored_inbox_shows_every_feature_of_the_master(tmp_path):
    """As `taizhang demo` leaves the folder: the September ledger is the earlier submission."""
    inbox = tmp_path / "inbox"
    restore_demo_inbox(inbox)
    assert_every_feature(*consolidate_demo(inbox, tmp_path))


def test_the_readme_shows_what_the_demo_prints(tmp_path):
    """The README's first example is the demo's real summary (paths and the clock's hour aside:
    saved times are shown in the computer's own time zone)."""
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```\n")[3]             # the first block after the two commands
    inbox = tmp_path / "inbox"
    restore_demo_inbox(inbox)
    result, _ = consolidate_demo(inbox, tmp_path)
    assert block.startswith("未找到 taizhang.toml") and "总台账已写入" in block.splitlines()[1]
    shown = [line for line in block.splitlines()[2:] if line]
    ran = result.summary_text().splitlines()[1:]          # the first line names the master's path
    clock = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
    assert [clock.sub("T", line) for line in shown] == [clock.sub("T", line) for line in ran]

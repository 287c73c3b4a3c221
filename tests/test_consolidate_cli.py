"""`taizhang consolidate`: one JSON object with --json, a Chinese summary without, exit codes."""
from __future__ import annotations

import json

import pytest

from factories.layouts import sample_cases, write_ledger
from toolkit.shells.cli import main
from toolkit.pipeline.consolidate import run_lock


@pytest.fixture
def township(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_ledger(inbox / "东村.xlsx", sample_cases(2, "东村"), reporter="东村")
    (inbox / "坏.xlsx").write_bytes(b"PK\x03\x04broken")
    toml = tmp_path / "taizhang.toml"
    toml.write_text('[paths]\narchive = "archive"\nstate = "state"\nsettings_workbook = "设置.xlsx"\n',
                    encoding="utf-8")
    monkeypatch.setenv("TAIZHANG_CONFIG", str(toml))
    return tmp_path


def test_json_is_exactly_one_object(township, capsys):
    out = township / "总台账.xlsx"
    rc = main(["consolidate", str(township / "inbox"), "--out", str(out), "--as-of", "2010-10-20",
               "--json"])
    stdout = capsys.readouterr().out
    assert rc == 0 and stdout.count("\n") == 1
    d = json.loads(stdout)
    assert d["master"] == str(out) and d["cases"] == 2 and d["overdue"] == 2
    assert [r["file"] for r in d["rejected"]] == ["坏.xlsx"]
    assert out.exists() and (township / "archive" / "submissions.sqlite").exists()


def test_summary_in_chinese_and_busy_exit_code(township, capsys, monkeypatch):
    monkeypatch.setattr("toolkit.pipeline.consolidate.LOCK_WAIT", 0.1)
    out = township / "总台账.xlsx"
    rc = main(["consolidate", str(township / "inbox"), "--out", str(out), "--as-of", "2010-10-20"])
    text = capsys.readouterr().out
    assert rc == 0 and f"总台账已写入：{out}" in text and "被拒收：坏.xlsx" in text
    with run_lock(township / "state"):
        rc = main(["consolidate", str(township / "inbox"), "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 1 and "另一汇总正在进行" in captured.err
    assert json.loads(captured.out)["master"] is None

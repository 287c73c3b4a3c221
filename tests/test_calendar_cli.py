"""`taizhang deadline`: through click's runner and as a real console command."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date

from click.testing import CliRunner

from toolkit.core.settings import NamedHolidayYear
from toolkit.shells.cli import cli
from toolkit.core.settings import Settings
from toolkit.core.settings_workbook import write_settings_workbook


def run(*args):
    return CliRunner().invoke(cli, ["deadline", *args])


def test_workday_examples():
    for start, expected in (("2010-07-01", "2010-09-25"), ("2010-06-01", "2010-08-25"),
                            ("2010-07-15", "2010-10-13"), ("2010年7月1日", "2010-09-25")):
        r = run(start, "--workdays", "60")
        assert r.exit_code == 0, r.output
        assert r.stdout.splitlines()[0] == expected      # the date alone: programs read it
        assert r.stderr.startswith("未找到 taizhang.toml")     # the demo's settings: said, on stderr
    lines = run("2010-07-01", "--workdays", "60").stdout.splitlines()
    assert "2010-09-25（星期六）中秋节调休上班，计为工作日" in lines


def test_statutory_days_example():
    r = run("2010-08-02", "--days", "60")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "2010-10-08"
    assert "2010-10-01 是国庆节放假，期限顺延至放假后第一天 2010-10-08（星期五）" in lines


def test_missing_year_is_refused():
    r = run("2026-11-20", "--workdays", "60")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "2027" in r.stderr and "节假日" in r.stderr


def test_year_from_the_settings_workbook(tmp_path):
    y = NamedHolidayYear(2027, frozenset({date(2027, 1, 1)}), frozenset(), ((date(2027, 1, 1), "元旦"),))
    path = write_settings_workbook(tmp_path / "设置.xlsx", Settings(extra_years=(y,)))
    r = run("2026-12-30", "--workdays", "2", "--settings", str(path))
    assert r.exit_code == 0, r.stderr
    assert r.output.splitlines()[0] == "2027-01-04"
    assert "经过元旦放假：2027-01-01（1 天）" in r.output


def test_bad_usage_exits_2():
    assert run("2010-07-01").exit_code == 2
    assert run("2010-07-01", "--workdays", "1", "--days", "1").exit_code == 2
    r = run("2010-13-01", "--days", "1")
    assert r.exit_code == 2 and "不是有效日期" in r.output + r.stderr


def test_bad_settings_workbook_exits_2(tmp_path):
    bad = tmp_path / "设置.xlsx"
    bad.write_bytes(b"junk")
    r = run("2010-07-01", "--workdays", "60", "--settings", str(bad))
    assert r.exit_code == 2 and "无法读取" in r.stderr


def test_real_console_command():
    exe = shutil.which("taizhang")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from toolkit.shells.cli import main; sys.exit(main())"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    p = subprocess.run([*cmd, "deadline", "2010-07-01", "--workdays", "60"], capture_output=True,
                       timeout=60, env=env)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    assert p.stdout.decode("utf-8").splitlines()[0] == "2010-09-25"
    p = subprocess.run([*cmd, "deadline", "2026-12-01", "--workdays", "60"], capture_output=True,
                       timeout=60, env=env)
    assert p.returncode == 2
    assert "2027" in p.stderr.decode("utf-8") and "Traceback" not in p.stderr.decode("utf-8")

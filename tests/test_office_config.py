"""Which taizhang.toml a run uses (as git finds its config), the first line that says a run fell
back to the demo, the daily command (`taizhang daily`, `python run_daily.py`), and the guide
that ships with the package."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_cases, write_ledger
from toolkit import api
from toolkit.core import config
from toolkit.core.config import PROJECT_ROOT
from toolkit.shells import guide as G
from toolkit.shells.cli import main

DEMO_LINE = "未找到 taizhang.toml"


def new_office(folder: Path, toml: str = '[daily]\nas_of = "2010-10-20"\n', *, year: int | None = 2012) -> Path:
    """An office folder: its toml, an inbox, and (with ``year``) its own settings workbook, whose
    scope cut-off (end of year - 2) keeps cases first petitioned in 2009 in scope."""
    (folder / "收件箱").mkdir(parents=True)
    (folder / "taizhang.toml").write_text(toml, encoding="utf-8")
    if year is not None:
        api.write_settings(folder / "设置.xlsx", config=folder / "taizhang.toml", year=year, township="南郊乡")
    return folder


def ledger_2009(path: Path) -> Path:
    """Two cases first petitioned in 2009: in the office's scope (cut-off 2010-12-31), out of the
    demo's (2008-12-31)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_ledger(path, sample_cases(2, "东村", first_petition_date=date(2009, 5, 1)), reporter="东村")
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- where taizhang.toml is ----------------------------------------------------------------------
def test_the_toml_of_a_parent_folder_is_found_as_git_finds_its_config(tmp_path, monkeypatch):
    office = new_office(tmp_path / "乡信访办", year=None)
    deep = office / "村台账" / "东村"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert api.load_config().source == office / "taizhang.toml"
    (deep / "taizhang.toml").write_text("", encoding="utf-8")          # the nearest one wins
    assert api.load_config().source == deep / "taizhang.toml"


def test_the_checkout_is_a_fallback_only_in_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake = tmp_path.parent / f"{tmp_path.name}-pkg"
    fake.mkdir()
    (fake / "taizhang.toml").write_text("", encoding="utf-8")
    monkeypatch.setattr(config, "PROJECT_ROOT", fake)           # as installed: site-packages' parent
    assert config.find_config_file() is None
    (fake / "run_daily.py").write_text("", encoding="utf-8")     # a checkout
    assert config.find_config_file() == fake / "taizhang.toml"


def test_fill_in_a_subfolder_uses_the_office_settings(tmp_path, monkeypatch, capsys):
    """Issue 18: from office/fill/ the demo's settings were applied with no word (积案范围 否)."""
    office = new_office(tmp_path / "乡")
    book = ledger_2009(office / "fill" / "东村.xlsx")
    monkeypatch.chdir(office / "fill")
    code, out, err = run(capsys, "validate", book.name, "--json")
    assert code == 0 and DEMO_LINE not in out + err
    codes = {i["code"] for f in json.loads(out)["files"] for i in f["issues"]}
    assert "out_of_scope" not in codes
    code, out, err = run(capsys, "fill", book.name)
    assert code == 0 and DEMO_LINE not in out + err, out + err
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("台账").to_python()
    head = next(r for r in rows if "积案范围" in r)
    col = head.index("积案范围")
    assert [r[col] for r in rows[rows.index(head) + 1:] if r[col]] == ["是", "是"]


def test_a_command_that_falls_back_to_the_demo_says_so_first(tmp_path, monkeypatch, capsys):
    book = ledger_2009(tmp_path / "别处" / "东村.xlsx")
    monkeypatch.chdir(book.parent)
    code, out, _ = run(capsys, "validate", book.name)
    assert out.splitlines()[0].startswith(DEMO_LINE) and str(book.parent) in out.splitlines()[0]
    assert "不在积案范围" in out or "积案范围截止日" in out          # the demo's 2008 cut-off, said
    code, out, err = run(capsys, "validate", book.name, "--json")
    assert json.loads(out) and err.startswith(DEMO_LINE)            # JSON stays JSON
    code, out, _ = run(capsys, "template", "--out", str(tmp_path / "模板.xlsx"))
    assert code == 0 and out.startswith(DEMO_LINE)
    code, out, _ = run(capsys, "submissions")
    assert out.startswith(DEMO_LINE)
    code, out, err = run(capsys, "deadline", "2010-07-01", "--workdays", "60")
    assert out.splitlines()[0] == "2010-09-25" and err.startswith(DEMO_LINE)   # programs read line 1


@pytest.mark.slow
def test_consolidating_the_demo_says_so_first(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "consolidate")
    first = out.splitlines()[0]
    assert code == 0 and first.startswith(DEMO_LINE) and "按演示日期 2010-10-20 汇总" in first
    assert "共 91 件" in out
    code, out, err = run(capsys, "consolidate", "--json")
    assert json.loads(out)["cases"] == 91 and err.startswith(DEMO_LINE)


def test_an_office_command_says_nothing_of_the_demo(tmp_path, monkeypatch, capsys):
    office = new_office(tmp_path / "乡")
    monkeypatch.chdir(office)
    code, out, err = run(capsys, "consolidate")
    assert code == 0 and DEMO_LINE not in out + err and "共 0 件" in out


# --- the daily command ------------------------------------------------------------------------------
def daily(args: list[str], cwd: Path, *, shim: bool = False) -> subprocess.CompletedProcess:
    cmd = ([sys.executable, str(PROJECT_ROOT / "run_daily.py")] if shim
           else [sys.executable, "-m", "toolkit.shells.cli", "daily"])
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("TAIZHANG_CONFIG", None)
    return subprocess.run(cmd + args, cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          timeout=300, env=env)


@pytest.mark.slow
def test_taizhang_daily_once_if_due_in_the_office_folder(tmp_path):
    office = new_office(tmp_path / "乡", '[daily]\ntime = "00:00"\nas_of = "2010-10-20"\n')
    ledger_2009(office / "收件箱" / "东村.xlsx")
    first = daily(["--once", "--if-due"], office)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"总台账已写入：{office / '输出' / '总台账.xlsx'}"
    again = daily(["--once", "--if-due"], office)
    assert again.returncode == 0 and "本次不汇总" in again.stdout
    # Task Scheduler starts programs elsewhere: --config names the office (and the shim is the same)
    elsewhere = tmp_path / "System32"
    elsewhere.mkdir()
    named = daily(["--once", "--config", str(office / "taizhang.toml")], elsewhere, shim=True)
    assert named.returncode == 0 and "总台账已写入" in named.stdout and DEMO_LINE not in named.stdout
    wrong = daily(["--if-due"], elsewhere, shim=True)
    assert wrong.returncode == 2 and "--if-due 只能与 --once 一起用" in wrong.stderr
    mistyped = daily(["--onse"], elsewhere)
    assert mistyped.returncode == 2 and "taizhang daily -h" in mistyped.stderr


def test_doctor_names_the_daily_command_and_its_folder(tmp_path, monkeypatch, capsys):
    office = new_office(tmp_path / "乡")
    monkeypatch.chdir(office)
    code, out, _ = run(capsys, "doctor", "--no-connect")
    line = next(x for x in out.splitlines() if "每日汇总：" in x)
    assert "daily --once --if-due" in line and f"起始于 {office}" in line
    assert "run_daily.py 常驻" not in line


def test_the_daily_command_is_the_installed_program_or_the_checkout_script(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    assert config.daily_command() == f'"{sys.executable}" "{PROJECT_ROOT / "run_daily.py"}" --once --if-due'
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / ("taizhang.exe" if os.name == "nt" else "taizhang")
    script.write_text("", encoding="utf-8")
    assert config.daily_command() == f'"{script}" daily --once --if-due'


# --- the guide ---------------------------------------------------------------------------------------
def test_the_guide_prints_and_every_link_inside_it_lands(tmp_path, capsys):
    code, out, _ = run(capsys, "guide", "--print")
    assert code == 0 and out.startswith("# 信访积案台账工具 使用说明")
    code, out, _ = run(capsys, "guide", "--out", str(tmp_path / "说明.html"))
    page = (tmp_path / "说明.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', page))
    links = set(re.findall(r'href="#([^"]+)"', page))
    assert "检查安装taizhang-doctor" in ids and links and links <= ids, links - ids
    assert "<table>" in page and "<pre>" in page and "taizhang.exe daily --once --if-due" in page


def test_the_guide_names_the_daily_command_for_task_scheduler():
    text = G.guide_text()
    assert "taizhang.exe daily --once --if-due" in text and "WorkingDirectory" in text
    assert "python run_daily.py" in text           # a checkout still has its shim


def test_ci_runs_the_readmes_two_commands_in_a_fresh_venv():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    commands = readme.split("```\n")[1].strip().splitlines()
    assert commands == ['pip install -e ".[test]" && taizhang daily --once', "pytest"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert all(c in ci for c in commands)
    assert any(line.strip().startswith('"$py" -m venv') for line in ci)
    assert any("activate" in line for line in ci) and "--system-site-packages" not in "\n".join(ci)

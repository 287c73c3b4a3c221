"""The toolkit installs like a real package: build the wheel, install it into a fresh
environment, and run the commands a new office runs from a folder with no checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from toolkit.core.config import PROJECT_ROOT
from toolkit.demo import DEMO_FILES
from toolkit.shells.workbench import VBA_MODULES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel --no-deps`` of a clean copy of this tree (no build/ or .git left over)."""
    src = tmp_path_factory.mktemp("src") / "taizhang"
    shutil.copytree(PROJECT_ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", "workbooks", "tests", "bench"))
    out = tmp_path_factory.mktemp("dist")
    got = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr
    (whl,) = out.glob("taizhang-*.whl")
    return whl


def test_the_wheel_holds_the_vba_modules_and_the_demo(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in VBA_MODULES:
        assert f"toolkit/shells/vba/{module.file}" in names
    for f in DEMO_FILES:
        assert f"toolkit/demo/inbox/{f.name}" in names
    assert not any(n.startswith(("workbooks/", "tests/")) for n in names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """A fresh venv (system packages for the dependencies, no network) with the wheel in it."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root / "env", system_site_packages=True, with_pip=True)
    bindir = root / "env" / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    got = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                         capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TAIZHANG_CONFIG", "TAIZHANG_DEMO_HOME")}
    env.update(PATH=f"{bindir}{os.pathsep}{env['PATH']}", HOME=str(root / "home"),
               XDG_DATA_HOME=str(root / "home" / "share"), XLWINGS_LICENSE_KEY="noncommercial")
    where = subprocess.run([str(py), "-c", "import toolkit; print(toolkit.__file__)"], cwd=root,
                           capture_output=True, text=True, env=env, timeout=120)
    assert Path(where.stdout.strip()).is_relative_to(root / "env"), where.stdout + where.stderr
    return root, env


def taizhang(installed, cwd: Path, *args) -> subprocess.CompletedProcess:
    root, env = installed
    return subprocess.run(["taizhang", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_installed_commands_work_with_no_checkout(installed, tmp_path):
    root, _ = installed
    first = tmp_path / "第一次"
    first.mkdir()
    got = taizhang(installed, first, "template")
    assert got.returncode == 0, got.stderr
    assert CalamineWorkbook.from_path(str(first / "村级台账模板.xlsx")).sheet_names
    got = taizhang(installed, first, "workbench")
    assert got.returncode == 0, got.stderr
    assert "xl/vbaProject.bin" in zipfile.ZipFile(first / "台账工作台.xlsm").namelist()
    got = taizhang(installed, first, "demo")
    demo_inbox = root / "home" / "share" / "taizhang" / "demo" / "收件箱"
    assert got.returncode == 0 and str(demo_inbox) in got.stdout, got.stdout + got.stderr
    assert sorted(p.name for p in demo_inbox.iterdir()) == sorted(f.name for f in DEMO_FILES)
    got = taizhang(installed, first, "consolidate", "--json")
    assert got.returncode == 0, got.stderr
    assert '"cases": 91' in got.stdout and str(demo_inbox.parent) in got.stdout


def test_installed_consolidate_on_a_real_folder(installed, tmp_path):
    root, _ = installed
    office = tmp_path / "南郊乡"
    (office / "收件箱").mkdir(parents=True)
    pristine = root / "env"
    (src,) = pristine.rglob("toolkit/demo/inbox")
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx"):
        shutil.copyfile(src / name, office / "收件箱" / name)
    (office / "taizhang.toml").write_text('[daily]\nas_of = "2010-10-20"\n', encoding="utf-8")
    got = taizhang(installed, office, "consolidate")
    assert got.returncode == 0, got.stderr
    assert "共 21 件" in got.stdout and str(office / "输出" / "总台账.xlsx") in got.stdout
    assert (office / "存档").is_dir() and (office / "状态").is_dir()
    assert not list((root / "env").rglob("workbooks")), "nothing is written inside the installed package"
    got = taizhang(installed, office, "doctor", "--no-connect")
    assert str(office / "taizhang.toml") in got.stdout and "村名册：空" in got.stdout

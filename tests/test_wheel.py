"""The toolkit installs like a real package: build the wheel, install it with its dependencies
(from the package index, as an office does) into a fresh venv that does not see this machine's
packages, and run the commands a new office runs from a folder with no checkout.

One venv serves the whole module (installing takes a minute or two)."""
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

from conftest import needs_soffice
from toolkit.core.config import PROJECT_ROOT
from toolkit.demo import DEMO_FILES
from toolkit.shells.workbench import VBA_MODULES

pytestmark = pytest.mark.slow
DEMO_LINE = "未找到 taizhang.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel --no-deps`` of a clean copy of this tree (no build/ or .git left over)."""
    src = tmp_path_factory.mktemp("src") / "taizhang"
    shutil.copytree(PROJECT_ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", "workbooks", "tests", "bench", ".venv*"))
    out = tmp_path_factory.mktemp("dist")
    got = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
                          str(src), "-w", str(out)], capture_output=True, text=True, timeout=900)
    assert got.returncode == 0, got.stderr
    (whl,) = out.glob("taizhang-*.whl")
    return whl


def test_the_wheel_holds_the_vba_modules_the_demo_and_the_guide(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in VBA_MODULES:
        assert f"toolkit/shells/vba/{module.file}" in names
    for f in DEMO_FILES:
        assert f"toolkit/demo/inbox/{f.name}" in names
    assert any(n.endswith(".data/data/share/taizhang/guide.md") for n in names)
    assert not any(n.startswith(("workbooks/", "tests/", "docs/")) for n in names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """A fresh venv without the system site-packages, the wheel and its dependencies in it."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root / "env", system_site_packages=False, with_pip=True)
    bindir = root / "env" / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "TAIZHANG_CONFIG", "TAIZHANG_DEMO_HOME", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{bindir}{os.pathsep}{env['PATH']}", HOME=str(root / "home"),
               XDG_DATA_HOME=str(root / "home" / "share"), TAIZHANG_SERVE_TOKEN="k3y-for-tests-0123456789")
    env.pop("XLWINGS_LICENSE_KEY", None)          # an office does not set it
    got = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True, timeout=1800, env=env)
    assert got.returncode == 0, got.stdout + got.stderr
    where = subprocess.run([str(py), "-c", "import toolkit, sys; print(toolkit.__file__); print(sys.path)"],
                           cwd=root, capture_output=True, text=True, env=env, timeout=120)
    assert Path(where.stdout.splitlines()[0]).is_relative_to(root / "env"), where.stdout + where.stderr
    assert str(PROJECT_ROOT) not in where.stdout and "site-packages" in where.stdout
    return root, env


def taizhang(installed, cwd: Path, *args) -> subprocess.CompletedProcess:
    _, env = installed
    return subprocess.run(["taizhang", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          env=env, timeout=600)


def test_a_new_office_from_a_folder_with_no_checkout(installed, tmp_path):
    root, env = installed
    assert subprocess.run([str(root / "env" / "bin" / "python"), "-c", "import oletools"], env=env,
                          capture_output=True).returncode != 0     # the product runs without it
    first = tmp_path / "第一次"
    first.mkdir()
    got = taizhang(installed, first, "template")
    assert got.returncode == 0 and got.stdout.startswith(DEMO_LINE), got.stdout + got.stderr
    assert CalamineWorkbook.from_path(str(first / "村级台账模板.xlsx")).sheet_names
    got = taizhang(installed, first, "workbench")
    assert got.returncode == 0, got.stdout + got.stderr
    assert "xl/vbaProject.bin" in zipfile.ZipFile(first / "台账工作台.xlsm").namelist()
    got = taizhang(installed, first, "demo")
    demo_inbox = root / "home" / "share" / "taizhang" / "demo" / "收件箱"
    assert got.returncode == 0 and str(demo_inbox) in got.stdout, got.stdout + got.stderr
    assert sorted(p.name for p in demo_inbox.iterdir()) == sorted(f.name for f in DEMO_FILES)
    got = taizhang(installed, first, "consolidate", "--json")
    assert got.returncode == 0, got.stderr
    assert '"cases": 91' in got.stdout and str(demo_inbox.parent) in got.stdout
    assert got.stderr.startswith(DEMO_LINE)
    got = taizhang(installed, first, "daily", "--once")
    assert got.returncode == 0 and got.stdout.startswith(DEMO_LINE) and "共 91 件" in got.stdout, got.stderr
    got = taizhang(installed, first, "guide", "--out", "说明.html")
    assert got.returncode == 0 and "daily --once --if-due" in (first / "说明.html").read_text("utf-8")


def test_an_office_folder_settings_consolidate_daily_and_doctor(installed, tmp_path):
    root, _ = installed
    office = tmp_path / "南郊乡"
    (office / "收件箱").mkdir(parents=True)
    (src,) = (root / "env").rglob("toolkit/demo/inbox")
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx"):
        shutil.copyfile(src / name, office / "收件箱" / name)
    (office / "taizhang.toml").write_text('[daily]\ntime = "00:00"\nas_of = "2010-10-20"\n', encoding="utf-8")
    got = taizhang(installed, office, "settings", "--year", "2010", "--township", "南郊乡")
    assert got.returncode == 0 and "积案截止日期 2008-12-31" in got.stdout, got.stdout + got.stderr
    sub = office / "收件箱"                                 # a subfolder finds the office's toml
    got = taizhang(installed, sub, "consolidate")
    assert got.returncode == 0 and DEMO_LINE not in got.stdout, got.stdout + got.stderr
    assert "共 21 件" in got.stdout and str(office / "输出" / "总台账.xlsx") in got.stdout
    assert (office / "存档").is_dir() and (office / "状态").is_dir()
    got = taizhang(installed, office, "daily", "--once", "--if-due")
    assert got.returncode == 0 and "总台账已写入" in got.stdout, got.stdout + got.stderr
    got = taizhang(installed, office, "daily", "--once", "--if-due")
    assert got.returncode == 0 and "本次不汇总" in got.stdout
    assert not list((root / "env").rglob("workbooks")), "nothing is written inside the installed package"
    got = taizhang(installed, office, "doctor", "--no-connect")
    daily_line = next(line for line in got.stdout.splitlines() if "每日汇总" in line)
    assert str(office / "taizhang.toml") in got.stdout and "村名册：空" in got.stdout
    assert f'"{root / "env" / "bin" / "taizhang"}" daily --once --if-due' in daily_line
    assert f"起始于 {office}" in daily_line


@needs_soffice
def test_the_brief_pdf_from_the_installed_package(installed, tmp_path):
    got = taizhang(installed, tmp_path, "brief", "--out", str(tmp_path / "简报.pdf"))
    assert got.returncode == 0, got.stdout + got.stderr
    assert (tmp_path / "简报.pdf").read_bytes().startswith(b"%PDF")


def test_the_buttons_run_from_the_installed_package(installed, tmp_path):
    """The button server of the installed package answers a button press (xlwings' remote
    engine, the handlers) and its home page, with the office's config."""
    import http.client
    import json
    import re

    from factories.ledgers import make_ledger
    from toolkit.shells.remote import vba_payload
    root, env = installed
    office = tmp_path / "乡"
    office.mkdir()
    (office / "taizhang.toml").write_text('[daily]\nas_of = "2010-10-20"\n', encoding="utf-8")
    sample = make_ledger(tmp_path / "东村台账.xlsx", village="东村", n_cases=3)
    body = json.dumps(vba_payload(sample.path, active_sheet=sample.sheet)).encode("utf-8")
    proc = subprocess.Popen(["taizhang", "serve", "--port", "0"], cwd=office, env=env, text=True,
                            encoding="utf-8", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/")
        page = conn.getresponse().read().decode("utf-8")
        conn.request("POST", "/check_setup", body=body,
                     headers={"Authorization": f"Bearer {env['TAIZHANG_SERVE_TOKEN']}"})
        resp = conn.getresponse()
        reply = resp.read().decode("utf-8")
        conn.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert "台账工具按钮服务" in page and DEMO_LINE not in page
    assert resp.status == 200, reply
    (alert,) = [a["args"][0] for a in json.loads(reply)["actions"] if a["func"] == "alert"]
    assert f"配置文件：{office / 'taizhang.toml'}" in alert and str(root / "env") in alert

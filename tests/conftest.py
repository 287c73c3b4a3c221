"""Shared pytest setup.

Tests never touch the clerk-facing folders of the checkout: every test that
writes gets its own tmp_path, runs in it as the current folder, and sees no
TAIZHANG_CONFIG, so no taizhang.toml of a developer's can leak into a run (one
beside run_daily.py stops the run: the toolkit would read it). Fixture workbooks come
from the ``factories`` package beside this file (tests/factories).
"""
from __future__ import annotations

import os

import pytest

from factories.libreoffice import find_soffice

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


def pytest_sessionstart(session):
    from toolkit.core.config import PROJECT_ROOT
    if (PROJECT_ROOT / "taizhang.toml").exists():
        pytest.exit(f"{PROJECT_ROOT / 'taizhang.toml'} exists: the toolkit would read it in every test. "
                    "Move it away while the tests run.", returncode=4)


@pytest.fixture(autouse=True)
def _no_local_config(monkeypatch, tmp_path, tmp_path_factory):
    monkeypatch.delenv("TAIZHANG_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    # the demo's home too: a test running the demo never writes into the checkout's workbooks/demo
    from toolkit import api
    home = tmp_path_factory.mktemp("demo_home")
    monkeypatch.setenv("TAIZHANG_DEMO_HOME", str(home))
    monkeypatch.setattr(api, "DEMO_HOME", home)
    monkeypatch.setattr(api, "DEMO_INBOX", home / "收件箱")
    # the kept LibreOffice profile (toolkit.outputs.libreoffice) lives in the per-user cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


needs_soffice = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) 未安装")

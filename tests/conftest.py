"""Shared pytest setup.

Tests never touch the clerk-facing folders of the checkout: every test that
writes gets its own tmp_path, and TAIZHANG_CONFIG points nowhere by default so
a developer's own taizhang.toml cannot leak into a run.
"""
from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


@pytest.fixture(autouse=True)
def _no_local_config(monkeypatch, tmp_path_factory):
    if "TAIZHANG_CONFIG" not in os.environ:
        monkeypatch.setenv("TAIZHANG_CONFIG", str(tmp_path_factory.getbasetemp() / "absent.toml"))


def has_soffice() -> bool:
    return shutil.which("soffice") is not None


needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice (soffice) 未安装")

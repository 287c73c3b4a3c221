"""The kept LibreOffice profile of the 简报 PDF: per-user cache, one run at a time, never broken."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

from conftest import needs_soffice
from toolkit.outputs.libreoffice import convert, profile_folder

pytestmark = [needs_soffice, pytest.mark.slow]


def _sheet(path):
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("简报").write_string(0, 0, "南郊乡信访积案简报")
    wb.close()
    return path


def _text(pdf) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          encoding="utf-8", check=True).stdout


def test_kept_profile_is_made_once_in_the_cache_and_used_again(tmp_path):
    book = _sheet(tmp_path / "简报.xlsx")
    folder = profile_folder()
    assert folder.is_relative_to(Path(os.environ["XDG_CACHE_HOME"]))    # never the user's own
    (pdf,) = convert([book], "pdf", tmp_path / "a", keep_profile=True)
    assert "南郊乡信访积案简报" in _text(pdf)
    assert (folder / "user").is_dir()                   # LibreOffice built its profile there
    marker = folder / "user" / "taizhang-test-marker"
    marker.write_text("kept", encoding="utf-8")
    (pdf,) = convert([book], "pdf", tmp_path / "b", keep_profile=True)
    assert "南郊乡信访积案简报" in _text(pdf) and marker.read_text(encoding="utf-8") == "kept"


def test_a_run_meeting_the_profile_in_use_takes_a_new_one(tmp_path):
    book = _sheet(tmp_path / "简报.xlsx")
    folder = profile_folder()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=0):     # another run holds it
        (pdf,) = convert([book], "pdf", tmp_path / "out", keep_profile=True)
    assert "南郊乡信访积案简报" in _text(pdf)
    assert not folder.exists()                          # the kept one was not touched


def test_a_broken_kept_profile_is_thrown_away_and_the_pdf_still_made(tmp_path):
    book = _sheet(tmp_path / "简报.xlsx")
    folder = profile_folder()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"\0not a profile")              # what a crash could leave behind
    (pdf,) = convert([book], "pdf", tmp_path / "out", keep_profile=True)
    assert "南郊乡信访积案简报" in _text(pdf)
    assert folder.is_dir()

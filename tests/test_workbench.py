"""The committed control workbook 台账工作台.xlsm, checked on Linux without Excel.

The VBA modules read out of the workbook (pyOpenVBA's reader, which `taizhang workbench`
uses, and oletools' olevba, an independent one the product does not need) must equal
the texts under toolkit/shells/vba; the buttons and their macros are read from the VML
drawing; LibreOffice, a second and independent reader of VBA projects, opens the
file and binds each button to its macro. What only Excel can confirm (that Excel
compiles the modules and RunPython starts Python) is listed in docs/guide.md.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import needs_soffice
from factories.libreoffice import convert
from toolkit.shells import workbench as W
from toolkit.shells.cli import cli

COMMITTED = W.WORKBENCH


def test_committed_workbook_holds_exactly_the_vba_sources():
    assert COMMITTED.is_file(), "run `taizhang workbench` and commit the result"
    assert W.check_vba(COMMITTED) == []
    found = W.extract_vba(COMMITTED)
    assert set(found) == {m.name for m in W.VBA_MODULES} | {"ThisWorkbook", "Sheet1", "Sheet2"}
    taizhang = found["Taizhang"]
    for b in W.BUTTONS:
        assert f"Public Sub {b.macro}()" in taizhang
        assert f'TZ_Run "{b.handler}"' in taizhang
    assert 'RunPython "import toolkit.macros as m; m." & handler & "()"' in taizhang


def olevba_modules(path) -> dict[str, str]:
    """Module name -> source, read by oletools' olevba (in the test extra only)."""
    import warnings

    with warnings.catch_warnings():       # oletools' pyparsing grammar warns on import
        warnings.simplefilter("ignore")
        from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path))
    try:
        return {Path(name).stem: code for (_, _, name, code) in parser.extract_macros()}
    finally:
        parser.close()


def test_an_independent_reader_sees_the_same_modules():
    ours, theirs = W.extract_vba(COMMITTED), olevba_modules(COMMITTED)
    assert set(ours) == set(theirs)
    assert all(W.normalize_vba(ours[n]) == W.normalize_vba(theirs[n]) for n in ours)


def test_a_changed_module_is_caught(tmp_path, monkeypatch):
    """check_vba really compares: a workbook built from other text fails against ours."""
    src = tmp_path / "vba"
    src.mkdir()
    for m in W.VBA_MODULES:
        (src / m.file).parent.mkdir(parents=True, exist_ok=True)
        (src / m.file).write_bytes(m.path.read_bytes())
    changed = (src / "Taizhang.bas").read_bytes().replace(b"Public Sub TZ_Fill()", b"Public Sub TZ_Fill2()")
    (src / "Taizhang.bas").write_bytes(changed)
    assert W.check_vba(COMMITTED) == []
    monkeypatch.setattr(W, "VBA_DIR", src)
    assert W.check_vba(COMMITTED) == ["模块 Taizhang 的代码与 Taizhang.bas 不一致"]


def test_rebuilding_gives_the_committed_bytes(tmp_path):
    pytest.importorskip("pyopenvba")
    out = tmp_path / "台账工作台.xlsm"
    result = CliRunner().invoke(cli, ["workbench", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == COMMITTED.read_bytes(), "sources changed: run `taizhang workbench`"


def test_vendored_xlwings_vba_matches_the_installed_xlwings():
    """RunRemotePython sends XLWINGS_VERSION; the server refuses another version."""
    import xlwings

    pkg = Path(xlwings.__file__).parent
    for m in W.VBA_MODULES:
        if m.name == "Taizhang":
            continue
        shipped = pkg / ("xlwings.bas" if m.name == "xlwings" else f"addin/{Path(m.file).name}")
        assert m.path.read_bytes() == shipped.read_bytes(), m.file
    version = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', W.module_source(W.VBA_MODULES[0]))
    assert version.group(1) == xlwings.__version__


def test_our_vba_is_ascii_with_crlf_and_licences_are_kept():
    raw = (W.VBA_DIR / "Taizhang.bas").read_bytes()
    assert raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert "BSD 3-clause" in W.module_source(W.VBA_MODULES[0])
    assert (W.VBA_DIR / "xlwings" / "LICENSE-xlwings.txt").read_text().startswith("xlwings")
    assert "MIT" in (W.VBA_DIR / "xlwings" / "README.md").read_text(encoding="utf-8")


def test_buttons_are_bound_to_existing_macros():
    with zipfile.ZipFile(COMMITTED) as z:
        vml = z.read("xl/drawings/vmlDrawing1.vml").decode("utf-8")
        rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode("utf-8")
    bound = re.findall(r"<x:FmlaMacro>\[0\]!(\w+)</x:FmlaMacro>", vml)
    assert bound == [b.macro for b in W.BUTTONS]
    assert set(bound) <= set(W.macro_names())
    for b in W.BUTTONS:
        assert b.caption in vml
    assert vml.count('ObjectType="Button"') == len(W.BUTTONS)
    assert "vmlDrawing1.vml" in rels


def test_package_is_macro_enabled_with_code_names():
    with zipfile.ZipFile(COMMITTED) as z:
        types = z.read("[Content_Types].xml").decode()
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        sheets = [z.read(f"xl/worksheets/sheet{i}.xml").decode() for i in (1, 2)]
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert "application/vnd.ms-office.vbaProject" in types
    assert "relationships/vbaProject" in rels
    assert 'codeName="ThisWorkbook"' in book
    assert [re.search(r'codeName="(\w+)"', s).group(1) for s in sheets] == ["Sheet1", "Sheet2"]


def test_xlwings_conf_sheet_is_what_xlwings_reads():
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(COMMITTED)) as wb:
        assert wb.sheet_names == [W.CONTROL_SHEET, W.CONF_SHEET]
        rows = wb.get_sheet_by_name(W.CONF_SHEET).to_python(skip_empty_area=False)
    keys = []
    for row in rows:                       # GetConfigFromSheet: A1 down to the first blank
        if not row[0]:
            break
        keys.append((row[0], row[1]))
    conf = dict(keys)
    assert list(conf) == [k for k, _ in W.CONF_DEFAULTS]
    assert conf["Interpreter_Win"] == "python"
    assert conf["Use UDF Server"] is False and conf["Show Console"] is False
    assert "AUTH" not in conf and "TAIZHANG_SERVER" not in conf   # left to the user's file


def test_options_go_into_the_conf_sheet(tmp_path):
    pytest.importorskip("pyopenvba")
    from python_calamine import CalamineWorkbook

    out = tmp_path / "staff.xlsm"
    W.build_workbench(out, options=W.ConfOptions(r"C:\taizhang\.venv\Scripts\pythonw.exe",
                                                 r"C:\taizhang", "http://192.0.2.10:8765"))
    with CalamineWorkbook.from_path(str(out)) as wb:
        rows = wb.get_sheet_by_name(W.CONF_SHEET).to_python(skip_empty_area=False)
    conf = {r[0]: r[1] for r in rows[:10]}
    assert conf["Interpreter_Win"].endswith("pythonw.exe")
    assert conf["PYTHONPATH"] == r"C:\taizhang"
    assert conf["TAIZHANG_SERVER"] == "http://192.0.2.10:8765"


def test_workbench_refuses_a_non_macro_name(tmp_path):
    result = CliRunner().invoke(cli, ["workbench", "--out", str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0 or "xlsm" in result.output


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_libreoffice_opens_it_and_binds_every_button(tmp_path):
    """LibreOffice reads the VBA project itself: each button's macro resolves to
    VBAProject.Taizhang.<macro>, and the control sheet prints."""
    [ods] = convert([COMMITTED], "ods", tmp_path, timeout=180)
    with zipfile.ZipFile(ods) as z:
        content = z.read("content.xml").decode("utf-8")
        modules = {Path(n).stem for n in z.namelist() if n.startswith("Basic/VBAProject/")}
    for b in W.BUTTONS:
        assert f'form:label="{b.caption}"' in content
        assert f"vnd.sun.star.script:VBAProject.Taizhang.{b.macro}?language=Basic" in content
    assert {m.name for m in W.VBA_MODULES} <= modules

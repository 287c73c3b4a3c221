"""`taizhang validate` end to end: real workbooks on disk, a real subprocess for
the exit codes and the single JSON object, the issue report read back by
python-calamine (a second reader, not the xlsxwriter that wrote it)."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.ledgers import LedgerStyle, make_ledger

AS_OF = "2010-10-20"
KEYS = {"severity", "code", "sheet", "cell", "row", "column", "case_id", "value", "message", "action"}


def taizhang(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.shells.cli", *args], capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inbox")
    make_ledger(d / "东村.xlsx", village="东村", n_cases=8, seed=1)
    make_ledger(d / "西村.xlsx", village="西村", n_cases=8, seed=2, first_number=20,
                layout=LedgerStyle(grouped=False, variants=True, messy_headers=True, dates="mixed",
                                   faults=("id_as_number", "impossible_date", "out_of_scope")))
    return d


def test_json_is_one_object_with_the_promised_shape(inbox):
    r = taizhang("validate", str(inbox), "--as-of", AS_OF, "--json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)            # exactly one JSON object on stdout
    assert list(data) == ["files"]
    files = {Path(f["path"]).name: f for f in data["files"]}
    assert set(files) == {"东村.xlsx", "西村.xlsx"}
    east, west = files["东村.xlsx"], files["西村.xlsx"]
    assert (east["village"], east["cases"], east["issues"]) == ("东村", 8, [])
    assert west["village"] == "西村" and west["cases"] == 8
    for issue in west["issues"]:
        assert set(issue) == KEYS
    by_code = {i["code"]: i for i in west["issues"]}
    assert {"id_number_as_number", "invalid_date", "out_of_scope"} <= set(by_code)
    bad_date = by_code["invalid_date"]
    assert bad_date["severity"] == "error" and bad_date["value"] == "2010年13月5日"
    assert bad_date["cell"] and bad_date["sheet"] and bad_date["row"] >= 3
    assert by_code["out_of_scope"]["severity"] == "warning"
    # the cell named really holds the value complained about (second reader)
    ws = CalamineWorkbook.from_path(str(inbox / "西村.xlsx")).get_sheet_by_name(bad_date["sheet"])
    rows = ws.to_python()
    from toolkit.core.cells import column_index
    letters = "".join(ch for ch in bad_date["cell"] if ch.isalpha())
    assert rows[bad_date["row"] - 1][column_index(letters)] == "2010年13月5日"


def test_text_report_is_chinese_and_names_cells(inbox):
    r = taizhang("validate", str(inbox), "--as-of", AS_OF)
    assert r.returncode == 1
    assert "【通过】东村.xlsx" in r.stdout
    assert "2010年没有13月" in r.stdout
    assert "共检查 2 个文件" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_clean_file_exits_0_and_warnings_do_not_fail(tmp_path):
    make_ledger(tmp_path / "a.xlsx", village="南村", n_cases=5, seed=3,
                layout=LedgerStyle(faults=("out_of_scope",)))
    r = taizhang("validate", str(tmp_path / "a.xlsx"), "--as-of", AS_OF, "--json")
    assert r.returncode == 0, r.stdout
    [f] = json.loads(r.stdout)["files"]
    assert [i["code"] for i in f["issues"]] == ["out_of_scope"]


def test_unreadable_file_exits_2_and_the_good_file_is_still_read(inbox, tmp_path):
    (tmp_path / "假表格.xlsx").write_text("这不是表格", encoding="utf-8")
    r = taizhang("validate", str(inbox / "东村.xlsx"), str(tmp_path / "假表格.xlsx"), "--as-of", AS_OF,
                 "--json")
    assert r.returncode == 2
    files = {Path(f["path"]).name: f for f in json.loads(r.stdout)["files"]}
    assert files["东村.xlsx"]["cases"] == 8
    [issue] = files["假表格.xlsx"]["issues"]
    assert issue["code"] == "not_spreadsheet" and "假表格.xlsx" in issue["message"]


def test_not_a_ledger_is_said_once(tmp_path):
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(tmp_path / "工资表.xlsx"))
    ws = wb.add_worksheet("工资")
    for r, row in enumerate([["姓名", "月份", "金额"], ["张三", "7月", 1200]]):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.close()
    r = taizhang("validate", str(tmp_path), "--as-of", AS_OF, "--json")
    assert r.returncode == 1
    [f] = json.loads(r.stdout)["files"]
    [issue] = f["issues"]
    assert issue["code"] == "not_a_ledger" and "“工资”" in issue["message"] and "模板" in issue["action"]


def test_report_workbook_read_back_by_calamine(inbox, tmp_path):
    out = tmp_path / "问题清单.xlsx"
    r = taizhang("validate", str(inbox), "--as-of", AS_OF, "--report", str(out))
    assert r.returncode == 1 and out.exists()
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == ["校验问题", "文件汇总"]
    rows = wb.get_sheet_by_name("校验问题").to_python()
    assert rows[0][0].startswith("校验问题清单") and rows[1][:4] == ["文件", "村（社区）", "工作表", "单元格"]
    assert any(row[8] == "日期无法识别" and "13月" in row[9] and row[12] == "invalid_date"
               for row in rows[2:])
    summary = wb.get_sheet_by_name("文件汇总").to_python()
    assert {row[0]: row[6] for row in summary[1:]} == {"东村.xlsx": "通过", "西村.xlsx": "有错误"}


def test_bad_as_of_date_is_a_chinese_usage_error(inbox):
    r = taizhang("validate", str(inbox), "--as-of", "2010-13-01")
    assert r.returncode == 2
    assert "不是有效日期" in r.stderr and "Traceback" not in r.stderr


def test_a_bad_settings_workbook_is_explained_not_a_traceback(inbox, tmp_path):
    import xlsxwriter
    bad = tmp_path / "设置.xlsx"
    wb = xlsxwriter.Workbook(str(bad))
    ws = wb.add_worksheet("节假日")
    for c, v in enumerate(["日期", "类型", "说明"]):
        ws.write(0, c, v)
    ws.write(1, 0, "2027年13月5日")
    ws.write(1, 1, "放假")
    wb.close()
    r = taizhang("validate", str(inbox), "--as-of", AS_OF, "--settings", str(bad))
    assert r.returncode == 2
    assert "节假日" in r.stderr and "A2" in r.stderr and "意外" not in r.stderr
    assert "Traceback" not in r.stderr


def test_annotate_writes_the_copy_a_village_gets_back(inbox, tmp_path):
    out = tmp_path / "发回"
    r = taizhang("validate", str(inbox), "--as-of", AS_OF, "--annotate", str(out))
    assert r.returncode == 1, r.stderr
    copies = sorted(p.name for p in out.iterdir())
    assert copies == ["西村_校验结果.xlsx"]          # the clean 东村 file needs no copy
    assert "标注副本" in r.stdout
    wb = CalamineWorkbook.from_path(str(out / copies[0]))
    assert wb.sheet_names[-1] == "校验结果"
    listed = wb.get_sheet_by_name("校验结果").to_python()
    text = "\n".join(str(v) for row in listed for v in row)
    assert "2010年没有13月" in text and "身份证号被 Excel 存成了数字" in text
    # the village's own sheet is still there with its values
    original = CalamineWorkbook.from_path(str(inbox / "西村.xlsx"))
    sheet = original.sheet_names[0]
    assert wb.get_sheet_by_name(sheet).to_python() == original.get_sheet_by_name(sheet).to_python()


@pytest.mark.parametrize("args,words", [
    (["validate"], "缺少要检查的文件或文件夹"),
    (["validate", "/没有这个文件夹"], "找不到 /没有这个文件夹"),
    (["consolidate", "x", "--jso"], "是不是想写"),
    (["没有的命令"], "没有这个命令"),
])
def test_usage_mistakes_are_answered_in_chinese(args, words):
    from toolkit.shells.cli import main
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    assert code == 2
    text = err.getvalue()
    assert words in text and "-h 查看用法" in text
    assert "Error" not in text and "Usage" not in text


def test_an_unexpected_error_is_logged_for_support_not_shown(monkeypatch, tmp_path, inbox):
    import contextlib
    import io
    import toolkit.pipeline.check
    from toolkit.shells.cli import main
    (tmp_path / "taizhang.toml").write_text('[paths]\nlogs = "日志"\n', encoding="utf-8")
    monkeypatch.setenv("TAIZHANG_CONFIG", str(tmp_path / "taizhang.toml"))

    def broken(*args, **kwargs):
        raise RuntimeError("磁盘出错")
    monkeypatch.setattr(toolkit.pipeline.check, "check_paths", broken)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["validate", str(inbox)]) == 2
    shown = err.getvalue()
    assert "出现意外错误：磁盘出错" in shown and "Traceback" not in shown
    logged = (tmp_path / "日志" / "taizhang.log").read_text(encoding="utf-8")
    assert "Traceback" in logged and "磁盘出错" in logged
    assert str(tmp_path / "日志" / "taizhang.log") in shown


def test_help_pages_are_chinese():
    import contextlib
    import io
    from toolkit.shells.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["validate", "-h"])
    text = out.getvalue()
    assert text.startswith("用法：") and "选项：" in text and "显示本说明并退出。" in text
    assert "Show this message" not in text



def _killed_on_the_way(module: str, step: str, args: list[str], *, after_step: bool) -> None:
    """Run `taizhang validate ARGS` in a process that dies at once, as under kill -9, on reaching
    ``module.step`` (or just after it): what it leaves is what a killed run leaves."""
    code = (f"import os, {module} as m\n"
            f"real = m.{step}\n"
            f"def dying(*a, **k):\n"
            f"    if {after_step}: real(*a, **k)\n"
            f"    os._exit(9)\n"
            f"m.{step} = dying\n"
            f"from toolkit.shells.cli import main\n"
            f"main(['validate', *{args!r}])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert r.returncode == 9, r.stderr


def test_a_killed_report_leaves_nothing_the_next_one_does_not_clear(inbox, tmp_path):
    out = tmp_path / "问题清单.xlsx"
    _killed_on_the_way("toolkit.outputs.report", "_render_report",
                       [str(inbox), "--as-of", AS_OF, "--report", str(out)], after_step=True)
    assert not out.exists() and [p.suffix for p in tmp_path.iterdir()] == [".tmp"]   # the half-done file
    r = taizhang("validate", str(inbox), "--as-of", AS_OF, "--report", str(out))
    assert r.returncode == 1 and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_killed_annotation_leaves_nothing_in_the_clerks_folder(tmp_path):
    """A file that is not patched in place (.xls) is annotated through a values copy: made in the
    system's temp folder, never beside the copies a clerk sends back."""
    import toolkit.demo
    xls = Path(toolkit.demo.__file__).parent / "inbox" / "北村信访积案台账.xls"
    out = tmp_path / "发回"
    _killed_on_the_way("toolkit.outputs.fill", "patch_workbook",
                       [str(xls), "--as-of", AS_OF, "--annotate", str(out)], after_step=False)
    assert list(out.iterdir()) == []
    r = taizhang("validate", str(xls), "--as-of", AS_OF, "--annotate", str(out))
    assert r.returncode == 1, r.stderr
    assert [p.name for p in out.iterdir()] == ["北村信访积案台账_校验结果.xlsx"]

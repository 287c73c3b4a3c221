"""Issue 20: headers that change. Near misses are read and said, ambiguous ones named, the
township teaches spellings once (表头别名), a village's own columns are information, and the
master says when a village's header differs from the last counted one.

Workbooks are written to disk and read by the toolkit (python-calamine); the master, the
annotated outputs and the settings workbook are read back by calamine or LibreOffice.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from conftest import needs_soffice
from factories.layouts import ledger_columns, sample_cases, write_ledger, write_rows
from factories.sheet import Column
from toolkit import api
from toolkit.core.issues import INFO, Code
from toolkit.core.settings import RosterEntry, Settings
from toolkit.core.settings_workbook import (SHEET_ALIASES, SettingsError, create_settings_workbook,
                                            load_settings, write_settings_workbook)
from toolkit.pipeline.consolidate import consolidate
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.read.header_match import near_field
from toolkit.read.workbook import read_ledger

AS_OF = date(2010, 10, 20)


def flat(path: Path, headers: dict[str, str], *, extra: list[tuple[str, str]] = (), drop=(), **kw) -> Path:
    """A one-row-header ledger under a title (header in row 3) with some headers as a village wrote them."""
    cols = [c for c in ledger_columns("flat", headers=headers, computed=()) if c.key not in drop]
    cols += [Column(key, text) for key, text in extra]
    rows = [{**c, **{key: f"{text}{i}" for key, text in extra}} for i, c in enumerate(sample_cases(3))]
    return write_ledger(path, rows, layout="flat", cols=cols, **kw)


def codes(lg) -> dict[str, list]:
    out: dict[str, list] = {}
    for i in lg.issues:
        out.setdefault(i.code, []).append(i)
    return out


def column_letter_of(lg, key: str) -> str:
    from toolkit.core.cells import column_letter
    return column_letter(lg.columns[key])


# --- the matcher alone ----------------------------------------------------------------------------
@pytest.mark.parametrize("written, key", [
    ("反应问题", "matter"), ("包案领到", "leader"), ("案件編號", "case_id"), ("信訪人", "petitioner"),
    ("辦理狀態", "status"), ("信访事项：", "matter"), ("“信访人”", "petitioner"), ("包 案 领 到", "leader"),
    ("身分证号", "id_number"), ("信访事象", "matter"), ("首次信访的时间", "first_petition_date"),
    ("会议记要", "nine_minutes")])
def test_near_misses_found(written, key):
    assert near_field(written).keys == (key,)


@pytest.mark.parametrize("written", ["序号", "编码", "回访情况", "出生日期", "联系人", "协调人", "户籍所在地",
                                     "包案干部", "性别", "村名", "年龄", "处理结果", "稳控情况", "录入日期"])
def test_short_and_other_headers_are_not_bent(written):
    assert near_field(written) is None


def test_two_fields_equally_near_are_both_named():
    assert set(near_field("办理状况").keys) == {"status", "progress"}


# --- reading workbooks ------------------------------------------------------------------------------
def test_near_miss_is_read_and_said_with_what_to_add(tmp_path):
    path = flat(tmp_path / "东村.xlsx", {"matter": "反应问题", "leader": "包案领到"})
    lg = read_ledger(path)
    assert lg.header_rows == [3]                     # under the title row and the 填报单位 row
    assert list(lg.cases["matter"]) == [c["matter"] for c in sample_cases(3)]
    assert list(lg.cases["leader"]) == ["李乡长"] * 3
    by_cell = {i.cell: i for i in codes(lg)[Code.HEADER_NEAR_MISS]}
    assert set(by_cell) == {f"{column_letter_of(lg, 'matter')}3", f"{column_letter_of(lg, 'leader')}3"}
    m = by_cell[f"{column_letter_of(lg, 'matter')}3"]
    assert "“反应问题”" in m.message and "已按“信访事项”列读取" in m.message and "反映问题" in m.message
    assert "表头别名" in m.action and "表头写法：反应问题；对应列：信访事项" in m.action
    assert m.sheet == "台账" and not m.is_error
    assert Code.MISSING_COLUMN not in codes(lg)


def test_traditional_characters_and_punctuation(tmp_path):
    path = flat(tmp_path / "西村.xlsx", {"case_id": "案件編號", "matter": "信访事项：", "petitioner": "（信訪人）",
                                       "first_petition_date": "首次信访 时间"})
    lg = read_ledger(path)
    assert {"case_id", "matter", "petitioner", "first_petition_date"} <= set(lg.columns)
    said = {i.message.split("“")[1].split("”")[0] for i in codes(lg)[Code.HEADER_NEAR_MISS]}
    assert said == {"案件編號", "信访事项：", "（信訪人）"}       # a stray space was always read silently
    assert list(lg.cases["case_id"]) == [c["case_id"] for c in sample_cases(3)]


def test_tie_between_two_fields_is_an_error_naming_both(tmp_path):
    path = flat(tmp_path / "南村.xlsx", {"status": "办理状况"}, drop=("progress",))
    lg = read_ledger(path)
    [tie] = codes(lg)[Code.HEADER_AMBIGUOUS]
    assert tie.is_error and "办理状态" in tie.message and "化解进展" in tie.message and "办理状况" in tie.message
    assert "status" not in lg.columns and "progress" not in lg.columns


def test_no_guess_when_the_field_already_has_a_column(tmp_path):
    path = flat(tmp_path / "北村.xlsx", {}, extra=[("own1", "反应问题"), ("own2", "回访情况")])
    lg = read_ledger(path)
    assert Code.HEADER_NEAR_MISS not in codes(lg)
    [extra] = codes(lg)[Code.EXTRA_COLUMNS]
    assert extra.severity == INFO and "“反应问题”" in extra.message and "“回访情况”" in extra.message
    assert "序号" not in extra.message                  # a running number is no village's own column
    assert lg.warnings == 0 and lg.errors == 0            # information counts as neither
    assert list(lg.cases["matter"]) == [c["matter"] for c in sample_cases(3)]


def test_two_level_merged_header(tmp_path):
    cols = ledger_columns("grouped", headers={"leader": "包案领到", "nine_minutes": "会议记要"})
    path = write_ledger(tmp_path / "东村.xlsx", sample_cases(3), layout="grouped", cols=cols)
    lg = read_ledger(path)
    assert lg.header_rows == [3, 4]
    near = {i.cell: i for i in codes(lg)[Code.HEADER_NEAR_MISS]}
    assert {i.column for i in near.values()} == {"包案领导", "九个一·会议纪要"}
    assert all(cell.endswith("4") for cell in near)
    assert list(lg.cases["nine_minutes"]) == [True] * 3


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_xls_near_miss(tmp_path):
    from factories.hostile import to_xls
    source = flat(tmp_path / "东村.xlsx", {"matter": "反应问题"}, extra=[("own", "回访情况")])
    [xls] = to_xls([source], tmp_path / "xls")
    lg = read_ledger(xls)
    assert lg.file_format == "xls" and lg.n_cases == 3
    assert [i.column for i in codes(lg)[Code.HEADER_NEAR_MISS]] == ["信访事项"]
    assert "回访情况" in codes(lg)[Code.EXTRA_COLUMNS][0].message


# --- the township teaches a spelling once -------------------------------------------------------------
def settings_with(tmp_path, aliases) -> Settings:
    path = write_settings_workbook(tmp_path / "设置.xlsx", Settings(header_aliases=aliases))
    return load_settings(path)


def test_settings_workbook_has_the_sheet_empty_with_an_example(tmp_path):
    path, _ = create_settings_workbook(tmp_path / "设置.xlsx")
    book = CalamineWorkbook.from_path(str(path))
    assert SHEET_ALIASES in book.sheet_names
    assert book.get_sheet_by_name(SHEET_ALIASES).to_python() == [["表头写法", "对应列"]]
    help_rows = book.get_sheet_by_name("说明").to_python()
    assert any(r[0] == SHEET_ALIASES and "反应问题 | 信访事项" in r[1] for r in help_rows)
    ws = openpyxl.load_workbook(path)[SHEET_ALIASES]
    assert "反应问题" in ws["A1"].comment.text
    assert load_settings(path).header_aliases == ()


def test_older_settings_workbook_without_the_sheet(tmp_path):
    path = write_settings_workbook(tmp_path / "设置.xlsx", Settings(roster=(RosterEntry("东村"),)))
    wb = openpyxl.load_workbook(path)
    del wb[SHEET_ALIASES]
    wb.save(path)
    got = load_settings(path)
    assert got.header_aliases == () and got.roster[0].village == "东村"


def test_bad_alias_row_names_file_sheet_and_cell(tmp_path):
    path = write_settings_workbook(tmp_path / "设置.xlsx", Settings())
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ALIASES]
    ws.append(["反应问题", "信访事项"])
    ws.append(["群众诉求", "诉求大意"])
    wb.save(path)
    with pytest.raises(SettingsError) as e:
        load_settings(path)
    text = str(e.value)
    assert "设置.xlsx" in text and "“表头别名”表 B3 单元格" in text and "诉求大意" in text


def test_alias_rows_read_including_own_column_and_item(tmp_path):
    got = settings_with(tmp_path, (("反应问题", "matter"), ("回访情况", None), ("会议记要", "nine_minutes")))
    assert got.header_aliases == (("反应问题", "matter"), ("回访情况", None), ("会议记要", "nine_minutes"))


def test_alias_silences_the_warning_in_validate_and_fill(tmp_path):
    settings = settings_with(tmp_path, (("反应问题", "matter"), ("群众诉求", "category")))
    path = flat(tmp_path / "东村.xlsx", {"matter": "反应问题", "category": "群众诉求"})
    [plain] = api.validate([path], as_of=AS_OF, settings=Settings())
    assert Code.HEADER_NEAR_MISS in codes(plain) and "category" not in plain.columns
    [taught] = api.validate([path], as_of=AS_OF, settings=settings)
    assert Code.HEADER_NEAR_MISS not in codes(taught) and Code.EXTRA_COLUMNS not in codes(taught)
    assert {"matter", "category"} <= set(taught.columns)
    [filled] = api.fill([path], as_of=AS_OF, settings=settings)
    assert filled.ok and filled.cases == 3
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("台账").to_python()
    assert "办结期限" in rows[2]                              # the computed columns went in
    [again] = api.validate([path], as_of=AS_OF, settings=settings)
    assert Code.HEADER_NEAR_MISS not in codes(again)


def test_alias_reaches_the_buttons_reader(tmp_path):
    settings = settings_with(tmp_path, (("反应问题", "matter"),))
    path = flat(tmp_path / "东村.xlsx", {"matter": "反应问题"})
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("台账").to_python(skip_empty_area=False)
    said = api.read_sheet("东村.xlsx", "台账", grid)
    quiet = api.read_sheet("东村.xlsx", "台账", grid, settings=settings)
    assert Code.HEADER_NEAR_MISS in codes(said) and Code.HEADER_NEAR_MISS not in codes(quiet)
    assert "matter" in quiet.columns


def test_parse_cache_never_serves_a_reading_made_with_other_aliases(tmp_path):
    path = flat(tmp_path / "东村.xlsx", {"matter": "反应问题"})
    with ParseCache(tmp_path / "parsed") as cache:
        cache.put("abc", read_ledger(path))
        cache.put("abc", read_ledger(path, aliases=(("反应问题", "matter"),)), (("反应问题", "matter"),))
    cache = ParseCache(tmp_path / "parsed")
    assert cache.get("abc", (("反应问题", None),)) is None
    assert Code.HEADER_NEAR_MISS in codes(cache.get("abc"))
    assert Code.HEADER_NEAR_MISS not in codes(cache.get("abc", (("反应问题", "matter"),)))


def test_not_a_ledger_stays_so_in_traditional_characters(tmp_path):
    path = write_rows(tmp_path / "花名冊.xlsx", {"Sheet1": [["序號", "姓名", "編號", "狀態", "電話"],
                                                          ["1", "张三", "A1", "在职", "13800000000"]]})
    lg = read_ledger(path)
    assert [i.code for i in lg.issues if i.is_error] == [Code.NOT_A_LEDGER]


# --- consolidation: taught once, and what changed -------------------------------------------------------
SETTINGS = Settings(roster=(RosterEntry("东村"), RosterEntry("西村")))


def run(tmp_path, settings=SETTINGS):
    return consolidate(tmp_path / "inbox", tmp_path / "总台账.xlsx", as_of=AS_OF, settings=settings,
                       archive_root=tmp_path / "archive", state_dir=tmp_path / "state")


def sheet(path: Path, name: str) -> list[dict]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    return [dict(zip(rows[1], r)) for r in rows[2:]]


@pytest.mark.slow
def test_header_change_is_said_in_reports_and_changes_after_two_consolidations(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    flat(inbox / "东村.xlsx", {"matter": "反映问题"}, saved=datetime(2010, 10, 1, 9))
    flat(inbox / "西村.xlsx", {}, reporter="西村", saved=datetime(2010, 10, 1, 9))
    run(tmp_path)
    first = {r["村（社区）"]: r for r in sheet(tmp_path / "总台账.xlsx", "报送情况")}
    assert "表头与上次不同" not in (first["东村"]["说明"] or "")
    flat(inbox / "东村.xlsx", {"matter": "反应问题"}, extra=[("visit", "回访情况")], saved=datetime(2010, 10, 8, 9))
    result = run(tmp_path)
    assert result.written
    expected = "东村的表头与上次不同：新增“回访情况”列；“反映问题”写成了“反应问题”，已按“信访事项”读取"
    reports = {r["村（社区）"]: r for r in sheet(tmp_path / "总台账.xlsx", "报送情况")}
    assert expected in reports["东村"]["说明"]
    assert "表头与上次不同" not in (reports["西村"]["说明"] or "")
    changes = [r for r in sheet(tmp_path / "总台账.xlsx", "变更记录") if r["变更类型"] == "表头变化"]
    assert [(r["村（社区）"], r["说明"]) for r in changes] == [("东村", expected + "。")]
    run(tmp_path)                                     # a rerun: said again, kept once
    reports = {r["村（社区）"]: r for r in sheet(tmp_path / "总台账.xlsx", "报送情况")}
    assert expected in reports["东村"]["说明"]
    changes = [r for r in sheet(tmp_path / "总台账.xlsx", "变更记录") if r["变更类型"] == "表头变化"]
    assert len(changes) == 1


@pytest.mark.slow
def test_alias_silences_consolidation_too(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    flat(inbox / "东村.xlsx", {"matter": "反应问题"})
    run(tmp_path)
    said = [r for r in sheet(tmp_path / "总台账.xlsx", "校验问题") if Code.HEADER_NEAR_MISS in r.values()]
    assert len(said) == 1 and "反应问题" in str(said[0])
    taught = Settings(roster=SETTINGS.roster, header_aliases=(("反应问题", "matter"),))
    run(tmp_path, taught)
    rows = sheet(tmp_path / "总台账.xlsx", "校验问题")
    assert not [r for r in rows if Code.HEADER_NEAR_MISS in r.values()]
    cases = sheet(tmp_path / "总台账.xlsx", "总台账")
    assert {c["信访事项"] for c in cases} == {c["matter"] for c in sample_cases(3)}


def test_header_change_sentence_names_moves_and_removals():
    from toolkit.pipeline.header_layouts import header_change
    before = [[0, "序号", None, "number", None], [1, "案件编号", "case_id", "exact", None],
              [2, "信访人", "petitioner", "exact", None], [3, "联系电话", "phone", "exact", None],
              [4, "反映问题", "matter", "exact", None], [5, "备注", "remarks", "exact", None]]
    now = [[0, "序号", None, "number", None], [1, "案件编号", "case_id", "exact", None],
           [2, "联系电话", "phone", "exact", None], [3, "信访人", "petitioner", "exact", None],
           [4, "主要诉求", "matter", "exact", None]]
    said = header_change("东村", before, now)
    assert said == ("东村的表头与上次不同：删去了“备注”列；“反映问题”改为“主要诉求”；"
                    "“信访人”列从第 C 列移到了第 D 列")   # one of two swapped columns moved
    assert header_change("东村", before, before) is None
    inserted = [before[0], [1, "回访情况", None, "own", None]] + [[c + 1, *rest] for c, *rest in before[1:]]
    assert header_change("东村", before, inserted) == "东村的表头与上次不同：新增“回访情况”列"


def test_alias_reaches_fill(tmp_path):
    """派单日期 is near no field: only the township's alias makes it the 交办日期 fill counts from."""
    settings = settings_with(tmp_path, (("派单日期", "assigned_date"),))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = flat(tmp_path / "a" / "东村.xlsx", {"assigned_date": "派单日期"})
    taught = flat(tmp_path / "b" / "东村.xlsx", {"assigned_date": "派单日期"})
    [without] = api.fill([plain], as_of=AS_OF, settings=Settings())
    [with_alias] = api.fill([taught], as_of=AS_OF, settings=settings)
    assert without.ok and with_alias.ok

    def deadlines(path):
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("台账").to_python()
        col = rows[2].index("办结期限")
        return [r[col] for r in rows[3:6]]
    assert deadlines(plain) == ["", "", ""]
    assert deadlines(taught) == [date(2010, 9, 25)] * 3          # 60 working days after 2010-07-01


def test_information_alone_is_no_problem_to_annotate_or_fail(tmp_path):
    path = flat(tmp_path / "北村.xlsx", {}, extra=[("own", "回访情况")])
    [lg] = api.validate([path], as_of=AS_OF, settings=Settings())
    assert [i.code for i in lg.issues] == [Code.EXTRA_COLUMNS]
    assert (lg.errors, lg.warnings) == (0, 0) and api.validation_exit_code([lg]) == 0
    assert api.annotate([lg], tmp_path / "标注") == []
    assert "【通过】北村.xlsx" in api.validation_text([lg])
    assert "说明 台账：工作表“台账”中有不属于台账标准列的列：" in api.validation_text([lg])


def test_aliases_make_a_ledger_of_headers_nothing_else_names(tmp_path):
    """A township whose villages write 挂牌编号 / 当事人 / 群众诉求: taught once, the sheet is a ledger."""
    headers = {"case_id": "挂牌编号", "petitioner": "当事人", "matter": "群众诉求"}
    path = flat(tmp_path / "东村.xlsx", headers, drop=("status",))
    assert [i.code for i in read_ledger(path).issues if i.is_error] == [Code.NOT_A_LEDGER]
    taught = tuple((text, key) for key, text in headers.items())
    lg = read_ledger(path, aliases=taught)
    assert {"case_id", "petitioner", "matter"} <= set(lg.columns) and lg.n_cases == 3
    assert not [i for i in lg.issues if i.code in (Code.HEADER_NEAR_MISS, Code.EXTRA_COLUMNS)]


@pytest.mark.slow
def test_a_file_refused_for_its_header_counts_once_the_clerk_teaches_it(tmp_path):
    """The judge examines a file once, but with the aliases in force: a village's ledger refused
    as not a ledger counts from the run after the clerk adds its spellings, without resending."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    headers = {"case_id": "挂牌编号", "petitioner": "当事人", "matter": "群众诉求"}
    flat(inbox / "东村.xlsx", headers, drop=("status",))
    first = run(tmp_path)
    assert [r["file"] for r in first.rejected] == ["东村.xlsx"] and first.cases == 0
    taught = Settings(roster=SETTINGS.roster, header_aliases=tuple((t, k) for k, t in headers.items()))
    second = run(tmp_path, taught)
    assert second.rejected == [] and [v["village"] for v in second.villages] == ["东村"]
    assert second.cases == 3
    cases = sheet(tmp_path / "总台账.xlsx", "总台账")
    assert {c["信访事项"] for c in cases} == {c["matter"] for c in sample_cases(3)}
    assert run(tmp_path, taught).cases == 3          # and stays counted: not examined again

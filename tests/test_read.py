"""The reader on realistic .xlsx ledgers written in code (xlsxwriter) and read by calamine.

Cell addresses the reader reports are checked with a third party (openpyxl).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from factories.layouts import ledger_columns, sample_case, sample_cases, valid_id, write_ledger, write_rows
from factories.sheet import Column as Col

from toolkit.core import fields as F
from toolkit.read.village import village_from_filename
from toolkit.read.workbook import read_ledger


def codes(lg, code=None):
    return [(i.code, i.cell) for i in lg.issues if code is None or i.code == code]


def only(lg, code):
    found = [i for i in lg.issues if i.code == code]
    assert len(found) == 1, [(i.code, i.cell, i.message) for i in lg.issues]
    return found[0]


def cell_value(path, sheet, cell):
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return wb[sheet][cell].value
    finally:
        wb.close()


# --- layouts -----------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["grouped", "mixed", "flat"])
@pytest.mark.parametrize("merge", [True, False])
def test_every_column_of_every_layout_is_found(tmp_path, layout, merge):
    path = write_ledger(tmp_path / "东村.xlsx", sample_cases(3), layout=layout, merge_groups=merge)
    lg = read_ledger(path)
    assert lg.readable and lg.sheet == "台账"
    assert set(lg.columns) == set(F.ALL_INPUT_KEYS)
    assert set(lg.computed_columns) == {"deadline", "workdays_left", "alert"}
    assert lg.header_rows == ([3] if layout == "flat" else [3, 4])
    first = lg.header_rows[-1] + 1
    assert list(lg.cases.index) == [first, first + 1, first + 2]
    assert list(lg.cases.columns) == list(F.ALL_INPUT_KEYS)
    assert lg.last_column == 50     # 序号 + 47 inputs + 3 computed, 0-based
    assert [i.code for i in lg.issues] == []
    case = lg.cases.loc[first]
    assert case["case_id"] == "NJ2010-001" and case["petitioner"] == "张三"
    assert case["first_petition_date"] == date(2007, 3, 2)
    assert case["responsible_unit"] == "乡国土所\n王所长"
    assert case["nine_leader"] is True and case["archive_basic"] is False
    assert case["status"] == "化解中"
    assert case["extension_days"] is None and case["closed_date"] is None


def test_every_cell_address_points_at_its_value(tmp_path):
    path = write_ledger(tmp_path / "东村.xlsx", sample_cases(2), layout="mixed", blank_rows=[1])
    lg = read_ledger(path)
    for key in ("case_id", "petitioner", "matter", "status", "leader", "nine_meeting"):
        for row in lg.cases.index:
            expected = sample_case(list(lg.cases.index).index(row) + 1)[key]
            assert cell_value(path, lg.sheet, lg.cell(key, row)) == expected


def test_title_and_reporter_rows_and_report_date(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", reporter="东村", report_date="2010年9月18日"))
    assert (lg.village, lg.village_source, lg.report_date) == ("东村", "reporter", date(2010, 9, 18))


def test_reporter_label_and_value_in_separate_cells(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", reporter="西村", reporter_split=True,
                        report_date=datetime(2010, 9, 18))
    lg = read_ledger(path)
    assert (lg.village, lg.village_source, lg.report_date) == ("西村", "reporter", date(2010, 9, 18))


def test_reporter_without_title_row_and_with_stamp_text(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", title=None, reporter="南郊乡北村（盖章）",
                        report_date=None)
    lg = read_ledger(path)
    assert lg.village == "南郊乡北村" and lg.header_rows == [2, 3]


def test_no_title_no_reporter_header_on_first_row(tmp_path):
    path = write_ledger(tmp_path / "东村台账.xlsx", title=None, reporter=None, report_date=None,
                        layout="flat")
    lg = read_ledger(path)
    assert lg.header_rows == [1] and lg.n_cases == 3


def test_instructions_sheet_first(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", instructions_first=True))
    assert lg.sheet == "台账" and lg.n_cases == 3


def test_best_scoring_sheet_wins_over_an_earlier_list(tmp_path):
    extra = {"汇总": [["序号", "姓名", "电话"], [1, "张三", "13857712345"]]}
    path = write_ledger(tmp_path / "x.xlsx", sheet_name="2010年积案", extra_sheets=extra)
    lg = read_ledger(path)
    assert lg.sheet == "2010年积案" and lg.n_cases == 3


def test_two_level_header_with_items_under_groups(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", layout="mixed")
    lg = read_ledger(path)
    # 包案领导/化解方案/稳控措施 appear twice: as text fields and as 九个一 items
    assert lg.columns["leader"] != lg.columns["nine_leader"]
    assert lg.columns["plan"] != lg.columns["nine_plan"]
    assert lg.columns["stability_measures"] != lg.columns["nine_stability"]


def test_flat_sheet_with_item_named_like_its_text_field(tmp_path):
    cols = [Col("case_id", "案件编号"), Col("petitioner", "信访人"), Col("matter", "信访事项"),
            Col("leader", "包案领导"), Col("nine_leader", "包案领导"), Col("status", "办理状态")]
    path = write_ledger(tmp_path / "x.xlsx", sample_cases(1), cols=cols, layout="flat")
    lg = read_ledger(path)
    assert lg.columns["leader"] == 4 and lg.columns["nine_leader"] == 5
    assert not codes(lg, "duplicate_column")


def test_blank_rows_inside_the_data_are_skipped(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", sample_cases(4), blank_rows=[1, 3])
    lg = read_ledger(path)
    assert list(lg.cases.index) == [5, 7, 8, 10]
    assert list(lg.cases["case_id"]) == ["NJ2010-001", "NJ2010-002", "NJ2010-003", "NJ2010-004"]


def test_rows_with_only_a_preprinted_number_are_not_cases(tmp_path):
    cases = sample_cases(2) + [{} for _ in range(5)]   # 序号 filled, nothing else
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cases))
    assert lg.n_cases == 2


@pytest.mark.parametrize("footer", [
    ("填表人：王会计", "审核人：李书记"), ("注：本表一式两份",), ("注:日期写法见说明",),
    ("  填 表 人：王会计",), ("说明：本表每月上报",), ("负责人：张书记　　填表人：王会计",),
])
def test_footer_rows_end_the_data(tmp_path, footer):
    path = write_ledger(tmp_path / "x.xlsx", sample_cases(2), footer=footer)
    lg = read_ledger(path)
    assert lg.n_cases == 2 and not lg.issues


def test_footer_after_a_blank_row_and_rows_after_it_are_ignored(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", sample_cases(2), footer=("", "注：以上为全部积案", "张三"))
    assert read_ledger(path).n_cases == 2


def test_a_case_whose_remark_starts_like_a_footer_is_still_a_case(tmp_path):
    cases = sample_cases(2, remarks="备注：已移交")
    assert read_ledger(write_ledger(tmp_path / "x.xlsx", cases)).n_cases == 2


def test_repeated_header_row_is_skipped(tmp_path):
    for layout in ("grouped", "flat"):
        path = write_ledger(tmp_path / f"{layout}.xlsx", sample_cases(4), layout=layout,
                            repeat_header_after=2)
        lg = read_ledger(path)
        assert list(lg.cases["case_id"]) == [f"NJ2010-00{i}" for i in range(1, 5)], layout
        assert not lg.issues


# --- values ----------------------------------------------------------------------------
DATE_FORMS = [date(2010, 7, 1), datetime(2010, 7, 1, 9, 30), 40360, "2010-07-01", "2010/7/1",
              "2010.7.1", "2010年7月1日", "2010年07月01日", "20100701", 20100701,
              "２０１０年７月１日", " 2010-07-01 ", "2010-07-01 10:30"]


def test_every_date_form_in_cells(tmp_path):
    cases = [sample_case(i + 1, assigned_date=v) for i, v in enumerate(DATE_FORMS)]
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cases))
    assert list(lg.cases["assigned_date"]) == [date(2010, 7, 1)] * len(DATE_FORMS)
    assert not lg.issues


@pytest.mark.parametrize("bad, reason", [("2010年13月5日", "（2010年没有13月）"),
                                         ("2010-02-30", "（2010年2月没有30日）"),
                                         ("待定", "（无法识别的日期写法）"),
                                         (2010, "（只有年份，缺少月、日）")])
def test_impossible_date_is_an_error_at_its_cell(tmp_path, bad, reason):
    cases = [sample_case(1), sample_case(2, first_petition_date=bad)]
    path = write_ledger(tmp_path / "x.xlsx", cases)
    lg = read_ledger(path)
    issue = only(lg, "invalid_date")
    assert issue.severity == "error" and issue.sheet == "台账" and issue.row == 6
    assert issue.column == "首次信访时间" and issue.case_id == "NJ2010-002" and issue.value == bad
    assert reason in issue.message
    assert cell_value(path, "台账", issue.cell) == bad
    assert lg.cases.loc[6, "first_petition_date"] is None


def test_id_number_typed_as_a_number_is_flagged_not_repaired(tmp_path):
    cases = [sample_case(1, id_number=110105194912310000), sample_case(2, id_number="11010519491231002x"),
             sample_case(3, id_number="1.10105E+17")]
    path = write_ledger(tmp_path / "x.xlsx", cases)
    lg = read_ledger(path)
    flagged = [i for i in lg.issues if i.code == "id_number_as_number"]
    assert [(i.row, i.value) for i in flagged] == [(5, "110105194912310000"), (7, "1.10105E+17")]
    assert flagged[0].severity == "error" and flagged[0].column == "身份证号"
    assert "110105194912310000" in flagged[0].message
    assert list(lg.cases["id_number"]) == ["110105194912310000", "11010519491231002X", "1.10105E+17"]
    assert cell_value(path, "台账", flagged[0].cell) == 110105194912310000


@pytest.mark.parametrize("word, canon", [(w, c) for c, ws in F.STATUSES.items() for w in (c, *ws)])
def test_status_words_are_canonical(tmp_path, word, canon):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [sample_case(1, status=f" {word} ")]))
    assert lg.cases.iloc[0]["status"] == canon and not lg.issues


def test_unknown_status_is_an_error_and_not_guessed(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [sample_case(1, status="基本化解")]))
    issue = only(lg, "unknown_status")
    assert issue.value == "基本化解" and issue.column == "办理状态" and issue.severity == "error"
    assert lg.cases.iloc[0]["status"] is None


TICKS_DONE = ["√", "✓", "✔", "是", "有", "已", "Y", "y", "1", "TRUE", 1, True, " √ "]
TICKS_NOT = [None, "×", "✗", "否", "无", "N", "n", "0", "FALSE", 0, False, "  "]


def test_tick_vocabulary(tmp_path):
    cases = [sample_case(i + 1, nine_meeting=v) for i, v in enumerate(TICKS_DONE + TICKS_NOT)]
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cases))
    assert list(lg.cases["nine_meeting"]) == [True] * len(TICKS_DONE) + [False] * len(TICKS_NOT)
    assert not lg.issues


def test_unrecognised_tick_is_a_warning_counted_as_not_done(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [sample_case(1, five_solve="差不多")]))
    issue = only(lg, "invalid_tick")
    assert issue.severity == "warning" and issue.column == "五包·包解决问题" and issue.value == "差不多"
    assert lg.cases.iloc[0]["five_solve"] is False


def test_text_in_an_item_that_is_also_a_text_field_counts_as_done(tmp_path):
    case = sample_case(1, nine_plan="分三步化解", nine_stability="专人稳控", nine_leader="王副乡长",
                       nine_group="随便写")
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [case], layout="mixed"))
    row = lg.cases.iloc[0]
    assert row["nine_plan"] is True and row["nine_stability"] is True and row["nine_leader"] is True
    assert codes(lg) == [("invalid_tick", lg.cell("nine_group", 5))]


@pytest.mark.parametrize("raw, value", [(10, 10), (10.0, 10), ("10", 10), ("１０", 10), ("10天", 10),
                                        ("15个工作日", 15), (None, None)])
def test_extension_days(tmp_path, raw, value):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [sample_case(1, extension_days=raw)]))
    assert lg.cases.iloc[0]["extension_days"] == value and not lg.issues


@pytest.mark.parametrize("raw", ["十天", 2.5, -3, "待批"])
def test_bad_extension_days(tmp_path, raw):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [sample_case(1, extension_days=raw)]))
    assert only(lg, "invalid_number").column == "延期天数"
    assert lg.cases.iloc[0]["extension_days"] is None


def test_choices(tmp_path):
    cases = [sample_case(1, settled="√"), sample_case(2, settled=" 部分 "),
             sample_case(3, resolution_type="其他", settled="×")]
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cases))
    assert list(lg.cases["settled"]) == ["是", "部分", "否"]
    issue = only(lg, "invalid_choice")
    assert issue.severity == "warning" and issue.value == "其他" and "依法依政策解决" in issue.message
    assert lg.cases.iloc[2]["resolution_type"] == "其他"


def test_numbers_become_digit_strings(tmp_path):
    cases = [sample_case(1, case_id=12, phone=13857712345), sample_case(2, case_id=13.0, phone="0577-88123456")]
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cases))
    assert list(lg.cases["case_id"]) == ["12", "13"]
    assert list(lg.cases["phone"]) == ["13857712345", "0577-88123456"]


def test_full_width_and_stray_whitespace(tmp_path):
    case = sample_case(1, case_id="ＮＪ２０１０－００１\u3000", petitioner="\u3000张三 ",
                       phone="１３８５７７１２３４５", id_number=" " + valid_id(1) + " ",
                       matter="  征地补偿（二组）：未发放。\u00a0")
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [case]))
    row = lg.cases.iloc[0]
    assert row["case_id"] == "NJ2010-001" and row["petitioner"] == "张三"
    assert row["phone"] == "13857712345" and row["id_number"] == valid_id(1)
    assert row["matter"] == "征地补偿（二组）：未发放。"


# --- header variants --------------------------------------------------------------------
def _messy(name: str) -> str:
    """A header as villages type it: a line break, full-width brackets, stray spaces."""
    name = name.replace("(", "（").replace(")", "）")
    if len(name) > 2:
        name = name[:2] + "\n" + name[2:]
    return f" {name}\u3000"


@pytest.mark.parametrize("messy", [False, True])
def test_every_registered_header_variant_maps(tmp_path, messy):
    must = ["case_id", "petitioner", "matter"]
    n = 0
    for f in F.FIELDS:
        for name in f.names:
            text = _messy(name) if messy else name
            keys = must if f.key in must else must + [f.key]
            headers = {f.key: text}
            cols = ledger_columns("flat", keys=keys, headers=headers, computed=())
            if f.key not in must:
                cols = [c if c.key != f.key else Col(f.key, text) for c in cols]
            path = write_ledger(tmp_path / f"v{n}.xlsx", [sample_case(1)], cols=cols, layout="flat")
            n += 1
            lg = read_ledger(path)
            assert f.key in lg.columns, (name, text)
    for g in F.CHECKLISTS:
        for item in g.items:
            for name in item.names:
                text = _messy(name) if messy else name
                cols = ledger_columns("mixed", keys=must + [item.key], headers={item.key: text}, computed=())
                path = write_ledger(tmp_path / f"v{n}.xlsx", [sample_case(1)], cols=cols, layout="mixed")
                n += 1
                assert item.key in read_ledger(path).columns, (g.header, name)


def test_computed_columns_under_their_group_are_recorded_not_read(tmp_path):
    cols = ledger_columns("grouped", computed=[c.key for c in F.COMPUTED])
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cols=cols))
    assert set(lg.computed_columns) == {c.key for c in F.COMPUTED}
    assert not set(lg.computed_columns) & set(lg.cases.columns)


def test_duplicate_column_is_a_warning_and_the_first_is_read(tmp_path):
    cols = ledger_columns("flat", keys=["case_id", "petitioner", "matter", "status"], computed=())
    cols.append(Col("status", "状态"))
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", [sample_case(1)], cols=cols, layout="flat"))
    issue = only(lg, "duplicate_column")
    assert issue.cell == "F3" and issue.column == "办理状态"
    assert lg.columns["status"] == 4


def test_missing_required_column(tmp_path):
    keys = [k for k in F.ALL_INPUT_KEYS if k != "leader"]
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cols=ledger_columns("mixed", keys=keys)))
    issue = only(lg, "missing_column")
    assert issue.column == "包案领导" and issue.sheet == "台账" and "包案领导姓名" in issue.action
    assert lg.n_cases == 3 and lg.cases["leader"].isna().all()


def test_not_a_ledger_at_all(tmp_path):
    path = write_rows(tmp_path / "通讯录.xlsx", {
        "说明": [["这是通讯录"]],
        "通讯录": [["姓名", "电话", "地址"], ["张三", "13857712345", "东村"]],
    })
    lg = read_ledger(path)
    assert lg.readable and lg.sheet == "通讯录" and lg.n_cases == 0
    [issue] = lg.issues                  # once, not a missing column each nor an unknown village
    assert (issue.code, issue.severity) == ("not_a_ledger", "error")
    assert "“说明”、“通讯录”" in issue.message and "信访积案台账" in issue.message and "模板" in issue.action
    assert list(lg.cases.columns) == list(F.ALL_INPUT_KEYS)


def test_header_but_no_cases(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", []))
    assert lg.n_cases == 0 and codes(lg) == [("empty_ledger", None)]


# --- the village --------------------------------------------------------------------------
def test_village_from_marker_wins(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", marker="东村", reporter="别的村")
    lg = read_ledger(path)
    assert (lg.village, lg.village_source, lg.template_version) == ("东村", "marker", F.TEMPLATE_VERSION)
    assert lg.sheet == "台账"


def test_a_neighbours_template_filled_in_as_another_village_is_that_village(tmp_path):
    """西村 filled in 东村's template: the hidden marker says 东村, the 填报单位 and every 村（社区）
    cell say 西村. The file is 西村's (filing it under 东村 would make 东村's own ledger look
    replaced), with a warning naming both."""
    path = write_ledger(tmp_path / "x.xlsx", sample_cases(3, village="西村"), marker="东村", reporter="西村",
                        title="南郊乡西村信访积案化解工作台账")
    lg = read_ledger(path)
    assert (lg.village, lg.village_source) == ("西村", "reporter")
    (issue,) = [i for i in lg.issues if i.code == "marker_mismatch"]
    assert issue.severity == "warning" and issue.file == str(path)
    assert "发给“东村”的模板" in issue.message and "填报单位和“村（社区）”列写的是“西村”" in issue.message
    assert "按“西村”计入" in issue.message and "taizhang template --village" in issue.action


def test_the_marker_holds_against_one_odd_name_and_is_silent_for_a_longer_one(tmp_path):
    odd = read_ledger(write_ledger(tmp_path / "odd.xlsx", sample_cases(2), marker="东村", reporter="冬村"))
    assert (odd.village, odd.village_source) == ("东村", "marker")
    (issue,) = [i for i in odd.issues if i.code == "marker_mismatch"]
    assert "填报单位写的是“冬村”" in issue.message and "按“东村”计入" in issue.message
    longer = read_ledger(write_ledger(tmp_path / "long.xlsx", sample_cases(2), marker="东村",
                                      reporter="南郊乡东村村委会"))
    assert (longer.village, longer.village_source) == ("东村", "marker")
    assert "marker_mismatch" not in [i.code for i in longer.issues]


def test_template_marker_without_village_falls_back(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", marker="", reporter="西村"))
    assert (lg.village, lg.village_source) == ("西村", "reporter")


def test_village_from_column_when_no_reporter(tmp_path):
    cases = sample_cases(3, village="北村")
    cases[1]["village"] = None
    cases[2]["village"] = "  北村 "
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", cases, reporter=None, report_date=None))
    assert (lg.village, lg.village_source) == ("北村", "column")
    assert list(lg.cases["village"]) == ["北村"] * 3


def test_blank_village_cells_get_the_ledger_village(tmp_path):
    lg = read_ledger(write_ledger(tmp_path / "x.xlsx", sample_cases(2, village=None), reporter="东村"))
    assert list(lg.cases["village"]) == ["东村", "东村"]


@pytest.mark.parametrize("name, village", [("东村信访积案台账.xlsx", "东村"), ("2010_城南社区台账.xlsx", "城南社区"),
                                           ("新居.xlsx", "新居")])
def test_village_from_file_name(tmp_path, name, village):
    path = write_ledger(tmp_path / name, sample_cases(1, village=None), reporter=None, report_date=None)
    lg = read_ledger(path)
    assert (lg.village, lg.village_source) == (village, "filename") and not lg.issues


def test_unknown_village_is_a_warning(tmp_path):
    path = write_ledger(tmp_path / "台账2010.xlsx", sample_cases(1, village=None), reporter="",
                        report_date=None)
    lg = read_ledger(path)
    assert (lg.village, lg.village_source) == ("台账2010", "filename")
    issue = only(lg, "village_unknown")
    assert issue.severity == "warning" and "台账2010" in issue.message


def test_village_from_filename_helper():
    assert village_from_filename("南郊乡东村.xlsx") == "南郊乡东村"
    assert village_from_filename("汇总.xlsx") is None


# --- every issue names where it is ------------------------------------------------------------
def test_value_issues_carry_sheet_cell_row_column_case_and_value(tmp_path):
    cases = [sample_case(1, status="不知道", first_petition_date="2010-02-30", five_solve="？",
                         id_number=110105194912310000, extension_days="十天", resolution_type="别的")]
    path = write_ledger(tmp_path / "x.xlsx", cases)
    lg = read_ledger(path)
    assert {i.code for i in lg.issues} == {"unknown_status", "invalid_date", "invalid_tick",
                                           "id_number_as_number", "invalid_number", "invalid_choice"}
    for i in lg.issues:
        assert i.sheet == "台账" and i.row == 5 and i.case_id == "NJ2010-001"
        assert i.cell and i.cell.endswith("5") and i.column and i.value is not None
        assert i.message and i.action
        shown = cell_value(path, "台账", i.cell)
        assert str(shown) == str(i.value) or i.code == "id_number_as_number"


def test_hidden_ledger_sheet_loses_to_a_visible_one(tmp_path):
    import xlsxwriter
    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for name, hidden in (("旧表", True), ("新表", False)):
        ws = wb.add_worksheet(name)
        for c, h in enumerate(["案件编号", "信访人", "信访事项", "办理状态"]):
            ws.write_string(0, c, h)
        ws.write_string(1, 0, name)
        if hidden:
            ws.hide()
        else:
            ws.activate()   # xlsxwriter ignores hide() on the active (first) sheet
    wb.close()
    assert read_ledger(path).sheet == "新表"


def test_unknown_group_name_over_items_with_fields_merged_vertically(tmp_path):
    upper = ["案件编号", "信访人", "信访事项", "包案领导", "工作落实情况", None, None, "办理状态"]
    lower = [None, None, None, None, "包案领导", "工作小组", "协调会", None]
    case = ["NJ-1", "张三", "征地", "李乡长", "√", "√", "×", "化解中"]
    merges = [(1, c, 2, c, upper[c]) for c in (0, 1, 2, 3, 7)] + [(1, 4, 1, 6, "工作落实情况")]
    path = write_rows(tmp_path / "x.xlsx", {"台账": [["东村台账"], upper, lower, case]},
                      merges={"台账": merges})
    lg = read_ledger(path)
    assert lg.header_rows == [2, 3]
    assert {k: lg.columns[k] for k in ("case_id", "leader", "nine_leader", "nine_group", "nine_meeting",
                                       "status")} == {"case_id": 0, "leader": 3, "nine_leader": 4,
                                                      "nine_group": 5, "nine_meeting": 6, "status": 7}
    row = lg.cases.loc[4]
    assert (row["nine_leader"], row["nine_group"], row["nine_meeting"], row["status"]) == (True, True, False, "化解中")


def test_a_row_of_column_numbers_under_the_header_is_not_a_case(tmp_path):
    header = ["序号", "案件编号", "信访人", "信访事项", "办理状态", "备注"]
    path = write_rows(tmp_path / "x.xlsx", {"台账": [header, [1, 2, 3, 4, 5, 6],
                                                      [1, "NJ-1", "张三", "征地", "化解中", None]]})
    lg = read_ledger(path)
    assert list(lg.cases.index) == [3] and list(lg.cases["case_id"]) == ["NJ-1"]
    assert {i.code for i in lg.issues} <= {"missing_column", "village_unknown"}


@pytest.mark.parametrize("line, village", [
    ("填报单位（盖章）：东村 … 填报日期：2010年9月18日", "东村"),
    ("填报单位(盖章):东村……填报日期:2010年9月18日", "东村"),
    ("填报单位：东村村委会（盖章）   填报日期：2010-09-18", "东村村委会"),
    ("报送单位：江滨社区\u3000\u3000报送日期：2010.9.18", "江滨社区"),
])
def test_reporter_line_as_villages_write_it(tmp_path, line, village):
    header = ["案件编号", "信访人", "信访事项", "办理状态"]
    path = write_rows(tmp_path / "x.xlsx", {"台账": [["南郊乡信访积案化解工作台账"], [line], header,
                                                      ["NJ-1", "张三", "征地", "化解中"]]})
    lg = read_ledger(path)
    assert (lg.village, lg.village_source, lg.report_date) == (village, "reporter", date(2010, 9, 18))


def test_bracketed_notes_after_headers_are_ignored(tmp_path):
    header = ["案件编号（必填）", "信访人(姓名)", "信访事项", "联系电话（手机）", "首次信访时间\n（年月日）",
              "延期天数(工作日)", "办理状态"]
    path = write_rows(tmp_path / "x.xlsx", {"台账": [header, ["NJ-1", "张三", "征地", "13857712345",
                                                               "2007-03-01", 5, "化解中"]]})
    lg = read_ledger(path)
    assert [lg.columns.get(k) for k in ("case_id", "petitioner", "matter", "phone", "first_petition_date",
                                         "extension_days", "status")] == list(range(7))


def test_a_ledger_sheet_named_like_instructions_is_read_when_it_is_the_only_one(tmp_path):
    path = write_ledger(tmp_path / "x.xlsx", sheet_name="台账（含填表说明）")
    lg = read_ledger(path)
    assert lg.sheet == "台账（含填表说明）" and lg.n_cases == 3


def test_workbook_with_only_the_marker_sheet(tmp_path):
    path = write_rows(tmp_path / "x.xlsx", {F.TEMPLATE_MARKER_SHEET: [["taizhang", "1"], ["village", "东村"]]})
    lg = read_ledger(path)
    assert (lg.village, lg.village_source) == ("东村", "marker")
    assert codes(lg) == [("not_a_ledger", None)] and lg.n_cases == 0      # one documented code (issue 19)
    assert "没有可以填写的普通工作表" in lg.issues[0].message
    assert list(lg.cases.columns) == list(F.ALL_INPUT_KEYS)

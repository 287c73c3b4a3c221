"""The realistic ledger generator (tests/factories): content, each layout quirk and each fault,
read back by calamine."""
from __future__ import annotations

import json
import random
import zipfile
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.bench import BENCH_MANIFEST, make_bench_inbox
from factories.cases import PLANS, make_case, make_cases
from factories.ledgers import (FAULTS, IMPOSSIBLE_DATE, INVALID_TICK, UNKNOWN_STATUS, LedgerStyle, make_ledger,
                               render_date)
from toolkit.compute.calendar import WorkCalendar
from toolkit.core import fields
from toolkit.core.normalize import id_number_valid, number_to_digits, phone_valid
from toolkit.demo import DEMO_AS_OF


def sheet_rows(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def at(rows: list[list], cell_row: int, col: int) -> object:
    row = rows[cell_row - 1]
    return row[col] if col < len(row) else ""


# --- content ---------------------------------------------------------------------
def test_cases_are_realistic_and_consistent():
    rng = random.Random(7)
    cases = make_cases(rng, village="东村", n=60)
    assert len({c["case_id"] for c in cases}) == 60
    for c in cases:
        assert id_number_valid(c["id_number"]) and c["id_number"].startswith("330302")
        assert phone_valid(c["phone"]) and len(c["phone"]) == 11
        assert c["address"].startswith("温州市鹿城区南郊乡东村")
        assert c["first_petition_date"] <= date(2008, 12, 31) < c["assigned_date"] <= DEMO_AS_OF
        assert c["status"] in fields.STATUSES
        assert c["leader"].split()[0].startswith(("乡", "副乡长"))
        if c["status"] in fields.CLOSED_STATUSES:
            assert c["assigned_date"] <= c["closed_date"] < DEMO_AS_OF
        else:
            assert c["closed_date"] is None
        if c["status"] == "已销号":
            assert all(c[i.key] for i in fields.CHECKLIST_BY_KEY["archive"].items)
        assert set(fields.ALL_INPUT_KEYS) - set(c) == {"nine_leader", "nine_plan", "nine_stability"}
    assert {c["_plan"] for c in cases} >= {"overdue", "due_soon", "normal", "resolved"}
    assert len({c["category"] for c in cases}) >= 6


@pytest.mark.parametrize("plan", PLANS)
def test_plans_give_their_alert_on_the_demo_date(plan):
    """Assignment windows are calibrated: 60 working days after 交办日期 vs 2010-10-20."""
    cal = WorkCalendar()
    rng = random.Random(plan)
    for _ in range(15):
        c = make_case(rng, village="西村", case_id="X", plan=plan)
        deadline = cal.add_workdays(c["assigned_date"], 60 + (c["extension_days"] or 0))
        left = cal.workdays_between(DEMO_AS_OF, deadline)
        if plan == "overdue":
            assert deadline < DEMO_AS_OF
        elif plan == "due_soon":
            assert DEMO_AS_OF < deadline and 1 <= left <= 10
        elif plan in ("normal", "waiting"):
            assert left > 10
        elif plan in ("resolved", "struck_off"):
            assert c["status"] in fields.CLOSED_STATUSES


def test_render_date_forms():
    d = date(2010, 7, 1)
    assert [render_date(d, f) for f in ("date", "iso", "slash", "dot", "cn", "compact", "serial")] == [
        d, "2010-07-01", "2010/7/1", "2010.7.1", "2010年7月1日", 20100701, 40360]


# --- layouts ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def styled(tmp_path_factory):
    """One ledger per layout family, written once for the module."""
    d = tmp_path_factory.mktemp("samples")
    layouts = {
        "grouped": LedgerStyle(instructions_first=True, extra_sheets=True, sheet_name="积案台账"),
        "flat": LedgerStyle(grouped=False, variants=True, messy_headers=True, reporter="two_cells",
                            checklists_last=True, phone_as_number=True),
        "messy": LedgerStyle(reporter="label_value", blank_rows=True, footer=True, dates="mixed",
                             ticks="mixed", village_column=False),
        "template": LedgerStyle(template=True),
        "macro": LedgerStyle(fmt="xlsm", reporter="none", title=False),
        "faults": LedgerStyle(faults=FAULTS),
    }
    return {name: make_ledger(d / f"{name}.xlsx", village="南村", n_cases=14, seed=3, layout=lay)
            for name, lay in layouts.items()}


def test_every_header_maps_back_to_its_key(styled):
    for name, lg in styled.items():
        rows = sheet_rows(lg.path, lg.sheet)
        for key, col in lg.columns.items():
            header = at(rows, lg.header_rows[-1], col) or at(rows, lg.header_rows[0], col)
            group = at(rows, lg.header_rows[0], col) if len(lg.header_rows) == 2 else None
            if len(lg.header_rows) == 2 and not group:     # a merged group: carry it from the left
                group = next((at(rows, lg.header_rows[0], c) for c in range(col, -1, -1)
                              if at(rows, lg.header_rows[0], c)), None)
            if group == header:
                group = None
            assert fields.match_header(header, group) == key, (name, key, header, group)


def test_values_round_trip(styled):
    lg = styled["grouped"]
    rows = sheet_rows(lg.path, lg.sheet)
    for i, case in enumerate(lg.cases):
        for key in ("case_id", "petitioner", "id_number", "phone", "matter", "status"):
            assert at(rows, lg.rows[i], lg.columns[key]) == case[key]
        for key in fields.DATE_KEYS:
            assert at(rows, lg.rows[i], lg.columns[key]) == (case[key] or "")
        assert at(rows, lg.rows[i], lg.columns["five_solve"]) == ("√" if case["five_solve"] else "")


def test_title_reporter_and_sheets(styled):
    g = styled["grouped"]
    names = [m.name for m in CalamineWorkbook.from_path(str(g.path)).sheets_metadata]
    assert names == ["填表说明", "积案台账", "Sheet2", "Sheet3"]
    rows = sheet_rows(g.path, g.sheet)
    assert rows[0][0] == "南郊乡南村信访积案化解工作台账"
    assert rows[1][0].startswith("填报单位（盖章）：南村") and "填报日期：2010年10月18日" in rows[1][0]
    assert g.header_rows == [3, 4] and rows[2][g.columns["case_id"]] == "案件编号"
    assert rows[3][g.columns["case_id"]] == ""                         # merged over both rows
    assert rows[2][g.columns["nine_group"]] == "九个一"
    two = sheet_rows(styled["flat"].path, "台账")[1]
    assert two[0] == "填报单位（盖章）：南村" and "填报日期：2010年10月18日" in two
    label = sheet_rows(styled["messy"].path, "台账")[1]
    assert label[:2] == ["填报单位：", "南村"] and "填报日期：" in label
    assert date(2010, 10, 18) in label
    m = styled["macro"]
    assert m.header_rows == [1, 2] and sheet_rows(m.path, m.sheet)[0][0] == "案件编号"


def test_flat_headers_with_variants_and_mess(styled):
    lg = styled["flat"]
    assert lg.header_rows == [3]
    headers = [h for h in sheet_rows(lg.path, lg.sheet)[2] if h]
    canonical = {f.header for f in fields.FIELDS}
    assert sum(h not in canonical for h in headers) >= 10
    assert any("\n" in h for h in headers) and any(h != h.strip() or "  " in h for h in headers)
    cols = lg.columns
    assert cols["archive_stability"] == max(cols.values())              # checklists after 化解情况
    assert isinstance(at(sheet_rows(lg.path, lg.sheet), lg.rows[0], cols["phone"]), float)


def test_blank_rows_footer_mixed_dates_and_ticks(styled):
    lg = styled["messy"]
    rows = sheet_rows(lg.path, lg.sheet)
    gaps = [b - a for a, b in zip(lg.rows, lg.rows[1:])]
    assert 2 in gaps and 3 in gaps
    assert all(not any(rows[r - 1]) for r in range(lg.rows[0], lg.rows[-1]) if r not in lg.rows)
    footer = [r[0] for r in rows[lg.rows[-1]:] if r and r[0]]
    assert footer[0].startswith("填表人：") and "审核人：" in footer[0] and footer[1].startswith("注：")
    assert "village" not in lg.columns
    dates = [at(rows, r, lg.columns[k]) for r in lg.rows for k in fields.DATE_KEYS]
    kinds = {type(v).__name__ for v in dates if v != ""}
    assert {"date", "str", "float"} <= kinds
    texts = [v for v in dates if isinstance(v, str) and v]
    assert any("年" in v for v in texts) and any("/" in v or "." in v for v in texts)
    ticks = {at(rows, r, c) for r in lg.rows for k, c in lg.columns.items() if k in fields.CHECKLIST_ITEMS}
    assert len(ticks) >= 5
    assert all(fields.parse_tick(t) is not None for t in ticks)


def test_template_layout_has_marker_and_computed_columns(styled):
    lg = styled["template"]
    wb = CalamineWorkbook.from_path(str(lg.path))
    assert fields.TEMPLATE_MARKER_SHEET in wb.sheet_names
    assert wb.get_sheet_by_name(fields.TEMPLATE_MARKER_SHEET).to_python()[1][:2] == ["village", "南村"]
    rows = sheet_rows(lg.path, lg.sheet)
    assert at(rows, lg.rows[0], lg.columns["case_id"]) == lg.cases[0]["case_id"]
    assert at(rows, lg.rows[0], lg.columns["deadline"]) == ""            # computed: left empty
    assert rows[2][lg.columns["deadline"]] == fields.COMPUTED_GROUP_HEADER


def test_xlsm_carries_a_vba_project(styled):
    lg = styled["macro"]
    assert lg.path.suffix == ".xlsm"
    with zipfile.ZipFile(lg.path) as z:
        assert "xl/vbaProject.bin" in z.namelist()
        assert "macroEnabled" in z.read("[Content_Types].xml").decode()
    assert len(sheet_rows(lg.path, lg.sheet)) >= 2 + len(lg.cases)


# --- faults ------------------------------------------------------------------------
def test_each_fault_is_planted_where_it_says(styled):
    lg = styled["faults"]
    rows = sheet_rows(lg.path, lg.sheet)
    assert set(lg.faults) == set(FAULTS)
    value = {f: at(rows, s.row, lg.columns[s.key]) for f, s in lg.faults.items()}
    assert isinstance(value["id_as_number"], float)
    assert number_to_digits(value["id_as_number"]).endswith("000")     # Excel kept 15 digits
    assert value["impossible_date"] == IMPOSSIBLE_DATE
    assert value["unknown_status"] == UNKNOWN_STATUS
    assert value["invalid_tick"] == INVALID_TICK
    assert not id_number_valid(value["bad_id_check"]) and len(value["bad_id_check"]) == 18
    assert value["archive_incomplete"] == "已销号"
    row = lg.faults["archive_incomplete"].row
    assert at(rows, row, lg.columns["archive_reply"]) == ""
    assert value["closed_without_date"] == "已化解"
    assert at(rows, lg.faults["closed_without_date"].row, lg.columns["closed_date"]) == ""
    assert value["out_of_scope"].year == 2009
    ids = [at(rows, r, lg.columns["case_id"]) for r in lg.rows]
    assert ids.count(value["duplicate_case_id"]) == 2
    order = lg.faults["date_order"]
    assert value["date_order"] < at(rows, order.row, lg.columns["assigned_date"])
    for spot in lg.faults.values():
        assert spot.cell == f"{spot.cell.rstrip('0123456789')}{spot.row}"


def test_unknown_fault_is_refused(tmp_path):
    with pytest.raises(ValueError):
        make_ledger(tmp_path / "x.xlsx", village="东村", n_cases=3, layout=LedgerStyle(faults=("oops",)))


def test_same_arguments_same_bytes(tmp_path):
    lay = LedgerStyle(dates="mixed", ticks="mixed", blank_rows=True, faults=("bad_id_check",))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_ledger(tmp_path / "a" / "东村.xlsx", village="东村", n_cases=8, seed=5, layout=lay)
    b = make_ledger(tmp_path / "b" / "东村.xlsx", village="东村", n_cases=8, seed=5, layout=lay)
    assert a.path.read_bytes() == b.path.read_bytes()
    c = make_ledger(tmp_path / "c.xlsx", village="东村", n_cases=8, seed=6, layout=lay)
    assert c.path.read_bytes() != a.path.read_bytes()


# --- benchmark inbox ---------------------------------------------------------------
def test_bench_inbox_is_cached_by_parameters(tmp_path):
    paths = make_bench_inbox(tmp_path, villages=5, cases=6)
    assert len(paths) == 5 and len({p.name for p in paths}) == 5
    manifest = json.loads((tmp_path / BENCH_MANIFEST).read_text(encoding="utf-8"))
    assert manifest["params"]["cases"] == 6
    for p in paths:
        rows = [r for r in CalamineWorkbook.from_path(str(p)).get_sheet_by_name("台账").to_python()
                if any(r)]
        width = max(sum(1 for v in r if v != "") for r in rows)
        assert 38 <= width <= 42
    stamps = [p.stat().st_mtime_ns for p in paths]
    assert make_bench_inbox(tmp_path, villages=5, cases=6) == paths
    assert [p.stat().st_mtime_ns for p in paths] == stamps          # nothing rewritten
    again = make_bench_inbox(tmp_path, villages=3, cases=7)
    assert len(again) == 3 and not paths[4].exists()                 # other parameters: regenerated

"""The demo generator (tests/factories/demo.py): the committed demo inbox (toolkit/demo/inbox)
is exactly what it makes, it holds what its docstring promises, and the toolkit's reader,
validator and calculator find every planted fault and every alert."""
from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from conftest import needs_soffice
from factories.demo import DEMO_SILENT_VILLAGE, DEMO_VILLAGES, build_demo_inbox
from toolkit.core import fields
from toolkit.core.settings import DEFAULT_SETTINGS
from toolkit.demo import DEMO_AS_OF, DEMO_FILES, DEMO_ROSTER, PRISTINE, demo_filenames

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice, needs_soffice]

EXPECTED_CODE = {     # planted fault -> the issue code the validator must give at its cell
    "id_as_number": "id_number_as_number", "impossible_date": "invalid_date",
    "unknown_status": "unknown_status", "archive_incomplete": "archive_incomplete",
    "closed_without_date": None, "out_of_scope": "out_of_scope",
    "duplicate_case_id": "duplicate_case_id", "bad_id_check": "invalid_id_number",
    "date_order": "date_order", "invalid_tick": "invalid_tick",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo inbox built afresh (one LibreOffice call for the .xls)."""
    return build_demo_inbox(tmp_path_factory.mktemp("demo"))


def _values(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def test_committed_demo_inbox_is_current(demo):
    committed = sorted(p.name for p in PRISTINE.iterdir())
    fresh = demo[0].path.parent
    assert committed == sorted(demo_filenames()) == sorted(p.name for p in fresh.iterdir())
    for name in demo_filenames():
        old, new = PRISTINE / name, fresh / name
        if new.suffix == ".xls":           # LibreOffice may stamp the time: compare cell values
            assert _values(old) == _values(new)
        else:                              # xlsxwriter with a fixed creation date: byte-stable
            assert old.read_bytes() == new.read_bytes(), \
                f"{old.name} is stale: run python devtools/make_demo.py"


def test_generator_agrees_with_the_demo_definition(demo):
    """toolkit.demo describes the files without reading them: the generator wrote those."""
    counted = [f for f in DEMO_FILES if f.counted]
    assert [(lg.village, lg.path.name, len(lg.cases)) for lg in demo] == \
        [(f.village, f.name, f.cases) for f in counted]


def test_demo_villages_and_quirks(demo):
    villages = [lg.village for lg in demo]
    assert set(villages) == {r.village for r in DEMO_ROSTER} - {DEMO_SILENT_VILLAGE}
    assert all(6 <= len(lg.cases) <= 25 for lg in demo)
    assert sum(len(lg.cases) for lg in demo) == sum(v.n_cases for v in DEMO_VILLAGES)
    suffixes = Counter(lg.path.suffix for lg in demo)
    assert suffixes[".xls"] == 1 and suffixes[".xlsm"] == 1
    nameless = [lg for lg in demo if lg.village not in lg.path.name]
    assert len(nameless) == 1 and "village" not in nameless[0].columns
    rows = _values(nameless[0].path)[nameless[0].sheet]
    assert rows[1][0].startswith(f"填报单位（盖章）：{nameless[0].village}")
    xls = next(lg for lg in demo if lg.path.suffix == ".xls")
    assert CalamineWorkbook.from_path(str(xls.path)).sheet_names == ["Sheet1", "Sheet2", "Sheet3"]
    template = next(lg for lg in demo if lg.layout.template)
    assert fields.TEMPLATE_MARKER_SHEET in CalamineWorkbook.from_path(str(template.path)).sheet_names


def test_one_case_number_in_two_villages(demo):
    ids = {lg.village: {c["case_id"] for c in lg.cases} for lg in demo}
    shared = [(a, b, ids[a] & ids[b]) for a in ids for b in ids if a < b and ids[a] & ids[b]]
    assert len(shared) == 1 and len(shared[0][2]) == 1
    assert {shared[0][0], shared[0][1]} == {"南村", "北村"}


def test_reader_validator_and_calculator_see_the_demo(demo):
    """Every planted fault is reported at its cell; clean villages have no errors; all alerts show."""
    from toolkit.compute.cases import compute_cases
    from toolkit.read.workbook import read_ledger
    from toolkit.validation.rules import validate_ledgers

    settings = dataclasses.replace(DEFAULT_SETTINGS, roster=DEMO_ROSTER)
    ledgers = validate_ledgers([read_ledger(lg.path) for lg in demo], as_of=DEMO_AS_OF,
                               settings=settings)
    alerts = Counter()
    for sample, ledger in zip(demo, ledgers):
        assert ledger.village == sample.village and ledger.n_cases == len(sample.cases)
        found = {(i.cell, i.code) for i in ledger.issues}
        for fault, spot in sample.faults.items():
            want = EXPECTED_CODE[fault]
            assert any(cell == spot.cell and (want is None or code == want) for cell, code in found), \
                (sample.village, fault, spot.cell, found)
        if not sample.faults:
            assert ledger.errors == 0, (sample.village, ledger.issues)
        alerts.update(compute_cases(ledger.cases, as_of=DEMO_AS_OF, settings=settings)[0]["alert"])
    assert {"逾期", "临期", "正常", "已办结", "中止"} <= set(alerts)
    macro = next(lg for s, lg in zip(demo, ledgers) if s.path.suffix == ".xlsm")
    assert any(i.code == "macros_present" for i in macro.issues)

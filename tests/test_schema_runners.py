"""One schema, two runners: pandera and the plain row checker give the same issues.

schemas/ledger.py declares the case table's columns and checks once; every command runs that
declaration in plain Python (pandera's import costs a click half a second and a district's first
consolidation most of a second, for the same failures), and pandera's schema of it is the
reference the plain runner is held to. Here both run over realistic ledgers written to disk and
read back, and over messy hand-made tables, and every issue (code, row, column, cell,
message) must be the same.
"""
from __future__ import annotations

import copy
import random
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from factories.fresh import fresh_python
from factories.ledgers import FAULTS, LedgerStyle, make_ledger
from toolkit.core.fields import ALL_INPUT_KEYS, CHECKLISTS, FIELDS, STATUSES
from toolkit.core.ledger import Ledger
from toolkit.core.settings import DEFAULT_SETTINGS
from toolkit.read.workbook import read_ledger
from toolkit.validation.rules import _combine, schema_failures, validate_ledgers

AS_OF = date(2010, 10, 20)


def issues_by_both(ledgers: list[Ledger]) -> tuple[list[tuple], list[tuple]]:
    """Validate two copies of ``ledgers``, one per runner; each copy's issues, as tuples."""
    out = []
    for use_pandera in (True, False):
        copies = copy.deepcopy(ledgers)
        validate_ledgers(copies, as_of=AS_OF, settings=DEFAULT_SETTINGS, use_pandera=use_pandera)
        out.append([(str(lg.path), i.code, i.row, i.column, i.cell, i.message, i.action)
                    for lg in copies for i in lg.issues])
    return out[0], out[1]


def _style(rng: random.Random) -> LedgerStyle:
    omit = tuple(rng.sample(("id_number", "phone", "closed_date", "extension_days", "settled"),
                            rng.choice((0, 0, 1, 2))))     # a fault needs its column: no faults then
    return LedgerStyle(grouped=rng.random() < 0.7, variants=rng.random() < 0.5,
                       messy_headers=rng.random() < 0.5, omit=omit, blank_rows=rng.random() < 0.3,
                       footer=rng.random() < 0.3, dates=rng.choice(("date", "mixed", "cn", "serial")),
                       faults=() if omit else tuple(rng.sample(FAULTS, rng.randint(0, len(FAULTS)))))


@pytest.mark.slow
def test_realistic_ledgers_get_the_same_issues_from_both_runners(tmp_path):
    rng = random.Random(21)
    ledgers = []
    for n in range(16):
        sample = make_ledger(tmp_path / f"村{n}.xlsx", village=f"村{n}", n_cases=rng.randint(1, 60),
                             seed=n, layout=_style(rng))
        ledgers.append(read_ledger(sample.path))
    with_pandera, plain = issues_by_both(ledgers)
    assert {code for _, code, *_ in with_pandera} >= {"duplicate_case_id", "unknown_status",
                                                      "closed_date_missing"}
    assert plain == with_pandera
    one_by_one = [issues_by_both([lg]) for lg in ledgers]        # a sheet alone, as a button checks it
    assert [p for _, p in one_by_one] == [w for w, _ in one_by_one]


# --- messy tables: every odd value a cell can hold after reading ---------------------
ODD = (None, "", " ", "0", "abc", "是", 0, 1, -1, 3, 250, 251, 1e20, 2.5, float("nan"), True, False,
       date(2010, 7, 1), datetime(2010, 7, 1, 8, 30), "11010519491231002X", "11010519491231002x",
       "110105194912310021", "110105190002290021", "990105194912310021", "1101051949123100",
       "13857712345", "1385771234", "0571-88886666", "+86 138 5771 2345", "基本化解", *STATUSES)


DATE_KEYS = tuple(f.key for f in FIELDS if f.kind == "date")
TICK_KEYS = tuple(i.key for g in CHECKLISTS for i in g.items)


def messy_ledger(rng: random.Random, name: str, *, numbers_only: bool = False) -> Ledger:
    rows = []
    for _ in range(rng.randint(1, 40)):
        case = {k: rng.choice(ODD) if rng.random() < 0.6 else None for k in ALL_INPUT_KEYS}
        for k in DATE_KEYS:                 # the reader parses dates and ticks before validation
            case[k] = rng.choice((None, date(2007, 3, 1), date(2010, 7, 1), date(2010, 12, 1)))
        for k in TICK_KEYS:
            case[k] = rng.choice((None, True, False))
        if numbers_only:                    # a text in the column makes the whole check raise
            case["extension_days"] = rng.choice((None, 0, 10, 250, 251, -1, 2.5, True))
        case["case_id"] = rng.choice((None, "A1", "A2", "A3", f"B{rng.randint(1, 999)}", 7, 7.0))
        rows.append(case)
    df = pd.DataFrame(rows, index=range(4, 4 + len(rows)), columns=list(ALL_INPUT_KEYS), dtype=object)
    if rng.random() < 0.5:                  # not the reader's frame: NaN for blanks, fewer columns
        df = df.drop(columns=rng.sample(list(ALL_INPUT_KEYS), 3))
    else:
        df = df.astype(object).where(df.notna(), None)
    columns = {k: c for c, k in enumerate(df.columns) if rng.random() < 0.9}
    return Ledger(path=Path(name), sheet="台账", village="东村", cases=df, columns=columns)


def test_messy_tables_get_the_same_issues_from_both_runners():
    rng = random.Random(7)
    for round_ in range(25):
        ledgers = [messy_ledger(rng, f"{round_}-{n}.xlsx", numbers_only=round_ % 2 == 1)
                   for n in range(rng.randint(1, 4))]
        with_pandera, plain = issues_by_both(ledgers)
        assert plain == with_pandera, round_


def test_failures_are_the_same_list_in_the_same_order():
    rng = random.Random(11)
    ledgers = [messy_ledger(rng, f"{n}.xlsx", numbers_only=True) for n in range(6)]
    combined, _ = _combine([lg for lg in ledgers if lg.n_cases])
    with_pandera = schema_failures(combined, use_pandera=True)
    assert with_pandera                                  # the messy table does fail
    assert schema_failures(combined, use_pandera=False) == with_pandera


def test_commands_check_without_importing_pandera(tmp_path):
    """A consolidation, ``taizhang validate`` and a batch of 6,000 rows (a district's first day is
    30,000) in a fresh interpreter: the plain runner checks, pandera is never imported (its
    import alone costs a first consolidation most of a second), and the faults are still found."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(3):
        make_ledger(inbox / f"村{n}.xlsx", village=f"村{n}", n_cases=100, seed=n,
                    layout=LedgerStyle(faults=("duplicate_case_id", "unknown_status")))
    code = (
        "import copy, sys, json; from datetime import date; from pathlib import Path\n"
        "from toolkit.pipeline.consolidate import consolidate\n"
        "from toolkit.pipeline.check import check_paths\n"
        "from toolkit.core.settings import DEFAULT_SETTINGS as S\n"
        "from toolkit.validation.rules import validate_ledgers\n"
        "root, day = Path(sys.argv[1]), date(2010, 10, 20)\n"
        "r = consolidate(root / 'inbox', root / '总台账.xlsx', as_of=day, settings=S,\n"
        "                archive_root=root / 'archive', state_dir=root / 'state')\n"
        "v = check_paths([root / 'inbox'], as_of=day, settings=S)\n"
        "big = [copy.deepcopy(v[0]) for _ in range(60)]\n"
        "for lg in big: lg.issues = []\n"
        "validate_ledgers(big, as_of=day, settings=S)\n"
        "print(json.dumps([r.cases, sum(lg.n_cases for lg in big), sorted({i.code for lg in v for i in lg.issues}),\n"
        "                  sum(len(lg.issues) for lg in big) == 60 * len(v[0].issues), 'pandera' in sys.modules]))\n")
    cases, big_rows, codes, same_in_big, pandera_loaded = fresh_python(code, str(tmp_path), cwd=tmp_path)
    assert cases == 300 and big_rows == 6000
    assert {"duplicate_case_id", "unknown_status"} <= set(codes)
    assert same_in_big
    assert pandera_loaded is False

"""Fuzz: mutated workbooks through read_ledgers. The parent never dies; every input
yields a Ledger, and every unreadable one says why, naming its file."""
from __future__ import annotations

import random

import pytest

import factories.hostile as hf
from toolkit.read.sandboxed import read_ledgers
from toolkit.core.issues import CATALOGUE
from toolkit.core.ledger import Ledger

try:
    import toolkit.read.workbook  # noqa: F401
    READER = "toolkit.read.workbook:read_ledger"
except ImportError:
    READER = "hostile_readers:calamine_ledger"

VARIANTS = 40


@pytest.mark.slow
def test_mutated_workbooks_never_take_the_run_down(tmp_path):
    try:
        from factories.ledgers import make_ledger
        seed_file = make_ledger(tmp_path / "种子.xlsx", village="东村", n_cases=15).path
    except ImportError:
        seed_file = hf.good_workbook(tmp_path / "种子.xlsx")
    data = seed_file.read_bytes()
    rng = random.Random(20240506)
    paths = []
    for i in range(VARIANTS):
        path = tmp_path / f"变体{i:02d}.xlsx"
        path.write_bytes(hf.mutate(data, rng))
        paths.append(path)

    ledgers = read_ledgers(paths, reader=READER, time_limit=30)

    assert len(ledgers) == VARIANTS
    assert [lg.path for lg in ledgers] == paths
    for lg in ledgers:
        assert isinstance(lg, Ledger)
        if not lg.readable:
            assert lg.issues and all(i.code in CATALOGUE for i in lg.issues)
            assert any(str(lg.path) in i.message for i in lg.issues)
    refused = sum(not lg.readable for lg in ledgers)
    assert 0 < refused < VARIANTS          # the mutations both break and spare files

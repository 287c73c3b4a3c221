"""When a workbook was last saved: read from the file, or from the part pre-flight already inflated.

The sandboxed reader takes docProps/core.xml (meta.xml for .ods) from pre-flight instead of
opening the file a second time (issue 21); whichever way, the time is the same, and a part
pre-flight did not keep (too big, named elsewhere) is read from the file as before.
"""
from __future__ import annotations

import zipfile
from datetime import datetime, timezone

import pytest

from conftest import needs_soffice
from factories.ledgers import make_ledger
from factories.sheet import stamp_saved
from toolkit.intake.preflight import KEPT_BYTES, preflight
from toolkit.read.sandboxed import read_ledgers
from toolkit.read.saved import last_saved
from toolkit.read.workbook import read_ledger

WHEN = datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone.utc)
LOCAL = WHEN.astimezone().replace(tzinfo=None)


def test_pre_flight_keeps_the_core_part_and_the_time_is_the_same(tmp_path):
    path = stamp_saved(make_ledger(tmp_path / "东村.xlsx", village="东村", n_cases=3).path, WHEN)
    kept: dict = {}
    assert preflight(path, kept=kept) is None
    assert set(kept) == {"docProps/core.xml"}
    with zipfile.ZipFile(path) as z:
        assert kept["docProps/core.xml"] == z.read("docProps/core.xml")
    assert last_saved(path, "xlsx", kept) == last_saved(path, "xlsx") == LOCAL
    [sandboxed] = read_ledgers([path])
    assert sandboxed.saved == read_ledger(path).saved == LOCAL


def test_a_core_part_too_big_to_keep_is_read_from_the_file(tmp_path):
    """A core part past KEPT_BYTES is not kept; the file is read as before (and says no time,
    since a core part that big is no office program's)."""
    path = stamp_saved(make_ledger(tmp_path / "东村.xlsx", village="东村", n_cases=3).path, WHEN)
    with zipfile.ZipFile(path) as z:
        parts = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            if info.filename == "docProps/core.xml":
                data = data.replace(b"</cp:coreProperties>", b"<!--" + b"x" * KEPT_BYTES + b"--></cp:coreProperties>")
            z.writestr(info, data)
    kept: dict = {}
    assert preflight(path, kept=kept) is None and kept == {}
    [sandboxed] = read_ledgers([path])
    assert sandboxed.saved == read_ledger(path).saved is None


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
def test_an_ods_keeps_its_meta_part(tmp_path):
    """LibreOffice writes the save time in meta.xml (local time, no zone)."""
    from factories.libreoffice import convert
    [path] = convert([make_ledger(tmp_path / "西村.xlsx", village="西村", n_cases=3).path], "ods",
                     tmp_path / "ods")
    kept: dict = {}
    assert preflight(path, kept=kept) is None and "meta.xml" in kept
    assert last_saved(path, "ods", kept) == last_saved(path, "ods") is not None
    [sandboxed] = read_ledgers([path])
    assert sandboxed.saved == read_ledger(path).saved is not None

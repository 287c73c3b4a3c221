"""Consolidation end to end: real workbooks in an inbox, the archive, the master read back by calamine."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_case, write_ledger
from toolkit.intake.archive import SubmissionArchive
from toolkit.core.files import RunBusy, run_lock
from toolkit.pipeline.consolidate import consolidate
from toolkit.pipeline.judge import decide
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.core.settings import RosterEntry, Settings

AS_OF = date(2010, 10, 20)
SETTINGS = Settings(roster=(RosterEntry("东村", "陈建国"), RosterEntry("西村"), RosterEntry("南村"),
                            RosterEntry("北村")))


def ledger(path: Path, village: str, cases: list[dict]) -> Path:
    return write_ledger(path, cases, reporter=village, title=f"南郊乡{village}信访积案化解工作台账")


def cases(village: str, prefix: str, numbers, **over) -> list[dict]:
    return [sample_case(i, village, case_id=f"{prefix}{i:03d}", **over) for i in numbers]


class Township:
    """An inbox, an archive, a state folder and a master under one tmp folder."""

    def __init__(self, root: Path) -> None:
        self.root, self.inbox = root, root / "inbox"
        self.inbox.mkdir(parents=True)
        self.out = root / "output" / "总台账.xlsx"

    def run(self, **kw):
        return consolidate(self.inbox, self.out, as_of=kw.pop("as_of", AS_OF), settings=SETTINGS,
                           archive_root=self.root / "archive", state_dir=self.root / "state", **kw)

    def sheet(self, name: str, path: Path | None = None) -> list[dict]:
        rows = CalamineWorkbook.from_path(str(path or self.out)).get_sheet_by_name(name).to_python()
        return [dict(zip(rows[1], r)) for r in rows[2:]]     # a title row, then the headers

    @property
    def archive(self) -> SubmissionArchive:
        return SubmissionArchive(self.root / "archive")


@pytest.fixture
def town(tmp_path):
    return Township(tmp_path)


def test_good_faulty_and_hostile_files(town):
    ledger(town.inbox / "东村.xlsx", "东村", cases("东村", "DC-", (1, 2, 3)))
    faulty = cases("西村", "XC-", (1, 2))
    faulty[1].update(assigned_date="2010年13月5日", status="搞定了", petitioner="=1+1")
    ledger(town.inbox / "西村.xlsx", "西村", faulty)
    ledger(town.inbox / "南村.xlsx", "南村", cases("南村", "NC-", (1,)) + cases("南村", "DC-", (2,)))
    (town.inbox / "假表.xlsx").write_text("这不是表格", encoding="utf-8")
    good = (town.inbox / "东村.xlsx").read_bytes()
    (town.inbox / "截断.xlsx").write_bytes(good[: len(good) // 2])

    result = town.run()
    again = town.run()                      # a daily re-run: parsed files come from the cache
    assert again.villages == result.villages and again.rejected == result.rejected
    d = result.to_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert list(d) == ["master", "as_of", "cases", "overdue", "due_soon", "villages", "rejected",
                       "duplicates", "missing_villages", "vanished", "villages_not_on_roster", "files_gone_from_inbox",
                       "held", "held_total", "several_files", "problems"]
    assert d["master"] == str(town.out) and d["cases"] == 7 and d["as_of"] == "2010-10-20"
    assert {v["village"]: (v["cases"], v["errors"] > 0) for v in d["villages"]} == {
        "东村": (3, False), "西村": (2, True), "南村": (2, False)}
    assert sorted(r["file"] for r in d["rejected"]) == ["假表.xlsx", "截断.xlsx"]
    assert all(r["code"] and r["file"] in r["message"] for r in d["rejected"])   # no temp paths
    assert d["duplicates"] == [{"case_id": "DC-002", "villages": ["东村", "南村"]}]
    assert d["missing_villages"] == ["北村"] and d["vanished"] == []
    assert d["overdue"] == 6    # assigned 2010-07-01, deadline 2010-09-25 (one date unreadable)

    rows = town.sheet("总台账")
    assert len(rows) == 7 and sum(1 for r in rows if r["核查提示"]) == 3
    by_id = {(r["村（社区）"], r["案件编号"]): r for r in rows}
    bad = by_id[("西村", "XC-002")]
    assert bad["信访人"] == "=1+1" and "错误" in bad["核查提示"] and bad["行号"] >= 4
    assert "重复" in by_id[("东村", "DC-002")]["核查提示"] and "重复" in by_id[("南村", "DC-002")]["核查提示"]
    assert by_id[("东村", "DC-001")]["来源文件"] == "东村.xlsx"
    issues = town.sheet("校验问题")
    cells = {(i["文件"], i["代码"]): i["单元格"] for i in issues}
    assert cells[("西村.xlsx", "invalid_date")] and cells[("西村.xlsx", "unknown_status")]
    assert ("假表.xlsx", "not_spreadsheet") in cells
    reports = {r["村（社区）"]: r for r in town.sheet("报送情况")}
    assert reports["东村"]["报送情况"] == "已报" and reports["东村"]["联系人"] == "陈建国"
    assert reports["北村"]["报送情况"] == "未报"
    assert {r["文件"] for r in town.sheet("报送情况") if r["报送情况"] == "被拒收"} == {"假表.xlsx", "截断.xlsx"}
    summary = town.sheet("汇总")
    assert [r["村（社区）"] for r in summary] == ["东村", "西村", "南村", "合计"]
    assert summary[0]["填报日期"] == date(2010, 9, 18) and summary[0]["采用文件"] == "东村.xlsx"
    assert reports["东村"]["填报日期"] == date(2010, 9, 18)
    assert town.archive.verify() == []


def test_a_village_on_a_neighbours_template_does_not_replace_the_neighbour(town):
    """西村 reuses 东村's template (its hidden marker names 东村) and writes 西村 everywhere it can be
    seen: both villages count with their own cases, nothing of 东村 is reported vanished."""
    ledger(town.inbox / "东村.xlsx", "东村", cases("东村", "DC-", (1, 2, 3)))
    first = town.run()
    write_ledger(town.inbox / "西村.xlsx", cases("西村", "XC-", (1, 2)), reporter="西村", marker="东村",
                 title="南郊乡西村信访积案化解工作台账", saved=datetime(2010, 10, 19, 8, 0))
    second = town.run()
    assert first.cases == 3 and second.cases == 5 and second.vanished == []
    assert {v["village"]: v["cases"] for v in second.to_dict()["villages"]} == {"东村": 3, "西村": 2}
    assert second.missing_villages == ["南村", "北村"]
    (said,) = [r for r in town.sheet("校验问题") if r["代码"] == "marker_mismatch"]
    assert said["文件"] == "西村.xlsx" and said["村（社区）"] == "西村" and "发给“东村”的模板" in said["问题"]


def test_resubmissions_over_several_runs(town):
    """Township columns survive; a dropped case is reported; a bad file never replaces a good one."""
    import openpyxl
    v1 = ledger(town.inbox / "东村_0918.xlsx", "东村", cases("东村", "DC-", (1, 2, 3)))
    first = town.run()
    assert first.vanished == [] and first.cases == 3
    assert town.sheet("变更记录")[0]["变更类型"] == "首次汇总"

    wb = openpyxl.load_workbook(town.out)          # a clerk types into the township column
    ws = wb["总台账"]
    head = [c.value for c in ws[2]]
    for row in ws.iter_rows(min_row=3):
        if row[head.index("案件编号")].value in ("DC-001", "DC-003"):
            row[head.index("督办意见")].value = f"请加快办理{row[head.index('案件编号')].value}"
    wb.save(town.out)

    v2 = cases("东村", "DC-", (1, 2))                 # 003 dropped without 已销号; 002 resolved
    v2[1].update(status="已化解", closed_date=date(2010, 10, 15))
    ledger(town.inbox / "东村_1019.xlsx", "东村", v2)
    shutil.copy(v1, town.inbox / "东村_0918_副本.xlsx")   # the same bytes again: a no-op
    second = town.run()
    assert second.vanished == [{"case_id": "DC-003", "village": "东村"}]
    assert second.cases == 2 and second.villages[0]["file"] == "东村_1019.xlsx"
    assert second.status_changes == 1
    assert len(town.archive.history()) == 2
    rows = {r["案件编号"]: r for r in town.sheet("总台账")}
    assert rows["DC-001"]["督办意见"] == "请加快办理DC-001"
    changes = town.sheet("变更记录")
    gone = [c for c in changes if c["变更类型"] == "案件消失（未销号）"]
    assert gone and gone[0]["案件编号"] == "DC-003" and gone[0]["督办意见"] == "请加快办理DC-003"
    assert any(c["变更类型"] == "状态变化" and c["案件编号"] == "DC-002" and c["原状态"] == "化解中"
               for c in changes)
    assert (town.out.parent / "历史版本").is_dir()

    (town.inbox / "东村_1020.xlsx").write_text("坏文件", encoding="utf-8")   # a bad resubmission
    third = town.run()
    assert [{k: v[k] for k in ("village", "file", "cases", "errors", "warnings")} for v in third.villages] \
        == [{"village": "东村", "file": "东村_1019.xlsx", "cases": 2, "errors": 0, "warnings": 0}]
    assert [r["file"] for r in third.rejected] == ["东村_1020.xlsx"]
    assert {r["案件编号"] for r in town.sheet("总台账")} == {"DC-001", "DC-002"}
    assert decide(town.archive, SETTINGS).counted()["东村"].filename == "东村_1019.xlsx"
    # the vanished case and its township note are still shown while 东村_1019 counts
    assert third.vanished == [{"case_id": "DC-003", "village": "东村"}]
    assert any(c["督办意见"] == "请加快办理DC-003" for c in town.sheet("变更记录"))
    assert town.archive.verify() == []
    # without an inbox (mail and buttons only) the master still holds every counted sheet
    archived_only = consolidate(None, town.out, as_of=AS_OF, settings=SETTINGS,
                                archive_root=town.root / "archive", state_dir=town.root / "state")
    assert archived_only.cases == 2 and archived_only.rejected == []


def test_a_second_caller_is_told_another_run_is_going(town):
    with run_lock(town.root / "state"):
        with pytest.raises(RunBusy) as e:
            town.run(lock_timeout=0.1)
    assert "另一汇总正在进行" in str(e.value)
    assert not town.out.exists()


def test_missing_inbox_is_a_clear_error(town):
    from toolkit.pipeline.consolidate import ConsolidationError
    with pytest.raises(ConsolidationError, match="收件夹"):
        consolidate(town.root / "nowhere", town.out, as_of=AS_OF, settings=SETTINGS,
                    archive_root=town.root / "archive", state_dir=town.root / "state")


def test_parse_cache_follows_the_reader(tmp_path, monkeypatch):
    from toolkit.core.ledger import Ledger
    cache = ParseCache(tmp_path / "parsed")
    cache.put("ab" * 32, Ledger(tmp_path / "东村.xlsx", village="东村"))
    cache.put("cd" * 32, Ledger(tmp_path / "坏.xlsx", readable=False))      # never kept
    assert cache.get("ab" * 32).village == "东村" and cache.get("cd" * 32) is None
    cache.close()                             # the writes are done in the background: wait for them
    monkeypatch.setattr(ParseCache, "PACKAGES", ("toolkit.read",))    # another reader
    newer = ParseCache(tmp_path / "parsed")
    assert newer.get("ab" * 32) is None
    newer.put("ef" * 32, Ledger(tmp_path / "西村.xlsx"))
    newer.close()
    assert [p.name for p in (tmp_path / "parsed").iterdir()] == [newer.folder.name]


def test_parse_cache_follows_every_reading_module(tmp_path, monkeypatch):
    """A module added, moved or changed in a reading package starts a new cache."""
    import shutil

    from toolkit.pipeline.parse_cache import reader_version as _reader_version
    pkg = tmp_path / "fakepkg"
    shutil.copytree(Path(__file__).parent.parent / "toolkit" / "read", pkg / "read")
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = _reader_version(("fakepkg",))
    (pkg / "read" / "workbook.py").rename(pkg / "read" / "moved.py")
    moved = _reader_version(("fakepkg",))
    assert moved != before
    (pkg / "read" / "moved.py").write_text((pkg / "read" / "moved.py").read_text() + "\n# changed\n")
    assert _reader_version(("fakepkg",)) not in (before, moved)


def test_parse_cache_follows_the_installed_parsers(tmp_path, monkeypatch):
    """Another version of a parser (its files rewritten) starts a new cache; the parsers are
    neither imported nor looked up through importlib.metadata to tell."""
    import sys

    from toolkit.pipeline import parse_cache
    pkg = tmp_path / "fakeparser"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('never imported to tell its version')\n")
    (pkg / "_native.so").write_bytes(b"\x7fELF version 1")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(parse_cache, "PARSERS", ("fakeparser",))
    before = parse_cache.reader_version(("toolkit.read",))
    assert parse_cache.reader_version(("toolkit.read",)) == before
    (pkg / "_native.so").write_bytes(b"\x7fELF version 2, a bigger build")
    assert parse_cache.reader_version(("toolkit.read",)) != before
    assert "fakeparser" not in sys.modules


def test_a_huge_stray_file_is_refused_before_it_is_archived(town):
    """Everything in the inbox gets a verdict, but 2 GB of video is not copied into the archive."""
    ledger(town.inbox / "东村.xlsx", "东村", cases("东村", "DC-", (1,)))
    with open(town.inbox / "会议录像.xlsx", "wb") as f:       # sparse: 101 MB on paper, nothing on disk
        f.truncate(101 * 2**20)
    result = town.run()
    (refused,) = result.rejected
    assert refused["file"] == "会议录像.xlsx" and refused["code"] == "too_large" and "MB" in refused["message"]
    assert [s.filename for s in town.archive.history()] == ["东村.xlsx"]
    assert result.cases == 1

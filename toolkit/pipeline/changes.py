"""What changed: the 变更记录 sheet, the run's snapshot, and the change log that keeps them.

The previous run's cases (village + case number -> status) are kept in
``state/last_run.json``, so a run can list new cases and status changes; cases that
vanished from a village's new submission without 已销号 come from the judge; the clerks'
releases, assignments and withdrawals from the archive.

Every change is also kept in ``state/changes.sqlite`` with the date it was found for and
the run that found it, so 变更记录 shows the last ``DAYS`` days, newest first: a clerk who
reruns after each e-mail never erases what an earlier run of the day found. A change a rerun
finds again (a vanished case, still missing) is kept once. Township notes whose case is
gone (乡级填写暂存) are a state, not an event: each run shows its own.
"""
from __future__ import annotations

import json
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Sequence

from toolkit.core.files import atomic_write_text
from toolkit.core.store import guarded, open_db
from toolkit.core.dates import when_text

SNAPSHOT_NAME = "last_run.json"
LOG_NAME = "changes.sqlite"
DAYS = 7
DAY_COLUMN = "汇总日期"
_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, as_of TEXT NOT NULL, run_at TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_day ON changes (as_of);
"""


def save_snapshot(state_dir: Path, as_of: date, master: Path | None, cases, *,
                  last_action: int = 0) -> None:
    """This run's cases, for the next run's 新增案件 and 状态变化; ``last_action``: the clerks'
    acts up to this number are in this run's 变更记录."""
    state = {"as_of": as_of.isoformat(), "run_at": datetime.now().isoformat(timespec="seconds"),
             "master": str(master), "last_action": last_action,
             "cases": {k: s for k, s in zip(case_keys(cases), cases["status"]) if k}}
    target = Path(state_dir) / SNAPSHOT_NAME
    with guarded(target, "状态文件"):
        atomic_write_text(target, json.dumps(state, ensure_ascii=False))


def case_keys(cases) -> list[str | None]:
    """village + case number per row; a number repeated within a village gets #2, #3 …"""
    seen: dict[str, int] = {}
    keys: list[str | None] = []
    for v, c in zip(cases["village"], cases["case_id"]):
        if c is None:
            keys.append(None)
            continue
        key = f"{v}\x1f{c}"
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}\x1f{seen[key]}")
    return keys


def load_snapshot(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / SNAPSHOT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --- this run's changes ----------------------------------------------------------------------
def change_rows(snapshot: dict | None, cases, vanished: list[dict], orphans: dict,
                columns: Sequence[str], result, run: str) -> list[dict]:
    """This run's 变更记录 rows: vanished cases, new cases, status changes, township notes with
    no case. Each event row has a ``_key`` (the same event found again has the same key);
    ``run`` names this run (its start time)."""
    rows = []
    for v in vanished:
        kept = orphans.pop((v["village"], v["case_id"]), {})
        rows.append({"_key": f"vanished\x1f{v['village']}\x1f{v['case_id']}\x1f{v['now_id']}",
                     "变更类型": "案件消失（未销号）", "村（社区）": v["village"], "案件编号": v["case_id"],
                     "原状态": v["status"], "来源文件": v["now"],
                     "说明": f"上次报送“{v['before']}”中有此案，新报“{v['now']}”中没有，且未销号。"
                             "请与该村核实：已结案的应改为“已销号”保留在台账中。", **kept})
    if snapshot is not None:
        rows += _case_changes(snapshot, cases, result, run)
    else:
        rows.append({"_key": "first", "变更类型": "首次汇总",
                     "说明": "没有上次汇总的记录，本次起记录新增案件和状态变化。"})
    for (village, case_id), kept in orphans.items():
        rows.append({"变更类型": "乡级填写暂存", "村（社区）": village, "案件编号": case_id,
                     "说明": "上一版总台账中为此案填写的乡级内容，案件已不在本版总台账中，暂存于此；"
                             "案件重新出现时自动带回。", **kept})
    return rows


def _case_changes(snapshot: dict, cases, result, run: str) -> list[dict]:
    rows = []
    before = snapshot.get("cases", {})
    since = snapshot.get("as_of", "")
    wanted = ["village", "case_id", "petitioner", "status", "source_file"]
    for key, rec in zip(case_keys(cases), cases[wanted].to_dict("records")):
        if key is None:
            continue
        base = {"村（社区）": rec["village"], "案件编号": rec["case_id"], "信访人": rec["petitioner"],
                "现状态": rec["status"], "来源文件": rec["source_file"]}
        if key not in before:
            result.new_cases += 1
            rows.append({"_key": f"new\x1f{key}\x1f{run}", "变更类型": "新增案件", **base,
                         "说明": f"上次汇总（截至{since}）没有此案。"})
        elif before[key] != rec["status"]:
            result.status_changes += 1
            rows.append({"_key": f"status\x1f{key}\x1f{run}", "变更类型": "状态变化", **base,
                         "原状态": before[key], "说明": f"上次汇总（截至{since}）为“{before[key] or '空'}”。"})
    return rows


def action_rows(actions: list[dict], counted: dict) -> list[dict]:
    """变更记录 rows for the clerks' acts since the last run; ``counted``: village -> the
    submission counting now (a withdrawal names what counts instead)."""
    rows = []
    for a in actions:
        sub = f"报送 #{a['submission_id']}“{a['filename']}”（{when_text(a['received'])}" + (
            f"，发件人 {a['sender']}）" if a["sender"] else "）")
        base = {"_key": f"action\x1f{a['id']}", "村（社区）": a["village"], "来源文件": a["filename"]}
        if a["action"] == "release":
            rows.append({**base, "变更类型": "放行报送",
                         "说明": f"{sub}于 {when_text(a['at'])} 由 {a['by']} 核实放行，计入{a['village']}。"})
        elif a["action"] == "assign":
            rows.append({**base, "变更类型": "归入村（社区）",
                         "说明": f"{sub}于 {when_text(a['at'])} 由 {a['by']} 归入{a['village']}。"})
        else:
            now = counted.get(a["village"])
            instead = (f"该村改用“{now.filename}”（{when_text(now.received)}）。" if now is not None
                       else "该村现在没有计入总台账的报送。")
            rows.append({**base, "变更类型": "撤回报送",
                         "说明": f"{sub}于 {when_text(a['at'])} 由 {a['by']} 撤回，原因：{a['reason']}。{instead}"})
    return rows


# --- the log of every run's changes ---------------------------------------------------------------
class ChangeLog:
    """Every change found, by the date it was found for (``state/changes.sqlite``)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOG_NAME

    def _open(self):
        db = open_db(self.path, "变更记录")
        with guarded(self.path, "变更记录"):
            db.executescript(_LOG_SCHEMA)
        return db

    def sheet(self, as_of: date, rows: list[dict], *, days: int = DAYS) -> list[dict]:
        """What 变更记录 shows: this run's ``rows`` first, then the changes earlier runs found for
        the ``days`` days up to ``as_of`` (newest first) that this run did not find again."""
        now = [{DAY_COLUMN: as_of, **r} for r in rows]
        keys = {r["_key"] for r in rows if r.get("_key")}
        start = (as_of - timedelta(days=days - 1)).isoformat()
        with closing(self._open()) as db, guarded(self.path, "变更记录"):
            found = db.execute("SELECT as_of, key, row FROM changes WHERE as_of BETWEEN ? AND ?"
                               " ORDER BY as_of DESC, id DESC", (start, as_of.isoformat())).fetchall()
        earlier = [{DAY_COLUMN: date.fromisoformat(day), **json.loads(row), "_key": key}
                   for day, key, row in found if key not in keys]
        return now + earlier

    def record(self, as_of: date, rows: list[dict], run: str, columns: Sequence[str]) -> None:
        """Keep this run's events (rows with a ``_key``), their ``columns`` only (a township
        note travels with its case, not with an old change); an event kept stays as it was."""
        events = [r for r in rows if r.get("_key")]
        if not events:
            return
        with closing(self._open()) as db, guarded(self.path, "变更记录"), db:
            db.executemany("INSERT OR IGNORE INTO changes (as_of, run_at, key, row) VALUES (?,?,?,?)",
                           [(as_of.isoformat(), run, r["_key"],
                             json.dumps({k: r[k] for k in columns if k in r and k != DAY_COLUMN},
                                        ensure_ascii=False, default=str))
                            for r in events])

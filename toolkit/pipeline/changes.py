"""What changed since the last run: the 变更记录 sheet and the run's snapshot.

The previous run's cases (village + case number -> status) are kept in
``state/last_run.json``, so the master can list new cases and status changes;
cases that vanished from a village's new submission without 已销号 come from the
archive (see consolidate); township notes whose case is gone are kept here too.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Sequence

from toolkit.core.files import atomic_write_text

SNAPSHOT_NAME = "last_run.json"


def save_snapshot(state_dir: Path, as_of: date, master: Path | None, cases, *,
                  last_action: int = 0) -> None:
    """This run's cases, for the next run's 新增案件 and 状态变化; ``last_action``: the clerks'
    releases and withdrawals up to this number are in this run's 变更记录."""
    state = {"as_of": as_of.isoformat(), "run_at": datetime.now().isoformat(timespec="seconds"),
             "master": str(master), "last_action": last_action,
             "cases": {k: s for k, s in zip(case_keys(cases), cases["status"]) if k}}
    atomic_write_text(Path(state_dir) / SNAPSHOT_NAME, json.dumps(state, ensure_ascii=False))


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


def change_rows(snapshot: dict | None, cases, vanished: list[dict], orphans: dict,
             columns: Sequence[str], result) -> list[dict]:
    """变更记录: vanished cases, new cases, status changes, and township notes with no case."""
    rows = []
    for v in vanished:
        kept = orphans.pop((v["village"], v["case_id"]), {})
        rows.append({"变更类型": "案件消失（未销号）", "村（社区）": v["village"], "案件编号": v["case_id"],
                     "原状态": v["status"], "来源文件": v["now"],
                     "说明": f"上次报送“{v['before']}”中有此案，新报“{v['now']}”中没有，且未销号。"
                             "请与该村核实：已结案的应改为“已销号”保留在台账中。", **kept})
    if snapshot is not None:
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
                rows.append({"变更类型": "新增案件", **base, "说明": f"上次汇总（截至{since}）没有此案。"})
            elif before[key] != rec["status"]:
                result.status_changes += 1
                rows.append({"变更类型": "状态变化", **base, "原状态": before[key],
                             "说明": f"上次汇总（截至{since}）为“{before[key] or '空'}”。"})
    else:
        rows.append({"变更类型": "首次汇总", "说明": "没有上次汇总的记录，本次起记录新增案件和状态变化。"})
    for (village, case_id), kept in orphans.items():
        rows.append({"变更类型": "乡级填写暂存", "村（社区）": village, "案件编号": case_id,
                     "说明": "上一版总台账中为此案填写的乡级内容，案件已不在本版总台账中，暂存于此；"
                             "案件重新出现时自动带回。", **kept})
    return rows


def action_rows(actions: list[dict], counted: dict) -> list[dict]:
    """变更记录 rows for the clerks' releases and withdrawals since the last run; ``counted``:
    village -> the submission counting now (a withdrawal names what counts again)."""
    rows = []
    for a in actions:
        sub = f"报送 #{a['submission_id']}“{a['filename']}”（{_when(a['received'])}" + (
            f"，发件人 {a['sender']}）" if a["sender"] else "）")
        if a["action"] == "release":
            rows.append({"变更类型": "放行报送", "村（社区）": a["village"], "来源文件": a["filename"],
                         "说明": f"{sub}于 {_when(a['at'])} 由 {a['by']} 核实放行，计入{a['village']}。"})
            continue
        now = counted.get(a["village"])
        instead = (f"该村改用“{now.filename}”（{_when(now.received)}）。" if now is not None
                   else "该村现在没有计入总台账的报送。")
        rows.append({"变更类型": "撤回报送", "村（社区）": a["village"], "来源文件": a["filename"],
                     "说明": f"{sub}于 {_when(a['at'])} 由 {a['by']} 撤回，原因：{a['reason']}。{instead}"})
    return rows


def _when(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:16]

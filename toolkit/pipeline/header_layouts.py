"""How each village's header looked: kept per village, compared when what counts changes.

For each village the header layout of its counted submission is kept in
``state/header_layouts.json`` with the one it replaced: when consolidation finds a new
counted submission whose columns differ from the last counted one (a column added, removed,
renamed, moved, or read as a near miss), 报送情况 and 变更记录 say so in one sentence:
“东村的表头与上次不同：新增“回访情况”列；“反映问题”写成了“反应问题”，已按“信访事项”读取”.

What counted last is the judge's verdict of the previous run (the archive's ``counts``), so the
state follows exactly what the master used; a rerun with the same counted file says the
same sentence again (报送情况) and 变更记录 keeps it once (the change log's key).
"""
from __future__ import annotations

import json
from pathlib import Path

from toolkit.core import fields as F
from toolkit.core.cells import column_letter
from toolkit.core.files import atomic_write_text
from toolkit.core.store import guarded

LAYOUTS_NAME = "header_layouts.json"


def layout_of(ledger) -> list[list]:
    """The header as written: [column (0-based), text, key or None, how read, near name], in order."""
    return [[h.col, h.text, h.key, h.how, h.near[0] if h.near else None] for h in ledger.header_cells]


class HeaderLayouts:
    """The kept layouts: village -> {"now": {id, file, layout}, "before": the same or None}."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LAYOUTS_NAME
        try:
            self.kept = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.kept = {}
        self.found: dict[str, str] = {}        # village -> the sentence, for this run's counted file
        self.new: set[str] = set()             # villages whose counted file changed in this run

    def compare(self, counted: dict) -> dict[str, str]:
        """``counted``: village -> the judge's Checked (submission, ledger). Returns village ->
        the sentence saying how the counted file's header differs from the last counted one."""
        for village, c in counted.items():
            now = {"id": c.submission.id, "file": c.submission.filename, "layout": layout_of(c.ledger)}
            rec = self.kept.get(village)
            if rec is not None and rec.get("now", {}).get("id") == now["id"]:
                before = rec.get("before")
            else:
                before = rec.get("now") if rec else None
                self.new.add(village)
            self.kept[village] = {"now": now, "before": before}
            said = header_change(village, before["layout"], now["layout"]) if before else None
            if said:
                self.found[village] = said
        return self.found

    def change_rows(self, counted: dict) -> list[dict]:
        """变更记录 rows for the villages whose newly counted file has another header."""
        rows = []
        for village in sorted(self.new & set(self.found), key=list(counted).index):
            sub = counted[village].submission
            rows.append({"_key": f"header\x1f{village}\x1f{sub.id}", "变更类型": "表头变化",
                         "村（社区）": village, "来源文件": sub.filename, "说明": self.found[village] + "。"})
        return rows

    def save(self) -> None:
        with guarded(self.path, "状态文件"):
            atomic_write_text(self.path, json.dumps(self.kept, ensure_ascii=False))


def _identity(entry: list) -> str:
    return entry[2] or "own\x1f" + F.normalize_header(entry[1])


def header_change(village: str, before: list[list], now: list[list]) -> str | None:
    """One plain sentence on how ``now`` differs from ``before`` (layouts), or None."""
    old = {_identity(e): e for e in before}
    new = {_identity(e): e for e in now}
    parts = [f"新增“{e[1]}”列" + (f"（已按“{F.header_for(e[2])}”读取）" if e[3] == "near" else "")
             for ident, e in new.items() if ident not in old]
    parts += [f"删去了“{e[1]}”列" for ident, e in old.items() if ident not in new]
    parts += [_renamed(old[ident], e) for ident, e in new.items()
              if ident in old and F.normalize_header(old[ident][1]) != F.normalize_header(e[1])]
    parts += [f"“{e[1]}”列从第 {column_letter(old[i][0])} 列移到了第 {column_letter(e[0])} 列"
              for i, e in ((i, new[i]) for i in _moved([i for i in old if i in new], [i for i in new if i in old]))]
    return f"{village}的表头与上次不同：{'；'.join(parts)}" if parts else None


def _renamed(was: list, e: list) -> str:
    field = F.header_for(e[2])
    if e[3] == "near":
        return f"“{was[1]}”写成了“{e[1]}”，已按“{field}”读取"
    if e[3] == "alias":
        return f"“{was[1]}”写成了“{e[1]}”，按表头别名读作“{field}”"
    return f"“{was[1]}”改为“{e[1]}”"


def _moved(before: list[str], now: list[str]) -> list[str]:
    """Columns (in ``now``'s order) that left the longest run both orders share: moved ones."""
    n, m = len(before), len(now)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = best[i + 1][j + 1] + 1 if before[i] == now[j] else max(best[i + 1][j], best[i][j + 1])
    kept, i, j = set(), 0, 0
    while i < n and j < m:
        if before[i] == now[j]:
            kept.add(now[j])
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return [x for x in now if x not in kept]

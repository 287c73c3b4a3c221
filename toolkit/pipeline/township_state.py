"""The township's own columns of the master we wrote, kept in the state folder.

A rebuild carries what the township typed into the master (督办意见 …) over to the
new master. Re-reading the whole previous master for that costs seconds at district
scale, and on most days the master is the one we wrote ourselves: so after writing
it we keep its hash and the township values it holds (``remember``), and the next
run re-reads the master only when it is another file or its bytes changed — a
clerk typed into it, restored an old version, or it was written elsewhere (``recall``).

What is kept is what re-reading would give: the rows of 总台账 and then of 变更记录
that hold a case number and a township value, in sheet order, with values as the
master shows them (text at most 32,767 characters, True as "True", numbers as
numbers, dates as dates).
"""
from __future__ import annotations

import json
import numbers
from datetime import date, datetime
from pathlib import Path
from typing import Any, Sequence

from toolkit.core.files import atomic_write_text, file_sha256
from toolkit.core.store import guarded
from toolkit.outputs.master import cell_text, read_township_values
from toolkit.outputs.sheetxml import fit_text

STATE_NAME = "township_values.json"
_VERSION = 1


def remember(state_dir: Path, master: Path, book) -> None:
    """Keep the hash of the ``master`` just written from ``book`` and its township values."""
    columns = list(book.township_columns)
    rows: list[list] = []
    if columns:
        cases = book.cases
        lists = [cases[k].tolist() if k in cases.columns else [None] * len(cases)
                 for k in ("village", "case_id", *columns)]
        for village, case_id, *vals in zip(*lists):
            _keep(rows, village, case_id, dict(zip(columns, vals)))
        for ch in book.changes:
            _keep(rows, ch.get("村（社区）"), ch.get("案件编号"), {c: ch.get(c) for c in columns})
    target = Path(state_dir) / STATE_NAME
    with guarded(target, "状态文件"):    # without it the next run simply re-reads the master
        state = {"version": _VERSION, "master": _name(master), "sha256": file_sha256(master),
                 "columns": columns, "rows": rows}
        atomic_write_text(target, json.dumps(state, ensure_ascii=False))


def recall(state_dir: Path, master: Path, columns: Sequence[str]) -> tuple[dict, list[str]]:
    """``read_township_values(master, columns)``, from the state when ``master`` is unchanged."""
    master = Path(master)
    state = _load(Path(state_dir) / STATE_NAME)
    if (state is None or not columns or state.get("master") != _name(master)
            or not master.is_file() or file_sha256(master) != state.get("sha256")):
        return read_township_values(master, columns)
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for village, case_id, kept in state["rows"]:
        got = {c: _decode(kept[c]) for c in columns if c in kept}
        if got:
            values.setdefault((village, case_id), got)
    extra = [c for c in state["columns"] if c not in columns]
    return values, extra


def _keep(rows: list, village: object, case_id: object, vals: dict) -> None:
    case = cell_text(case_id)
    shown = {c: _encode(v) for c, v in vals.items()}
    shown = {c: v for c, v in shown.items() if v is not None}
    if case and shown:
        rows.append([cell_text(village), case, shown])


def _encode(v: object) -> Any:
    """The value as the master shows it (and as re-reading it would give), for JSON."""
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, date):
        return {"date": v.isoformat()}
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        if v != v or v - v != 0:           # NaN and infinity are not written
            return None
        return v if type(v) in (int, float) else float(v)
    return fit_text(str(v))


def _decode(v: Any) -> Any:
    if isinstance(v, dict):
        if "datetime" in v:
            return datetime.fromisoformat(v["datetime"])
        return date.fromisoformat(v["date"])
    return v


def _name(path: Path) -> str:
    return str(Path(path).resolve())


def _load(path: Path) -> dict | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("version") == _VERSION else None

"""Each run's totals per village, by day, kept in the state folder (``trends.sqlite``).

Whether 逾期 goes down week by week, and which village is stuck, can only be seen if
every run leaves its numbers behind. A run records one row per village for its as-of
date; a second run for the same date (a rebuilt master, a catch-up run, a button
press after the morning run) replaces that day's rows, so no day is counted twice.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

from toolkit.core.fields import ALERT_DUE_SOON, ALERT_OVERDUE, RESOLVED, STRUCK_OFF
from toolkit.core.store import guarded, open_db

DB_NAME = "trends.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS village_day (
    day TEXT NOT NULL, village TEXT NOT NULL, cases INTEGER NOT NULL, overdue INTEGER NOT NULL,
    due_soon INTEGER NOT NULL, resolved INTEGER NOT NULL, struck_off INTEGER NOT NULL,
    errors INTEGER NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (day, village));
"""


@dataclass(frozen=True)
class VillageDay:
    day: date
    village: str
    cases: int = 0
    overdue: int = 0
    due_soon: int = 0
    resolved: int = 0          # 已化解
    struck_off: int = 0        # 已销号
    errors: int = 0


def village_days(day: date, cases, villages: Iterable[dict]) -> list[VillageDay]:
    """One VillageDay per counted village, from the master's case table and the run's
    village list (``ConsolidationResult.villages``: village, cases, errors)."""
    counts: dict[str, dict[str, int]] = {}
    columns = [cases[k] for k in ("village", "alert", "status")] if len(cases) else [[], [], []]
    for village, alert, status in zip(*columns):
        c = counts.setdefault(village, {"overdue": 0, "due_soon": 0, "resolved": 0, "struck_off": 0})
        c["overdue"] += alert == ALERT_OVERDUE
        c["due_soon"] += alert == ALERT_DUE_SOON
        c["resolved"] += status == RESOLVED
        c["struck_off"] += status == STRUCK_OFF
    return [VillageDay(day, v["village"], v["cases"], errors=v["errors"], **counts.get(v["village"], {}))
            for v in villages]


def record(state_dir: Path, rows: list[VillageDay]) -> None:
    """Replace the rows of each day in ``rows`` by these (a day is never counted twice)."""
    if not rows:
        return
    now = datetime.now().isoformat(timespec="seconds")
    with closing(_connect(state_dir)) as db, guarded(_path(state_dir), "趋势记录"), db:
        for day in {r.day for r in rows}:
            db.execute("DELETE FROM village_day WHERE day = ?", (day.isoformat(),))
        db.executemany(
            "INSERT INTO village_day VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.day.isoformat(), r.village, r.cases, r.overdue, r.due_soon, r.resolved, r.struck_off,
              r.errors, now) for r in rows])


def history(state_dir: Path, *, since: date | None = None) -> list[VillageDay]:
    """Every recorded village-day (oldest first), from ``since`` on."""
    path = _path(state_dir)
    if not path.exists():
        return []
    with closing(_connect(state_dir)) as db, guarded(path, "趋势记录"):
        got = db.execute("SELECT day, village, cases, overdue, due_soon, resolved, struck_off, errors "
                         "FROM village_day WHERE day >= ? ORDER BY day, village",
                         ((since or date.min).isoformat(),)).fetchall()
    return [VillageDay(date.fromisoformat(d), *rest) for d, *rest in got]


def township_days(rows: Iterable[VillageDay]) -> list[VillageDay]:
    """The township's totals per day (village "全乡")."""
    days: dict[date, dict] = {}
    for r in rows:
        t = days.setdefault(r.day, {k: 0 for k in asdict(r) if k not in ("day", "village")})
        for k in t:
            t[k] += getattr(r, k)
    return [VillageDay(d, "全乡", **t) for d, t in sorted(days.items())]


def _path(state_dir: Path) -> Path:
    return Path(state_dir) / DB_NAME


def _connect(state_dir: Path) -> sqlite3.Connection:
    db = open_db(_path(state_dir), "趋势记录")
    with guarded(_path(state_dir), "趋势记录"):
        db.executescript(_SCHEMA)
    return db

"""The daily run's clock: its time of day, its last success, its next run.

Shared by the daily job (``toolkit.shells.daily``) and ``taizhang doctor``, which says when
the next run is due. The last success is a stamp file in the state folder, written by the
daily job after each run that wrote the master.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from toolkit.core.config import ConfigError
from toolkit.core.files import atomic_write_text

DAILY_STAMP = "daily_last_success.txt"      # written by the daily job after each successful run


def parse_time(text: str) -> tuple[int, int]:
    """'07:30' -> (7, 30); a Chinese ConfigError otherwise."""
    try:
        hh, mm = text.strip().split(":")
        h, m = int(hh), int(mm)
        if 0 <= h < 24 and 0 <= m < 60:
            return h, m
    except ValueError:
        pass
    raise ConfigError(f"配置文件 [daily] time 的值“{text}”不是时间，请写作 07:30。")


def last_success(state: Path) -> date | None:
    """The day of the daily job's last successful run (its stamp in the state folder)."""
    try:
        return date.fromisoformat((Path(state) / DAILY_STAMP).read_text(encoding="utf-8").strip()[:10])
    except (OSError, ValueError):
        return None


def next_run(daily_time: str, last: date | None, now: datetime) -> datetime:
    """When the daily job runs next: today at its time (now, if missed), else tomorrow."""
    h, m = parse_time(daily_time)
    today = now.replace(hour=h, minute=m, second=0, microsecond=0)
    if last == now.date():
        return today + timedelta(days=1)
    return max(today, now.replace(second=0, microsecond=0))


def mark_success(state: Path, day: date) -> None:
    """The daily job ran successfully on ``day``."""
    atomic_write_text(Path(state) / DAILY_STAMP, day.isoformat())

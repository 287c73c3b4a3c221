"""Speed of the computed columns and the working-day calendar on 30,000 cases.

Prints seconds and a ratio against a floor measured in the same run (reading
every input value of the table into Python lists once), so the numbers mean
the same on a slow or a fast machine. Run: python bench/bench_compute.py
"""
from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from toolkit.compute.calendar import WorkCalendar  # noqa: E402
from toolkit.compute.cases import compute_cases  # noqa: E402
from toolkit.core.fields import ALL_INPUT_KEYS, ALL_ITEM_KEYS  # noqa: E402
from toolkit.core.settings import DEFAULT_SETTINGS  # noqa: E402

N = 30_000


def cases(n: int, rng: random.Random) -> pd.DataFrame:
    rows = []
    for i in range(n):
        r = dict.fromkeys(ALL_INPUT_KEYS)
        r.update(case_id=f"NJ{i:05d}", leader="张三", plan=rng.choice([None, "方案"]),
                 assigned_date=date(2010, 6, 1) + timedelta(days=rng.randrange(150)),
                 first_petition_date=date(2005, 1, 1) + timedelta(days=rng.randrange(2000)),
                 status=rng.choice(["待化解", "化解中", "已化解", "已销号", "中止", None]),
                 closed_date=rng.choice([None, date(2010, 9, 1)]),
                 extension_days=rng.choice([None, None, 10]))
        r.update({k: rng.random() < 0.7 for k in ALL_ITEM_KEYS})
        rows.append(r)
    return pd.DataFrame(rows, index=range(5, 5 + n))


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    rng = random.Random(2010)
    df = cases(N, rng)
    floor = best(lambda: [df[k].tolist() for k in df.columns])
    compute = best(lambda: compute_cases(df, as_of=date(2010, 10, 20), settings=DEFAULT_SETTINGS))
    starts = [date(2004, 1, 1) + timedelta(days=rng.randrange(8000)) for _ in range(N)]

    def add():
        cal = WorkCalendar()          # cold: builds each year's table on first use
        for s in starts:
            cal.add_workdays(s, 60)

    add_time = best(add)
    print(f"floor (read {N} rows x {len(df.columns)} columns): {floor:.3f} s")
    print(f"compute_cases {N} cases:        {compute:.3f} s  ({compute / floor:.1f} x floor)")
    print(f"add_workdays {N} distinct starts: {add_time:.3f} s  ({add_time / floor:.1f} x floor)")


if __name__ == "__main__":
    main()

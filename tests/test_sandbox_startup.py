"""Workers get their first items while they start: a worker that dies while
starting costs no file, and the time limit counts from when it is ready."""
from __future__ import annotations

import os
import time
from pathlib import Path

from toolkit.intake.sandbox import OK, WorkerPool


def flaky_factory(marker: str):
    """Dies while starting the first time (marker absent), then works."""
    m = Path(marker)
    if not m.exists():
        m.write_text("died once", encoding="utf-8")
        os._exit(3)
    return lambda item: item * 2


def slow_factory(seconds: str):
    """Takes a while to start, then answers at once."""
    time.sleep(float(seconds))
    return lambda item: item + 1


def test_a_worker_that_dies_while_starting_costs_no_item(tmp_path):
    with WorkerPool("test_sandbox_startup:flaky_factory", factory_arg=str(tmp_path / "m"),
                    workers=1) as pool:
        tickets = [pool.submit(n) for n in range(4)]
        outcomes = pool.drain()
    assert [outcomes[t].status for t in tickets] == [OK] * 4
    assert [outcomes[t].value for t in tickets] == [0, 2, 4, 6]


def test_time_limit_counts_from_ready(tmp_path):
    with WorkerPool("test_sandbox_startup:slow_factory", factory_arg="1.5", workers=1,
                    time_limit=1) as pool:
        tickets = [pool.submit(n) for n in range(3)]
        outcomes = pool.drain()
    assert [outcomes[t].status for t in tickets] == [OK] * 3

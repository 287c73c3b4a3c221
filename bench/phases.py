"""Wall time per phase of one consolidation, by wrapping the functions that do each phase.

Used by bench_consolidate.py only: the product code carries no timers. A phase whose
label starts with two spaces is part of the phase above it (not added to the total).
"""
from __future__ import annotations

import importlib
import time
from contextlib import contextmanager
from typing import Iterator

# key, label: key is "module:attribute" (a class method as "module:Class.method")
PHASES = (
    ("toolkit.pipeline.judge:_check", "the judge: read and check (validate + compute)"),
    ("toolkit.pipeline.judge:read_submissions", "  reading (parse cache or 2 sandboxed workers)"),
    ("toolkit.pipeline.parse_cache:ParseCache.get", "  parse cache read"),
    ("toolkit.pipeline.parse_cache:ParseCache.put", "  parse cache write"),
    ("toolkit.pipeline.check:validate_ledgers", "  validate (schema + rules)"),
    ("toolkit.pipeline.check:compute_ledgers", "  compute (deadlines, alerts, checklists)"),
    ("toolkit.pipeline.judge:_record", "the judge: recording what each new file is"),
    ("toolkit.pipeline.judge:_decide", "the judge: every verdict (archive rows, rules, write-back)"),
    ("toolkit.pipeline.consolidate:_Run._case_table", "case table (one table of all villages)"),
    ("toolkit.pipeline.consolidate:recall", "township columns of the previous master"),
    ("toolkit.pipeline.township_state:read_township_values", "  re-reading the previous master"),
    ("toolkit.pipeline.consolidate:write_master", "writing the master"),
    ("toolkit.outputs.sheetxml:stream_rows#0", "  总台账 rows (sheetxml)"),
    ("toolkit.outputs.sheetxml:stream_rows#1", "  预警 rows (sheetxml)"),
    ("toolkit.outputs.master:publish", "  publishing (history copy, fsync, replace)"),
    ("toolkit.pipeline.consolidate:remember", "township state (hash + values)"),
)


class Phases:
    """``seconds``: key -> [wall seconds, CPU seconds of this process] over all calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    @contextmanager
    def installed(self) -> Iterator["Phases"]:
        undo = []
        for key, _ in PHASES:
            target, _, nth = key.partition("#")
            if nth and nth != "0":
                continue                        # one wrapper counts every call in turn
            owner, attr, original = _resolve(target)
            keys = [k for k, _ in PHASES if k.partition("#")[0] == target]
            setattr(owner, attr, self._timed(original, keys))
            undo.append((owner, attr, original))
        try:
            yield self
        finally:
            for owner, attr, original in reversed(undo):
                setattr(owner, attr, original)

    def _timed(self, fn, keys: list[str]):
        calls = [0]

        def timed(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                key = keys[min(calls[0], len(keys) - 1)]
                calls[0] += 1
                got = self.seconds.setdefault(key, [0.0, 0.0])
                got[0] += time.perf_counter() - t0
                got[1] += time.process_time() - c0
        return timed


def _resolve(target: str):
    module, _, path = target.partition(":")
    owner = importlib.import_module(module)
    *parents, attr = path.split(".")
    for p in parents:
        owner = getattr(owner, p)
    return owner, attr, getattr(owner, attr)

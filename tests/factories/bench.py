"""The benchmark inbox: many realistic ledgers of about 40 columns, generated once and reused."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from factories.ledgers import LedgerStyle, make_ledger

BENCH_VERSION = 1
BENCH_MANIFEST = ".bench.json"     # hidden: a folder's listing never takes it for a village's file
_OLD_MANIFEST = "_bench.json"      # its name before issue 19 (every file in a folder gets a verdict)
_BENCH_HEADS = "东西南北前后上下新老大小黄林陈江山河桥塘石沙岭溪"
_BENCH_TAILS = ("垟", "岙", "岸", "湾", "头", "屿", "浦", "洋", "坑", "门", "塘", "埠")
# realistic layouts, ~40 columns each (the registry's 44 input columns minus a few)
_BENCH_LAYOUTS = (
    LedgerStyle(omit=("measures", "extension_days", "remarks", "village")),
    LedgerStyle(grouped=False, variants=True, messy_headers=True, reporter="two_cells",
                omit=("measures", "extension_days", "remarks", "address")),
    LedgerStyle(instructions_first=True, dates="mixed", ticks="mixed",
                omit=("measures", "extension_days", "plan", "village")),
    LedgerStyle(reporter="label_value", blank_rows=True, footer=True,
                omit=("measures", "remarks", "category", "village")),
)


def bench_villages(n: int) -> list[str]:
    """``n`` distinct village names (东垟村, 西岙社区, …)."""
    names = [f"{h}{t}村" for h in _BENCH_HEADS for t in _BENCH_TAILS]
    names += [f"{h}{t}社区" for h in _BENCH_HEADS for t in _BENCH_TAILS]
    if n > len(names):
        names += [f"第{i}村" for i in range(1, n - len(names) + 1)]
    return names[:n]


def make_bench_inbox(folder: Path | str, villages: int = 300, cases: int = 100,
                     seed: int = 0) -> list[Path]:
    """Write ``villages`` realistic ledgers of ``cases`` cases each into ``folder``.

    Files already there from a run with the same parameters are kept (a
    ``.bench.json`` manifest records them), so benchmarks pay for generation once.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = {"version": BENCH_VERSION, "villages": villages, "cases": cases, "seed": seed}
    manifest = folder / BENCH_MANIFEST
    old = _read_manifest(manifest) or _read_manifest(folder / _OLD_MANIFEST)
    (folder / _OLD_MANIFEST).unlink(missing_ok=True)
    if old.get("params") != params:
        for name in old.get("files", []):
            (folder / name).unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
    paths = []
    for i, village in enumerate(bench_villages(villages)):
        path = folder / f"{i + 1:03d}_{village}台账.xlsx"
        if not path.exists():
            layout = _BENCH_LAYOUTS[i % len(_BENCH_LAYOUTS)]
            if i % 10 == 7:
                layout = replace(layout, faults=("bad_id_check", "unknown_status"))
            make_ledger(path, village=village, n_cases=cases, seed=seed + i, layout=layout,
                        first_number=1, prefix=f"NJ2010-{i + 1:03d}-")
        paths.append(path)
    manifest.write_text(json.dumps({"params": params, "files": [p.name for p in paths]},
                                   ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}

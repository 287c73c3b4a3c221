"""Benchmark: read + validate N village ledgers, against python-calamine alone.

    python bench/bench_validate.py [--villages 300] [--cases 100] [--fresh] [--repeat 1]

Builds (once, cached under the system temp folder) an inbox of N ledgers of M
cases each, then in this same run measures:

  floor      python-calamine reading every sheet of every file to Python lists,
             in this process, one file after another;
  preflight  toolkit.intake.preflight on every file (parent side, informational);
  read       toolkit.read.sandboxed.read_ledgers (pre-flight + sandboxed workers);
  validate   toolkit.pipeline.check.check_paths (find + read + validate + compute, as `taizhang validate`);

(the toolkit's bytecode written first, as installing it does: bench/bytecode.py)
and prints each time, the ratio validate/floor (target <= 1.5x) and the peak
memory of this process and of its worker processes (sampled with psutil: a
spawned child's ru_maxrss starts at its parent's size). ``validate`` runs after
``read`` in the same process (neither imports pandas: checking reads plain columns).
With ``--repeat N`` floor and validate run N times each, alternately (the
machine may be shared), and the ratio is best against best; beside it each run against the
floor just before it, the CPU ratio, and how far the floor's own runs were apart (the machine's
speed moving within the run: then best against best says more about the machine than the code).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bytecode import compile_toolkit  # noqa: E402  (bench/ is this script's folder)
from memory import MemorySampler  # noqa: E402


def build_inbox(villages: int, cases: int, fresh: bool = False) -> list[Path]:
    """The inbox of tests/factories/bench.py make_bench_inbox, kept under the system temp folder
    (make_bench_inbox keeps files made earlier with the same parameters)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # the fixture factories
    from factories.bench import make_bench_inbox
    folder = Path(tempfile.gettempdir()) / f"taizhang-bench-{villages}x{cases}"
    if fresh:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    make_bench_inbox(folder, villages=villages, cases=cases)
    if time.perf_counter() - t > 1:
        print(f"built {villages} ledgers x {cases} cases in {folder} ({time.perf_counter() - t:.1f} s)")
    from toolkit.intake.find import find_workbooks
    return find_workbooks([folder])


def calamine_floor(paths: list[Path]) -> float:
    from python_calamine import CalamineWorkbook

    def read_all() -> int:
        cells = 0
        for p in paths:
            wb = CalamineWorkbook.from_path(str(p))
            for name in wb.sheet_names:
                cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
        return cells
    elapsed, cells = timed("floor", read_all)
    print(f"          python-calamine, {len(paths)} files, {cells:,} cells, one process")
    return elapsed


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (0 where unknown)."""
    try:
        import resource
    except ImportError:
        return 0.0
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


CPU_USED: dict[str, list[float]] = {}


def timed(label: str, fn):
    """Run fn; print wall time and CPU time (this process + workers: less sensitive to a busy machine)."""
    cpu, t = cpu_seconds(), time.perf_counter()
    result = fn()
    elapsed, used = time.perf_counter() - t, cpu_seconds() - cpu
    CPU_USED.setdefault(label, []).append(used)
    print(f"{label:9} {elapsed:6.2f} s wall  {used:6.2f} s CPU")
    return elapsed, result


def peak_memory(workers: MemorySampler) -> str:
    import psutil
    info = psutil.Process().memory_info()
    own = getattr(info, "peak_wset", None)          # Windows
    if own is None:
        import resource
        scale = 1 if sys.platform == "darwin" else 1024    # ru_maxrss: bytes on macOS, KB on Linux
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return f"peak memory: this process {own / 2**20:.0f} MB, largest worker {workers.worker / 2**20:.0f} MB"


SPEED_MOVED = 0.15      # floors further apart than this: the machine's speed changed within the run


def floor_spread(floors: list[float]) -> str:
    """How far apart the floor's own runs were: the same work, so any spread is the machine's.
    Best-of-each pairs the fastest floor with the fastest validate wherever each fell; when the
    machine's speed moved between them, that ratio says more about the machine than the code."""
    spread = max(floors) / min(floors) - 1
    verdict = ("the machine's speed moved during this run: read the pairs and the CPU ratio, or run again"
               if spread > SPEED_MOVED else "the machine held its speed")
    return f"floor     {min(floors):.2f}-{max(floors):.2f} s across the runs (+{spread:.0%}): {verdict}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, default=300)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--fresh", action="store_true", help="rebuild the cached inbox")
    ap.add_argument("--as-of", default="2010-10-20")
    ap.add_argument("--repeat", type=int, default=1, help="run floor and validate N times each")
    args = ap.parse_args(argv)
    compile_toolkit()                   # as installed: every process (each reader) loads bytecode
    paths = build_inbox(args.villages, args.cases, args.fresh)
    load = "load average %.2f %.2f %.2f" % os.getloadavg() if hasattr(os, "getloadavg") else ""
    print(f"{len(paths)} files, {sum(p.stat().st_size for p in paths) / 2**20:.1f} MB, "
          f"{os.cpu_count()} CPUs {load}")

    from toolkit.intake.preflight import preflight

    from toolkit.read.sandboxed import read_ledgers
    from toolkit.core.settings import DEFAULT_SETTINGS
    from toolkit.pipeline.check import check_paths
    as_of = date.fromisoformat(args.as_of)
    floors, totals = [], []
    with MemorySampler() as workers:
        for n in range(max(1, args.repeat)):
            floors.append(calamine_floor(paths))
            if n == 0:
                timed("preflight", lambda: [preflight(p) for p in paths])
                _, ledgers = timed("read", lambda: read_ledgers(paths))
                bad = [lg for lg in ledgers if not lg.readable]
                print(f"          {len(ledgers) - len(bad)} readable, {len(bad)} unreadable, "
                      f"{sum(lg.n_cases for lg in ledgers):,} cases")
                for lg in bad[:3]:
                    print("          ", lg.issues[0].message)
            t_all, ledgers = timed("validate", lambda: check_paths(paths, as_of=as_of,
                                                                      settings=DEFAULT_SETTINGS))
            totals.append(t_all)
            print(f"          {sum(lg.errors for lg in ledgers):,} errors, "
                  f"{sum(lg.warnings for lg in ledgers):,} warnings")
    best = " (best of each)" if len(totals) > 1 else ""
    print(f"ratio     validate / floor = {min(totals) / min(floors):.2f}x{best} (target <= 1.5x)")
    if len(totals) > 1:     # later runs find whatever the first imported (numpy, once) in this process
        print(f"first     validate / floor = {totals[0] / floors[0]:.2f}x (as a fresh `taizhang validate` runs)")
        pairs = [t / f for t, f in zip(totals, floors)]
        print(f"pairs     {', '.join(f'{r:.2f}x' for r in pairs)} (each run against the floor just before it; "
              f"median {sorted(pairs)[len(pairs) // 2]:.2f}x)")
        print(floor_spread(floors))
    if min(CPU_USED["floor"]) > 0:    # on a shared machine the CPU ratio is the steadier one
        print(f"          CPU: {min(CPU_USED['validate']) / min(CPU_USED['floor']):.2f}x (two workers on "
              f"{os.cpu_count()} CPUs: wall can approach CPU / 2 only on an idle machine)")
    print(peak_memory(workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())

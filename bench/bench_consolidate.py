"""Benchmark: consolidating a district against the floor measured in the same run.

    python bench/bench_consolidate.py                    # 300 villages x 100 cases, best of 3
    python bench/bench_consolidate.py --repeat 5 --days 3
    python bench/bench_consolidate.py --province         # also 1,000 x 100 (takes minutes)
    python bench/bench_consolidate.py --villages 30 --cases 40

Floor = python-calamine reading every sheet of every file + xlsxwriter writing every
row read into one workbook (one process, nothing else). Consolidation =
``toolkit.pipeline.consolidate.consolidate`` from an empty archive (first day), then
again with everything archived (later days: the parse cache and the township state
are warm). Every day runs in its own process (as the daily job does), so its peak
memory (that process plus its reader processes, sampled) is its own. Floor and days
alternate ``--repeat`` times; best against best.

Targets (issue 21, tightened from issue 13's 1.2x / 1.0x / 400 MB): first day <= 1.0x the floor,
later days <= 0.75x, peak <= 300 MB
for the district; a 1,000-village run under 1 GiB on every day. The time of each
phase of the best run is printed, so the next person sees where the time goes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bytecode import compile_toolkit  # noqa: E402  (bench/ is this script's folder)
from memory import MemorySampler  # noqa: E402
from phases import PHASES, Phases  # noqa: E402

MB = 10 ** 6


def _write_rows(rows: list[list], out: Path) -> float:
    """xlsxwriter writes ``rows`` plainly (no formats); seconds."""
    import xlsxwriter
    t0 = time.perf_counter()
    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False})
    ws = wb.add_worksheet("rows")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v == "":
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write(r, c, v)
    wb.close()
    return time.perf_counter() - t0


def floor(paths: list[Path], out: Path) -> tuple[float, float, int, float]:
    """calamine reads every sheet of every file; xlsxwriter writes every row read.
    Seconds reading, seconds writing, rows, CPU seconds of both."""
    from python_calamine import CalamineWorkbook
    t0 = time.perf_counter()
    c0 = time.process_time()
    rows: list[list] = []
    for p in paths:
        book = CalamineWorkbook.from_path(str(p))
        for name in book.sheet_names:
            rows += book.get_sheet_by_name(name).to_python()
    read = time.perf_counter() - t0
    write = _write_rows(rows, out)
    return read, write, len(rows), time.process_time() - c0


def one_day(inbox: Path, work: Path) -> None:
    """In a process of its own: one consolidation; prints seconds and phases as JSON."""
    from toolkit.core.settings import Settings
    from toolkit.pipeline.consolidate import consolidate
    import resource
    phases = Phases()
    with phases.installed():
        t0 = time.perf_counter()
        c0 = _cpu(resource)
        result = consolidate(inbox, work / "总台账.xlsx", as_of=date(2010, 10, 20),
                             settings=Settings(township_columns=("督办意见", "乡级备注")),
                             archive_root=work / "archive", state_dir=work / "state")
        seconds = time.perf_counter() - t0
        cpu = _cpu(resource) - c0
    print(json.dumps({"seconds": seconds, "cpu": cpu, "phases": phases.seconds, "cases": result.cases,
                      "overdue": result.overdue, "due_soon": result.due_soon,
                      "rejected": len(result.rejected)}))


def _cpu(resource) -> float:
    """CPU seconds of this process and of its finished children (the reader workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_day(inbox: Path, work: Path) -> dict:
    """One day in a child process; its seconds, phases and peak memory."""
    cmd = [sys.executable, __file__, "--one-day", str(inbox), str(work)]
    with MemorySampler(children_only=True) as mem:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"consolidation failed:\n{out.stderr}")
    day = json.loads(out.stdout.strip().splitlines()[-1])
    day["peak"] = mem.total
    return day


def bench(villages: int, cases: int, cache: Path, repeat: int, days: int,
          peak_limit: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # the fixture factories
    from factories.bench import make_bench_inbox
    inbox = cache / f"inbox_{villages}x{cases}"
    t0 = time.perf_counter()
    paths = make_bench_inbox(inbox, villages=villages, cases=cases)
    print(f"\n== {villages} 个村 x {cases} 件（收件夹 {inbox}，生成/复用 {time.perf_counter() - t0:.1f} 秒）")
    floors, runs = [], [[] for _ in range(days)]
    for k in range(repeat):
        with tempfile.TemporaryDirectory(prefix="taizhang-bench-") as tmp:
            work = Path(tmp)
            read, write, rows, cpu = floor(paths, work / "floor.xlsx")
            floors.append((read + write, read, write, cpu))
            for d in range(days):
                runs[d].append(run_day(inbox, work))
        print(f"  第 {k + 1} 轮：floor {floors[-1][0]:.2f} 秒（CPU {floors[-1][3]:.2f}）；"
              + "，".join(f"第 {d + 1} 天 {runs[d][-1]['seconds']:.2f} 秒（CPU {runs[d][-1]['cpu']:.2f}）"
                         for d in range(days))
              + f"；负载 {_load()}")
    best_floor = min(floors)
    floor_cpu = min(f[3] for f in floors)
    print(f"floor（best of {repeat}：calamine 读 {best_floor[1]:.2f} 秒 + xlsxwriter 写 {rows} 行 "
          f"{best_floor[2]:.2f} 秒）: {best_floor[0]:.2f} 秒，CPU {floor_cpu:.2f} 秒")
    best = [min(r, key=lambda day: day["seconds"]) for r in runs]
    for d, day in enumerate(best):
        limit = 1.0 if d == 0 else 0.75
        ratio = day["seconds"] / best_floor[0]
        peak = max(x["peak"] for x in runs[d])
        ok = ratio <= limit and peak <= peak_limit
        cpu = min(x["cpu"] for x in runs[d])
        print(f"第 {d + 1} 天（{'空存档' if d == 0 else '已存档'}）: best {day['seconds']:.2f} 秒"
              f"（{_secs(runs[d])}），比值 {ratio:.2f}x，CPU {cpu:.2f} 秒（CPU 比值 {cpu / floor_cpu:.2f}x）"
              f"（目标 <= {limit}x），峰值内存 {peak / MB:.0f} MB（上限 {peak_limit / MB:.0f} MB）"
              f"：{'达标' if ok else '未达标'}")
    r = best[0]
    print(f"结果：{r['cases']} 件，逾期 {r['overdue']}，临期 {r['due_soon']}，被拒收 {r['rejected']}")
    _phase_table(best)


def _phase_table(best: list[dict]) -> None:
    """Wall seconds (CPU seconds of the main process) per phase of each day's best run."""
    heads = " | ".join(f"第 {d + 1} 天 wall s (CPU s)" for d in range(len(best)))
    print(f"\n| phase | {heads} |")
    print("|---|" + "---|" * len(best))
    for key, label in PHASES:
        cells = " | ".join("{:.2f} ({:.2f})".format(*day["phases"].get(key, (0.0, 0.0))) for day in best)
        print(f"| {label.replace('  ', '· ', 1) if label.startswith('  ') else label} | {cells} |")
    rest = [day["seconds"] - sum(day["phases"].get(k, (0.0, 0.0))[0] for k, label in PHASES
                                 if not label.startswith("  ")) for day in best]
    print("| rest (imports, intake, archive, decisions, 报送情况 …) | "
          + " | ".join(f"{x:.2f}" for x in rest) + " |")
    print("| **total** | " + " | ".join(f"**{day['seconds']:.2f}** ({day['cpu']:.2f} incl. workers)"
                                      for day in best) + " |")


def _secs(days: list[dict]) -> str:
    return "/".join(f"{x['seconds']:.2f}" for x in days)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one-day":
        one_day(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, default=300)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="floor and days alternate N times")
    ap.add_argument("--days", type=int, default=2, help="first day, then N-1 later days")
    ap.add_argument("--province", action="store_true",
                    help="also 1,000 villages x 100 cases, every day under 1 GiB (slow)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "taizhang-bench-inboxes")
    ap.add_argument("--fresh", action="store_true", help="regenerate the inboxes")
    args = ap.parse_args()
    if args.fresh:
        shutil.rmtree(args.cache, ignore_errors=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    compile_toolkit()                   # as installed: every process (each reader) loads bytecode
    print(f"负载（1/5/15 分钟）: {_load()}，CPU {os.cpu_count()} 个")
    bench(args.villages, args.cases, args.cache, args.repeat, args.days, peak_limit=300 * MB)
    if args.province:
        bench(1000, args.cases, args.cache, 1, args.days, peak_limit=2 ** 30)
    print(f"负载（结束时）: {_load()}")


if __name__ == "__main__":    # readers run in spawned processes
    main()

"""Benchmark: consolidating a township against the floor measured in the same run.

    python bench/bench_consolidate.py                 # 300 villages x 100 cases, then 30 x 40
    python bench/bench_consolidate.py --villages 30 --cases 40 --no-township

Floor A = python-calamine reading every sheet of every file + xlsxwriter writing
every row read into one workbook (one process, nothing else). Floor B = the same
reading + xlsxwriter writing, without formats, every row of the master's 总台账
(the master has more columns than a village sheet: computed columns, village,
file, row). Consolidation =
``toolkit.pipeline.consolidate.consolidate`` from an empty archive (first run) and again
with everything archived (the daily case). Target: ratio <= 2, peak memory
(this process plus its reader processes, sampled) < 1 GiB.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory import MemorySampler  # noqa: E402  (bench/ is this script's folder)


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


def floor(paths: list[Path], out: Path) -> tuple[float, float, int]:
    """calamine reads every sheet of every file; xlsxwriter writes every row read."""
    from python_calamine import CalamineWorkbook
    t0 = time.perf_counter()
    rows: list[list] = []
    for p in paths:
        book = CalamineWorkbook.from_path(str(p))
        for name in book.sheet_names:
            rows += book.get_sheet_by_name(name).to_python()
    read = time.perf_counter() - t0
    return read, _write_rows(rows, out), len(rows)


def master_rows(master: Path) -> list[list]:
    from python_calamine import CalamineWorkbook
    return CalamineWorkbook.from_path(str(master)).get_sheet_by_name("总台账").to_python()


def consolidation(inbox: Path, work: Path) -> tuple[float, float, int, object]:
    """Seconds of a first run (empty archive), of a second run, peak bytes, result."""
    from toolkit.pipeline.consolidate import consolidate
    from toolkit.core.settings import Settings
    out = work / "总台账.xlsx"
    kw = dict(as_of=date(2010, 10, 20), settings=Settings(), archive_root=work / "archive",
              state_dir=work / "state")
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        result = consolidate(inbox, out, **kw)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        consolidate(inbox, out, **kw)
        second = time.perf_counter() - t0
    return first, second, mem.total, result


def bench(villages: int, cases: int, cache: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))   # the fixture factories
    from factories.bench import make_bench_inbox
    inbox = cache / f"inbox_{villages}x{cases}"
    t0 = time.perf_counter()
    paths = make_bench_inbox(inbox, villages=villages, cases=cases)
    print(f"\n== {villages} 个村 x {cases} 件（收件夹 {inbox}，生成/复用 {time.perf_counter() - t0:.1f} 秒）")
    with tempfile.TemporaryDirectory(prefix="taizhang-bench-") as tmp:
        work = Path(tmp)
        with MemorySampler() as fmem:
            read, write, rows = floor(paths, work / "floor.xlsx")
        f_sec = read + write
        first, second, peak, result = consolidation(inbox, work)
        m_rows = master_rows(work / "总台账.xlsx")
        b_sec = read + _write_rows(m_rows, work / "floor_b.xlsx")
    print(f"floor A（calamine 读 {read:.2f} 秒 + xlsxwriter 写回读到的 {rows} 行 {write:.2f} 秒）: "
          f"{f_sec:6.2f} 秒，峰值内存 {fmem.total / 2**20:.0f} MiB")
    print(f"floor B（calamine 读 + xlsxwriter 无格式写总台账的 {len(m_rows)} 行）: {b_sec:6.2f} 秒")
    print(f"汇总（首次，空存档）: {first:6.2f} 秒，比值 A {first / f_sec:.2f}x，B {first / b_sec:.2f}x")
    print(f"汇总（再次，已存档）: {second:6.2f} 秒，比值 A {second / f_sec:.2f}x，B {second / b_sec:.2f}x")
    print(f"汇总峰值内存（本进程 + 读取子进程之和）: {peak / 2**20:.0f} MiB（上限 1024 MiB）")
    print(f"结果：{result.cases} 件，逾期 {result.overdue}，临期 {result.due_soon}，"
          f"被拒收 {len(result.rejected)}，重复编号 {len(result.duplicates)}")
    for name, sec in (("首次", first), ("再次（每日）", second)):
        ok = sec / f_sec <= 2 and peak < 2**30
        print(f"{name}：{'达标' if ok else '未达标'}（目标：对 floor A 比值 <= 2，内存 < 1 GiB）")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, default=300)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--no-township", action="store_true", help="skip the 30 x 40 run")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "taizhang-bench-inboxes")
    ap.add_argument("--fresh", action="store_true", help="regenerate the inboxes")
    args = ap.parse_args()
    if args.fresh:
        shutil.rmtree(args.cache, ignore_errors=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    if not args.no_township:     # first: its peak memory is not inflated by the big run
        bench(30, 40, args.cache)
    bench(args.villages, args.cases, args.cache)


if __name__ == "__main__":    # readers run in spawned processes
    main()

"""How long a button press takes: process start to result, for a 200-case sheet.

Each handler runs in a fresh `python -c` process, as RunPython starts one per click:
import xlwings, build the book from the JSON the VBA client sends (the remote
interpreter; on a PC, RunPython's COM book costs about the same to get), run the
handler, produce the actions. The floor is the import nobody can avoid,
`python -c "import xlwings"` (xlwings itself imports pandas); `python -c pass` is
shown for reference. Each handler runs once untimed first: it writes the bytecode of
the toolkit (an installed one has it; xlwings has its own) and 一键汇总's first day,
so the timed runs are what a clerk's later clicks cost. Prints medians of REPEAT runs, each handler against a floor measured
alternately with it (the machine is shared), the ratio, and
which heavy modules each handler loaded.

Run: python bench/bench_button.py [--cases 200] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))                  # the fixture factories (not installed)
from factories.ledgers import LedgerStyle, make_ledger  # noqa: E402
from toolkit.shells.server import vba_payload  # noqa: E402

HANDLERS = ("check_setup", "fill_active_sheet", "validate_active_sheet", "consolidate_all")
HEAVY = ("pandas", "numpy", "pandera", "openpyxl", "xlsxwriter", "python_calamine")

RUN_HANDLER = """
import json, sys
import xlwings as xw
from toolkit.shells import buttons as macros
book = xw.Book(json=json.load(open(sys.argv[1], encoding="utf-8")))
book.set_mock_caller()
getattr(macros, sys.argv[2])()
actions = book.json()["actions"]
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"actions": len(actions), "heavy": heavy,
                   "alert": [a["args"][0][:60] for a in actions if a["func"] == "alert"]}},
                 ensure_ascii=False))
""".format(heavy=HEAVY)


def timed(args: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", env=env, cwd=ROOT,
                         check=True)
    return time.perf_counter() - t0, out.stdout


def median_of(repeat: int, args: list[str], env: dict) -> tuple[float, str]:
    runs = [timed(args, env) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="taizhang-bench-button-") as tmp:
        tmp = Path(tmp)
        inbox = tmp / "inbox"
        inbox.mkdir()
        sample = make_ledger(inbox / "东村台账.xlsx", village="东村", n_cases=opts.cases, seed=7,
                             layout=LedgerStyle(faults=("unknown_status", "invalid_tick",
                                                        "impossible_date")))
        payload_file = tmp / "payload.json"
        payload_file.write_text(json.dumps(vba_payload(sample.path, active_sheet=sample.sheet),
                                           ensure_ascii=False), encoding="utf-8")
        (tmp / "taizhang.toml").write_text(
            f"[paths]\ninbox = '{inbox.as_posix()}'\nmaster = '{(tmp / 'out' / '总台账.xlsx').as_posix()}'\n"
            f"archive = '{(tmp / 'archive').as_posix()}'\nstate = '{(tmp / 'state').as_posix()}'\n"
            f"logs = '{(tmp / 'logs').as_posix()}'\n"
            f"settings_workbook = '{(tmp / 'absent.xlsx').as_posix()}'\n"
            "[daily]\nas_of = '2010-10-20'\n", encoding="utf-8")
        env = dict(os.environ, XLWINGS_LICENSE_KEY="noncommercial",
                   TAIZHANG_CONFIG=str(tmp / "taizhang.toml"), PYTHONPATH=str(ROOT))
        # An installed toolkit has its bytecode (pip compiles it, as it compiled xlwings'):
        # never time compiling our sources, even where PYTHONDONTWRITEBYTECODE is set.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        py = sys.executable
        floor_cmd = [py, "-c", "import xlwings"]
        bare, _ = median_of(opts.repeat, [py, "-c", "pass"], env)
        print(f"{opts.cases}-case sheet, median of {opts.repeat} fresh processes; the floor is "
              "measured alternately with each handler (the machine is shared)")
        print(f"{'python -c pass':<26}{bare:7.2f} s")
        for handler in HANDLERS:
            timed([py, "-c", RUN_HANDLER, str(payload_file), handler], env)   # bytecode, first day
            floors, times, out = [], [], ""
            for _ in range(opts.repeat):
                floors.append(timed(floor_cmd, env)[0])
                t, out = timed([py, "-c", RUN_HANDLER, str(payload_file), handler], env)
                times.append(t)
            floor, seconds = statistics.median(floors), statistics.median(times)
            info = json.loads(out.strip().splitlines()[-1])
            print(f"{handler:<24}{seconds:6.2f} s  floor (import xlwings) {floor:5.2f} s  "
                  f"{seconds / floor:4.2f}x  {info['actions']:>3} actions  loaded: {', '.join(info['heavy'])}")

if __name__ == "__main__":
    main()

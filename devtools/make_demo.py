"""Regenerate the committed demo inbox, toolkit/demo/inbox/ (a development tool, not installed).

    python devtools/make_demo.py [FOLDER]

Writes the nine files of ``toolkit.demo.DEMO_FILES`` with the generator in
tests/factories (deterministic; the .xls needs LibreOffice) into FOLDER, by default
``toolkit.demo.PRISTINE``. Run it after changing the generator or the demo's
definition, then commit the files: tests/test_samples_demo.py fails while they are
stale. ``taizhang demo`` only copies them (``toolkit.demo.restore_demo_inbox``).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from factories.demo import build_demo_inbox  # noqa: E402
from toolkit.demo import DEMO_FILES, PRISTINE  # noqa: E402


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else PRISTINE
    build_demo_inbox(folder)
    for f in DEMO_FILES:
        print(f"  {f.village}\t{f.cases} 件\t{f.name}")
    print(f"demo inbox written: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

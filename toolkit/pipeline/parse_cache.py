"""What the reader made of each archived original, kept so the daily run re-reads only
what is new (or what a changed reader would see differently)."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import pickle
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from toolkit.core.fields import ALL_INPUT_KEYS
from toolkit.core.files import atomic_write_bytes
from toolkit.core.ledger import CaseColumns, Ledger, frame_columns
from toolkit.core.settings import aliases_key

CACHE_FORMAT = 2           # 2: case tables as CaseColumns (1: pickled DataFrames)


class ParseCache:
    """Ledgers as read (before validation), by the original's hash and the reader's code.

    Validation and computing depend on the date and the settings and always run;
    reading depends only on the bytes and the reader, so it is done once per file.
    A change to any reading module starts a new cache (the old one is removed).
    Unreadable results are not kept: a time-out may depend on how busy the PC was.
    A reading made with the township's header aliases (表头别名) is kept under the original's
    hash and a digest of those aliases, so a reading made with other aliases is never served.
    The case table is kept as plain columns (``CaseColumns``, what workers send): no
    pickled DataFrames, and the table comes back as the reader's own frame.
    """
    # Every module of these packages, found on disk: a module that is added, split or
    # moved changes the digest without anyone having to remember this list.
    PACKAGES = ("toolkit.core", "toolkit.intake", "toolkit.read")

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / reader_version(self.PACKAGES)
        self._writer = None            # one thread: the files' fsyncs overlap the run's work
        self._pending: dict[str, bytes] = {}     # put, not yet on disk

    def get(self, sha: str, aliases: tuple = ()) -> Ledger | None:
        sha = reading_key(sha, aliases)
        try:
            data = self._pending.get(sha)
            if data is not None:
                lg = pickle.loads(data)
            else:
                with open(self.folder / f"{sha}.pickle", "rb") as f:
                    lg = pickle.load(f)
            if not isinstance(lg, Ledger) or lg.plain_cases is None:
                return None
        except Exception:          # missing, torn by a crash, or from another version
            return None
        return lg                  # its table as a worker's: the reader's own frame when asked for

    def put(self, sha: str, ledger: Ledger, aliases: tuple = ()) -> None:
        """Keep ``ledger``, read with ``aliases`` (written in the background: ``close`` waits for it)."""
        sha = reading_key(sha, aliases)
        plain = ledger.plain_cases
        cases = (plain if plain is not None else plain_columns(ledger.cases)) if ledger.readable else None
        if cases is None:
            return
        data = pickle.dumps(replace(ledger, cases=cases), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if not self.folder.exists():
                shutil.rmtree(self.root, ignore_errors=True)    # results of an older reader
                self.folder.mkdir(parents=True)
        except OSError:
            return                 # a cache that cannot be written only costs time
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="parse-cache")
        self._pending[sha] = data
        self._writer.submit(self._write, sha, data)

    def _write(self, sha: str, data: bytes) -> None:
        try:
            atomic_write_bytes(self.folder / f"{sha}.pickle", data)
        except OSError:
            pass
        finally:
            self._pending.pop(sha, None)

    def close(self) -> None:
        """Wait until everything ``put`` is on disk."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def __enter__(self) -> "ParseCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reading_key(sha: str, aliases: tuple) -> str:
    """The cache's name for the reading of ``sha`` with ``aliases`` (the hash alone without)."""
    key = aliases_key(aliases)
    return f"{sha}-{key}" if key else sha


def plain_columns(frame) -> CaseColumns | None:
    """The case table as plain lists (only the columns that hold anything), as workers
    send it; None for a table with columns that are not input keys (it is not kept)."""
    if isinstance(frame, CaseColumns):
        return frame
    keys = [str(key) for key in frame.columns]
    if not set(keys) <= set(ALL_INPUT_KEYS):
        return None
    data = {key: values for key, values in zip(keys, frame_columns(frame, keys))
            if any(v is not None for v in values)}
    return CaseColumns(data, [int(i) for i in frame.index.tolist()])


def reader_version(packages: Sequence[str]) -> str:
    """A digest of the reading code (every .py file of ``packages``, by its path inside
    the package and its bytes), the Python version and the parsers as installed."""
    digest = hashlib.sha256(f"{sys.version} cache {CACHE_FORMAT}".encode())
    for name in packages:
        root = Path(importlib.import_module(name).__file__).parent
        for f in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{f.relative_to(root).as_posix()}".encode())
            digest.update(f.read_bytes())
    for parser in PARSERS:
        digest.update(installed_files(parser).encode())
    return digest.hexdigest()[:16]


# The parsers whose reading is kept (kept tables hold no pandas objects).
PARSERS = ("python_calamine", "xlrd")


def installed_files(package: str) -> str:
    """The files of an installed package's folder, each by name, size and time: installing
    another version (or the same again) rewrites them. Found without importing the package
    (xlrd costs 12 ms) and without importlib.metadata (its e-mail parser costs another 6-13 ms,
    paid by every click of 一键汇总)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):      # not installed, or loaded without a spec
        spec = None
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    entries = []
    for folder in folders:
        with os.scandir(folder) as found:
            for e in found:
                if e.is_file():
                    st = e.stat()
                    entries.append(f"{e.name} {st.st_size} {st.st_mtime_ns}")
    return f"{package}: " + ", ".join(sorted(entries))



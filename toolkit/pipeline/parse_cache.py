"""What the reader made of each archived original, kept so the daily run re-reads only
what is new (or what a changed reader would see differently)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from toolkit.core.files import atomic_write_bytes
from toolkit.core.ledger import Ledger


class ParseCache:
    """Ledgers as read (before validation), by the original's hash and the reader's code.

    Validation and computing depend on the date and the settings and always run;
    reading depends only on the bytes and the reader, so it is done once per file.
    A change to any reading module starts a new cache (the old one is removed).
    Unreadable results are not kept: a time-out may depend on how busy the PC was.
    """
    # Every module of these packages, found on disk: a module that is added, split or
    # moved changes the digest without anyone having to remember this list.
    PACKAGES = ("toolkit.core", "toolkit.intake", "toolkit.read")

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / reader_version(self.PACKAGES)

    def get(self, sha: str) -> Ledger | None:
        import pickle
        try:
            with open(self.folder / f"{sha}.pickle", "rb") as f:
                lg = pickle.load(f)
            return lg if isinstance(lg, Ledger) else None
        except Exception:          # missing, torn by a crash, or from another version
            return None

    def put(self, sha: str, ledger: Ledger) -> None:
        import pickle
        if not ledger.readable:
            return
        try:
            if not self.folder.exists():
                shutil.rmtree(self.root, ignore_errors=True)    # results of an older reader
                self.folder.mkdir(parents=True)
            atomic_write_bytes(self.folder / f"{sha}.pickle",
                               pickle.dumps(ledger, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass                   # a cache that cannot be written only costs time


def reader_version(packages: Sequence[str]) -> str:
    """A digest of the reading code (every .py file of ``packages``, by its path inside
    the package and its bytes), the Python version and the reading libraries' versions."""
    import hashlib
    import importlib
    import sys
    digest = hashlib.sha256(sys.version.encode())
    for name in packages:
        root = Path(importlib.import_module(name).__file__).parent
        for f in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{f.relative_to(root).as_posix()}".encode())
            digest.update(f.read_bytes())
    from importlib import metadata
    for dist in ("pandas", "python-calamine"):
        try:
            digest.update(f"{dist} {metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]



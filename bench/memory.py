"""Peak memory of a benchmark and of the reader processes it spawns (shared by the benches)."""
from __future__ import annotations

import threading


class MemorySampler:
    """Samples RSS every ``interval`` seconds while active.

    ``total``: peak of this process plus all its children together (only the children
    with ``children_only``: a benchmark that runs the work in a child process);
    ``worker``: peak of the largest spawned worker alone (a child between fork and
    exec still shows the parent's pages, so only spawned workers count there).
    """

    def __init__(self, interval: float = 0.05, *, children_only: bool = False) -> None:
        self.interval, self.total, self.worker = interval, 0, 0
        self.children_only = children_only      # leave out this (waiting) process itself
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            total = 0 if self.children_only else me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                    total += rss
                    if "spawn_main" in " ".join(child.cmdline()):
                        self.worker = max(self.worker, rss)
                except psutil.Error:
                    pass
            self.total = max(self.total, total)

"""Run a parser of untrusted files in worker processes that are allowed to die.

calamine aborts the whole process, uncatchably, on some hostile files; a parser
may also loop forever or eat all memory. So parsing happens in child processes
started with the "spawn" method (the only one Windows has), each handling many
files in turn (starting a Python process costs about 0.1 s), under:

- a memory limit: RLIMIT_AS in the child on POSIX (address space at start-up
  plus ``memory_limit_mb``), and everywhere a parent-side psutil watchdog that
  kills a busy worker whose resident memory exceeds ``memory_limit_mb``;
- a per-item time limit enforced by the parent.

Each worker talks to the parent over its own Pipe, so when a worker dies the
parent knows exactly which item killed it; a fresh worker takes over and the
other items go on. (concurrent.futures' BrokenProcessPool cannot say which item
broke the pool.) Workers are daemonic, ignore Ctrl+C (the parent cleans up),
and exit on their own when the parent disappears.
"""
from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Iterator

log = logging.getLogger("taizhang")

OK, ERROR, CRASHED, MEMORY, TIMEOUT = "ok", "error", "crashed", "memory", "timeout"
_WATCH_INTERVAL = 0.05          # seconds between RSS samples of busy workers
_MEMORY_WORDS = ("memory allocation of", "MemoryError", "Cannot allocate memory",
                 "out of memory", "bad_alloc")


@dataclass
class Outcome:
    """What became of one item: ``status`` is ok/error/crashed/memory/timeout."""
    status: str
    value: Any = None           # the function's result when ok
    detail: str = ""            # short technical detail (exception text, exit code)


def resolve(dotted: str) -> Callable[[Any], Any]:
    """"package.module:function" -> the function."""
    module, _, name = dotted.partition(":")
    obj: Any = importlib.import_module(module)
    for part in (name or "").split("."):
        obj = getattr(obj, part) if part else obj
    return obj


# --------------------------------------------------------------------------- child side

def _worker_main(conn, func_path: str, factory_arg: Any, memory_limit_mb: int | None,
                 stderr_path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _redirect_stderr(stderr_path)
    _exit_with_parent()
    try:
        func = resolve(func_path)
        if factory_arg is not None:
            func = func(factory_arg)
    except BaseException:
        conn.send(("fatal", traceback.format_exc()))
        return
    if memory_limit_mb:
        _limit_address_space(memory_limit_mb)
    conn.send(("ready",))
    _serve(conn, func)
    _leave()


def _serve(conn, func: Callable[[Any], Any]) -> None:
    """Answer items until told to stop (None), the parent is gone, or a MemoryError."""
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        reply = _call(func, item)
        try:
            conn.send(reply)
        except MemoryError:
            conn.send((MEMORY, "MemoryError while sending the result"))
        except Exception as e:      # unpicklable result
            conn.send((ERROR, f"{type(e).__name__}: {e}", traceback.format_exc()))
        if reply[0] == MEMORY:
            return                  # a MemoryError leaves the heap in doubt: start afresh


def _leave() -> None:
    """Exit at once: tearing down the interpreter (every module, every object left) costs a
    worker about 20 ms that the parent waits for at the end of every run; a worker holds
    nothing that needs finalising (its results are sent, its stderr is a file)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(0)


def _call(func: Callable[[Any], Any], item: Any) -> tuple:
    try:
        return (OK, func(item))
    except MemoryError:
        return (MEMORY, "MemoryError")
    except BaseException as e:      # noqa: BLE001 - any failure is the file's, not ours
        return (ERROR, f"{type(e).__name__}: {e}", traceback.format_exc())


def _redirect_stderr(path: str) -> None:
    """Keep native crash messages (Rust panics) off the clerk's console, for the parent to read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)
    except OSError:
        pass


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(3)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _limit_address_space(memory_limit_mb: int) -> None:
    try:
        import resource
    except ImportError:             # Windows: the parent's RSS watchdog is the limit
        return
    try:
        base = _vms()
        limit = base + memory_limit_mb * 2**20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _statm(pid: int | str, field: int) -> int | None:
    """A size from /proc/<pid>/statm in bytes (0: virtual, 1: resident); None without /proc.
    Reading it costs microseconds where importing psutil costs a worker 10-20 ms."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _vms() -> int:
    size = _statm("self", 0)
    if size is None:
        import psutil
        size = psutil.Process().memory_info().vms
    return size


# --------------------------------------------------------------------------- parent side

@contextmanager
def _main_not_reimported():
    """Workers need only toolkit.intake.sandbox: keep "spawn" from re-running the parent's main script.

    By default a spawned child re-imports the parent's __main__ (run_daily.py, a
    macro's script, pytest): slower, and a script without an
    ``if __name__ == "__main__"`` guard would run again in every worker.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
    main.__spec__ = None
    main.__file__ = None
    try:
        yield
    finally:
        for k in ("__spec__", "__file__"):
            if k in saved:
                setattr(main, k, saved[k])
            else:
                main.__dict__.pop(k, None)


class _Worker:
    """Parent-side handle of one worker process and the tickets it holds, oldest first."""

    def __init__(self, ctx, func_path: str, factory_arg: Any, memory_limit_mb: int | None) -> None:
        fd, self.stderr_path = tempfile.mkstemp(prefix="taizhang-worker-", suffix=".log")
        os.close(fd)
        self.conn, child_conn = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, name="taizhang-reader", daemon=True,
                                args=(child_conn, func_path, factory_arg, memory_limit_mb,
                                      self.stderr_path))
        with _main_not_reimported():
            self.proc.start()
        child_conn.close()
        self.ready = False
        self.retiring = False           # exits after its current reply (after a MemoryError)
        self.queue: deque[int] = deque()
        self.started = 0.0              # when the oldest ticket became the one being worked on
        self.killed_for: str | None = None
        self._ps = None

    @property
    def ticket(self) -> int | None:
        return self.queue[0] if self.queue else None

    def give(self, ticket: int, item: Any) -> None:
        self.conn.send(item)
        if not self.queue:
            self.started = time.monotonic()
        self.queue.append(ticket)

    def answered(self) -> int:
        ticket = self.queue.popleft()
        self.started = time.monotonic()
        return ticket

    def rss(self) -> int:
        size = _statm(self.proc.pid, 1)
        if size is not None:
            return size
        import psutil
        try:
            if self._ps is None:
                self._ps = psutil.Process(self.proc.pid)
            return self._ps.memory_info().rss
        except psutil.Error:
            return 0

    def kill(self, why: str) -> None:
        self.killed_for = why
        self.proc.kill()

    def stderr_tail(self) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.stderr_path) - 4000))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def ask_to_stop(self) -> None:
        if self.proc.is_alive():
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass

    def dispose(self, grace: float = 0.5) -> None:
        self.ask_to_stop()
        self.proc.join(grace)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass


class WorkerPool:
    """Feed items to ``func_path`` (a "module:function" imported in each child).

    With ``factory_arg``, ``func_path`` names a factory instead, called once in
    each worker with ``factory_arg`` to make the per-item function.

    ``submit`` returns a ticket; ``drain`` waits for every item and returns
    {ticket: Outcome}. Always use as a context manager: leaving it kills and
    reaps every worker, also on KeyboardInterrupt.

    Each worker holds up to ``depth`` items (one being worked on, the next ones
    already in its pipe) so it never waits for the parent between files, even when
    a thread of the parent holds the GIL for a few milliseconds; when it dies, the
    oldest unanswered item is the one that killed it and the others go back in line.
    """

    depth = 3

    def __init__(self, func_path: str, *, factory_arg: Any = None, workers: int = 1,
                 time_limit: float = 60, memory_limit_mb: int = 1024,
                 address_space_limit: bool = True) -> None:
        self.func_path, self.factory_arg, self.max_workers = func_path, factory_arg, max(1, workers)
        self.time_limit, self.memory_limit_mb = time_limit, memory_limit_mb
        self.address_space_limit = address_space_limit     # False: the RSS watchdog alone
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._pending: deque[int] = deque()
        self._items: dict[int, Any] = {}
        self.outcomes: dict[int, Outcome] = {}
        self._finished: list[int] = []          # tickets in the order they finished
        self._start_failures = 0
        self._last_watch = 0.0

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, item: Any) -> int:
        ticket = len(self._items)
        self._items[ticket] = item
        self._pending.append(ticket)
        self._dispatch()
        return ticket

    def drain(self) -> dict[int, Outcome]:
        for _ in self.completed():
            pass
        return self.outcomes

    def completed(self) -> Iterator[tuple[int, Outcome]]:
        """(ticket, outcome) of each item as it finishes, until every item submitted has one;
        the caller can use each result while the workers go on with the next ones."""
        done = 0
        while True:
            while done < len(self._finished):
                ticket = self._finished[done]
                done += 1
                yield ticket, self.outcomes[ticket]
            if len(self.outcomes) >= len(self._items):
                return
            self.poll(0.5)

    def poll(self, timeout: float) -> None:
        """Handle whatever the workers said or did, waiting at most ``timeout`` seconds."""
        self._dispatch()
        if any(w.queue for w in self._workers):
            timeout = min(timeout, _WATCH_INTERVAL)
        waitables: dict[Any, _Worker] = {}
        for w in self._workers:
            waitables[w.conn] = w
            waitables[w.proc.sentinel] = w
        if waitables:
            for ready in wait(list(waitables), timeout):
                w = waitables[ready]
                if w in self._workers:
                    self._hear(w)
        elif timeout:
            time.sleep(timeout)
        self._watch()
        self._dispatch()

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            w.ask_to_stop()
        for w in workers:
            w.dispose()

    # -- internals ---------------------------------------------------------

    def _dispatch(self) -> None:
        """Give waiting items to workers, starting new ones while items are left over.

        A starting worker gets its items at once: they wait in its pipe until it
        is ready, so it starts on them without waiting for the parent, which may
        be busy (loading pandas in a thread, say). Its time limit starts when it
        says it is ready, and if it dies before that, no item is blamed.
        """
        self._give()
        while self._pending and len(self._workers) < self.max_workers:
            rlimit = self.memory_limit_mb if self.address_space_limit else None
            self._workers.append(_Worker(self._ctx, self.func_path, self.factory_arg, rlimit))
            self._give()

    def _give(self) -> None:
        for depth in range(1, self.depth + 1):        # first one item each, then a second, …
            for w in self._workers:
                if self._pending and not w.retiring and len(w.queue) < depth:
                    ticket = self._pending.popleft()
                    try:
                        w.give(ticket, self._items[ticket])
                    except OSError:     # died between items: its sentinel will bury it
                        self._pending.appendleft(ticket)
                        w.ready, w.retiring = False, True

    def _hear(self, w: _Worker) -> None:
        try:
            while w.conn.poll():
                raw = w.conn.recv_bytes()
                if w.ready and w.queue:     # a reply to its oldest item
                    ticket = w.answered()
                    self._dispatch()        # its next item first: it never waits on the parent
                    self._reply(w, ticket, ForkingPickler.loads(raw))
                else:
                    self._handle(w, ForkingPickler.loads(raw))
        except (EOFError, OSError):
            pass
        if not w.proc.is_alive() and w in self._workers:
            w.proc.join()
            self._buried(w)

    def _handle(self, w: _Worker, msg: tuple) -> None:
        kind = msg[0]
        if kind == "ready":
            w.ready, self._start_failures = True, 0
            w.started = time.monotonic()      # the time limit counts from here
            return
        if kind == "fatal":
            raise RuntimeError(f"读取程序 {self.func_path}({self.factory_arg or ''}) 无法加载：\n{msg[1]}")

    def _reply(self, w: _Worker, ticket: int, msg: tuple) -> None:
        kind = msg[0]
        if kind == ERROR:
            log.warning("reading %s failed: %s\n%s", self._items[ticket], msg[1], msg[2])
            self._settle(ticket, Outcome(ERROR, detail=msg[1]))
        elif kind == MEMORY:
            w.ready, w.retiring = False, True
            self._settle(ticket, Outcome(MEMORY, detail=msg[1]))
        else:
            self._settle(ticket, Outcome(OK, value=msg[1]))

    def _settle(self, ticket: int, outcome: Outcome) -> None:
        self.outcomes[ticket] = outcome
        self._finished.append(ticket)

    def _buried(self, w: _Worker) -> None:
        """A worker is gone: its current item gets the blame, the rest go back in line."""
        self._workers.remove(w)
        tail = w.stderr_tail()
        code = w.proc.exitcode
        w.dispose()
        queue = list(w.queue)
        if queue and w.ready and not w.retiring:
            ticket = queue.pop(0)
            status = w.killed_for or (MEMORY if any(m in tail for m in _MEMORY_WORDS) else CRASHED)
            detail = f"exit code {code}" + (f": {tail.strip()[-300:]}" if tail.strip() else "")
            log.warning("worker died on %s (%s, %s)", self._items[ticket], status, detail)
            self._settle(ticket, Outcome(status, detail=detail))
        elif not w.ready and not w.retiring:           # died while starting: no item to blame
            self._start_failures += 1
            if self._start_failures >= 3:
                raise RuntimeError(f"读取进程无法启动（退出代码 {code}）：{tail[-500:]}")
        self._pending.extendleft(reversed(queue))

    def _watch(self) -> None:
        now = time.monotonic()
        for w in self._workers:
            if w.ready and w.queue and not w.killed_for and now - w.started > self.time_limit:
                w.kill(TIMEOUT)
        if now - self._last_watch < _WATCH_INTERVAL:
            return
        self._last_watch = now
        limit = self.memory_limit_mb * 2**20
        for w in self._workers:
            if w.queue and not w.killed_for and w.rss() > limit:
                w.kill(MEMORY)

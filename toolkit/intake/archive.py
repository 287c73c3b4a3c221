"""The submission archive: every file any village ever sent, kept unchanged.

Originals are stored by content hash (``objects/ab/abcdef….xlsx``), written
once through a temporary name and ``os.replace``, then made read-only. A
SQLite record (WAL) holds one row per submission: village, file name,
source, sender, time received, hash, size and the outcome of reading it.

Rules the township relies on:
- a submission is its bytes *and* who sent them through which channel
  (sha256, source, sender): the same bytes again from the same sender and
  channel are a no-op (``Submission.is_new`` is False, no new row; a mail
  ``message_id`` is still remembered so ``has_message`` is true); the same
  bytes from another sender or channel are a submission of their own, a new
  row referencing the one stored object, judged on their own (a stranger's
  copy of a village's file never inherits that file's judgement);
- per village, the latest submission whose outcome is ``ok`` or
  ``has_errors`` and that was not withdrawn counts (``latest_counted``); a
  later rejected or held file never replaces an earlier good one;
- a clerk may release a held submission (``release``) or withdraw one sent
  by mistake (``withdraw``): the row changes state, nothing is deleted, and
  each act is kept in ``actions`` with who and when;
- a kill at any point leaves complete objects and a consistent database: the
  object exists before its row is committed, and an orphan object is simply
  reused by the next ``add`` of the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

from toolkit.core.files import file_sha256, fsync_dir

SOURCES = ("inbox", "mail", "button")
OUTCOMES = ("ok", "has_errors", "rejected", "held")
COUNTED = ("ok", "has_errors")
OUTCOME_LABELS = {"ok": "通过", "has_errors": "有错误", "rejected": "被拒收", "held": "暂存待核",
                  None: "待处理"}
SOURCE_LABELS = {"inbox": "收件夹", "mail": "邮件", "button": "按钮"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    village     TEXT,
    filename    TEXT NOT NULL,
    source      TEXT NOT NULL,
    sender      TEXT,
    subject     TEXT,
    message_id  TEXT,
    received    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    stored      TEXT NOT NULL,
    outcome     TEXT,
    cases       INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    warnings    INTEGER NOT NULL DEFAULT 0,
    code        TEXT,
    message     TEXT,
    case_index  TEXT,
    processed   TEXT,
    released    TEXT,
    released_by TEXT,
    withdrawn   TEXT,
    withdrawn_by TEXT,
    withdraw_reason TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    message_id    TEXT PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    received      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    at            TEXT NOT NULL,
    action        TEXT NOT NULL,
    done_by       TEXT NOT NULL,
    village       TEXT,
    reason        TEXT
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS submissions_village ON submissions (village, outcome);
CREATE UNIQUE INDEX IF NOT EXISTS submissions_identity
    ON submissions (sha256, source, IFNULL(sender, ''));
"""
# archives made before sender identity had one row per hash (sha256 ... UNIQUE)
_OLD_UNIQUE = re.compile(r"sha256\s+TEXT\s+NOT\s+NULL\s+UNIQUE", re.I)

_COLUMNS = ("id", "village", "filename", "source", "sender", "subject", "message_id", "received",
            "sha256", "size", "stored", "outcome", "cases", "errors", "warnings", "code", "message",
            "case_index", "released", "released_by", "withdrawn", "withdrawn_by", "withdraw_reason")


@dataclass
class Submission:
    id: int
    sha256: str
    filename: str
    stored_path: Path
    source: str
    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None
    received: str = ""
    is_new: bool = False
    village: str | None = None
    size: int = 0
    outcome: str | None = None
    cases: int = 0
    errors: int = 0
    warnings: int = 0
    code: str | None = None
    message: str | None = None
    case_index: dict[str, str | None] | None = field(default=None, repr=False)
    released: str | None = None         # when a clerk released it (held -> counted)
    released_by: str | None = None
    withdrawn: str | None = None        # when a clerk withdrew it (it no longer counts)
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None

    @property
    def counted(self) -> bool:
        return self.outcome in COUNTED and not self.withdrawn

    @property
    def held(self) -> bool:
        return self.outcome == "held" and not self.withdrawn

    @property
    def order(self) -> tuple[str, int]:
        """Sort key: later received wins, the later row breaks a tie."""
        return (self.received, self.id)


def status_label(sub: Submission) -> str:
    """What a clerk calls a submission's state (已撤回 over its outcome)."""
    if sub.withdrawn:
        return "已撤回"
    return OUTCOME_LABELS.get(sub.outcome, sub.outcome or "待处理")


def _chunks(data: bytes | Path | str, size: int = 1 << 20) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
        return
    with open(data, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def _sha256(data: bytes | Path | str) -> str:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return hashlib.sha256(data).hexdigest()
    return file_sha256(data)


def _now_iso() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _iso(value: object) -> str:
    if value is None:
        return _now_iso()
    if isinstance(value, datetime):
        if value.tzinfo is not None:   # one clock for every source: local, naive
            value = value.astimezone().replace(tzinfo=None)
        return value.isoformat(timespec="seconds")
    return str(value)


class SubmissionArchive:
    """Originals by hash plus a SQLite record; safe to open from several processes."""

    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            from toolkit.core.config import Config
            root = Config().archive
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.db_path = self.root / "submissions.sqlite"
        self._conn: sqlite3.Connection | None = None
        self.objects.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
            self._migrate(db)
            db.executescript(_INDEXES)
        self._sweep()

    # --- database -------------------------------------------------------------
    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction on this archive's connection (opened on first use).

        WAL with synchronous=NORMAL: a killed process never corrupts the
        database or loses a commit; only a power cut may undo the last few
        commits, and their files are simply registered again on the next run.
        """
        if self._conn is None:
            self._conn = sqlite3.connect(self.db_path, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._conn:
            yield self._conn

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """An archive from before sender identity: rebuild the table without UNIQUE(sha256)."""
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'submissions'").fetchone()
        if not _OLD_UNIQUE.search(sql):
            return
        cols = ", ".join(r[1] for r in db.execute("PRAGMA table_info(submissions)"))
        create = _SCHEMA.split("CREATE TABLE IF NOT EXISTS messages")[0]
        db.execute("BEGIN IMMEDIATE")       # one transaction: all of it or none
        db.execute(create.replace("IF NOT EXISTS submissions", "submissions_new"))
        db.execute(f"INSERT INTO submissions_new ({cols}) SELECT {cols} FROM submissions")
        db.execute("DROP TABLE submissions")
        db.execute("ALTER TABLE submissions_new RENAME TO submissions")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "SubmissionArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _row(self, row: tuple) -> Submission:
        d = dict(zip(_COLUMNS, row))
        raw = d.pop("case_index")
        index = json.loads(raw) if raw else None
        stored = self.root / d.pop("stored")
        return Submission(stored_path=stored, case_index=index, **d)

    def _select(self, where: str, params: tuple = ()) -> list[Submission]:
        with self._db() as db:
            rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM submissions {where}",
                              params).fetchall()
        return [self._row(r) for r in rows]

    # --- objects --------------------------------------------------------------
    def _object_path(self, sha: str, filename: str) -> Path:
        suffix = Path(filename).suffix.lower()
        if not suffix or len(suffix) > 8 or not suffix[1:].isalnum():
            suffix = ".bin"
        return self.objects / sha[:2] / f"{sha}{suffix}"

    def _store(self, data: bytes | Path, filename: str) -> tuple[str, int, Path]:
        """Write once: copy to a temp name while hashing, fsync, read-only, os.replace."""
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.objects)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(data):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self._object_path(sha, filename)
            if target.exists():               # an earlier run was killed before its record
                Path(tmp).unlink()
                return sha, size, target
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, stat.S_IREAD | stat.S_IRGRP | stat.S_IROTH)
            os.replace(tmp, target)
            fsync_dir(target.parent)
            return sha, size, target
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _sweep(self) -> None:
        """Temp files left by a killed process (a day old: never one being written now)."""
        limit = datetime.now().timestamp() - 86400
        for stale in self.objects.glob(".incoming-*"):
            try:
                if stale.stat().st_mtime < limit:
                    stale.unlink()
            except OSError:
                pass

    # --- public API -----------------------------------------------------------
    def add(self, data: bytes | Path, *, filename: str, source: str, sender: str | None = None,
            subject: str | None = None, message_id: str | None = None,
            received: datetime | str | None = None) -> Submission:
        """Keep one submission; the same bytes from the same sender and channel return the
        first record, from anyone else a new record sharing the stored original.

        A file is hashed in chunks first (a daily run re-offers every inbox file:
        nothing is written for those), and only bytes never seen are copied.
        """
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        sha = _sha256(data)
        who = (sender or "").strip().lower() or None
        found = self._select("WHERE sha256 = ? AND source = ? AND IFNULL(sender, '') = ?",
                             (sha, source, who or ""))
        if found:
            self._remember_message(message_id, found[0].id, received)
            return found[0]
        stored = self._stored_object(sha)
        if stored is None:
            sha, size, target = self._store(data, filename)   # the bytes really kept
            stored = (target.relative_to(self.root).as_posix(), size)
        with self._db() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO submissions (filename, source, sender, subject, message_id,"
                " received, sha256, size, stored) VALUES (?,?,?,?,?,?,?,?,?)",
                (filename, source, who, subject, message_id, _iso(received), sha, stored[1],
                 stored[0]))
            inserted = cur.rowcount == 1
        sub = self._select("WHERE sha256 = ? AND source = ? AND IFNULL(sender, '') = ?",
                           (sha, source, who or ""))[0]
        self._remember_message(message_id, sub.id, received)
        sub.is_new = inserted
        return sub

    def _stored_object(self, sha: str) -> tuple[str, int] | None:
        """(stored path, size) of bytes already kept for another submission, if intact."""
        with self._db() as db:
            row = db.execute("SELECT stored, size FROM submissions WHERE sha256 = ? LIMIT 1",
                             (sha,)).fetchone()
        return (row[0], row[1]) if row and (self.root / row[0]).is_file() else None

    def _remember_message(self, message_id: str | None, submission_id: int,
                          received: object) -> None:
        if not message_id:
            return
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO messages VALUES (?,?,?)",
                       (message_id, submission_id, _iso(received)))

    def set_outcome(self, submission_id: int, *, village: str | None, outcome: str,
                    cases: int = 0, errors: int = 0, warnings: int = 0, code: str | None = None,
                    message: str | None = None,
                    case_index: dict[str, str | None] | None = None) -> None:
        """Record what reading the file gave; ``case_index`` maps case number -> status."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        index = None if case_index is None else json.dumps(case_index, ensure_ascii=False)
        with self._db() as db:
            db.execute("UPDATE submissions SET village=?, outcome=?, cases=?, errors=?, warnings=?,"
                       " code=?, message=?, case_index=COALESCE(?, case_index), processed=?"
                       " WHERE id=?",
                       (village, outcome, cases, errors, warnings, code, message, index,
                        _now_iso(), submission_id))

    def set_case_index(self, submission_id: int, case_index: dict[str, str | None]) -> None:
        """Remember a counted submission's case numbers and statuses (for vanished cases)."""
        with self._db() as db:
            db.execute("UPDATE submissions SET case_index=? WHERE id=?",
                       (json.dumps(case_index, ensure_ascii=False), submission_id))

    def get(self, submission_id: int) -> Submission | None:
        found = self._select("WHERE id = ?", (submission_id,))
        return found[0] if found else None

    def release(self, submission_id: int, *, village: str, by: str) -> Submission:
        """Count a held (or withdrawn) submission for ``village``; who and when are kept."""
        sub = self.get(submission_id)
        if sub is None or not (sub.held or sub.withdrawn) or sub.outcome == "rejected":
            raise ValueError(f"submission {submission_id} is neither held nor withdrawn")
        outcome = sub.outcome if sub.outcome in COUNTED else ("has_errors" if sub.errors else "ok")
        now = _now_iso()
        with self._db() as db:
            db.execute("UPDATE submissions SET village=?, outcome=?, released=?, released_by=?,"
                       " withdrawn=NULL, withdrawn_by=NULL, withdraw_reason=NULL WHERE id=?",
                       (village, outcome, now, by, submission_id))
            db.execute("INSERT INTO actions (submission_id, at, action, done_by, village)"
                       " VALUES (?,?,?,?,?)", (submission_id, now, "release", by, village))
        return self.get(submission_id)

    def withdraw(self, submission_id: int, *, reason: str, by: str) -> Submission:
        """Stop counting a submission; the row and the original stay."""
        sub = self.get(submission_id)
        if sub is None or sub.withdrawn:
            raise ValueError(f"submission {submission_id} is unknown or already withdrawn")
        now = _now_iso()
        with self._db() as db:
            db.execute("UPDATE submissions SET withdrawn=?, withdrawn_by=?, withdraw_reason=?"
                       " WHERE id=?", (now, by, reason, submission_id))
            db.execute("INSERT INTO actions (submission_id, at, action, done_by, village, reason)"
                       " VALUES (?,?,?,?,?,?)", (submission_id, now, "withdraw", by, sub.village,
                                                 reason))
        return self.get(submission_id)

    def actions(self, after: int = 0) -> list[dict]:
        """Clerks' releases and withdrawals (oldest first) numbered above ``after``."""
        with self._db() as db:
            rows = db.execute("SELECT a.id, a.submission_id, a.at, a.action, a.done_by, a.village,"
                              " a.reason, s.filename, s.received, s.sender, s.source FROM actions a"
                              " JOIN submissions s ON s.id = a.submission_id"
                              " WHERE a.id > ? ORDER BY a.id", (after,)).fetchall()
        keys = ("id", "submission_id", "at", "action", "by", "village", "reason", "filename",
                "received", "sender", "source")
        return [dict(zip(keys, r)) for r in rows]

    def by_hash(self, sha256: str) -> Submission | None:
        found = self._select("WHERE sha256 = ?", (sha256,))
        return found[0] if found else None

    def pending(self) -> list[Submission]:
        """Submissions kept but not yet read (new, or a run was interrupted)."""
        return self._select("WHERE outcome IS NULL ORDER BY received, id")

    def history(self, village: str | None = None) -> list[Submission]:
        if village is None:
            return self._select("ORDER BY received, id")
        return self._select("WHERE village = ? ORDER BY received, id", (village,))

    def latest_counted(self) -> dict[str, Submission]:
        """Per village, the latest submission whose outcome is ok or has_errors, not withdrawn."""
        latest: dict[str, Submission] = {}
        marks = ",".join("?" * len(COUNTED))
        for sub in self._select(f"WHERE outcome IN ({marks}) AND village IS NOT NULL"
                                " AND withdrawn IS NULL ORDER BY received, id", COUNTED):
            latest[sub.village] = sub
        return latest

    def previous_counted(self, current: Submission,
                         history: list[Submission] | None = None) -> Submission | None:
        """The village's counted submission just before ``current`` (``history``: all rows, if at hand)."""
        rows = self.history(current.village) if history is None else history
        earlier = [s for s in rows if s.village == current.village and s.counted
                   and s.order < current.order]
        return max(earlier, key=lambda s: s.order) if earlier else None

    def latest_per_village(self) -> dict[str, Submission]:
        """Per village, the latest submission of any outcome (for 报送情况)."""
        latest: dict[str, Submission] = {}
        for sub in self._select("WHERE village IS NOT NULL ORDER BY received, id"):
            latest[sub.village] = sub
        return latest

    def has_message(self, message_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT 1 FROM messages WHERE message_id = ? UNION "
                             "SELECT 1 FROM submissions WHERE message_id = ?",
                             (message_id, message_id)).fetchone()
        return row is not None

    def verify(self) -> list[str]:
        """Problems found (empty when intact): SQLite integrity and every object's hash."""
        problems: list[str] = []
        with self._db() as db:
            result = db.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            problems.append(f"数据库：{result}")
        for sub in self.history():
            try:
                digest = file_sha256(sub.stored_path)
            except OSError as e:
                problems.append(f"{sub.filename}：原件缺失（{e}）")
                continue
            if digest != sub.sha256:
                problems.append(f"{sub.filename}：原件内容与登记的哈希不符")
        return problems

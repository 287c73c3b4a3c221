"""The submission archive: every file any village ever sent, kept unchanged, and what it is.

Originals are stored by content hash (``objects/ab/abcdef….xlsx``), written
once through a temporary name and ``os.replace``, then made read-only. A
SQLite record (WAL) holds one row per submission:

- what arrived: file name as sent (any length; only the stored object has a
  name of ours), channel (``source``: inbox, mail, portal), sender (a mail
  address, a portal link's id), subject, Message-ID, the receiving server's
  authentication verdict, the village a portal link vouched for, time received,
  hash, size;
- what the file is, found once by the judge (``toolkit.pipeline.judge``) and
  recorded with ``record_findings``: the village it names itself and where that
  came from, the time it says it was last saved, cases, errors, warnings, why it
  cannot be used at all (``fatal_code``), its case numbers and statuses;
- the verdict, written only by the judge (``set_verdicts``): the village it is
  filed under, the outcome (ok / has_errors / held / rejected), the reason, and
  whether it is the one submission that counts for its village now (``counts``);
- the clerk's acts: ``release``, ``assign``, ``withdraw`` (who, when, why; each
  also a row of ``actions``). Nothing is ever deleted.

A submission is its bytes *and* who sent them through which channel (sha256,
source, sender): the same bytes again from the same sender and channel are a
no-op (``Submission.is_new`` False; a mail ``message_id`` is still remembered),
from another sender or channel a submission of their own, sharing the stored
object and judged on its own.

A kill at any point leaves complete objects and a consistent database: the
object exists before its row is committed, an orphan object is reused by the
next ``add`` of the same bytes, and a row not yet examined is examined by the
next run of whichever command, by the same rules. A folder or record that cannot
be written raises ``StorageError`` (the office's trouble, never the village's).
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
from toolkit.core.store import guarded, open_db

SOURCES = ("inbox", "mail", "portal")
OUTCOMES = ("ok", "has_errors", "rejected", "held")
USABLE = ("ok", "has_errors")             # outcomes whose file may count for its village
OUTCOME_LABELS = {"ok": "通过", "has_errors": "有错误", "rejected": "被拒收", "held": "暂存待核",
                  None: "待处理"}
SOURCE_LABELS = {"inbox": "收件夹", "mail": "邮件", "portal": "网页", "button": "按钮"}   # "button": rows of old archives
FINDINGS_VERSION = 1        # rows examined by an older judge (or none) are examined again

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
    withdraw_reason TEXT,
    auth        TEXT,
    claimed     TEXT,
    claimed_from TEXT,
    saved       TEXT,
    fatal_code  TEXT,
    fatal_message TEXT,
    findings    INTEGER,
    counts      INTEGER NOT NULL DEFAULT 0,
    assigned    TEXT,
    assigned_by TEXT,
    assigned_at TEXT,
    vouched     TEXT,
    read_with   TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    message_id    TEXT PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    received      TEXT NOT NULL,
    answered      TEXT
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
# columns added since the first archives: (table, column, declaration)
_ADDED = (("submissions", "auth", "TEXT"), ("submissions", "claimed", "TEXT"),
          ("submissions", "claimed_from", "TEXT"), ("submissions", "saved", "TEXT"),
          ("submissions", "fatal_code", "TEXT"), ("submissions", "fatal_message", "TEXT"),
          ("submissions", "findings", "INTEGER"),
          ("submissions", "counts", "INTEGER NOT NULL DEFAULT 0"),
          ("submissions", "assigned", "TEXT"), ("submissions", "assigned_by", "TEXT"),
          ("submissions", "assigned_at", "TEXT"), ("messages", "answered", "TEXT"),
          ("submissions", "vouched", "TEXT"), ("submissions", "read_with", "TEXT"))

_COLUMNS = ("id", "village", "filename", "source", "sender", "subject", "message_id", "received",
            "sha256", "size", "stored", "outcome", "cases", "errors", "warnings", "code", "message",
            "case_index", "released", "released_by", "withdrawn", "withdrawn_by", "withdraw_reason",
            "auth", "claimed", "claimed_from", "saved", "fatal_code", "fatal_message", "findings",
            "counts", "assigned", "assigned_by", "assigned_at", "vouched", "read_with")


@dataclass
class Submission:
    id: int
    sha256: str
    filename: str                       # as sent (shown to people); any length
    stored_path: Path
    source: str
    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None
    received: str = ""
    is_new: bool = False
    # the verdict (toolkit.pipeline.judge)
    village: str | None = None          # filed under (None: no village, e.g. a stranger's file)
    outcome: str | None = None          # ok | has_errors | held | rejected; None: not judged yet
    code: str | None = None             # why held or rejected (an issue code)
    message: str | None = None          # the same, in Chinese
    counts: bool = False                # the one submission that counts for its village now
    # what the file is (recorded once)
    size: int = 0
    cases: int = 0
    errors: int = 0
    warnings: int = 0
    case_index: dict[str, str | None] | None = field(default=None, repr=False)
    claimed: str | None = None          # the village the file names itself
    claimed_from: str | None = None     # marker | reporter | column | filename
    saved: str | None = None            # the file's own last-saved time (ISO, local)
    fatal_code: str | None = None       # the file cannot be used at all (unreadable, not a ledger)
    fatal_message: str | None = None
    findings: int | None = None         # FINDINGS_VERSION once examined
    read_with: str | None = None        # the 表头别名 it was examined with (Settings.aliases_key)
    auth: str | None = None             # "spf=fail" etc. from the receiving server, else None
    vouched: str | None = None          # the village the channel vouched for on arrival (a portal link's)
    # the clerk's acts
    released: str | None = None         # when a clerk said "count this one"
    released_by: str | None = None
    assigned: str | None = None         # the village a clerk filed it under
    assigned_by: str | None = None
    assigned_at: str | None = None
    withdrawn: str | None = None        # when a clerk withdrew it (it no longer counts)
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None

    @property
    def counted(self) -> bool:
        return self.counts

    @property
    def usable(self) -> bool:
        """Judged fit to count for its village (whether or not another version counts)."""
        return self.outcome in USABLE and not self.withdrawn

    @property
    def held(self) -> bool:
        return self.outcome == "held" and not self.withdrawn

    @property
    def examined(self) -> bool:
        return (self.findings or 0) >= FINDINGS_VERSION

    @property
    def status(self) -> str:
        """What a clerk calls its state now (``status_label``)."""
        return status_label(self)

    @property
    def order(self) -> tuple[str, int]:
        """Arrival order: later received, then the later row."""
        return (self.received, self.id)


def status_label(sub: Submission) -> str:
    """What a clerk calls a submission's state now."""
    if sub.withdrawn:
        return "已撤回"
    if sub.counts:
        return "采用中"
    if sub.usable:
        return "未采用（另有更新的版本）"
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

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.db_path = self.root / "submissions.sqlite"
        self._conn: sqlite3.Connection | None = None
        with guarded(self.objects, "存档文件夹"):
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
        A full or read-only disk raises ``StorageError`` naming the record file.
        """
        with guarded(self.db_path, "存档记录"):
            if self._conn is None:
                self._conn = open_db(self.db_path, "存档记录")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._conn:
                yield self._conn

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Bring an older archive up to date in one transaction, keeping every row: drop the
        one-row-per-hash rule of the first archives, add the columns added since."""
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'submissions'").fetchone()
        if _OLD_UNIQUE.search(sql):
            cols = ", ".join(r[1] for r in db.execute("PRAGMA table_info(submissions)"))
            create = _SCHEMA.split("CREATE TABLE IF NOT EXISTS messages")[0]
            db.execute("BEGIN IMMEDIATE")       # one transaction: all of it or none
            db.execute(create.replace("IF NOT EXISTS submissions", "submissions_new"))
            db.execute(f"INSERT INTO submissions_new ({cols}) SELECT {cols} FROM submissions")
            db.execute("DROP TABLE submissions")
            db.execute("ALTER TABLE submissions_new RENAME TO submissions")
        added = False
        for table, column, decl in _ADDED:
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
                added = True
        if added:       # a clerk's release before the judge kept its village: keep it as theirs
            db.execute("UPDATE submissions SET assigned = village, assigned_by = released_by,"
                       " assigned_at = released WHERE released IS NOT NULL AND assigned IS NULL")

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
        d["counts"] = bool(d["counts"])
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
        """Write once: copy to a temp name while hashing, fsync, read-only, os.replace.

        Reading ``data`` may fail (the village's file: an OSError, reported against that
        file); writing may fail (the object store: ``StorageError``, the office's)."""
        with guarded(self.objects, "存档文件夹"):
            fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.objects)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(data):
                    digest.update(chunk)
                    with guarded(self.objects, "存档文件夹"):
                        out.write(chunk)
                    size += len(chunk)
                with guarded(self.objects, "存档文件夹"):
                    out.flush()
                    os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self._object_path(sha, filename)
            if target.exists():               # an earlier run was killed before its record
                Path(tmp).unlink()
                return sha, size, target
            with guarded(self.objects, "存档文件夹"):
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

    # --- what arrived -----------------------------------------------------------
    def add(self, data: bytes | Path, *, filename: str, source: str, sender: str | None = None,
            subject: str | None = None, message_id: str | None = None,
            received: datetime | str | None = None, auth: str | None = None,
            vouched: str | None = None) -> Submission:
        """Keep one submission; the same bytes from the same sender and channel return the
        first record, from anyone else a new record sharing the stored original.

        A file is hashed in chunks first (a daily run re-offers every inbox file:
        nothing is written for those), and only bytes never seen are copied. ``auth``:
        the receiving server's failed checks ("spf=fail"), kept for the judge; ``vouched``:
        the village a valid portal link was made for, at the moment of the upload.
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
                " received, sha256, size, stored, auth, vouched) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (filename, source, who, subject, message_id, _iso(received), sha, stored[1],
                 stored[0], auth, vouched))
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
            db.execute("INSERT OR IGNORE INTO messages (message_id, submission_id, received)"
                       " VALUES (?,?,?)", (message_id, submission_id, _iso(received)))

    def has_message(self, message_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT 1 FROM messages WHERE message_id = ? UNION "
                             "SELECT 1 FROM submissions WHERE message_id = ?",
                             (message_id, message_id)).fetchone()
        return row is not None

    def answered(self, message_id: str) -> bool:
        """Was this message's receipt queued by some run (even one whose mail state is lost)?"""
        with self._db() as db:
            row = db.execute("SELECT answered FROM messages WHERE message_id = ?",
                             (message_id,)).fetchone()
        return bool(row and row[0])

    def mark_answered(self, message_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE messages SET answered = ? WHERE message_id = ?", (_now_iso(), message_id))

    # --- what the file is, and the verdict (written by the judge only) -----------
    def record_findings(self, submission_id: int, *, claimed: str | None, claimed_from: str | None,
                        saved: datetime | None, cases: int, errors: int, warnings: int,
                        fatal_code: str | None, fatal_message: str | None,
                        case_index: dict[str, str | None] | None, read_with: str = "") -> None:
        """What examining the file found, with the township's 表头别名 it was read with
        (``read_with``: examined again when they change); recorded once per reading."""
        index = None if case_index is None else json.dumps(case_index, ensure_ascii=False)
        with self._db() as db:
            db.execute("UPDATE submissions SET claimed=?, claimed_from=?, saved=?, cases=?, errors=?,"
                       " warnings=?, fatal_code=?, fatal_message=?, case_index=?, findings=?,"
                       " processed=?, read_with=? WHERE id=?",
                       (claimed, claimed_from, None if saved is None else _iso(saved), cases, errors,
                        warnings, fatal_code, fatal_message, index, FINDINGS_VERSION, _now_iso(),
                        read_with or None, submission_id))

    def set_verdicts(self, verdicts: list[tuple[int, str | None, str | None, str | None, str | None,
                                                bool]]) -> None:
        """(id, village, outcome, code, message, counts) for each submission whose verdict changed,
        all in one transaction (a kill leaves the old verdicts or the new ones)."""
        if not verdicts:
            return
        with self._db() as db:
            db.executemany("UPDATE submissions SET village=?, outcome=?, code=?, message=?, counts=?"
                           " WHERE id=?", [(v, o, c, m, int(n), i) for i, v, o, c, m, n in verdicts])

    def get(self, submission_id: int) -> Submission | None:
        found = self._select("WHERE id = ?", (submission_id,))
        return found[0] if found else None

    def unexamined(self) -> list[Submission]:
        """Submissions whose file has not been examined (new, a run was interrupted, or an
        older judge examined it), oldest first."""
        return self._select("WHERE IFNULL(findings, 0) < ? ORDER BY received, id", (FINDINGS_VERSION,))

    def history(self, village: str | None = None) -> list[Submission]:
        if village is None:
            return self._select("ORDER BY received, id")
        return self._select("WHERE village = ? ORDER BY received, id", (village,))

    # --- the clerk's acts ---------------------------------------------------------
    def release(self, submission_id: int, *, village: str | None, by: str) -> Submission:
        """"Count this one": a held, withdrawn or older version counts (from the next verdict),
        filed under ``village`` when given."""
        sub = self.get(submission_id)
        if sub is None or sub.outcome == "rejected" or sub.counts:
            raise ValueError(f"submission {submission_id} cannot be released")
        now = _now_iso()
        with self._db() as db:
            db.execute("UPDATE submissions SET released=?, released_by=?, withdrawn=NULL,"
                       " withdrawn_by=NULL, withdraw_reason=NULL WHERE id=?", (now, by, submission_id))
            if village:
                db.execute("UPDATE submissions SET assigned=?, assigned_by=?, assigned_at=? WHERE id=?",
                           (village, by, now, submission_id))
            db.execute("INSERT INTO actions (submission_id, at, action, done_by, village)"
                       " VALUES (?,?,?,?,?)", (submission_id, now, "release", by,
                                               village or sub.village or sub.assigned))
        return self.get(submission_id)

    def assign(self, submission_id: int, *, village: str, by: str) -> Submission:
        """File a submission under ``village`` (a misspelt or unknown village name, a
        stranger's file the clerk has checked); it is judged for that village from now on."""
        if self.get(submission_id) is None:
            raise ValueError(f"submission {submission_id} is unknown")
        now = _now_iso()
        with self._db() as db:
            db.execute("UPDATE submissions SET assigned=?, assigned_by=?, assigned_at=? WHERE id=?",
                       (village, by, now, submission_id))
            db.execute("INSERT INTO actions (submission_id, at, action, done_by, village)"
                       " VALUES (?,?,?,?,?)", (submission_id, now, "assign", by, village))
        return self.get(submission_id)

    def withdraw(self, submission_id: int, *, reason: str, by: str) -> Submission:
        """Stop counting a submission; the row and the original stay."""
        sub = self.get(submission_id)
        if sub is None or sub.withdrawn:
            raise ValueError(f"submission {submission_id} is unknown or already withdrawn")
        now = _now_iso()
        with self._db() as db:
            db.execute("UPDATE submissions SET withdrawn=?, withdrawn_by=?, withdraw_reason=?, released=NULL,"
                       " released_by=NULL WHERE id=?", (now, by, reason, submission_id))
            db.execute("INSERT INTO actions (submission_id, at, action, done_by, village, reason)"
                       " VALUES (?,?,?,?,?,?)", (submission_id, now, "withdraw", by, sub.village,
                                                 reason))
        return self.get(submission_id)

    def actions(self, after: int = 0) -> list[dict]:
        """Clerks' releases, assignments and withdrawals (oldest first) numbered above ``after``."""
        with self._db() as db:
            rows = db.execute("SELECT a.id, a.submission_id, a.at, a.action, a.done_by, a.village,"
                              " a.reason, s.filename, s.received, s.sender, s.source FROM actions a"
                              " JOIN submissions s ON s.id = a.submission_id"
                              " WHERE a.id > ? ORDER BY a.id", (after,)).fetchall()
        keys = ("id", "submission_id", "at", "action", "by", "village", "reason", "filename",
                "received", "sender", "source")
        return [dict(zip(keys, r)) for r in rows]

    # --- health -------------------------------------------------------------------
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
                problems.append(f"#{sub.id}“{sub.filename}”：原件缺失（{e.strerror or e}）")
                continue
            if digest != sub.sha256:
                problems.append(f"#{sub.id}“{sub.filename}”：原件内容与登记的哈希不符")
        return problems

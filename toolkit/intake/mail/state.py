"""What the mail intake remembers between runs (state/mail.sqlite).

- ``messages``: every message fully handled, by Message-ID, so a second fetch
  ingests nothing twice even on a server without keywords, or when a person
  clears the ``$Taizhang`` flag;
- ``receipts``: one receipt per message, written (the whole e-mail) before it is
  sent, so a failed send is retried by the next run and a re-fetch never sends a
  second one. A receipt is given up after ``MAX_ATTEMPTS`` tries;
- ``reminders``: every 催报 e-mail sent, by village and calendar day (the whole
  e-mail kept), so a second ``remind --send`` the same day sends nothing twice.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from toolkit.core.store import guarded, open_db

MAX_ATTEMPTS = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id  TEXT PRIMARY KEY,
    folder      TEXT,
    uidvalidity INTEGER,
    uid         INTEGER,
    sender      TEXT,
    subject     TEXT,
    processed   TEXT NOT NULL,
    summary     TEXT
);
CREATE TABLE IF NOT EXISTS receipts (
    message_id  TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    receipt_id  TEXT NOT NULL,
    body        BLOB NOT NULL,
    created     TEXT NOT NULL,
    sent        TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE TABLE IF NOT EXISTS reminders (
    village     TEXT NOT NULL,
    day         TEXT NOT NULL,
    recipients  TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    body        BLOB NOT NULL,
    sent        TEXT NOT NULL,
    PRIMARY KEY (village, day)
);
"""


@dataclass
class PendingReceipt:
    message_id: str
    recipient: str
    receipt_id: str
    body: bytes
    attempts: int


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


class MailState:
    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / "mail.sqlite"
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a full or read-only state folder raises StorageError."""
        with closing(open_db(self.path, "邮件收取记录")) as db, guarded(self.path, "邮件收取记录"):
            with db:
                yield db

    # messages
    def is_processed(self, message_id: str) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM messages WHERE message_id=?",
                              (message_id,)).fetchone() is not None

    def mark_processed(self, message_id: str, *, folder: str, uidvalidity: int, uid: int,
                       sender: str, subject: str, summary: dict,
                       receipt: tuple[str, str, bytes] | None = None) -> None:
        """The message is handled; with ``receipt`` (recipient, receipt id, the whole e-mail) its
        receipt is queued in the same transaction: a kill leaves both or neither, so a message
        is never marked handled without its receipt, nor answered twice."""
        with self._db() as db:
            if receipt is not None:
                db.execute("INSERT OR IGNORE INTO receipts (message_id, recipient, receipt_id, body,"
                           " created) VALUES (?,?,?,?,?)", (message_id, *receipt, _now()))
            db.execute("INSERT OR REPLACE INTO messages VALUES (?,?,?,?,?,?,?,?)",
                       (message_id, folder, uidvalidity, uid, sender, subject, _now(),
                        json.dumps(summary, ensure_ascii=False, default=str)))

    # receipts
    def pending_receipts(self) -> list[PendingReceipt]:
        with self._db() as db:
            rows = db.execute("SELECT message_id, recipient, receipt_id, body, attempts FROM receipts"
                              " WHERE sent IS NULL AND attempts < ? ORDER BY created",
                              (MAX_ATTEMPTS,)).fetchall()
        return [PendingReceipt(*r) for r in rows]

    def receipt_sent(self, message_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE receipts SET sent=?, attempts=attempts+1, last_error=NULL"
                       " WHERE message_id=?", (_now(), message_id))

    def receipt_failed(self, message_id: str, error: str, *, final: bool = False) -> None:
        """Count a failed try; ``final`` (the address was refused) gives up at once."""
        with self._db() as db:
            if final:
                db.execute("UPDATE receipts SET attempts=?, last_error=? WHERE message_id=?",
                           (MAX_ATTEMPTS, error, message_id))
            else:
                db.execute("UPDATE receipts SET attempts=attempts+1, last_error=?"
                           " WHERE message_id=?", (error, message_id))

    # reminders (催报)
    def reminder_sent(self, village: str, day: str) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM reminders WHERE village=? AND day=?",
                              (village, day)).fetchone() is not None

    def reminder_recorded(self, village: str, day: str, *, recipients: list[str], message_id: str,
                          body: bytes) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO reminders VALUES (?,?,?,?,?,?)",
                       (village, day, json.dumps(recipients), message_id, body, _now()))


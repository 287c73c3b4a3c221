"""The office page's links: one per village on the 村名册, one for the office's status page.

A link is an address with a long random token (``secrets.token_urlsafe``). The clerk makes them
(``taizhang links``), prints them on a 报送方式 sheet and revokes one (``--revoke 村名``) when it
is lost or leaked; the next ``taizhang links`` makes that village a new one.

Only the token's SHA-256 is kept (``state/links.sqlite``), never the token: the state folder is
copied to backups, USB sticks and support, and a copy must not let anyone upload as a village.
The clerk therefore sees a token once, when it is made (on the console and the 报送方式 sheet
written then); a lost sheet is not reprinted but replaced (revoke, make again), which is also what
a lost sheet calls for, since whoever found it could use it. Tokens are compared in constant time
(``hmac.compare_digest`` over every live link's hash).

An upload's sender in the archive is the link's id (``link-7``), never the token.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from toolkit.core.store import guarded, open_db

DB_NAME = "links.sqlite"
OFFICE = "office"           # kind of the status page's link (village is None)
VILLAGE = "village"
TOKEN_BYTES = 32            # token_urlsafe(32): 43 characters, 256 bits
_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    village    TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    made       TEXT NOT NULL,
    made_by    TEXT,
    revoked    TEXT,
    revoked_by TEXT
);
"""


@dataclass(frozen=True)
class Link:
    id: int
    kind: str
    village: str | None
    made: str
    revoked: str | None = None
    token: str | None = None          # only right after it was made

    @property
    def sender(self) -> str:
        """How the archive names an upload's sender: the link's id, never its token."""
        return f"link-{self.id}"

    @property
    def is_office(self) -> bool:
        return self.kind == OFFICE

    @property
    def live(self) -> bool:
        return self.revoked is None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class LinkStore:
    """The links of one office (its state folder)."""

    def __init__(self, state_dir: Path | str) -> None:
        self.path = Path(state_dir) / DB_NAME

    def _db(self) -> sqlite3.Connection:
        db = open_db(self.path, "网页报送链接记录")
        with guarded(self.path, "网页报送链接记录"):
            db.executescript(_SCHEMA)
        return db

    def _rows(self, where: str = "", params: tuple = ()) -> list[tuple[Link, str]]:
        if not self.path.exists():
            return []
        with closing(self._db()) as db, guarded(self.path, "网页报送链接记录"):
            got = db.execute("SELECT id, kind, village, made, revoked, token_hash FROM links "
                             f"{where} ORDER BY id", params).fetchall()
        return [(Link(i, k, v, m, r), h) for i, k, v, m, r, h in got]

    def all(self) -> list[Link]:
        return [link for link, _ in self._rows()]

    def live(self) -> list[Link]:
        return [link for link, _ in self._rows("WHERE revoked IS NULL")]

    def make(self, kind: str, village: str | None, *, by: str) -> Link:
        """A new link (its token in ``Link.token``, the one time it is known)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = datetime.now().isoformat(timespec="seconds")
        with closing(self._db()) as db, guarded(self.path, "网页报送链接记录"), db:
            cur = db.execute("INSERT INTO links (kind, village, token_hash, made, made_by) VALUES (?,?,?,?,?)",
                             (kind, village, token_hash(token), now, by))
            new_id = cur.lastrowid
        return Link(new_id, kind, village, now, token=token)

    def revoke(self, kind: str, village: str | None, *, by: str) -> list[Link]:
        """Every live link of ``village`` (or the office's) revoked; returns them."""
        found = [link for link in self.live() if link.kind == kind and link.village == village]
        now = datetime.now().isoformat(timespec="seconds")
        with closing(self._db()) as db, guarded(self.path, "网页报送链接记录"), db:
            db.executemany("UPDATE links SET revoked = ?, revoked_by = ? WHERE id = ?",
                           [(now, by, link.id) for link in found])
        return found

    def find(self, token: str) -> Link | None:
        """The link ``token`` opens, live or revoked (None: no such link). Every hash is
        compared, in constant time, so the answer's timing says nothing about the token."""
        wanted = token_hash(token).encode("ascii")
        hit = None
        for link, digest in self._rows():
            if hmac.compare_digest(digest.encode("ascii"), wanted):
                hit = link
        return hit

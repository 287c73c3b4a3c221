"""A small IMAP client for the township mailbox (imaplib underneath).

Connecting and logging in (implicit TLS, STARTTLS, or plain for a local server;
timeouts on every socket) is ``toolkit.intake.mail.transport``'s. Folder names go
over the wire in IMAP's modified UTF-7 (RFC 3501 5.1.3), so 已处理台账 works. Processed messages are marked read (\\Seen) and get
the keyword ``$Taizhang`` when the server allows keywords, and may be moved (MOVE, or COPY + \\Deleted +
UID EXPUNGE of that one message when UIDPLUS is there; never a plain EXPUNGE,
which would also remove what a person marked deleted).
"""
from __future__ import annotations

import base64
import imaplib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from toolkit.core.config import Config
from toolkit.intake.mail.decode import header_text, parse_headers
from toolkit.intake.mail.transport import (MailConnectError, ca_file, close_imap, imap_connect,
                                           imap_password)

KEYWORD = "$Taizhang"

# imaplib refuses commands it does not list; ID (RFC 2971) is needed by 163.com,
# which answers SELECT with "Unsafe Login" from a client that does not say who it is.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
imaplib.Commands.setdefault("MOVE", ("SELECTED",))


class MailboxError(Exception):
    """A command the server refused in the middle of a run."""


# the line to the server dropped in the middle of a run: what is left waits for the next run
CONNECTION_LOST = (imaplib.IMAP4.abort, ConnectionError, TimeoutError)


@dataclass
class Envelope:
    uid: int
    size: int
    internal_date: datetime | None
    message_id: str | None


# -- modified UTF-7 for folder names ------------------------------------------------------

def imap_utf7_encode(name: str) -> str:
    out, buf = [], []

    def flush():
        if buf:
            raw = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def imap_utf7_decode(name: str) -> str:
    def repl(m: re.Match) -> str:
        body = m.group(1)
        if not body:
            return "&"
        b64 = body.replace(",", "/")
        return base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be")
    return re.sub(r"&([A-Za-z0-9+,]*)-", repl, name)


def quote(name: str) -> str:
    encoded = imap_utf7_encode(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the connection -----------------------------------------------------------------------

class Mailbox:
    """One logged-in IMAP session (connected by ``toolkit.intake.mail.transport``); use as a
    context manager."""

    def __init__(self, host: str, port: int, *, security: str, user: str, password: str,
                 ca_file: str = "", timeout: float = 60.0) -> None:
        self.host, self.port, self.security = host, port, security
        self.imap = imap_connect(host, port, security=security, user=user, password=password,
                                 ca_file=ca_file, timeout=timeout)
        self.capabilities = self._capabilities()
        if "ID" in self.capabilities:
            self._id()
        self.keywords_allowed = False
        self.uidvalidity = 0
        self.broken = False             # the connection dropped during the run

    def _capabilities(self) -> set[str]:
        typ, data = self.imap.capability()
        caps = set()
        for line in data or ():
            if isinstance(line, bytes):
                caps.update(line.decode("ascii", "replace").upper().split())
        return caps or {c.upper() for c in self.imap.capabilities}

    def _id(self) -> None:
        try:
            self.imap._simple_command("ID", '("name" "taizhang" "vendor" "taizhang")')
        except (imaplib.IMAP4.error, OSError):
            pass        # ID is a courtesy; a server that dislikes it still serves us

    def close(self) -> None:
        close_imap(self.imap)

    def __enter__(self) -> "Mailbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # commands
    def _ok(self, typ: str, data, what: str):
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            raise MailboxError(f"{what}：{detail}")
        return data

    def select(self, folder: str) -> int:
        """Open the folder read-write; returns its UIDVALIDITY."""
        try:
            typ, _ = self.imap.select(quote(folder))
        except imaplib.IMAP4.error:
            typ = "NO"
        if typ != "OK":
            raise MailConnectError(f"邮箱 {self.host} 中打不开文件夹“{folder}”，请检查 [mail] folder "
                                   "的名称（收件箱一般为 INBOX）。")
        flags = self.imap.response("PERMANENTFLAGS")[1]
        self.keywords_allowed = any(b"\\*" in f for f in flags if isinstance(f, bytes))
        validity = self.imap.response("UIDVALIDITY")[1]
        self.uidvalidity = int(validity[0]) if validity and validity[0] else 0
        return self.uidvalidity

    def candidates(self, *, since_days: int = 0, today: date | None = None) -> list[int]:
        """UIDs not yet marked processed (all UIDs when the server has no keywords)."""
        criteria = ["UNKEYWORD", KEYWORD] if self.keywords_allowed else ["ALL"]
        if since_days > 0:        # by arrival date; English month names whatever the locale
            day = (today or date.today()) - timedelta(days=since_days)
            criteria += ["SINCE", f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"]
        data = self._ok(*self.imap.uid("SEARCH", *criteria), "查找邮件失败")
        return sorted(int(x) for x in b" ".join(d for d in data if d).split())

    def envelopes(self, uids: list[int]) -> list[Envelope]:
        """Size, arrival time and Message-ID of each message, without downloading it."""
        out = []
        for i in range(0, len(uids), 200):
            chunk = ",".join(str(u) for u in uids[i:i + 200])
            data = self._ok(*self.imap.uid(
                "FETCH", chunk, "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"),
                "读取邮件信息失败")
            for meta, literal in _fetch_items(data):
                uid = _int_after(meta, rb"UID (\d+)")
                if uid is None:
                    continue
                mid = header_text(parse_headers(literal or b""), "Message-ID") or None
                t = imaplib.Internaldate2tuple(meta)
                when = datetime(*t[:6]) if t else None
                out.append(Envelope(uid, _int_after(meta, rb"RFC822\.SIZE (\d+)") or 0, when, mid))
        return out

    def fetch(self, uid: int, *, header_only: bool = False) -> bytes:
        """The whole message (or only its header block), leaving \\Seen as it was."""
        part = "BODY.PEEK[HEADER]" if header_only else "BODY.PEEK[]"
        data = self._ok(*self.imap.uid("FETCH", str(uid), f"(UID {part})"), "下载邮件失败")
        for meta, literal in _fetch_items(data):
            if literal is not None:
                return literal
        raise MailboxError(f"下载邮件失败：服务器没有返回 UID {uid} 的内容")

    def mark_processed(self, uid: int) -> None:
        """Read (\\Seen, so the clerk does not see it as new) and, where allowed, the keyword."""
        flags = f"(\\Seen {KEYWORD})" if self.keywords_allowed else "(\\Seen)"
        self._ok(*self.imap.uid("STORE", str(uid), "+FLAGS.SILENT", flags), "标记邮件失败")

    def ensure_folder(self, folder: str) -> None:
        typ, data = self.imap.create(quote(folder))
        if typ == "OK":
            self.imap.subscribe(quote(folder))

    def move(self, uid: int, folder: str) -> bool:
        """Move one message; False when the server cannot remove just that one."""
        if "MOVE" in self.capabilities:
            self._ok(*self.imap.uid("MOVE", str(uid), quote(folder)), f"移动邮件到“{folder}”失败")
            return True
        self._ok(*self.imap.uid("COPY", str(uid), quote(folder)), f"复制邮件到“{folder}”失败")
        if "UIDPLUS" not in self.capabilities:
            return False        # copied; the original stays (flagged) rather than risk others
        self._ok(*self.imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "标记邮件失败")
        self._ok(*self.imap.uid("EXPUNGE", str(uid)), "移除已复制的邮件失败")
        return True


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _fetch_items(data) -> list[tuple[bytes, bytes | None]]:
    """imaplib's FETCH answer -> [(metadata, literal)]; metadata after a literal is kept."""
    items: list[list] = []
    for part in data or ():
        if isinstance(part, tuple):
            items.append([part[0], part[1]])
        elif isinstance(part, bytes) and items and part.strip() not in (b"", b")"):
            items[-1][0] += b" " + part           # "UID 7)" sent after the literal
        elif isinstance(part, bytes) and part.strip() not in (b"", b")"):
            items.append([part, None])
    return [(m, lit) for m, lit in items]


def _int_after(meta: bytes, pattern: bytes) -> int | None:
    m = re.search(pattern, meta)
    return int(m.group(1)) if m else None


def open_mailbox(cfg: Config, *, timeout: float | None = None) -> Mailbox:
    """The [mail] mailbox, logged in; MailConnectError (Chinese) when not."""
    mc = cfg.mail
    return Mailbox(mc.host, mc.port, security=mc.security, user=mc.user, password=imap_password(mc),
                   ca_file=ca_file(cfg), timeout=timeout or mc.timeout)

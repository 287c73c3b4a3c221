"""A small IMAP client for the township mailbox (imaplib underneath).

Implicit TLS (IMAP4_SSL), STARTTLS, or plain for a local server; timeouts on
every socket. Folder names go over the wire in IMAP's modified UTF-7 (RFC 3501
5.1.3), so 已处理台账 works. Processed messages are marked read (\\Seen) and get
the keyword ``$Taizhang`` when the server allows keywords, and may be moved (MOVE, or COPY + \\Deleted +
UID EXPUNGE of that one message when UIDPLUS is there; never a plain EXPUNGE,
which would also remove what a person marked deleted).
"""
from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from toolkit.intake.mail.decode import header_text, parse_headers

KEYWORD = "$Taizhang"

# imaplib refuses commands it does not list; ID (RFC 2971) is needed by 163.com,
# which answers SELECT with "Unsafe Login" from a client that does not say who it is.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
imaplib.Commands.setdefault("MOVE", ("SELECTED",))


class MailConnectError(Exception):
    """Cannot reach or log in to the mail server; str() is Chinese and says what to check."""


class MailboxError(Exception):
    """A command the server refused in the middle of a run."""


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

def tls_context(ca_file: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def _connect_hint(host: str, port: int, security: str, e: BaseException) -> str:
    what = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "plain": "不加密"}.get(security, security)
    if isinstance(e, ssl.SSLCertVerificationError):
        why = "服务器证书无法验证（自签名证书请在 [mail] ca_file 中指定证书文件）"
    elif isinstance(e, ssl.SSLError):
        why = f"加密握手失败，请确认端口 {port} 对应的加密方式是 {what}（常见：993=ssl，143=starttls）"
    elif isinstance(e, socket.gaierror):
        why = "找不到该服务器，请检查服务器地址和网络"
    elif isinstance(e, (socket.timeout, TimeoutError)):
        why = "连接超时，请检查网络、防火墙和端口"
    elif isinstance(e, ConnectionRefusedError):
        why = "连接被拒绝，请检查端口号和服务器是否开启 IMAP"
    else:
        why = str(e) or type(e).__name__
    return f"无法连接收件服务器 {host}:{port}（{what}）：{why}。"


class Mailbox:
    """One logged-in IMAP session; use as a context manager."""

    def __init__(self, host: str, port: int, *, security: str, user: str, password: str,
                 ca_file: str = "", timeout: float = 60.0) -> None:
        self.host, self.port, self.security = host, port, security
        self.imap = self._open(ca_file, timeout)
        self._login(user, password)
        self.capabilities = self._capabilities()
        if "ID" in self.capabilities:
            self._id()
        self.keywords_allowed = False
        self.uidvalidity = 0
        self.broken = False             # the connection dropped during the run

    # connection and login
    def _open(self, ca_file: str, timeout: float) -> imaplib.IMAP4:
        try:
            if self.security == "ssl":
                return imaplib.IMAP4_SSL(self.host, self.port, ssl_context=tls_context(ca_file),
                                         timeout=timeout)
            imap = imaplib.IMAP4(self.host, self.port, timeout=timeout)
            if self.security == "starttls":
                if "STARTTLS" not in imap.capabilities:
                    imap.shutdown()
                    raise MailConnectError(
                        f"收件服务器 {self.host}:{self.port} 不支持 STARTTLS；请把 [mail] security "
                        "改为 ssl（端口一般为 993），不要用不加密的连接传送密码。")
                imap.starttls(ssl_context=tls_context(ca_file))
            elif self.security != "plain":
                raise MailConnectError(f"[mail] security 的值“{self.security}”无效，"
                                       "应为 ssl、starttls 或 plain。")
            return imap
        except MailConnectError:
            raise
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as e:
            raise MailConnectError(_connect_hint(self.host, self.port, self.security, e)) from e

    def _login(self, user: str, password: str) -> None:
        try:
            if password.isascii() and user.isascii():
                self.imap.login(user, password)
            else:           # LOGIN is ASCII only; SASL PLAIN carries UTF-8
                raw = b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")
                self.imap.authenticate("PLAIN", lambda _: raw)
        except (imaplib.IMAP4.error, OSError) as e:
            self.close()
            detail = str(e).strip("b'\" ") or type(e).__name__
            raise MailConnectError(
                f"收件服务器 {self.host} 拒绝登录（用户 {user}）：{detail}。请检查用户名和密码；"
                "163、QQ 等邮箱须在网页版设置中开启 IMAP 并使用“授权码”代替登录密码。") from e

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
        try:
            self.imap.logout()
        except Exception:
            try:
                self.imap.shutdown()
            except Exception:
                pass

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

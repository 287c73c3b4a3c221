"""Real mail servers on 127.0.0.1 for the mail tests.

``dovecot_server`` (session scope) starts Debian's Dovecot from a config file in
a throw-away folder: IMAP on one free high port (plain, with STARTTLS offered)
and implicit TLS on another, one passwd-file user whose maildir lives in the
same folder, a self-signed certificate made with ``openssl req``. The master
runs in the foreground (``dovecot -F``) as our child and is terminated at teardown. ``smtp_server`` (session scope) is an
aiosmtpd controller that keeps every message it receives.

The function-scoped ``mailbox`` and ``outbox`` fixtures empty them before each
test, so one Dovecot serves the whole session. Tests skip with a clear reason
when dovecot (or openssl, aiosmtpd) is not installed; CI installs
dovecot-imapd.
"""
from __future__ import annotations

import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

USER = "cunwu"
PASSWORD = "台账-test-密码"       # non-ASCII on purpose: exercises AUTHENTICATE PLAIN
PASSWORD_ENV = "TAIZHANG_TEST_MAIL_PASSWORD"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, made with openssl req."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


@dataclass
class Dovecot:
    root: Path
    conf: Path
    port: int          # plain IMAP, STARTTLS offered
    ssl_port: int      # implicit TLS
    cert: Path
    proc: subprocess.Popen | None = None
    user: str = USER
    password: str = PASSWORD
    host: str = "127.0.0.1"

    # -- small IMAP client helpers for tests ---------------------------------
    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.authenticate("PLAIN", lambda _: b"\0" + self.user.encode()
                          + b"\0" + self.password.encode("utf-8"))
        return imap

    def append(self, message: bytes, folder: str = "INBOX") -> None:
        imap = self.connect()
        try:
            typ, data = imap.append(folder, None, None, message)
            assert typ == "OK", data
        finally:
            imap.logout()

    def folders(self) -> list[str]:
        imap = self.connect()
        try:
            typ, data = imap.list()
            names = []
            for line in data:
                if isinstance(line, bytes):
                    m = re.match(rb'\((.*?)\) (NIL|"(?:[^"\\]|\\.)*") (.*)$', line)
                    names.append(m.group(3).strip(b'"').decode() if m else line.decode())
            return names
        finally:
            imap.logout()

    def messages(self, folder: str = "INBOX") -> list[tuple[int, set[str]]]:
        """[(uid, flags)] of a folder, for asserting what fetch_mail did."""
        imap = self.connect()
        try:
            typ, _ = imap.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("FETCH", "1:*", "(FLAGS)")
            out = []
            for line in data:
                if not line:
                    continue
                text = line.decode() if isinstance(line, bytes) else line[0].decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                flags = set(text.split("FLAGS (")[1].split(")")[0].split())
                out.append((uid, flags))
            return out
        finally:
            imap.logout()

    def empty(self) -> None:
        """Delete every message and every folder but INBOX (between tests)."""
        imap = self.connect()
        try:
            for name in self.folders():
                if name.upper() != "INBOX":
                    imap.delete(_quote(name))
            typ, data = imap.select("INBOX")
            if int(data[0]):
                imap.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                imap.expunge()
        finally:
            imap.logout()


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


DOVECOT_CONF = """\
# Throw-away Dovecot for tests: everything lives in {root}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
# tests log in with a wrong password on purpose: no delay, no penalty for the next login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def start_dovecot() -> Dovecot:
    dovecot = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists()
                                          else None)
    if dovecot is None:
        pytest.skip("dovecot 未安装（Debian: apt-get install dovecot-imapd），跳过邮件测试")
    if shutil.which("openssl") is None:
        pytest.skip("openssl 未安装，无法生成测试证书，跳过邮件测试")
    root = Path(tempfile.mkdtemp(prefix="taizhang-dovecot-"))
    root.chmod(0o755)   # the dovecot user must reach its maildir
    if os.geteuid() == 0:
        try:
            d = pwd.getpwnam("dovecot")
            pwd.getpwnam("dovenull")
        except KeyError:
            pytest.skip("系统中没有 dovecot/dovenull 用户（dovecot-core 未正确安装）")
        uid, gid = d.pw_uid, d.pw_gid
        login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
    else:
        me = pwd.getpwuid(os.geteuid())
        uid, gid = me.pw_uid, me.pw_gid
        login_user = internal_user = me.pw_name
        internal_group = str(gid)
    cert, key = make_certificate(root)
    home = root / "home" / USER
    (home / "Maildir").mkdir(parents=True)
    for p in (root / "home", home, home / "Maildir"):
        os.chown(p, uid, gid) if os.geteuid() == 0 else None
    (root / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n", encoding="utf-8")
    port, ssl_port = free_port(), free_port()
    while ssl_port == port:
        ssl_port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(
        root=root, cert=cert, key=key, port=port, ssl_port=ssl_port, uid=uid, gid=gid,
        login_user=login_user, internal_user=internal_user, internal_group=internal_group),
        encoding="utf-8")
    # -F keeps the master in the foreground as our child: stopping it is terminate() + wait()
    err = open(root / "start.err", "w+", encoding="utf-8")
    proc = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=err, stderr=err)
    if not (_wait_port(port) and _wait_port(ssl_port)) or proc.poll() is not None:
        _terminate(proc)
        err.close()
        log = "".join(p.read_text(errors="replace") for p in (root / "start.err", root / "dovecot.log")
                      if p.exists())
        pytest.fail(f"dovecot did not start:\n{log}")
    err.close()
    return Dovecot(root=root, conf=conf, port=port, ssl_port=ssl_port, cert=cert, proc=proc)


def _terminate(proc: subprocess.Popen) -> None:
    proc.terminate()            # the master stops its children on SIGTERM
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def dovecot_server():
    server = start_dovecot()
    try:
        yield server
    finally:
        _terminate(server.proc)
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot_server, monkeypatch):
    """An empty INBOX on the session's Dovecot, its password in the environment."""
    dovecot_server.empty()
    monkeypatch.setenv(PASSWORD_ENV, dovecot_server.password)
    return dovecot_server


# -- SMTP -----------------------------------------------------------------------

@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list = field(default_factory=list)   # (mail_from, rcpt_tos, bytes)
    logins: list = field(default_factory=list)     # (mechanism, login, accepted)
    refused: dict = field(default_factory=dict)    # address -> the reply refusing it ("550 ...")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.refused.clear()


class _Collector:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.server.refused.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.server.lock:
            self.server.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content
                                                                    or envelope.content)))
        return "250 OK"


def _authenticator(server: SmtpServer):
    from aiosmtpd.smtp import AuthResult

    def check(smtp, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode("utf-8"), auth_data.password.decode("utf-8")) == (USER, PASSWORD)
        server.logins.append((mechanism, auth_data.login.decode("utf-8"), ok))
        return AuthResult(success=ok)
    return check


def start_smtp(tls_context: ssl.SSLContext | None = None, **smtp_options):
    """An aiosmtpd server of our own (stop its controller when done); ``smtp_options`` go to
    aiosmtpd's SMTP, e.g. ``command_call_limit={"MAIL": 2}``: at most two messages a session,
    then "421" and the connection closed, as providers limit messages per connection."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        pytest.skip("aiosmtpd 未安装（pip install aiosmtpd），跳过邮件测试")
    server = SmtpServer("127.0.0.1", free_port())
    kwargs = dict(smtp_options)
    if tls_context is not None:     # over TLS, AUTH is offered: accept the test user only
        kwargs.update(tls_context=tls_context, require_starttls=True,
                      authenticator=_authenticator(server))
    controller = Controller(_Collector(server), hostname=server.host, port=server.port,
                            **kwargs)
    controller.start()
    return server, controller


@pytest.fixture(scope="session")
def smtp_server():
    server, controller = start_smtp()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def outbox(smtp_server):
    """The session's SMTP server with no messages captured yet."""
    smtp_server.clear()
    return smtp_server


# -- messages as Chinese mail clients build them ----------------------------------------

import base64 as _b64
import quopri as _quopri
import urllib.parse as _up
from email.utils import formatdate as _formatdate

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STYLES = ("163", "qq", "outlook", "foxmail", "rfc2231", "rfc2231_cont", "raw_gbk", "gb2312_q",
          "split_words", "gb2312_mislabel", "utf8")


def _b_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{_b64.b64encode(text.encode(charset)).decode()}?="


def _split_b_words(text: str, charset: str, cut: int = 3) -> str:
    """Encoded words cut in the middle of a character, as some clients do."""
    raw = text.encode(charset)
    return "\r\n ".join(f"=?{charset}?B?{_b64.b64encode(raw[i:i + cut]).decode()}?="
                        for i in range(0, len(raw), cut))


def _q_word(text: str, charset: str) -> str:
    body = _quopri.encodestring(text.encode(charset), header=True).decode().replace("=\n", "")
    return f"=?{charset}?Q?{body}?="


def attachment_headers(name: str, style: str, ctype: str = "application/octet-stream") -> bytes:
    """Content-Type/-Disposition lines naming ``name`` the way ``style`` does."""
    if style == "163":
        w = _b_word(name, "GBK")
        h = f'Content-Type: {ctype}; name="{w}"\r\nContent-Disposition: attachment; filename="{w}"'
    elif style == "qq":
        w = _b_word(name, "GB18030")
        h = (f'Content-Type: {ctype}; charset="GB18030"; name="{w}"\r\n'
             f'Content-Disposition: attachment; filename="{w}"')
    elif style == "outlook":
        w = _split_b_words(name, "gb2312", cut=9)
        h = (f'Content-Type: {XLSX_TYPE};\r\n\tname="{w}"\r\n'
             f'Content-Disposition: attachment;\r\n\tfilename="{w}"; size=1234;\r\n'
             f'\tcreation-date="Mon, 18 Oct 2010 09:12:00 GMT"')
    elif style == "foxmail":
        w = _b_word(name, "GBK")
        h = f'Content-Type: application/octet-stream;\r\n\tname="{w}"\r\nContent-Disposition: attachment;\r\n\tfilename="{w}"'
    elif style == "rfc2231":
        enc = _up.quote(name.encode("GBK"), safe="")
        h = f"Content-Type: {ctype}\r\nContent-Disposition: attachment; filename*=GBK''{enc}"
    elif style == "rfc2231_cont":
        pieces = re.findall(r"%[0-9A-F]{2}|.", _up.quote(name.encode("utf-8"), safe=""))
        chunks = ["".join(pieces[i:i + 7]) for i in range(0, len(pieces), 7)]
        parts = [f"filename*{n}*={chr(39) * 2 if n else 'UTF-8' + chr(39) * 2}{c}".replace(
            "*=''", "*=") for n, c in enumerate(chunks)]
        h = f"Content-Type: {ctype}\r\nContent-Disposition: attachment;\r\n " + ";\r\n ".join(parts)
    elif style == "raw_gbk":
        return (f'Content-Type: {ctype}; name="{name}"\r\n'
                f'Content-Disposition: attachment; filename="{name}"').encode("GBK")
    elif style == "gb2312_q":
        w = _q_word(name, "gb2312")
        h = f'Content-Type: {ctype}; name="{w}"\r\nContent-Disposition: attachment; filename="{w}"'
    elif style == "split_words":
        w = _split_b_words(name, "GBK", cut=3)
        h = f'Content-Type: {ctype};\r\n name="{w}"\r\nContent-Disposition: attachment;\r\n filename="{w}"'
    elif style == "gb2312_mislabel":      # GBK-only characters (垟) labelled gb2312
        w = f"=?gb2312?B?{_b64.b64encode(name.encode('gbk')).decode()}?="
        h = f'Content-Type: {ctype}; name="{w}"\r\nContent-Disposition: attachment; filename="{w}"'
    elif style == "utf8":
        w = _b_word(name, "utf-8")
        h = f'Content-Type: {ctype}; name="{w}"\r\nContent-Disposition: attachment; filename="{w}"'
    else:
        raise ValueError(style)
    return h.encode("ascii")


def _b64_body(data: bytes) -> bytes:
    return _b64.encodebytes(data).replace(b"\n", b"\r\n")


def build_message(*, sender: str, subject: str, attachments=(), style: str = "163",
                  message_id: str | None = None, to: str = "xinfang@example.com",
                  body: str = "请查收本村台账。", date: str | None = None,
                  extra_headers: str = "") -> bytes:
    """A message as ``style``'s client builds it; attachments are (name, bytes).

    Foxmail wraps text and HTML in multipart/alternative inside multipart/mixed.
    """
    charset = {"163": "GBK", "qq": "GB18030", "outlook": "gb2312", "foxmail": "GBK"}.get(style, "utf-8")
    mid = message_id or f"<{os.urandom(8).hex()}@{sender.split('@')[-1]}>"
    head = (f"From: {_b_word('村文书', charset)} <{sender}>\r\nTo: {to}\r\n"
            f"Subject: {_b_word(subject, charset)}\r\nDate: {date or _formatdate(localtime=True)}\r\n"
            f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n")
    if style == "foxmail":
        head += "X-Mailer: Foxmail 7.2.23.121[cn]\r\n"
    elif style == "outlook":
        head += "X-Mailer: Microsoft Outlook 16.0\r\nThread-Index: AdZ1\r\n"
    head += extra_headers
    b = "----=_Part_" + os.urandom(6).hex()
    out = head.encode("ascii") + f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n'.encode()
    text = _b64_body(body.encode(charset))
    if style == "foxmail":
        alt = "----=_Alt_" + os.urandom(6).hex()
        html = _b64_body(f"<html><body><p>{body}</p></body></html>".encode(charset))
        out += (f'--{b}\r\nContent-Type: multipart/alternative; boundary="{alt}"\r\n\r\n'
                f'--{alt}\r\nContent-Type: text/plain; charset="{charset}"\r\n'
                f'Content-Transfer-Encoding: base64\r\n\r\n').encode() + text
        out += (f'\r\n--{alt}\r\nContent-Type: text/html; charset="{charset}"\r\n'
                f'Content-Transfer-Encoding: base64\r\n\r\n').encode() + html + f"\r\n--{alt}--\r\n".encode()
    else:
        out += (f'--{b}\r\nContent-Type: text/plain; charset="{charset}"\r\n'
                f'Content-Transfer-Encoding: base64\r\n\r\n').encode() + text
    for name, data in attachments:
        out += f"\r\n--{b}\r\n".encode() + attachment_headers(name, style)
        out += b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _b64_body(data)
    return out + f"\r\n--{b}--\r\n".encode()


def zip_bytes(members, *, gbk_names: bool = True) -> bytes:
    """A .zip as Chinese Windows makes it: member names in GBK, no UTF-8 flag.

    zipfile would write non-ASCII names as flagged UTF-8, so each name is first
    written as an ASCII placeholder of the same length, then patched to its GBK
    bytes in the local header and the central directory (no checksum covers names).
    """
    import io
    import zipfile
    buf = io.BytesIO()
    patches = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (name, data) in enumerate(members):
            stored = name
            if gbk_names and not name.isascii():
                gbk = name.encode("gbk")
                stored = f"~{n}~".ljust(len(gbk), "_")
                patches.append((stored.encode(), gbk))
            info = zipfile.ZipInfo(stored, date_time=(2010, 10, 18, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    raw = buf.getvalue()
    for placeholder, gbk in patches:
        assert raw.count(placeholder) == 2
        raw = raw.replace(placeholder, gbk)
    return raw


# -- an office using these servers ------------------------------------------------------------

def write_office(folder: Path, imap: Dovecot, smtp: SmtpServer, *, roster=None, as_of: str = "2010-10-20",
                 **mail) -> Path:
    """An office folder as a clerk has it: taizhang.toml with [paths], [daily] as_of and [mail]
    for these servers (``mail`` adds or overrides keys), and a settings workbook with
    ``roster`` (the demo roster by default). Returns the taizhang.toml."""
    from toolkit.core.settings_workbook import create_settings_workbook
    from toolkit.demo import DEMO_ROSTER
    folder.mkdir(parents=True, exist_ok=True)
    keys = {"host": "127.0.0.1", "port": imap.port, "security": "plain", "user": imap.user,
            "password_env": PASSWORD_ENV, "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "smtp_security": "plain", "sender": "xinfangban@nanjiao.example.com", "since_days": 0,
            "timeout": 20, **mail}
    lines = [f"{k} = {v}" if isinstance(v, (int, float)) else f'{k} = "{v}"' for k, v in keys.items()]
    toml = folder / "taizhang.toml"
    toml.write_text('[paths]\ninbox = "收件箱"\nmaster = "输出/总台账.xlsx"\narchive = "存档"\nstate = "状态"\n'
                    'annotated = "输出/批注副本"\nlogs = "日志"\nsettings_workbook = "设置.xlsx"\n\n'
                    f'[daily]\nas_of = "{as_of}"\n\n[mail]\n' + "\n".join(lines) + "\n", encoding="utf-8")
    (folder / "收件箱").mkdir(exist_ok=True)
    create_settings_workbook(folder / "设置.xlsx", roster=DEMO_ROSTER if roster is None else roster,
                             force=True)
    return toml

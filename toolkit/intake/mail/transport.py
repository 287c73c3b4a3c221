"""Every connection to the township's mail servers, in one place: IMAP in, SMTP out.

- the TLS context (the system's CAs plus ``[mail] ca_file`` for a self-signed server);
- the passwords, from the environment variables ``taizhang.toml`` names (plain text only
  to a server on this computer);
- connecting and logging in: implicit TLS, STARTTLS or plain; a UTF-8 password goes as
  SASL PLAIN (IMAP ``AUTHENTICATE PLAIN``, SMTP ``AUTH PLAIN``), since LOGIN and
  smtplib's login are ASCII only;
- the Chinese sentence for every way that fails (``MailConnectError``, ``SmtpError``);
- ``SmtpSession``: one SMTP session for a batch of messages (receipts, reminders) that
  reconnects when the server ends it (a limit of messages per connection, a dropped
  line), and tells a refused address (``is_permanent``) from a passing failure.

Both errors are ``TaizhangError``s with exit code 2: not reaching or not being let into
a server means the mail job could not start. A run that did other work first (a fetch
whose receipts cannot go, the 催报单 written but not mailed) catches them and reports
them as needing attention (exit code 1).
"""
from __future__ import annotations

import base64
import imaplib
import logging
import os
import re
import smtplib
import socket
import ssl
from pathlib import Path

from toolkit.core.config import Config, MailConfig
from toolkit.core.errors import EXIT_CANNOT_RUN, TaizhangError

log = logging.getLogger("taizhang.mail")

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SECURITY_WORDS = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "plain": "不加密"}
IMAP, SMTP = "收件服务器", "发件服务器"


class MailConnectError(TaizhangError):
    """Cannot reach or log in to the incoming (IMAP) server; str() is Chinese and says what to check."""
    exit_code = EXIT_CANNOT_RUN


class SmtpError(TaizhangError):
    """Cannot reach or log in to the outgoing (SMTP) server; str() is Chinese."""
    exit_code = EXIT_CANNOT_RUN


# -- settings ---------------------------------------------------------------------------------

def tls_context(ca_file: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def ca_file(cfg: Config) -> str:
    """[mail] ca_file, relative to the folder of taizhang.toml."""
    ca = cfg.mail.ca_file.strip()
    if ca and not Path(ca).is_absolute() and cfg.source is not None:
        ca = str(Path(cfg.source).parent / ca)
    return ca


def imap_password(mc: MailConfig) -> str:
    """The mailbox password from its environment variable; plain text only to this computer."""
    if mc.security == "plain" and mc.host.lower() not in LOCAL_HOSTS:
        raise MailConnectError(f"[mail] security = \"plain\" 只允许连接本机的邮件服务器；"
                               f"连接 {mc.host} 请改用 ssl（端口 993）或 starttls（端口 143），"
                               "以免密码明文在网上传送。")
    env_name = mc.password_env
    value = os.environ.get(env_name or "")
    if value is None:
        raise MailConnectError(
            f"没有找到邮箱密码：环境变量 {env_name or '（未指定）'} 未设置。请把邮箱密码（163、QQ 等邮箱为"
            f"“授权码”）放在该环境变量中（Windows：setx {env_name or 'TAIZHANG_MAIL_PASSWORD'} 授权码），"
            "然后重新打开命令行窗口；taizhang.toml 中只写变量名 password_env。")
    return value


def smtp_password(mc: MailConfig) -> str | None:
    """[mail] smtp_password_env, else password_env; None: send without logging in."""
    return os.environ.get(mc.smtp_password_env or mc.password_env or "")


def connect_hint(host: str, port: int, security: str, e: BaseException, role: str = IMAP) -> str:
    """Why connecting to ``host`` failed, in Chinese, with what to check: always naming the
    server it was (收件服务器 IMAP or 发件服务器 SMTP) and the setting to look at. What the
    server said goes to the log, not to the clerk."""
    what = SECURITY_WORDS.get(security, security)
    protocol = "IMAP" if role == IMAP else "SMTP"
    port_key = "[mail] port" if role == IMAP else "[mail] smtp_port"
    common = "993=ssl，143=starttls" if role == IMAP else "465=ssl，587=starttls"
    if isinstance(e, ssl.SSLCertVerificationError):
        why = "服务器证书无法验证（自签名证书请在 [mail] ca_file 中指定证书文件）"
    elif isinstance(e, ssl.SSLError):
        why = f"加密握手失败，请确认端口 {port} 对应的加密方式是 {what}（常见：{common}）"
    elif isinstance(e, socket.gaierror):
        why = "找不到该服务器，请检查服务器地址和网络"
    elif isinstance(e, (socket.timeout, TimeoutError)):
        why = "连接超时，请检查网络、防火墙和端口"
    elif isinstance(e, ConnectionRefusedError):
        why = f"连接被拒绝：端口 {port} 上没有{role}在运行，请检查 {port_key}（常见：{common}）"
    elif _speaks_the_other_protocol(e, role):
        other = "发件服务器（SMTP）" if role == IMAP else "收件服务器（IMAP）"
        why = f"端口 {port} 上应答的是{other}，不是{role}（{protocol}）。请检查 {port_key}（常见：{common}）"
    elif isinstance(e, smtplib.SMTPServerDisconnected):
        why = "服务器断开了连接，请检查端口号和加密方式，稍后再试"
    else:
        log.info("%s %s:%s: %r", protocol, host, port, e)
        why = f"服务器的应答不是预期的 {protocol} 应答（详情已记入日志），请检查 {port_key} 和加密方式（常见：{common}）"
    return f"无法连接{role}（{protocol}）{host}:{port}（{what}）：{why}。"


def _speaks_the_other_protocol(e: BaseException, role: str) -> bool:
    """An IMAP greeting ("* OK ... IMAP4rev1") where SMTP was expected, or the other way round."""
    text = str(e).upper()
    if role == SMTP:
        return "IMAP" in text or "* OK" in text or text.startswith("(-1, B'[CAPABILITY")
    return "SMTP" in text or bool(re.search(r"\b220\b", text))


# -- IMAP -------------------------------------------------------------------------------------

def imap_connect(host: str, port: int, *, security: str, user: str, password: str,
                 ca_file: str = "", timeout: float = 60.0) -> imaplib.IMAP4:
    """A logged-in IMAP connection; MailConnectError (Chinese) when not."""
    imap = _imap_open(host, port, security, ca_file, timeout)
    try:
        _imap_login(imap, user, password)
    except (imaplib.IMAP4.error, OSError) as e:
        close_imap(imap)
        detail = str(e).strip("b'\" ") or type(e).__name__
        raise MailConnectError(
            f"{IMAP} {host} 拒绝登录（用户 {user}）：{detail}。请检查用户名和密码；"
            "163、QQ 等邮箱须在网页版设置中开启 IMAP 并使用“授权码”代替登录密码。") from e
    return imap


def _imap_open(host: str, port: int, security: str, ca_file: str, timeout: float) -> imaplib.IMAP4:
    if security not in SECURITY_WORDS:
        raise MailConnectError(f"[mail] security 的值“{security}”无效，应为 ssl、starttls 或 plain。")
    try:
        if security == "ssl":
            return imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(ca_file), timeout=timeout)
        imap = imaplib.IMAP4(host, port, timeout=timeout)
        if security == "starttls":
            if "STARTTLS" not in imap.capabilities:
                imap.shutdown()
                raise MailConnectError(
                    f"{IMAP} {host}:{port} 不支持 STARTTLS；请把 [mail] security 改为 ssl（端口一般为 "
                    "993），不要用不加密的连接传送密码。")
            imap.starttls(ssl_context=tls_context(ca_file))
        return imap
    except MailConnectError:
        raise
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as e:
        raise MailConnectError(connect_hint(host, port, security, e, IMAP)) from e


def _imap_login(imap: imaplib.IMAP4, user: str, password: str) -> None:
    if password.isascii() and user.isascii():
        imap.login(user, password)
    else:           # LOGIN is ASCII only; SASL PLAIN carries UTF-8
        raw = b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")
        imap.authenticate("PLAIN", lambda _: raw)


def close_imap(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except Exception:
        try:
            imap.shutdown()
        except Exception:
            pass


# -- SMTP -------------------------------------------------------------------------------------

def smtp_connect(host: str, port: int, *, security: str, user: str, password: str | None,
                 ca_file: str = "", timeout: float = 60.0) -> smtplib.SMTP:
    """A (logged-in, when the server offers AUTH and a password is set) SMTP session;
    SmtpError (Chinese) when not."""
    if security not in SECURITY_WORDS:
        raise SmtpError(f"[mail] smtp_security 的值“{security}”无效，应为 ssl、starttls 或 plain。")
    try:
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(ca_file))
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            smtp.ehlo()
            if security == "starttls":
                smtp.starttls(context=tls_context(ca_file))
                smtp.ehlo()
        if user and password is not None and smtp.has_extn("auth"):
            _smtp_login(smtp, user, password)
        return smtp
    except smtplib.SMTPAuthenticationError as e:
        raise SmtpError(f"{SMTP} {host} 拒绝登录（用户 {user}）：请检查用户名和密码"
                        "（163、QQ 等邮箱须使用“授权码”）。") from e
    except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
        raise SmtpError(connect_hint(host, port, security, e, SMTP)) from e


def _smtp_login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib.login is ASCII-only; a UTF-8 password goes as AUTH PLAIN by hand."""
    if user.isascii() and password.isascii():
        smtp.login(user, password)
        return
    token = base64.b64encode(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8"))
    code, resp = smtp.docmd("AUTH", "PLAIN " + token.decode("ascii"))
    if code not in (235, 503):      # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, resp)


def open_smtp(cfg: Config, *, timeout: float | None = None) -> smtplib.SMTP:
    """A session with the [mail] settings; SmtpError (Chinese) when not, never a traceback."""
    mc = cfg.mail
    try:
        return smtp_connect(mc.smtp_host, mc.smtp_port, security=mc.smtp_security,
                            user=mc.smtp_user or mc.user, password=smtp_password(mc),
                            ca_file=ca_file(cfg), timeout=timeout or mc.timeout)
    except SmtpError:
        raise
    except Exception as e:          # e.g. an unreadable ca_file
        log.exception("SMTP")
        raise SmtpError(f"连接{SMTP} {mc.smtp_host} 时出错：{e}。") from e


def quit_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


def is_permanent(e: Exception) -> bool:
    """The address itself was refused (5xx): retrying will not help."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code >= 500
    return False


def session_ended(e: Exception) -> bool:
    """The server ended the session (421, a dropped line): the message was not taken, a new
    session may take it."""
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code == 421
    return isinstance(e, OSError) and not isinstance(e, smtplib.SMTPException)


def refusal_text(e: Exception) -> str:
    """What the server said, for the clerk: "a@b.com：550 mailbox unavailable"."""
    def said(code: int, resp) -> str:
        text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
        return f"{code} {text}".strip()
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "；".join(f"{a}：{said(c, r)}" for a, (c, r) in e.recipients.items())
    if isinstance(e, smtplib.SMTPResponseException):
        return said(e.smtp_code, e.smtp_error)
    return str(e) or type(e).__name__


class SmtpSession:
    """One SMTP session for a batch of messages; ``send`` opens it on first use and opens a
    new one, once per message, when the server has ended it. Use as a context manager."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        quit_quietly(self.smtp)
        self.smtp = None

    def open(self) -> None:
        """Connect now (SmtpError when the server cannot be reached or refuses the login)."""
        if self.smtp is None:
            self.smtp = open_smtp(self.cfg)

    def send(self, sender: str, recipients: list[str], body: bytes) -> dict[str, tuple[int, bytes]]:
        """Send one message; returns the recipients refused while others took it. Raises the
        server's refusal (``is_permanent`` tells a refused address), or SmtpError when no
        session can be had."""
        self.open()
        try:
            return self.smtp.sendmail(sender, recipients, body)
        except Exception as e:
            if not session_ended(e):
                raise
            log.info("SMTP session ended (%s); sending again on a new one", e)
        self.close()
        self.open()
        return self.smtp.sendmail(sender, recipients, body)


__all__ = ["MailConnectError", "SmtpError", "SmtpSession", "ca_file", "close_imap", "connect_hint",
           "imap_connect", "imap_password", "is_permanent", "open_smtp", "quit_quietly", "refusal_text",
           "session_ended", "smtp_connect", "smtp_password", "tls_context"]

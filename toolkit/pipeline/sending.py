"""Sending the township's mail by SMTP: receipts waiting in the mail state, and reminders.

Shared by the mail intake (``toolkit.pipeline.mail``) and the reminders
(``toolkit.pipeline.remind``): the sender address, the connection with the
administrator's settings, the receipt queue.
"""
from __future__ import annotations

import logging
import os
import smtplib
from pathlib import Path

from toolkit.core.config import Config, MailConfig
from toolkit.intake.mail.state import MailState

log = logging.getLogger("taizhang.mail")


def ca_file(cfg: Config) -> str:
    """[mail] ca_file, relative to the folder of taizhang.toml."""
    ca = cfg.mail.ca_file.strip()
    if ca and not Path(ca).is_absolute() and cfg.source is not None:
        ca = str(Path(cfg.source).parent / ca)
    return ca


def own_addresses(mc: MailConfig) -> set[str]:
    return {a.strip().lower() for a in (mc.sender, mc.user, mc.smtp_user) if a and "@" in a}


def from_address(mc: MailConfig) -> str:
    for a in (mc.sender, mc.smtp_user, mc.user):
        if a and "@" in a:
            return a.strip()
    return f"taizhang@{mc.smtp_host or 'localhost'}"


def open_smtp(cfg: Config) -> smtplib.SMTP:
    """A logged-in SMTP session with the [mail] settings; SmtpError (Chinese) when not."""
    from toolkit.outputs.receipt import SmtpError, smtp_connect
    mc = cfg.mail
    user = mc.smtp_user or mc.user
    password = os.environ.get(mc.smtp_password_env or mc.password_env or "")
    try:
        return smtp_connect(mc.smtp_host, mc.smtp_port, security=mc.smtp_security, user=user,
                            password=password, ca_file=ca_file(cfg), timeout=mc.timeout)
    except SmtpError:
        raise
    except Exception as e:          # never a traceback: the caller reports it
        log.exception("SMTP")
        raise SmtpError(f"连接发件服务器 {mc.smtp_host} 时出错：{e}。") from e


def quit_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        pass


def send_receipts(cfg: Config, state: MailState, result) -> None:
    """Send every receipt waiting in state (this run's and earlier failures); counts go to
    ``result`` (a MailRunResult)."""
    from toolkit.outputs.receipt import SmtpError, is_permanent
    pending = state.pending_receipts()
    if not pending:
        return
    mc = cfg.mail
    if not (mc.receipts and mc.smtp_host):
        result.receipts_pending = len(pending)
        return
    try:
        smtp = open_smtp(cfg)
    except SmtpError as e:
        result.problems.append(f"{e} 回执未发送，下次收取时重发。")
        result.receipts_pending = len(pending)
        return
    try:
        for r in pending:
            try:
                smtp.sendmail(from_address(mc), [r.recipient], r.body)
            except Exception as e:      # one refused address does not stop the others
                final = is_permanent(e)
                state.receipt_failed(r.message_id, str(e), final=final)
                if final:
                    result.receipts_failed += 1
                    result.problems.append(f"给 {r.recipient} 的回执被发件服务器拒绝：{e}。")
                else:
                    result.receipts_pending += 1
                if not final and not isinstance(e, smtplib.SMTPResponseException):
                    break                # the connection is gone: the rest wait for next run
                continue
            state.receipt_sent(r.message_id)
            result.receipts_sent += 1
    finally:
        quit_quietly(smtp)
    result.receipts_pending = len(state.pending_receipts())

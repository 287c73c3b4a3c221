"""Sending the township's mail: the receipts waiting in the mail state, and whose address is ours.

Shared by the mail intake (``toolkit.pipeline.mail``) and the reminders
(``toolkit.pipeline.remind``): the sender address, the addresses that are the
township's own (never answered), the receipt queue. Connecting, logging in and
telling a refused address from a passing failure is
``toolkit.intake.mail.transport``'s.
"""
from __future__ import annotations

import logging

from toolkit.core.config import Config, MailConfig
from toolkit.intake.mail.state import MailState
from toolkit.intake.mail.transport import SmtpError, SmtpSession, is_permanent, refusal_text, session_ended

log = logging.getLogger("taizhang.mail")


def own_addresses(mc: MailConfig) -> set[str]:
    return {a.strip().lower() for a in (mc.sender, mc.user, mc.smtp_user) if a and "@" in a}


def from_address(mc: MailConfig) -> str:
    for a in (mc.sender, mc.smtp_user, mc.user):
        if a and "@" in a:
            return a.strip()
    return f"taizhang@{mc.smtp_host or 'localhost'}"


def send_receipts(cfg: Config, state: MailState, result) -> None:
    """Send every receipt waiting in state (this run's and earlier failures); counts go to
    ``result`` (a MailRunResult). A receipt is marked sent only after the server took it:
    a kill in between sends it again next run, the same bytes with the same Message-ID."""
    pending = state.pending_receipts()
    if not pending:
        return
    mc = cfg.mail
    if not (mc.receipts and mc.smtp_host):
        result.receipts_pending = len(pending)
        return
    with SmtpSession(cfg) as session:
        for r in pending:
            try:
                session.send(from_address(mc), [r.recipient], r.body)
            except SmtpError as e:
                result.problems.append(f"{e} 回执未发送，下次收取时重发。")
                break
            except Exception as e:      # one refused address does not stop the others
                final = is_permanent(e)
                state.receipt_failed(r.message_id, refusal_text(e), final=final)
                if final:
                    result.receipts_failed += 1
                    result.problems.append(f"给 {r.recipient} 的回执被发件服务器拒绝：{refusal_text(e)}。")
                elif session_ended(e):
                    break           # a new session failed too: the rest wait for the next run
                continue
            state.receipt_sent(r.message_id)
            result.receipts_sent += 1
    result.receipts_pending = len(state.pending_receipts())

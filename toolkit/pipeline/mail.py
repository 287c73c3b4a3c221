"""Villages e-mail their ledgers: collect them from IMAP, archive, judge, answer.

``fetch_mail(cfg, settings)`` is one run:

1. log in (implicit TLS, STARTTLS, or plain for a server on this computer), open
   the folder, list messages not yet processed (no ``$Taizhang`` keyword, not in
   state/mail.sqlite), arrived in the last ``since_days`` days;
2. under the consolidation run lock: download each message, take its
   spreadsheets (also from .zip), keep each in the submission archive with
   sender, subject, arrival time, Message-ID and the receiving server's failed
   checks; then ask the judge (``toolkit.pipeline.judge``), the same one every
   command asks, what each file is and whether it counts;
3. per message, record it as handled and queue its Chinese receipt in one
   transaction, then send the queue by SMTP;
4. mark each handled message with the keyword, or move it to
   ``processed_folder``. Nothing is ever deleted.

One bad message never stops the run: it is reported and the rest are handled.

Killed at any moment, nothing is lost or counted wrongly: a file archived but not yet
judged is judged by the next run of any command by the same rules (a stranger's file is
held whoever judges it); a message not yet recorded is fetched again, its files found in
the archive with their verdicts, and answered then. The only repeat possible is a receipt
sent in the moment between the SMTP server's acceptance and the record of it: it goes
again, with the same Message-ID (see docs/design.md).
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from toolkit.core.config import Config, MailConfig
from toolkit.core.files import RunBusy, run_lock
from toolkit.core.issues import ERROR, Code, make_issue
from toolkit.core.settings import Settings
from toolkit.core.dates import when_text
from toolkit.intake.archive import USABLE, SubmissionArchive
from toolkit.intake.mail.decode import (Attachment, MalformedMessage, extract_attachments, failed_checks,
                                        header_text, parse_headers, parse_message, raw_header)
from toolkit.intake.mail.imap import (CONNECTION_LOST, Envelope, Mailbox, MailboxError, imap_utf7_decode,
                                      open_mailbox)
from toolkit.intake.mail.state import MailState
from toolkit.intake.mail.transport import MailConnectError
from toolkit.outputs.receipt import FileReport, SkippedFile, build_receipt, receipt_bytes
from toolkit.pipeline.book import saved_text
from toolkit.pipeline.judge import judge, recorded_issue
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.pipeline.sending import from_address, own_addresses, send_receipts
from toolkit.pipeline.submissions import materialise

log = logging.getLogger("taizhang.mail")

__all__ = ["fetch_mail", "file_report", "MailRunResult", "MailConnectError"]
HOLD_CODES = (Code.UNKNOWN_SENDER, Code.VILLAGE_MISMATCH, Code.AUTH_FAILED, Code.NOT_ON_ROSTER)

_NO_RECEIPT_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply")


@dataclass
class MailRunResult:
    """What one fetch did; ``to_dict()`` is the JSON of ``taizhang fetch-mail --json``."""
    host: str
    folder: str
    messages: int = 0               # new messages looked at
    already_done: int = 0           # found again, handled by an earlier run
    files: list[dict] = field(default_factory=list)     # one per spreadsheet
    skipped: list[dict] = field(default_factory=list)   # attachments or messages refused
    receipts_sent: int = 0
    receipts_failed: int = 0
    receipts_pending: int = 0
    problems: list[str] = field(default_factory=list)   # run-level trouble, Chinese
    notes: list[str] = field(default_factory=list)      # worth knowing, not trouble
    connect_error: str | None = None

    def count(self, *outcomes: str) -> int:
        return sum(1 for f in self.files if f["outcome"] in outcomes)

    @property
    def exit_code(self) -> int:
        """0 all accepted; 1 something needs a look (held, rejected, skipped, failed); 2 no connection."""
        if self.connect_error:
            return 2
        if (self.problems or self.skipped or self.receipts_failed
                or self.count("held", "rejected")):
            return 1
        return 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(accepted=self.count("ok", "has_errors"), held=self.count("held"),
                 rejected=self.count("rejected"), exit_code=self.exit_code)
        return d

    def summary_text(self) -> str:
        if self.connect_error:
            return self.connect_error
        lines = [f"收取邮件（{self.host}，文件夹“{self.folder}”）：新邮件 {self.messages} 封"
                 + (f"，另有 {self.already_done} 封此前已处理" if self.already_done else "") + "。",
                 f"表格文件：接收 {self.count('ok', 'has_errors')} 个（其中有错误 {self.count('has_errors')} 个），"
                 f"暂存待核 {self.count('held')} 个，拒收 {self.count('rejected')} 个；"
                 f"未处理的附件或邮件 {len(self.skipped)} 个。",
                 f"回执：已发送 {self.receipts_sent} 封"
                 + (f"，发送失败 {self.receipts_failed} 封" if self.receipts_failed else "")
                 + (f"，待下次重发 {self.receipts_pending} 封" if self.receipts_pending else "") + "。"]
        words = {"ok": "接收", "has_errors": "接收", "held": "暂存待核", "rejected": "拒收",
                 "withdrawn": "已撤回"}
        for f in self.files:
            lines.append(f"{words.get(f['outcome'], f['outcome'])}：{f['file']}"
                         f"（{f['village'] or '村未定'}，发件人 {f['sender']}）——{f['message']}")
        for s in self.skipped:
            lines.append(f"未处理：{s['file'] or s['subject']}（发件人 {s['sender']}）——{s['message']}")
        lines += self.problems + self.notes
        return "\n".join(lines)


@dataclass
class _Incoming:
    """One message being handled in this run."""
    env: Envelope
    message_id: str
    sender: str = ""
    subject: str = ""
    received: datetime | None = None
    auto: bool = False                                    # automatic mail: never answered
    auth: str | None = None                               # the receiving server's failed checks
    items: list[tuple[Attachment, object]] = field(default_factory=list)      # (file, Submission)
    skipped: list[SkippedFile] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    ready: bool = False             # taken apart (files archived): to be judged and recorded
    handled: bool = False           # recorded (or found recorded): flag/move it on the server
    failed: bool = False            # left for the next run


# --- the run ------------------------------------------------------------------------------

def fetch_mail(cfg: Config, settings: Settings, *, as_of: date) -> MailRunResult:
    """Fetch, archive, judge and answer the villages' mail. See the module doc.

    ``as_of`` is resolved by the caller (``toolkit.api.fetch_mail``)."""
    mc = cfg.mail
    result = MailRunResult(host=mc.host, folder=mc.folder)
    try:
        box = open_mailbox(cfg)
    except MailConnectError as e:
        result.connect_error = str(e)
        return result
    state = MailState(cfg.state)
    with box:
        try:
            box.select(mc.folder)
            todo = _new_messages(box, mc, state, result)
        except MailConnectError as e:
            result.connect_error = str(e)
            return result
        except (MailboxError, OSError, box.imap.error) as e:
            result.problems.append(f"读取邮箱失败：{e}。本次未处理任何邮件，请稍后再试。")
            return result
        try:
            _ingest(box, cfg, settings, as_of, state, todo, result)
        except Exception as e:      # e.g. the archive folder cannot be written
            log.exception("mail intake")
            result.problems.append(f"收取邮件时出错：{e}。未处理完的邮件下次收取时重试；"
                                   "请检查存档文件夹是否可写、磁盘是否已满。")
        send_receipts(cfg, state, result)
        _finish_on_server(box, mc, [m for m in todo if m.handled and not m.failed], result)
    return result


def _new_messages(box: Mailbox, mc: MailConfig, state: MailState,
                  result: MailRunResult) -> list[_Incoming]:
    uids = box.candidates(since_days=mc.since_days)
    todo: list[_Incoming] = []
    for env in box.envelopes(uids):
        mid = env.message_id or ""
        if mid and state.is_processed(mid):
            result.already_done += 1
            todo.append(_Incoming(env, mid, handled=True))      # only needs its flag/move
            continue
        todo.append(_Incoming(env, mid))
    return todo


def _ingest(box: Mailbox, cfg: Config, settings: Settings, as_of: date, state: MailState,
            todo: list[_Incoming], result: MailRunResult) -> None:
    """Download, archive, read, judge and record; under the consolidation lock."""
    fresh = [m for m in todo if not m.handled]
    if not fresh:
        return
    try:
        with run_lock(cfg.state, timeout=120):
            _ingest_locked(box, cfg, settings, as_of, state, fresh, result)
    except RunBusy as e:
        result.problems.append(f"{e}本次未收取新邮件；之后再运行 taizhang fetch-mail 即可。")


def _ingest_locked(box: Mailbox, cfg: Config, settings: Settings, as_of: date, state: MailState,
                   fresh: list[_Incoming], result: MailRunResult) -> None:
    with SubmissionArchive(cfg.archive) as archive:
        for m in fresh:
            if box.broken:
                break
            _download(box, cfg.mail, archive, state, m, result)
        ready = [m for m in fresh if m.ready and not m.failed]
        with ParseCache(Path(cfg.state) / "parsed") as cache:
            j = judge(archive, settings, as_of=as_of, cache=cache, counted=False,
                      check=[sub.id for m in ready for _, sub in m.items])
        result.problems += j.problems
        for m in ready:
            if any(sub.id not in j.checked for _, sub in m.items):
                m.failed = True         # a file could not be checked: the message waits
                continue
            m.reports = [file_report(cfg, att.label, j.standing, j.checked[sub.id],
                                     same_as=_same_as(j.checked[sub.id].submission, m))
                         for att, sub in m.items]
            _record(cfg, settings, state, archive, m, box.uidvalidity, result)


def _download(box: Mailbox, mc: MailConfig, archive, state: MailState, m: _Incoming,
              result: MailRunResult) -> None:
    """Take one message apart and archive its spreadsheets; never raises for a bad message."""
    limit = int(mc.max_attachment_mb * 2**20)
    try:
        if m.env.size > 6 * limit + 2**20:          # far beyond any allowed attachment
            raw = box.fetch(m.env.uid, header_only=True)
            _describe(m, _headers_only(raw), raw, archive)
            m.skipped.append(SkippedFile(m.subject, make_issue(
                Code.ATTACHMENT_TOO_LARGE, file=f"邮件“{m.subject}”", size=f"{m.env.size / 2**20:.1f}",
                limit=f"{mc.max_attachment_mb:g}")))
            m.ready = True
            return
        raw = box.fetch(m.env.uid)
        try:
            msg = parse_message(raw)
        except MalformedMessage as e:
            _describe(m, _headers_only(raw), raw, archive)
            m.skipped.append(SkippedFile("", make_issue(Code.MALFORMED_MESSAGE, file=f"“{m.subject}”",
                                                        reason=str(e))))
            m.ready = True
            return
        _describe(m, msg, raw, archive)
        if not m.env.message_id and state.is_processed(m.message_id):
            m.handled = True            # no Message-ID: known by the hash of its bytes
            result.already_done += 1
            return
        files = extract_attachments(msg, max_bytes=limit)
        m.skipped += [SkippedFile(a.label, a.problem) for a in files if a.problem is not None]
        for att in (a for a in files if a.problem is None):
            sub = archive.add(att.data, filename=att.filename, source="mail", sender=m.sender,
                              subject=m.subject, message_id=m.message_id, received=m.received,
                              auth=m.auth)
            m.items.append((att, sub))
        if not files:
            m.skipped.append(SkippedFile("", make_issue(Code.NO_ATTACHMENT, subject=m.subject)))
        m.ready = True
    except CONNECTION_LOST as e:
        m.failed = box.broken = True
        result.problems.append(f"与收件服务器的连接中断（{e}），其余邮件下次收取时处理。")
    except (MailboxError, OSError) as e:
        m.failed = True
        result.problems.append(f"邮件 UID {m.env.uid}（{m.subject or '主题未知'}）未能处理：{e}。"
                               "下次收取时重试。")
    except Exception as e:          # a bug must not stop the other messages
        m.failed = True
        log.exception("message %s", m.env.uid)
        result.problems.append(f"邮件 UID {m.env.uid}（{m.subject or '主题未知'}）处理出错：{e}。"
                               "下次收取时重试；如反复出现请联系技术支持。")


def _headers_only(raw: bytes):
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return parse_headers(head + b"\r\n\r\n")


def _describe(m: _Incoming, msg, raw: bytes, archive) -> None:
    """Sender, subject, arrival time and Message-ID (made up from the bytes when missing)."""
    addrs = getaddresses([header_text(msg, "From")])
    m.sender = (addrs[0][1] if addrs else "").strip().lower()
    m.subject = header_text(msg, "Subject")
    if not m.message_id:
        m.message_id = header_text(msg, "Message-ID") or \
            f"<{hashlib.sha256(raw).hexdigest()[:32]}@taizhang.invalid>"
    m.received = m.env.internal_date or _date_header(msg) or datetime.now()
    m.auth = failed_checks(msg)
    m.auto = _is_automatic(msg, m.sender)


def _date_header(msg) -> datetime | None:
    try:
        d = parsedate_to_datetime(header_text(msg, "Date"))
        return d.astimezone().replace(tzinfo=None) if d.tzinfo else d
    except (TypeError, ValueError, IndexError):
        return None


def _is_automatic(msg, sender: str) -> bool:
    """Bounces, auto-replies and lists get no receipt (no mail loops, no storms)."""
    auto = (raw_header(msg, "Auto-Submitted") or "no").strip().lower()
    precedence = (raw_header(msg, "Precedence") or "").strip().lower()
    local = sender.split("@")[0]
    return (auto != "no" or precedence in ("bulk", "junk", "list") or raw_header(msg, "List-Id")
            is not None or not sender or any(local.startswith(x) for x in _NO_RECEIPT_SENDERS))



# --- what the judge said, for the sender ----------------------------------------------------------

def _same_as(sub, m: _Incoming) -> str | None:
    """When the same file came before in another message: that time."""
    return when_text(sub.received) if sub.message_id not in (None, m.message_id) else None


def file_report(cfg: Config, label: str, standing, checked, *, same_as: str | None = None,
                folder: str = "邮件回执") -> FileReport:
    """A receipt's account of one file (the mail's receipt, the office page's answer): the
    judge's verdict, the file's issues (and why it is held), an annotated copy in
    ``cfg.annotated / folder / <submission id>`` when there are issues to show."""
    sub, lg = checked.submission, checked.ledger
    outcome = "withdrawn" if sub.withdrawn else sub.outcome
    errors, warnings = lg.errors, lg.warnings       # a hold's notice is no fault of the file
    issues = list(lg.issues)
    if sub.outcome == "held" and sub.code:
        issues = [recorded_issue(sub.code, sub.message, sub.filename), *issues]
    same_as = same_as if outcome != "held" else None
    older = None
    if sub.outcome in USABLE and not sub.counts and not sub.withdrawn and sub.village:
        now = standing.villages[sub.village].counted
        older = f"“{now.filename}”（{saved_text(now.saved)}）" if now is not None else None
    annotated = None
    if (lg.errors or lg.warnings) and lg.readable and outcome in (*USABLE, "rejected"):
        annotated = _annotated(cfg, sub, lg, folder)
    return FileReport(label, sub.village, outcome, lg.n_cases, errors, warnings, issues,
                      annotated, same_as, older)


def _annotated(cfg: Config, sub, lg, folder: str) -> Path | None:
    """The village's file with its problem cells coloured, for the receipt (None: not made)."""

    from toolkit.outputs.fill import annotate_file
    try:
        with tempfile.TemporaryDirectory(prefix="taizhang-mail-") as work:
            original = materialise(sub, Path(work))        # under its own name, as sent
            return annotate_file(dataclasses.replace(lg, path=original, issues=list(lg.issues)),
                                 cfg.annotated / folder / str(sub.id))
    except Exception:               # the receipt goes out without the copy
        log.exception("annotating %s", sub.filename)
        return None


# --- recording and answering -------------------------------------------------------------------

def _record(cfg: Config, settings: Settings, state: MailState, archive, m: _Incoming,
            uidvalidity: int, result: MailRunResult) -> None:
    """The message is handled: its files in the run's result, its receipt queued and the
    message marked processed in one transaction of the mail state."""
    base = {"message_id": m.message_id, "sender": m.sender, "subject": m.subject}
    for rep in m.reports:
        result.files.append({**base, "file": rep.filename, "village": rep.village,
                             "outcome": rep.outcome, "counted": rep.outcome in ("ok", "has_errors")
                             and rep.older_than is None, "cases": rep.cases, "errors": rep.errors,
                             "warnings": rep.warnings, "annotated": str(rep.annotated or "") or None,
                             "message": _why(rep)})
    for skip in m.skipped:
        result.skipped.append({**base, "file": skip.filename, "code": skip.issue.code,
                               "message": skip.issue.message})
    receipt = _receipt(cfg, settings, m) if _answer_wanted(cfg.mail, settings, archive, m) else None
    state.mark_processed(m.message_id, folder=cfg.mail.folder, uidvalidity=uidvalidity,
                         uid=m.env.uid, sender=m.sender, subject=m.subject,
                         summary={"files": [(r.filename, r.outcome) for r in m.reports],
                                  "skipped": [s.filename for s in m.skipped]}, receipt=receipt)
    if receipt is not None and m.items:
        archive.mark_answered(m.message_id)
    m.handled = True
    result.messages += 1


def _why(rep: FileReport) -> str:
    if rep.outcome == "held":
        hit = next((i for i in rep.issues if i.code in HOLD_CODES), None)
        return hit.message if hit else "暂存待核"
    if rep.outcome == "rejected":
        hit = next((i for i in rep.issues if i.severity == ERROR), None)
        return hit.message if hit else "文件无法读取"
    text = f"{rep.cases} 件，错误 {rep.errors} 处，提醒 {rep.warnings} 处"
    return text + (f"；比已采用的{rep.older_than}旧，未采用" if rep.older_than else "")


def _answer_wanted(mc: MailConfig, settings: Settings, archive, m: _Incoming) -> bool:
    """One receipt per message; none to machines, to ourselves, or for a message some earlier
    run already answered (its mail state lost, the archive remembering it)."""
    if not (mc.receipts and mc.smtp_host) or m.auto or m.sender in own_addresses(mc):
        return False
    if m.reports:
        return not archive.answered(m.message_id)
    return bool(m.skipped) and settings.village_for_email(m.sender) is not None


def _receipt(cfg: Config, settings: Settings, m: _Incoming) -> tuple[str, str, bytes]:
    """(recipient, receipt Message-ID, the whole e-mail) of this message's receipt."""
    village = settings.village_for_email(m.sender)
    stranger = village is None or m.auth is not None      # not even greeted by the From's village
    msg = build_receipt(to=m.sender, from_addr=from_address(cfg.mail),
                        township=settings.campaign.township, original_id=m.message_id,
                        original_subject=m.subject, received=m.received or datetime.now(),
                        files=m.reports, skipped=m.skipped,
                        sender_village=None if stranger else village, stranger=stranger)
    return m.sender, str(msg["Message-ID"]), receipt_bytes(msg)


# --- the server side ----------------------------------------------------------------------------

def _finish_on_server(box: Mailbox, mc: MailConfig, msgs: list[_Incoming],
                      result: MailRunResult) -> None:
    """Keyword on each handled message, then move it if a folder is set. Never delete."""
    if box.broken:
        return                  # flagged next run: the mail state already knows them
    folder = mc.processed_folder.strip()
    if folder and msgs:
        try:
            box.ensure_folder(folder)
        except Exception as e:
            result.problems.append(f"无法建立文件夹“{folder}”：{e}；邮件只做标记，不移动。")
            folder = ""
    kept = 0
    for m in msgs:
        try:
            box.mark_processed(m.env.uid)
            if folder and not box.move(m.env.uid, folder):
                kept += 1
        except Exception as e:
            result.problems.append(f"邮件“{m.subject or m.env.uid}”已处理，但在服务器上标记或移动失败：{e}。"
                                   "下次收取时不会重复处理。")
    if kept:
        result.notes.append(f"服务器不支持单独移除邮件（无 MOVE/UIDPLUS），{kept} 封邮件已复制到"
                               f"“{folder}”，原邮件保留在“{imap_utf7_decode(mc.folder)}”中（已标记）。")

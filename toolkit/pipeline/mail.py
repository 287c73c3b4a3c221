"""Villages e-mail their ledgers: collect them from IMAP, archive, judge, answer.

``fetch_mail(cfg, settings)`` is one run:

1. log in (implicit TLS, STARTTLS, or plain for a server on this computer), open
   the folder, list messages not yet processed (no ``$Taizhang`` keyword, not in
   state/mail.sqlite), arrived in the last ``since_days`` days;
2. under the consolidation run lock (so a consolidation never judges a mailed
   file before its sender is checked): download each message, take its
   spreadsheets (also from .zip), keep each in the submission archive with
   sender, subject, arrival time and Message-ID, read and validate them, decide
   the village from the sender's address (roster) checked against the file's own
   village, and record the outcome (ok / has_errors / rejected / held);
3. queue one Chinese receipt per message, then send the queue by SMTP;
4. mark each handled message with the keyword, or move it to
   ``processed_folder``. Nothing is ever deleted.

One bad message never stops the run: it is reported and the rest are handled.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from toolkit.core.config import Config, MailConfig
from toolkit.core.issues import Code, Issue, make_issue
from toolkit.intake.mail.decode import (Attachment, MalformedMessage, extract_attachments, header_text,
                          parse_message, raw_header)
from toolkit.intake.mail.imap import Envelope, Mailbox, MailboxError, MailConnectError, imap_utf7_decode
from toolkit.intake.mail.state import MailState
from toolkit.outputs.receipt import FileReport, SkippedFile
from toolkit.core.settings import Settings
from toolkit.pipeline.sending import ca_file, from_address, own_addresses, send_receipts

log = logging.getLogger("taizhang.mail")

__all__ = ["fetch_mail", "MailRunResult", "MailConnectError", "decide_village", "same_village"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
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
    known_before: bool = False
    auto: bool = False                                    # automatic mail: never answered
    items: list[tuple[Attachment, object, bool]] = field(default_factory=list)
    # (file, Submission, whether the archive had already judged those bytes)
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
        password = imap_password(mc.password_env, mc)
        box = Mailbox(mc.host, mc.port, security=mc.security, user=mc.user, password=password,
                      ca_file=ca_file(cfg), timeout=mc.timeout)
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


def imap_password(env_name: str, mc: MailConfig) -> str:
    """The mailbox password from its environment variable; plain text only to this computer."""
    if mc.security == "plain" and mc.host.lower() not in LOCAL_HOSTS:
        raise MailConnectError(f"[mail] security = \"plain\" 只允许连接本机的邮件服务器；"
                               f"连接 {mc.host} 请改用 ssl（端口 993）或 starttls（端口 143），"
                               "以免密码明文在网上传送。")
    value = os.environ.get(env_name or "")
    if value is None:
        raise MailConnectError(
            f"没有找到邮箱密码：环境变量 {env_name or '（未指定）'} 未设置。请把邮箱密码（163、QQ 等邮箱为"
            f"“授权码”）放在该环境变量中（Windows：setx {env_name or 'TAIZHANG_MAIL_PASSWORD'} 授权码），"
            "然后重新打开命令行窗口；taizhang.toml 中只写变量名 password_env。")
    return value


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
    from toolkit.core.files import RunBusy, run_lock
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
    import shutil

    from toolkit.intake.archive import SubmissionArchive
    archive = SubmissionArchive(cfg.archive)
    for m in fresh:
        if box.broken:
            break
        _download(box, cfg.mail, archive, state, m, result)
    ready = [m for m in fresh if m.ready and not m.failed]
    work = Path(tempfile.mkdtemp(prefix="taizhang-mail-"))
    try:
        _judge(cfg, settings, as_of, archive, [m for m in ready if m.items], work)
    except Exception as e:      # a reader/validator bug: keep the files out of the master
        log.exception("judging mailed files")
        _hold_unjudged(archive, ready, e, result)
        ready = [m for m in ready if not m.items]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for m in ready:
        _record(cfg, settings, state, m, box.uidvalidity, result)


def _hold_unjudged(archive, msgs: list[_Incoming], error: Exception, result: MailRunResult) -> None:
    """Files that could not be judged are held, so no consolidation counts them unchecked."""
    for m in msgs:
        for _, sub, _ in m.items:
            if archive.get(sub.id).outcome is None:
                archive.set_outcome(sub.id, village=None, outcome="held", code=Code.UNREADABLE,
                                    message=f"邮件收取时校验出错（{error}），暂存待核。")
    result.problems.append(f"校验邮件附件时出错：{error}。这些文件已暂存待核，邮件下次收取时重新处理；"
                           "如反复出现请联系技术支持。")


def _download(box: Mailbox, mc: MailConfig, archive, state: MailState, m: _Incoming,
              result: MailRunResult) -> None:
    """Take one message apart and archive its spreadsheets; never raises for a bad message."""
    import imaplib
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
                              subject=m.subject, message_id=m.message_id, received=m.received)
            m.items.append((att, sub, sub.outcome is not None))
        if not files:
            m.skipped.append(SkippedFile("", make_issue(Code.NO_ATTACHMENT, subject=m.subject)))
        m.ready = True
    except (imaplib.IMAP4.abort, ConnectionError, TimeoutError) as e:
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
    from toolkit.intake.mail.decode import parse_headers
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
    m.known_before = archive.has_message(m.message_id)
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



# --- judging --------------------------------------------------------------------------------

def _judge(cfg: Config, settings: Settings, as_of: date, archive, msgs: list[_Incoming],
           work: Path) -> None:
    """Read and validate every new file at once, then decide each one's outcome."""
    from toolkit.pipeline.submissions import materialise, name_as_sent
    from toolkit.read.sandboxed import read_ledgers
    from toolkit.validation.rules import validate_ledgers
    subs = {sub.id: sub for m in msgs for _, sub, _ in m.items}
    if not subs:
        return
    paths = {sid: materialise(sub, work) for sid, sub in subs.items()}
    ledgers = dict(zip(paths, read_ledgers(list(paths.values()))))
    validate_ledgers(list(ledgers.values()), as_of=as_of, settings=settings)
    for sid, lg in ledgers.items():      # the copy read stays lg.path: receipts annotate it
        name_as_sent(lg, paths[sid], subs[sid].filename)
    for m in msgs:
        for att, sub, _ in m.items:
            m.reports.append(_report(cfg, settings, archive, m, att, sub, ledgers[sub.id]))


def _report(cfg: Config, settings: Settings, archive, m: _Incoming, att: Attachment, sub,
            lg) -> FileReport:
    """Decide (unless this sender sent these bytes before), annotate, describe.

    The archive keys a submission by bytes, sender and channel, so an earlier judgement
    found here is this sender's own; a stranger's copy of a village's file is its own
    submission and is judged (held) afresh."""
    import dataclasses

    from toolkit.intake.archive import COUNTED
    from toolkit.pipeline.submissions import case_index_of, fatal_issue
    from toolkit.core.issues import count
    village, outcome, extra = decide_village(lg, m.sender, settings, filename=att.filename)
    issues = lg.issues + ([extra] if extra else [])
    errors, warnings = count(lg.issues)     # the hold's own notice is no fault of the file
    same_as = None
    current = archive.get(sub.id)       # fresh: an earlier message of this run may have judged it
    if current.outcome is None or (current.outcome == "held" and outcome in COUNTED):
        why = extra if outcome == "held" else (fatal_issue(lg) if outcome == "rejected" else None)
        archive.set_outcome(sub.id, village=village, outcome=outcome, cases=lg.n_cases,
                            errors=errors, warnings=warnings, code=why.code if why else None,
                            message=why.message if why else None,
                            case_index=case_index_of(lg) if outcome in COUNTED else None)
    else:       # this sender sent the same bytes before: that judgement stands
        village, outcome = current.village, current.outcome
        if current.withdrawn:
            outcome = "withdrawn"
        if outcome != "held":
            same_as = current.received.replace("T", " ")[:16]
            issues = list(lg.issues)
    annotated = None
    if issues and lg.readable and outcome in (*COUNTED, "rejected"):
        try:
            from toolkit.outputs.fill import annotate_file
            annotated = annotate_file(dataclasses.replace(lg, issues=issues),
                                      cfg.annotated / "邮件回执" / str(sub.id))
        except Exception:               # the receipt goes out without the copy
            log.exception("annotating %s", att.filename)
    return FileReport(att.label, village, outcome, lg.n_cases, errors, warnings, issues,
                      annotated, same_as)


def decide_village(lg, sender: str, settings: Settings, *,
                   filename: str = "") -> tuple[str | None, str, Issue | None]:
    """(village, outcome, issue) for one mailed file.

    The sender's address names the village (roster); the file's own village
    (marker, 填报单位, column; not a guess from the file name) must agree.
    Unknown sender or a disagreement: ``held`` for the township to look at.
    """
    from toolkit.pipeline.submissions import fatal_issue
    expected = settings.village_for_email(sender) if sender else None
    own = lg.village if lg.readable and lg.village_source not in (None, "filename") else None
    unknown = None if expected else make_issue(Code.UNKNOWN_SENDER, sender=sender or "（未知）",
                                               file=filename or str(lg.path))
    if fatal_issue(lg) is not None:
        return expected or own, "rejected", unknown
    if expected is None:
        return own, "held", unknown
    if own and not same_village(own, expected, settings.campaign.township):
        return expected, "held", make_issue(Code.VILLAGE_MISMATCH, village=own, expected=expected,
                                            file=filename or str(lg.path))
    return expected, ("has_errors" if lg.errors else "ok"), None


def same_village(a: str, b: str, township: str = "") -> bool:
    """东村 = 南郊乡东村 = 东村村委会; 前垟 = 前垟村."""
    def norm(v: str) -> str:
        v = "".join(v.split()).replace("（", "(").replace("）", ")")
        if township and v.startswith(township):
            v = v[len(township):]
        for tail in ("村民委员会", "居民委员会", "村委会", "居委会"):
            if v.endswith(tail) and len(v) > len(tail):
                v = v[:-len(tail)] + ("村" if tail.startswith("村") else "社区")
        return v
    x, y = norm(a), norm(b)
    return x == y or x in (y + "村", y + "社区") or y in (x + "村", x + "社区")


# --- recording and answering -------------------------------------------------------------------

def _record(cfg: Config, settings: Settings, state: MailState, m: _Incoming, uidvalidity: int,
            result: MailRunResult) -> None:
    base = {"message_id": m.message_id, "sender": m.sender, "subject": m.subject}
    for rep in m.reports:
        result.files.append({**base, "file": rep.filename, "village": rep.village,
                             "outcome": rep.outcome, "cases": rep.cases, "errors": rep.errors,
                             "warnings": rep.warnings, "annotated": str(rep.annotated or "") or None,
                             "message": _why(rep)})
    for skip in m.skipped:
        result.skipped.append({**base, "file": skip.filename, "code": skip.issue.code,
                               "message": skip.issue.message})
    if _answer_wanted(cfg.mail, settings, m):
        _queue_receipt(cfg, settings, state, m)
    state.mark_processed(m.message_id, folder=cfg.mail.folder, uidvalidity=uidvalidity,
                         uid=m.env.uid, sender=m.sender, subject=m.subject,
                         summary={"files": [(r.filename, r.outcome) for r in m.reports],
                                  "skipped": [s.filename for s in m.skipped]})
    m.handled = True
    result.messages += 1


def _why(rep: FileReport) -> str:
    for code in (Code.UNKNOWN_SENDER, Code.VILLAGE_MISMATCH):
        hit = next((i for i in rep.issues if i.code == code), None)
        if hit is not None and rep.outcome == "held":
            return hit.message
    if rep.outcome == "rejected":
        from toolkit.core.issues import ERROR
        hit = next((i for i in rep.issues if i.severity == ERROR), None)
        return hit.message if hit else "文件无法读取"
    return f"{rep.cases} 件，错误 {rep.errors} 处，提醒 {rep.warnings} 处"


def _answer_wanted(mc: MailConfig, settings: Settings, m: _Incoming) -> bool:
    """One receipt per message; none to machines, to ourselves, or for a message an earlier
    run already answered (its mail state lost, the archive remembering it)."""
    if not (mc.receipts and mc.smtp_host) or m.auto or m.sender in own_addresses(mc):
        return False
    if m.reports:
        return not (m.known_before and all(judged for _, _, judged in m.items))
    return bool(m.skipped) and settings.village_for_email(m.sender) is not None


def _queue_receipt(cfg: Config, settings: Settings, state: MailState, m: _Incoming) -> None:
    from toolkit.outputs.receipt import build_receipt, receipt_bytes
    village = settings.village_for_email(m.sender)
    msg = build_receipt(to=m.sender, from_addr=from_address(cfg.mail),
                        township=settings.campaign.township, original_id=m.message_id,
                        original_subject=m.subject, received=m.received or datetime.now(),
                        files=m.reports, skipped=m.skipped, sender_village=village,
                        stranger=village is None)
    state.queue_receipt(m.message_id, m.sender, msg["Message-ID"], receipt_bytes(msg))


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

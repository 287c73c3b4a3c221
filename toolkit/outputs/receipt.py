"""The Chinese receipt e-mailed back to a village (rendering only: sending is
``toolkit.pipeline.sending``'s, over ``toolkit.intake.mail.transport``).

One receipt per incoming message: for each spreadsheet the village, the file,
cases read, errors and warnings, the first issues with their cell and what to
do, and the annotated copy attached when there are issues. Personal data in any
quoted value is masked (toolkit.outputs.privacy). The message is proper MIME: UTF-8
text, the attachment name RFC 2231-encoded (plus an RFC 2047 ``name`` for old
Outlook and Foxmail), a Message-ID of its own, In-Reply-To/References to the
village's message, and Auto-Submitted so auto-responders do not answer it.
"""
from __future__ import annotations

import email.policy
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from toolkit.core.issues import ERROR, Code, Issue
from toolkit.outputs.privacy import mask_address, mask_text
from toolkit.outputs.report import SEVERITY_WORD

MAX_ISSUES = 20
_CN_NUMBERS = "一二三四五六七八九十"
_ADDRESS_COLUMNS = ("住址", "家庭住址", "现住址", "户籍地址")
_OUTCOME_WORDS = {
    "ok": "已收到，未发现错误，已计入乡级总台账。",
    "has_errors": "已收到，已计入乡级总台账，但有错误需要改正。",
    "rejected": "未能读取，未计入乡级总台账，请改正后重新报送。",
    "held": "已暂存，待乡信访办核实后处理，暂不计入乡级总台账。",
    "withdrawn": "此前已收到，乡信访办已将其撤回，不计入乡级总台账；如需计入请与乡信访办联系。",
    "older": "已收到，但不是本村最新的台账，未计入乡级总台账（见下方说明）。",
}
_MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
    ".xls": ("application", "vnd.ms-excel"),
}


@dataclass
class FileReport:
    """What became of one spreadsheet of the message."""
    filename: str
    village: str | None
    outcome: str                    # ok | has_errors | rejected | held | withdrawn
    cases: int = 0
    errors: int = 0
    warnings: int = 0
    issues: list[Issue] = field(default_factory=list)
    annotated: Path | None = None
    same_as: str | None = None      # when the same file was received before: that time
    older_than: str | None = None   # usable, but an older version than the one counted (its name)


@dataclass
class SkippedFile:
    filename: str
    issue: Issue


def issue_parts(issue: Issue) -> dict[str, str]:
    """One issue as the village is told it (the receipt's line, the office page's table row):
    level, sheet, cell (or row), case, what is wrong, what to do; personal data masked."""
    text = issue.message
    if issue.file and ("/" in issue.file or "\\" in issue.file):
        # name the file as the village sent it, never the township's folders
        text = text.replace(issue.file, issue.file.replace("\\", "/").rsplit("/", 1)[-1])
    if issue.column in _ADDRESS_COLUMNS and issue.value:
        text = text.replace(str(issue.value), mask_address(issue.value))
    return {"level": SEVERITY_WORD.get(issue.severity, "提醒"), "sheet": issue.sheet or "",
            "cell": issue.cell or (f"第{issue.row}行" if issue.row else ""),
            "case": mask_text(issue.case_id or ""), "message": mask_text(text),
            "action": mask_text(issue.action or "")}


def quote_issue(issue: Issue) -> str:
    """One issue as a line of the receipt: where, what, what to do; personal data masked."""
    p = issue_parts(issue)
    where = "，".join(x for x in (
        f"工作表“{p['sheet']}”" if p["sheet"] else "",
        (f"单元格 {p['cell']}" if issue.cell else p["cell"]),
        f"案件 {p['case']}" if p["case"] else "") if x)
    line = f"[{p['level']}] {where + '：' if where else ''}{p['message']}"
    if p["action"]:
        line += f" 怎么改：{p['action']}"
    return line


# Why a file is held, told to the sender (the catalogue's action addresses the township).
_HELD_ADVICE = {
    Code.UNKNOWN_SENDER: "请用乡信访办登记的本村（社区）邮箱重新发送，或请乡信访办登记这个邮箱。",
    Code.VILLAGE_MISMATCH: "请确认是否发错了文件；如确是本村台账，请改正表头“填报单位”中的村名后重新报送。",
    Code.AUTH_FAILED: "如确是本村所发，请直接与乡信访办联系核实。",
    Code.LINK_INVALID: "请向乡信访办索取本村新的报送链接。",
}
# Held because the sender cannot be trusted: the receipt reveals nothing about the file.
_UNTRUSTED = {Code.UNKNOWN_SENDER: "发件邮箱未在乡信访办登记。",
              Code.AUTH_FAILED: "这封邮件未通过收件服务器的发件人身份验证。"}


def from_stranger(rep: FileReport) -> bool:
    """Held because the sender is on no roster or not proven to be who it says."""
    return rep.outcome == "held" and any(i.code in _UNTRUSTED for i in rep.issues)


def _stranger_section(n: int, rep: FileReport) -> list[str]:
    """Only that the file arrived and waits: no village, no counts, no comparison (also for a
    stranger's file a clerk has released: what counts is the township's business)."""
    code = next((i.code for i in rep.issues if i.code in _UNTRUSTED), Code.UNKNOWN_SENDER)
    return [f"{_ordinal(n)}、文件“{rep.filename}”",
            "    结果：已收到，暂存待乡信访办核实。",
            f"    说明：{_UNTRUSTED[code]}{_HELD_ADVICE[code]}"]


def _file_section(n: int, rep: FileReport, stranger: bool = False) -> list[str]:
    if stranger or from_stranger(rep):
        return _stranger_section(n, rep)
    head = f"{_ordinal(n)}、文件“{rep.filename}”"
    lines = [head, f"    村（社区）：{rep.village or '未能确定'}", f"    结果：{outcome_text(rep)}"]
    lines += [f"    {line}" for line in file_notes(rep)]
    lines.append(f"    读取案件：{rep.cases} 件；错误 {rep.errors} 处，提醒 {rep.warnings} 处。")
    listed = listed_issues(rep)
    if listed:
        many = len(listed) > MAX_ISSUES
        lines.append(f"    问题清单（{f'前 {MAX_ISSUES} 条' if many else f'共 {len(listed)} 条'}，错误在前）：")
        for i, issue in enumerate(listed[:MAX_ISSUES], start=1):
            lines.append(f"    {i}. {quote_issue(issue)}")
        if many:
            more = "见附件的“校验结果”工作表" if rep.annotated is not None else "请改正以上问题后重新报送"
            lines.append(f"    ……另有 {len(listed) - MAX_ISSUES} 条未列出，{more}。")
    if rep.annotated is not None:
        lines.append(f"    附件“{rep.annotated.name}”中已用颜色标出有问题的单元格（红色为错误，黄色为提醒），"
                     "并附“校验结果”工作表；请在本村原表中改正后重新报送。")
    return lines


def outcome_text(rep: FileReport) -> str:
    """What became of the file, in the receipt's words."""
    return _OUTCOME_WORDS["older"] if rep.older_than else _OUTCOME_WORDS.get(rep.outcome, rep.outcome)


def _held_issues(rep: FileReport) -> list[Issue]:
    return [i for i in rep.issues if i.code in _HELD_ADVICE] if rep.outcome == "held" else []


def file_notes(rep: FileReport) -> list[str]:
    """Why it is held, that it came before, that it is an older version (原因/说明 lines)."""
    lines = [f"原因：{mask_text(i.message)}{_HELD_ADVICE[i.code]}" for i in _held_issues(rep)]
    if rep.same_as:
        lines.append(f"说明：此文件与 {rep.same_as} 收到的文件内容完全相同。")
    if rep.older_than:
        lines.append(f"说明：这份台账的保存时间早于乡里已采用的本村台账{rep.older_than}，是较早的版本，"
                     "暂未采用；如确要以这份为准，请与乡信访办联系。")
    return lines


def listed_issues(rep: FileReport) -> list[Issue]:
    """The file's issues as the village is told them: errors first, then by row and cell."""
    held = _held_issues(rep)
    return sorted((i for i in rep.issues if i not in held),
                  key=lambda i: (i.severity != ERROR, i.row or 0, i.cell or ""))


def _ordinal(n: int) -> str:
    return _CN_NUMBERS[n] if n < len(_CN_NUMBERS) else str(n + 1)


def receipt_subject(files: list[FileReport], skipped: list[SkippedFile], subject: str,
                    stranger: bool = False) -> str:
    if stranger and files:
        state = "已收到，待核实"
    elif any(f.outcome == "held" for f in files):
        state = "暂存待核"
    elif any(f.outcome == "rejected" for f in files) or (skipped and not files):
        state = "未能处理，请重新报送"
    else:
        errors = sum(f.errors for f in files)
        state = f"已收到，错误 {errors} 处" if errors else "已收到"
    return f"回执：{subject or '台账'}（{state}）"


def receipt_text(*, township: str, received: datetime, subject: str, files: list[FileReport],
                 skipped: list[SkippedFile], note: str | None = None,
                 sender_village: str | None = None, stranger: bool = False) -> str:
    """``sender_village``: the roster's village of the sender (greets it even without files);
    ``stranger``: the sender is on no roster, so no file's village, counts or issues are told."""
    villages = [] if stranger else sorted({f.village for f in files if f.village and f.outcome != "held"})
    if sender_village and not villages:
        villages = [sender_village]
    lines = [f"{'、'.join(villages) or '您好'}：", "",
             f"{township}信访办已于 {received:%Y年%m月%d日 %H:%M} 收到你们的邮件“{subject or '（无主题）'}”。"
             "以下是台账工具自动核对的结果。", ""]
    if note:
        lines += [note, ""]
    for n, rep in enumerate(files):
        lines += _file_section(n, rep, stranger) + [""]
    for n, skip in enumerate(skipped, start=len(files)):
        lines += [f"{_ordinal(n)}、{'附件“' + skip.filename + '”' if skip.filename else '邮件'}：未处理。",
                  f"    {mask_text(skip.issue.message)} 怎么办：{skip.issue.action}", ""]
    lines += ["为保护信访人个人信息，本回执中的身份证号、联系电话和住址已部分隐藏。",
              f"本邮件由{township}信访积案台账工具自动发送，请勿直接回复；如有疑问请与乡信访办联系。"]
    return "\n".join(lines) + "\n"


def build_receipt(*, to: str, from_addr: str, township: str, original_id: str,
                  original_subject: str, received: datetime, files: list[FileReport],
                  skipped: list[SkippedFile], note: str | None = None,
                  sender_village: str | None = None, stranger: bool = False) -> Message:
    """The receipt as a MIME message (compat32 classes: their folding is well tried)."""
    text = receipt_text(township=township, received=received, subject=original_subject,
                        files=files, skipped=skipped, note=note, sender_village=sender_village,
                        stranger=stranger)
    body = MIMEText(text, "plain", "utf-8")
    annotated = [] if stranger else [f.annotated for f in files
                                     if f.annotated is not None and f.annotated.exists()]
    if annotated:
        msg: Message = MIMEMultipart("mixed")
        msg.attach(body)
        for path in annotated:
            msg.attach(attachment_part(path))
    else:
        msg = body
    msg["From"] = formataddr((str(Header(f"{township}信访办", "utf-8")), from_addr))
    msg["To"] = to
    msg["Subject"] = Header(receipt_subject(files, skipped, original_subject, stranger), "utf-8")
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid("taizhang", domain=from_addr.rpartition("@")[2] or "localhost")
    if original_id:
        msg["In-Reply-To"] = original_id
        msg["References"] = original_id
    msg["Auto-Submitted"] = "auto-replied"          # RFC 3834: no auto-reply to this
    msg["X-Auto-Response-Suppress"] = "All"         # Outlook/Exchange: no out-of-office
    return msg


# Lines up to 160 characters (RFC 5322 allows 998) keep the long spreadsheet MIME type and its
# name on the Content-Type line itself; CRLF as SMTP wants.
WIRE_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=160)


def receipt_bytes(msg: Message) -> bytes:
    return msg.as_bytes(policy=WIRE_POLICY)


def attachment_part(path: Path) -> MIMEApplication:
    """RFC 2231 filename* for current clients, an RFC 2047 name= for old Outlook/Foxmail."""
    _, subtype = _MIME_TYPES.get(path.suffix.lower(), ("application", "octet-stream"))
    part = MIMEApplication(path.read_bytes(), subtype)
    if path.name.isascii():
        part.add_header("Content-Disposition", "attachment", filename=path.name)
        part.set_param("name", path.name)
    else:
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", path.name))
        part.set_param("name", Header(path.name, "utf-8").encode(maxlinelen=10_000))
    return part


__all__ = ["FileReport", "SkippedFile", "build_receipt", "from_stranger", "receipt_bytes", "attachment_part",
           "quote_issue", "receipt_text", "issue_parts", "outcome_text", "file_notes", "listed_issues"]

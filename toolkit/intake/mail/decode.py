"""Take spreadsheets out of an e-mail, whatever the mail client did to them.

Chinese mail clients name attachments in every way there is: RFC 2231
(``filename*=GBK''%CC%A8...`` with ``*0*`` continuations), RFC 2047 encoded
words in GBK, GB2312, GB18030 or UTF-8, base64 or quoted-printable (sometimes a
character split across two words, sometimes inside the quotes, where the RFC
says they do not belong), and raw 8-bit GBK bytes from old clients. Zip files
made on Chinese Windows store member names in GBK without saying so.

Messages are parsed with the email package's compat32 policy (it never raises
on broken input, it records defects); header values are taken raw and decoded
here: bytes are tried as UTF-8, then as the declared charset, then GB18030
(a superset of GB2312 and GBK, which clients often mislabel).
"""
from __future__ import annotations

import codecs
import email
import email.header
import email.message
import email.policy
import email.utils
import io
import re
import zipfile
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import PurePosixPath

from toolkit.core.config import SPREADSHEET_SUFFIXES
from toolkit.core.issues import Code, Issue, make_issue

ZIP_SUFFIXES = (".zip",)
OTHER_ARCHIVES = (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj")
EXECUTABLE_SUFFIXES = (".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".msi", ".msp", ".dll",
                       ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".ps1", ".hta", ".jar",
                       ".lnk", ".reg", ".cpl", ".apk", ".sh", ".iso", ".img")
SPREADSHEET_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel": ".xls",
    "application/x-xls": ".xls",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
}
MAX_ZIP_MEMBERS = 200
MAX_ZIP_RATIO = 200          # uncompressed / compressed, per member (xlsx inside zip is already deflated)

_GB = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "ms936", "windows-936", "euc-cn", "x-euc-cn",
       "csgb2312", "gb_2312-80", "chinese", "hz-gb-2312"}
_LOOSE = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252",
          "unknown-8bit", "x-unknown", ""}


class MalformedMessage(Exception):
    """The message cannot be taken apart; str() is a Chinese reason."""


@dataclass
class Attachment:
    """One attached file, or one member of an attached .zip.

    ``data`` is None when the file was skipped; ``problem`` then says why.
    """
    filename: str
    data: bytes | None = None
    inside: str | None = None          # the .zip it came from
    problem: Issue | None = None

    @property
    def label(self) -> str:
        return f"{self.inside}/{self.filename}" if self.inside else self.filename


# -- text -------------------------------------------------------------------------

def _codec(charset: str | None) -> str | None:
    name = (charset or "").strip().strip('"').lower().split("*", 1)[0]
    if name in _GB:
        return "gb18030"
    if name in ("utf8", "utf-8"):
        return "utf-8"
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes of unknown or doubtful charset -> text.

    Declared GB2312/GBK/GB18030 is read as GB18030 (their superset). Otherwise
    the declared charset, UTF-8 and GB18030 are tried in turn and the first
    reading that is mostly Chinese (or plain ASCII) wins:
    short GBK strings are often valid UTF-8 too (伪装 reads as Greek and Hebrew),
    and raw 8-bit headers or zip member names declare nothing.
    """
    declared = _codec(charset)
    loose = (charset or "").strip().lower() in _LOOSE
    if declared == "gb18030":
        order = ["gb18030", "utf-8"]
    else:
        order = ([declared] if declared and not loose else []) + ["utf-8", "gb18030"]
    readings = []
    for codec in dict.fromkeys(order):
        try:
            readings.append(data.decode(codec))
        except (UnicodeDecodeError, LookupError):
            continue
        if declared == "gb18030":
            return readings[0]
    if not readings:
        return data.decode("gb18030", errors="replace")
    for text in readings:          # in order of preference: the first that reads as Chinese
        if _chinese_share(text) >= 0.5:
            return text
    return max(readings, key=_chinese_share)


def _chinese_share(text: str) -> float:
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return 1.0
    cjk = sum(1 for ch in wide if "\u3000" <= ch <= "\u303f" or "\u3400" <= ch <= "\u9fff"
              or "\uff00" <= ch <= "\uffef" or "\u00a0" <= ch <= "\u00ff"
              or "\u2000" <= ch <= "\u206f")     # CJK, full-width, Latin-1 letters, dashes
    return cjk / len(wide)


def _unescape_8bit(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates: turn them back into text."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("ascii", "surrogateescape"))


def decode_words(value: object) -> str:
    """A header value with RFC 2047 encoded words (anywhere, even split) -> text."""
    if value is None:
        return ""
    text = _unescape_8bit(str(value))
    if "=?" not in text:
        return _unfold(text)
    try:
        parts = email.header.decode_header(text)
    except (email.errors.HeaderParseError, ValueError, LookupError):
        return _unfold(text)
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset))
    return _unfold("".join(out))


def _unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", text).strip()


def raw_header(msg: email.message.Message, name: str) -> str | None:
    """The header's raw value (compat32 would hand back a lossy Header object)."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return value if isinstance(value, str) else str(value)
    return None


def header_text(msg: email.message.Message, name: str) -> str:
    return decode_words(raw_header(msg, name))


_FAILED_CHECK = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*fail\b", re.I)


def failed_checks(msg: email.message.Message) -> str | None:
    """What the receiving server's ``Authentication-Results`` (RFC 8601) say failed, e.g.
    "spf=fail, dmarc=fail" (a forged From), or None. Only failures are used: a header
    claiming success proves nothing, anyone can write one."""
    found: list[str] = []
    for key, value in msg.raw_items():
        if key.lower() == "authentication-results":
            for method in _FAILED_CHECK.findall(_unfold(str(value))):
                check = f"{method.lower()}=fail"
                if check not in found:
                    found.append(check)
    return ", ".join(found) or None


# -- attachment names ------------------------------------------------------------

def _param(header_value: str | None, name: str) -> str | None:
    """One parameter of a Content-* header, RFC 2231 aware, decoded to text."""
    if not header_value:
        return None
    probe = email.message.Message()
    probe["Content-Type"] = "x/x; " + (header_value.split(";", 1)[1]
                                       if ";" in header_value else "")
    value = probe.get_param(name, header="content-type", unquote=True)
    if value is None:
        return None
    if isinstance(value, tuple):                    # RFC 2231: (charset, language, text)
        charset, _lang, text = value
        return decode_bytes(bytes(text, "raw-unicode-escape"), charset or None)
    return value


def attachment_filename(part: email.message.Message) -> str:
    """The attachment's file name as the sender saw it ("" when it has none).

    Looks at Content-Disposition ``filename`` then Content-Type ``name``; handles
    RFC 2231 (with continuations and any charset), RFC 2047 encoded words in or
    out of quotes, and raw 8-bit GBK/UTF-8 bytes. Any folder part is dropped.
    """
    for header, param in (("Content-Disposition", "filename"), ("Content-Type", "name")):
        raw = raw_header(part, header)
        if raw is None:
            continue
        try:
            value = _param(_unescape_8bit(raw), param)
        except Exception:       # a broken parameter list: try the next header
            value = None
        if value:
            name = _clean_name(decode_words(value))
            if name:
                return name
    return ""


MAX_NAME_CHARS = 255     # Windows' limit for one name: no file a village saves has a longer one


def _clean_name(name: str) -> str:
    """The name as the sender saw it, kept whole (for display; files we make from it get a
    name cut to fit, ``toolkit.core.files.fit_name``). Only a name longer than any file can
    have (a hostile header) is cut, in the middle, keeping its extension."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", name).strip().strip(".")
    if len(name) <= MAX_NAME_CHARS:
        return name
    stem, dot, ext = name.rpartition(".")
    tail = f".{ext}" if dot and len(ext) <= 16 else ""
    return name[:MAX_NAME_CHARS - len(tail) - 1].rstrip() + "…" + tail


def _suffix(name: str) -> str:
    return PurePosixPath(name.lower()).suffix


# -- taking a message apart -------------------------------------------------------

def parse_message(raw: bytes) -> email.message.Message:
    """Parse a message; MalformedMessage when there is nothing usable."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as e:      # compat32 records defects; this is a last resort
        raise MalformedMessage(f"无法解析邮件结构（{type(e).__name__}）") from e
    bad = [d for p in msg.walk() for d in p.defects
           if type(d).__name__ in ("NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect",
                                   "MultipartInvariantViolationDefect")]
    if bad:
        raise MalformedMessage("MIME 结构损坏（多部分邮件缺少分隔边界）")
    return msg


def parse_headers(raw: bytes) -> email.message.Message:
    """Only the header block (as fetched with BODY.PEEK[HEADER.FIELDS ...])."""
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)


def _is_attachment(part: email.message.Message, name: str) -> bool:
    if part.is_multipart():
        return False
    disposition = (raw_header(part, "Content-Disposition") or "").split(";", 1)[0].strip().lower()
    ctype = part.get_content_type()
    if disposition == "attachment":
        return True
    if name:
        # inline pictures of a signature or a pasted screenshot are part of the text
        return not (disposition == "inline" and ctype.startswith("image/"))
    return ctype in SPREADSHEET_TYPES


def extract_attachments(msg: email.message.Message, *, max_bytes: int) -> list[Attachment]:
    """Every attached file: spreadsheets with their bytes, the rest with a problem."""
    found: list[Attachment] = []
    for n, part in enumerate(msg.walk(), start=1):
        name = attachment_filename(part)
        if not _is_attachment(part, name):
            continue
        if not name or not _suffix(name):
            name = (name or f"附件{n}") + SPREADSHEET_TYPES.get(part.get_content_type(), "")
        found.extend(_take_part(part, name, max_bytes))
    return found


def _take_part(part: email.message.Message, name: str, max_bytes: int) -> list[Attachment]:
    suffix = _suffix(name)
    refusal = _refuse_by_name(name)
    if refusal:
        return [Attachment(name, problem=refusal)]
    encoded = part.get_payload()
    if isinstance(encoded, str) and len(encoded) * 3 // 4 > max_bytes + 1024:
        return [Attachment(name, problem=_too_large(name, len(encoded) * 3 // 4, max_bytes))]
    before = len(part.defects)
    data = part.get_payload(decode=True)
    broken = [d for d in part.defects[before:]
              if type(d).__name__ in ("InvalidBase64CharactersDefect", "InvalidBase64LengthDefect")]
    if data is None or broken:
        return [Attachment(name, problem=make_issue(
            Code.MALFORMED_MESSAGE, file=name, reason="附件编码损坏，无法还原文件"))]
    if len(data) > max_bytes:
        return [Attachment(name, problem=_too_large(name, len(data), max_bytes))]
    if data[:2] == b"MZ":
        return [Attachment(name, problem=make_issue(
            Code.NOT_SPREADSHEET, file=name, reason="文件内容是可执行程序，已拒收"))]
    if suffix in ZIP_SUFFIXES:
        return unzip_spreadsheets(data, name, max_bytes=max_bytes)
    return [Attachment(name, data=data)]


def _refuse_by_name(name: str) -> Issue | None:
    suffix = _suffix(name)
    if suffix in SPREADSHEET_SUFFIXES or suffix in ZIP_SUFFIXES:
        return None
    if suffix in EXECUTABLE_SUFFIXES:
        reason = "可执行程序或脚本，已拒收"
    elif suffix in OTHER_ARCHIVES:
        reason = f"{suffix} 压缩包无法读取，请直接附上表格或用 .zip 压缩"
    else:
        reason = f"附件类型为 {suffix or '未知'}"
    return make_issue(Code.NOT_SPREADSHEET, file=name, reason=reason)


def _too_large(name: str, size: int, limit: int) -> Issue:
    return make_issue(Code.ATTACHMENT_TOO_LARGE, file=name, size=f"{size / 2**20:.1f}",
                      limit=f"{limit / 2**20:g}")


# -- zip ----------------------------------------------------------------------------

def zip_member_name(info: zipfile.ZipInfo) -> str:
    """Member name as text: UTF-8 when flagged, else the GBK of Chinese Windows."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    return decode_bytes(raw)


def unzip_spreadsheets(data: bytes, zip_name: str, *, max_bytes: int) -> list[Attachment]:
    """The spreadsheets inside an attached .zip, within zip-bomb limits."""
    def problem(reason: str) -> list[Attachment]:
        return [Attachment(zip_name, problem=make_issue(Code.UNSAFE_ARCHIVE, file=zip_name,
                                                        reason=reason))]
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError):
        return problem("已损坏，无法解压")
    if len(infos) > MAX_ZIP_MEMBERS:
        return problem(f"含 {len(infos)} 个文件，超过 {MAX_ZIP_MEMBERS} 个的上限")
    out: list[Attachment] = []
    total = 0
    for info in infos:
        name = zip_member_name(info)
        base = _clean_name(name)
        if info.is_dir() or not base or name.startswith("__MACOSX/") or base.startswith("._"):
            continue
        item = _take_member(zf, info, base, zip_name, max_bytes, total)
        if item.data is not None:
            total += len(item.data)
        out.append(item)
    if not out:
        return problem("里面没有文件")
    return out


def _take_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, zip_name: str,
                 max_bytes: int, total: int) -> Attachment:
    def skip(issue: Issue) -> Attachment:
        return Attachment(name, inside=zip_name, problem=issue)
    if _suffix(name) in ZIP_SUFFIXES:
        return skip(make_issue(Code.UNSAFE_ARCHIVE, file=f"{zip_name}/{name}",
                               reason="是压缩包里的压缩包，未解压"))
    refusal = _refuse_by_name(name)
    if refusal:
        return skip(refusal)
    if info.flag_bits & 0x1:
        return skip(make_issue(Code.UNSAFE_ARCHIVE, file=f"{zip_name}/{name}",
                               reason="设置了解压密码"))
    if info.file_size > max_bytes or total + info.file_size > 4 * max_bytes:
        return skip(_too_large(f"{zip_name}/{name}", info.file_size, max_bytes))
    if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
        return skip(make_issue(Code.UNSAFE_ARCHIVE, file=f"{zip_name}/{name}",
                               reason="压缩比异常（疑似压缩炸弹）"))
    try:
        with zf.open(info) as fh:        # never trust the declared size
            data = fh.read(max_bytes + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError,
            ValueError) as e:
        return skip(make_issue(Code.UNSAFE_ARCHIVE, file=f"{zip_name}/{name}",
                               reason=f"解压失败（{type(e).__name__}）"))
    if len(data) > max_bytes:
        return skip(_too_large(f"{zip_name}/{name}", len(data), max_bytes))
    if data[:2] == b"MZ":
        return skip(make_issue(Code.NOT_SPREADSHEET, file=f"{zip_name}/{name}",
                               reason="文件内容是可执行程序，已拒收"))
    return Attachment(name, data=data, inside=zip_name)

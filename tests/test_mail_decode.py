"""Attachment names and contents as Chinese mail clients send them."""
from __future__ import annotations

import email
import email.policy

import pytest

from mailserver import STYLES, attachment_headers, build_message, zip_bytes
from toolkit.intake.mail.decode import (MalformedMessage, attachment_filename, decode_words,
                                 extract_attachments, parse_message)
from toolkit.outputs.privacy import mask_address, mask_id, mask_phone, mask_text

NAMES = ["东村信访积案台账（2010年9月）.xlsx", "前垟村台账.xls", "江滨社区·积案台账 第3版.xlsm",
         "后垟村2010年9月18日信访积案化解工作台账（报乡信访办）终稿.xlsx"]
FAKE_XLSX = b"PK\x03\x04" + b"\x00" * 60


def _part(name: str, style: str):
    raw = attachment_headers(name, style) + b"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n"
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


# Outlook and the quoted-printable gb2312 style only ever carry names GB2312 can
# encode (a client picks another charset otherwise), so those pairs are not made.
CASES = [(style, name) for style in STYLES for name in NAMES
         if style not in ("outlook", "gb2312_q") or all(_in_gb2312(ch) for ch in name)]


@pytest.mark.parametrize("style,name", CASES)
def test_attachment_filename_every_client_style(style, name):
    assert attachment_filename(_part(name, style)) == name


def test_gb18030_only_character():
    name = "㐀村台账.xlsx"            # CJK Extension A: in GB18030, not in GBK
    raw = (f'Content-Type: application/octet-stream; name="=?GB18030?B?'
           f'{__import__("base64").b64encode(name.encode("gb18030")).decode()}?="\r\n\r\nx').encode()
    part = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert attachment_filename(part) == name


def test_raw_utf8_bytes_and_rfc2047_out_of_quotes():
    raw = ('Content-Disposition: attachment; filename="西村台账.xlsx"\r\n\r\nx').encode("utf-8")
    assert attachment_filename(email.message_from_bytes(raw, policy=email.policy.compat32)) \
        == "西村台账.xlsx"
    raw = b"Content-Type: application/vnd.ms-excel; name==?GBK?B?zvfMqNXLLnhscw==?=\r\n\r\nx"
    assert attachment_filename(email.message_from_bytes(raw, policy=email.policy.compat32)) \
        == "西台账.xls"


def test_folder_in_name_is_dropped_and_no_name_is_empty():
    raw = b'Content-Disposition: attachment; filename="C:\\\\Users\\\\cw\\\\a.xlsx"\r\n\r\nx'
    assert attachment_filename(email.message_from_bytes(raw, policy=email.policy.compat32)) == "a.xlsx"
    assert attachment_filename(email.message_from_bytes(b"Content-Type: text/plain\r\n\r\nx")) == ""


def test_decode_words_subject():
    assert decode_words("=?GBK?B?tqu05Q==?= =?utf-8?B?5Y+w6LSm?=") == "东村台账"
    assert decode_words("Re: =?gb2312?Q?=CC=A8=D5=CB?=") == "Re: 台账"
    assert isinstance(decode_words("=?GBK?B?!!!?="), str)     # a broken word never raises


@pytest.mark.parametrize("style", ["163", "qq", "foxmail", "rfc2231_cont", "raw_gbk", "utf8"])
def test_extract_spreadsheet_from_client_message(style):
    raw = build_message(sender="dongcun@example.com", subject="东村9月台账", style=style,
                        attachments=[("东村台账.xlsx", FAKE_XLSX)])
    got = extract_attachments(parse_message(raw), max_bytes=2**20)
    assert [(a.filename, a.data, a.problem) for a in got] == [("东村台账.xlsx", FAKE_XLSX, None)]


def test_zip_with_gbk_member_names_and_refusals():
    z = zip_bytes([("东村台账.xlsx", FAKE_XLSX), ("说明.docx", b"PK.."), ("子目录/西村台账.xls", b"\xd0\xcf\x11\xe0")])
    raw = build_message(sender="dongcun@example.com", subject="台账", attachments=[
        ("台账打包.zip", z), ("病毒.exe", b"MZ\x90\x00"), ("照片.jpg", b"\xff\xd8"),
        ("伪装.xlsx", b"MZ\x90\x00"), ("大表.xlsx", b"PK" + b"\x00" * 3000)])
    got = extract_attachments(parse_message(raw), max_bytes=2000)
    ok = [(a.inside, a.filename) for a in got if a.problem is None]
    assert ok == [("台账打包.zip", "东村台账.xlsx"), ("台账打包.zip", "西村台账.xls")]
    bad = {a.filename: a.problem.code for a in got if a.problem is not None}
    assert bad == {"说明.docx": "not_spreadsheet", "病毒.exe": "not_spreadsheet",
                   "照片.jpg": "not_spreadsheet", "伪装.xlsx": "not_spreadsheet",
                   "大表.xlsx": "attachment_too_large"}
    assert "可执行程序" in next(a for a in got if a.filename == "病毒.exe").problem.message


def test_zip_bomb_nested_and_encrypted_are_refused():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("炸弹.xlsx", b"\x00" * (5 * 2**20))
        zf.writestr("inner.zip", b"PK\x05\x06" + b"\x00" * 18)
    raw = build_message(sender="x@example.com", subject="s", attachments=[("a.zip", buf.getvalue())])
    got = extract_attachments(parse_message(raw), max_bytes=10 * 2**20)
    assert {a.filename: a.problem.code for a in got} == {"炸弹.xlsx": "unsafe_archive",
                                                         "inner.zip": "unsafe_archive"}
    raw = build_message(sender="x@example.com", subject="s", attachments=[("b.zip", b"PK\x03\x04junk")])
    (a,) = extract_attachments(parse_message(raw), max_bytes=2**20)
    assert a.problem.code == "unsafe_archive" and a.data is None


def test_broken_base64_and_missing_boundary():
    raw = (b"From: a@b\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
           b"--zz\r\nContent-Type: application/octet-stream; name=a.xlsx\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nUEsDB!!!A$$$\r\n--zz--\r\n")
    (a,) = extract_attachments(parse_message(raw), max_bytes=2**20)
    assert a.problem.code == "malformed_message"
    with pytest.raises(MalformedMessage):
        parse_message(b"From: a@b\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here\r\n")


def test_inline_signature_image_is_not_an_attachment():
    raw = (b"From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=zz\r\n\r\n"
           b"--zz\r\nContent-Type: text/html\r\n\r\n<img src=cid:1>\r\n"
           b"--zz\r\nContent-Type: image/png; name=logo.png\r\nContent-Disposition: inline; filename=logo.png\r\n"
           b"Content-ID: <1>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--zz--\r\n")
    assert extract_attachments(parse_message(raw), max_bytes=2**20) == []


# -- masking -------------------------------------------------------------------------

def test_masks():
    assert mask_id("330302199001011234") == "330302********1234"
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("浙江省温州市鹿城区南郊乡东村12号") == "浙江省温州市鹿城区南郊乡****"
    text = ("身份证号“330302199001011234”校验位不对；电话 13812345678、0577-88123456；"
            "被存成 3.30302199001011E+17；日期 20100701；编号 NJ-2010-001")
    masked = mask_text(text)
    for secret in ("330302199001011234", "13812345678", "88123456", "30302199001011"):
        assert secret not in masked
    assert "330302********1234" in masked and "138****5678" in masked
    assert "20100701" in masked and "NJ-2010-001" in masked
    assert mask_text(masked) == masked          # idempotent


@pytest.mark.parametrize("text", ["伪装.xlsx", "东村", "后垟村台账", "台账"])
def test_undeclared_bytes_gbk_or_utf8(text):
    from toolkit.intake.mail.decode import decode_bytes
    assert decode_bytes(text.encode("gbk")) == text
    assert decode_bytes(text.encode("utf-8")) == text
    assert decode_bytes(text.encode("gbk"), "gb2312") == text      # GBK mislabelled gb2312
    assert decode_bytes(text.encode("gbk"), "utf-8") == text       # GBK mislabelled utf-8


from hypothesis import given, strategies as st  # noqa: E402

_around = st.text(alphabet="身份证号电话：“”（），。、 abcXx-_/", max_size=6)


@given(st.from_regex(r"\A[1-6][0-9]{16}[0-9X]\Z"), st.from_regex(r"\A1[3-9][0-9]{9}\Z"),
       _around, _around)
def test_mask_text_never_leaves_an_id_or_phone(id_number, phone, before, after):
    masked = mask_text(f"{before}{id_number}，{after}{phone}{before}")
    assert id_number not in masked and phone not in masked
    assert mask_id(id_number) in masked and mask_phone(phone) in masked
    glued = mask_text(f"{before}{id_number}{phone}{after}")     # no separator at all
    assert id_number not in glued and phone not in glued


def test_imap_folder_names_in_modified_utf7():
    from toolkit.intake.mail.imap import imap_utf7_decode, imap_utf7_encode
    assert imap_utf7_encode("INBOX") == "INBOX"
    assert imap_utf7_encode("A&B") == "A&-B"
    assert imap_utf7_encode("台账") == "&U,CNJg-"            # RFC 3501 5.1.3: "," for "/"
    for name in ("已处理台账", "收件箱/村级台账 2010", "A&B 东村"):
        assert imap_utf7_decode(imap_utf7_encode(name)) == name


def test_receipt_lines_never_show_the_townships_folders():
    from toolkit.core.issues import make_issue
    from toolkit.outputs.receipt import quote_issue
    for path in ("/srv/taizhang/archive/work/17/前垟村信访台账.xlsm",
                 "C:\\台账\\存档\\前垟村信访台账.xlsm"):
        line = quote_issue(make_issue("macros_present", file=path))
        assert "前垟村信访台账.xlsm" in line
        assert "archive" not in line and "存档" not in line


@pytest.mark.parametrize("style", ["163", "rfc2231_cont", "utf8", "split_words"])
def test_names_of_any_length_keep_their_extension(style):
    """Names are kept whole up to Windows' 255 characters (no saved file has a longer one); a
    longer header (a hostile one) is cut in the middle, never losing the extension."""
    long = "南郊乡东村信访积案化解年工作台账" * 12
    for name in (long[:195] + ".xlsx", long[:250] + ".xlsx"):
        assert attachment_filename(_part(name, style)) == name
    absurd = attachment_filename(_part(long * 20 + ".xlsm", style))
    assert absurd.endswith(".xlsm") and len(absurd) <= 255 and absurd.startswith(long[:100])

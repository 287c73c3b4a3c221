"""fetch_mail against a real Dovecot and a real SMTP server (aiosmtpd) on 127.0.0.1."""
from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import pytest

import mailserver
from mailserver import PASSWORD_ENV, build_message, zip_bytes
from toolkit.intake.archive import SubmissionArchive
from toolkit.core.config import Config, MailConfig
from toolkit.pipeline.judge import same_village
from toolkit.pipeline.mail import fetch_mail
from toolkit.intake.mail.imap import KEYWORD, imap_utf7_decode, imap_utf7_encode
from factories.ledgers import LedgerStyle, make_ledger
from toolkit.core.settings import Settings
from toolkit.demo import DEMO_AS_OF, DEMO_ROSTER

pytestmark = pytest.mark.mail
# the real servers' fixtures (assigned, so pytest finds them here)
dovecot_server, mailbox = mailserver.dovecot_server, mailserver.mailbox
smtp_server, outbox = mailserver.smtp_server, mailserver.outbox
SETTINGS = Settings(roster=DEMO_ROSTER)
ADDR = {r.village: r.emails[0] for r in DEMO_ROSTER}


def make_config(tmp: Path, server, smtp, **mail) -> Config:
    cfg = Config(inbox=tmp / "inbox", master=tmp / "output" / "总台账.xlsx", archive=tmp / "archive",
                 state=tmp / "state", annotated=tmp / "annotated", logs=tmp / "logs",
                 as_of=DEMO_AS_OF)
    cfg.source = tmp / "taizhang.toml"
    cfg.mail = MailConfig(host="127.0.0.1", port=server.port, security="plain", user=server.user,
                          password_env=PASSWORD_ENV, smtp_host="127.0.0.1", smtp_port=smtp.port,
                          smtp_security="plain", sender="xinfangban@nanjiao.example.com",
                          since_days=0, timeout=20)
    for k, v in mail.items():
        setattr(cfg.mail, k, v)
    return cfg


def ledger_bytes(tmp: Path, village: str, name: str | None = None, **kw) -> tuple[bytes, object]:
    (tmp / "src").mkdir(exist_ok=True)
    sample = make_ledger(tmp / "src" / (name or f"{village}台账.xlsx"), village=village,
                         n_cases=kw.pop("n_cases", 4), **kw)
    return sample.path.read_bytes(), sample


def receipts(smtp) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in smtp.messages]


def body_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


# --- the full round trip ---------------------------------------------------------------------

@pytest.mark.slow
def test_round_trip_fetch_archive_consolidate_receipt(tmp_path, mailbox, outbox):
    data, sample = ledger_bytes(tmp_path, "东村", n_cases=6, layout=LedgerStyle(
        faults=("bad_id_check", "impossible_date"), phone_as_number=False))
    name = "东村信访积案台账（2010年10月）.xlsx"
    mid = "<dongcun-20101018@163.com>"
    mailbox.append(build_message(sender=ADDR["东村"], subject="东村10月台账", style="163",
                                 attachments=[(name, data)], message_id=mid))
    cfg = make_config(tmp_path, mailbox, outbox)

    result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)

    assert result.connect_error is None and result.problems == []
    assert result.messages == 1 and result.receipts_sent == 1
    (f,) = result.files
    assert (f["file"], f["village"], f["outcome"], f["cases"]) == (name, "东村", "has_errors", 6)
    assert f["errors"] >= 2
    # archived with its mail facts
    (sub,) = SubmissionArchive(cfg.archive).history()
    assert (sub.filename, sub.source, sub.sender, sub.message_id, sub.village, sub.outcome) == \
        (name, "mail", ADDR["东村"], mid, "东村", "has_errors")
    assert sub.stored_path.read_bytes() == data
    # the message is flagged and marked read on the server, never deleted
    ((uid, flags),) = mailbox.messages()
    assert KEYWORD in flags and "\\Deleted" not in flags and "\\Seen" in flags

    # consolidation puts it into the master
    from python_calamine import CalamineWorkbook

    from toolkit.pipeline.consolidate import consolidate
    out = tmp_path / "output" / "总台账.xlsx"
    res = consolidate(None, out, as_of=DEMO_AS_OF, settings=SETTINGS, archive_root=cfg.archive,
                      state_dir=cfg.state)
    assert [(v["village"], v["file"], v["cases"]) for v in res.villages] == [("东村", name, 6)]
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("总台账").to_python()
    assert sum(1 for r in rows if "东村" in [str(c) for c in r]) == 6

    # the receipt
    (receipt,) = receipts(outbox)
    assert outbox.messages[0][1] == [ADDR["东村"]]
    assert receipt["In-Reply-To"] == mid and receipt["References"] == mid
    assert receipt["Auto-Submitted"] == "auto-replied" and receipt["Message-ID"]
    assert "东村10月台账" in receipt["Subject"] and "回执" in receipt["Subject"]
    text = body_of(receipt)
    assert "东村" in text and name in text and "读取案件：6 件" in text
    assert f"错误 {f['errors']} 处" in text and f"提醒 {f['warnings']} 处" in text
    spot = sample.faults["bad_id_check"]
    assert spot.cell in text                                   # the cell is named
    bad_id = str(spot.value)
    assert f"{bad_id[:6]}********{bad_id[-4:]}" in text        # masked, as DOMAIN.md says
    for case in sample.cases:                                  # no full ID or phone anywhere
        for key in ("id_number", "phone"):
            if case.get(key):
                assert str(case[key]) not in text
                assert str(case[key]) not in receipt["Subject"]
    (att,) = list(receipt.iter_attachments())
    assert att.get_filename().endswith(".xlsx") and "东村信访积案台账" in att.get_filename()
    assert att.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    raw_part = outbox.messages[0][2].decode("ascii")
    assert "filename*=utf-8''" in raw_part                     # RFC 2231 on the wire
    book = CalamineWorkbook.from_filelike(io.BytesIO(att.get_content()))
    assert "校验结果" in book.sheet_names
    listed = book.get_sheet_by_name("校验结果").to_python()
    assert any(spot.cell in [str(c) for c in r] for r in listed)

    # fetching again ingests nothing and answers nothing
    again = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert (again.messages, again.files, again.receipts_sent) == (0, [], 0)
    assert len(SubmissionArchive(cfg.archive).history()) == 1 and len(outbox.messages) == 1
    # even when a person clears the keyword: the mail state remembers the Message-ID
    imap = mailbox.connect()
    imap.select("INBOX")
    imap.uid("STORE", str(uid), "-FLAGS", f"({KEYWORD})")
    imap.logout()
    third = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert (third.messages, third.already_done, third.receipts_sent) == (0, 1, 0)
    assert KEYWORD in mailbox.messages()[0][1]


# --- every way clients name attachments, and every bad thing ---------------------------------

CLIENTS = [("163", "东村"), ("qq", "西村"), ("outlook", "南村"), ("foxmail", "北村"),
           ("rfc2231_cont", "前垟村"), ("raw_gbk", "后垟村"), ("gb2312_q", "江滨社区"),
           ("split_words", "新桥村")]


@pytest.mark.slow
def test_messages_from_every_client_and_every_bad_case(tmp_path, mailbox, outbox):
    names = {}
    for style, village in CLIENTS:
        data, _ = ledger_bytes(tmp_path, village, n_cases=2, seed=3)
        # outlook/gb2312 styles can only carry GB2312 characters
        name = f"{village}台账（10月）.xlsx" if style not in ("outlook", "gb2312_q") or \
            all(_gb2312(c) for c in village) else "台账.xlsx"
        names[village] = name
        mailbox.append(build_message(sender=ADDR[village], subject=f"{village}台账", style=style,
                                     attachments=[(name, data)]))
    tongue, _ = ledger_bytes(tmp_path, "东村", name="东村台账二.xlsx", n_cases=3, seed=9)
    zipped, _ = ledger_bytes(tmp_path, "西村", name="西村压缩.xlsx", n_cases=2, seed=11)
    # a .zip made on Chinese Windows, with a spreadsheet and a stray document
    mailbox.append(build_message(sender=ADDR["西村"], subject="西村压缩包", style="foxmail",
                                 attachments=[("西村台账.zip", zip_bytes([("西村台账压缩.xlsx", zipped),
                                                                        ("说明.txt", b"hello")]))]))
    # unknown sender, a real ledger: held
    mailbox.append(build_message(sender="stranger@qq.com", subject="转发台账",
                                 attachments=[("东村台账二.xlsx", tongue)]))
    # a roster sender whose file says another village: held
    mismatch, _ = ledger_bytes(tmp_path, "北村", name="北村错发.xlsx", n_cases=2, seed=5)
    mailbox.append(build_message(sender=ADDR["南村"], subject="南村台账", attachments=[("台账.xlsx", mismatch)]))
    # an executable, an oversized sheet, broken MIME, a message without attachment
    mailbox.append(build_message(sender=ADDR["东村"], subject="工具", attachments=[("setup.exe", b"MZ\x90\x00" * 10)]))
    mailbox.append(build_message(sender=ADDR["北村"], subject="大表格",
                                 attachments=[("北村大表.xlsx", b"PK\x03\x04" + bytes(200_000))]))
    mailbox.append(build_message(sender=ADDR["北村"], subject="巨大邮件",     # not even downloaded
                                 attachments=[("北村巨表.xlsx", b"PK\x03\x04" + bytes(2_000_000))]))
    mailbox.append(b"From: " + ADDR["南村"].encode() + b"\r\nSubject: broken\r\nMessage-ID: <broken@x>\r\n"
                   b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n")
    mailbox.append(build_message(sender=ADDR["新桥村"], subject="只有正文"))
    # an out-of-office auto-reply from a roster village is never answered (no mail loops)
    mailbox.append(build_message(sender=ADDR["江滨社区"], subject="自动回复：休假中",
                                 extra_headers="Auto-Submitted: auto-replied\r\n"))
    cfg = make_config(tmp_path, mailbox, outbox, max_attachment_mb=0.1)

    result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)

    assert result.connect_error is None and result.problems == []
    got = {(f["village"], f["file"]): f["outcome"] for f in result.files}
    for village, name in names.items():
        assert got.pop((village, name)) in ("ok", "has_errors"), village
    assert got.pop(("西村", "西村台账.zip/西村台账压缩.xlsx")) in ("ok", "has_errors")
    assert got.pop((None, "东村台账二.xlsx")) == "held"     # unknown sender (file says 东村): no village
    assert got.pop((None, "台账.xlsx")) == "held"           # sender 南村, file says 北村: no village
    assert got == {}
    skipped = {(s["file"], s["code"]) for s in result.skipped}
    assert skipped == {("西村台账.zip/说明.txt", "not_spreadsheet"), ("setup.exe", "not_spreadsheet"),
                       ("北村大表.xlsx", "attachment_too_large"), ("巨大邮件", "attachment_too_large"),
                       ("", "malformed_message"),
                       ("", "no_attachment")}
    held = {f["sender"]: f["message"] for f in result.files if f["outcome"] == "held"}
    assert "stranger@qq.com" in held["stranger@qq.com"] and "北村" in held[ADDR["南村"]]
    assert result.exit_code == 1
    # every message flagged, none deleted
    flags = mailbox.messages()
    assert len(flags) == 17 and all(KEYWORD in f and "\\Deleted" not in f for _, f in flags)
    # receipts: one per message (新桥村 is told nothing was attached), none to the auto-reply
    by_to = {}
    for _, to, raw in outbox.messages:
        by_to.setdefault(to[0], []).append(email.message_from_bytes(raw, policy=email.policy.default))
    assert sum(len(v) for v in by_to.values()) == 16
    assert not any("休假" in m["Subject"] for v in by_to.values() for m in v)
    stranger = body_of(by_to["stranger@qq.com"][0])
    assert "暂存" in stranger and not list(by_to["stranger@qq.com"][0].iter_attachments())
    exe = next(m for m in by_to[ADDR["东村"]] if "工具" in m["Subject"])
    assert "setup.exe" in body_of(exe) and "可执行程序" in body_of(exe)

    # the master holds the accepted villages, not the held files
    from toolkit.pipeline.consolidate import consolidate
    res = consolidate(None, tmp_path / "m.xlsx", as_of=DEMO_AS_OF, settings=SETTINGS,
                      archive_root=cfg.archive, state_dir=cfg.state)
    files = {v["village"]: v["file"] for v in res.villages}
    assert set(files) == {v for _, v in CLIENTS}
    assert files["东村"] == names["东村"] and files["南村"] == names["南村"]   # not the held ones


def _gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


@pytest.mark.slow
def test_same_file_in_several_messages(tmp_path, mailbox, outbox):
    """A submission is bytes, sender and channel: a stranger's copy of a village's file is
    held on its own (whichever came first), the village's own file is never made held by it,
    and only the same sender's resend is told it is identical."""
    east, _ = ledger_bytes(tmp_path, "东村", n_cases=2, seed=21)
    west, _ = ledger_bytes(tmp_path, "西村", n_cases=2, seed=22)
    mailbox.append(build_message(sender="stranger@qq.com", subject="转发", attachments=[("东.xlsx", east)]))
    mailbox.append(build_message(sender=ADDR["东村"], subject="东村", attachments=[("东.xlsx", east)]))
    mailbox.append(build_message(sender=ADDR["西村"], subject="西村", attachments=[("西.xlsx", west)]))
    mailbox.append(build_message(sender="other@163.com", subject="转发", attachments=[("西.xlsx", west)]))
    mailbox.append(build_message(sender=ADDR["西村"], subject="西村重发", attachments=[("西.xlsx", west)]))
    cfg = make_config(tmp_path, mailbox, outbox)
    result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert [(f["sender"], f["outcome"]) for f in result.files] == [
        ("stranger@qq.com", "held"), (ADDR["东村"], "ok"), (ADDR["西村"], "ok"), ("other@163.com", "held"),
        (ADDR["西村"], "ok")]
    subs = SubmissionArchive(cfg.archive).history()
    assert sorted((s.sender, s.outcome) for s in subs) == sorted([
        ("stranger@qq.com", "held"), (ADDR["东村"], "ok"), (ADDR["西村"], "ok"), ("other@163.com", "held")])
    assert len({s.stored_path for s in subs}) == 2            # one stored original per content
    by_to = {}
    for _, to, raw in outbox.messages:
        by_to.setdefault(to[0], []).append(body_of(email.message_from_bytes(raw, policy=email.policy.default)))
    assert "内容完全相同" not in by_to["other@163.com"][0]
    assert "内容完全相同" in by_to[ADDR["西村"]][1]              # the village's own resend
    assert len(outbox.messages) == 5


# --- moving, TLS, failures ----------------------------------------------------------------------

def test_move_to_processed_folder_with_chinese_name(tmp_path, mailbox, outbox):
    mailbox.append(build_message(sender=ADDR["东村"], subject="没有附件"))
    mailbox.append(build_message(sender="news@list.example.com", subject="通知",
                                 extra_headers="Precedence: bulk\r\nList-Id: <news.example.com>\r\n"))
    cfg = make_config(tmp_path, mailbox, outbox, processed_folder="已处理台账")
    result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert result.messages == 2 and result.problems == []
    assert mailbox.messages("INBOX") == []
    assert imap_utf7_decode(imap_utf7_encode("已处理台账")) == "已处理台账"
    assert "已处理台账" in [imap_utf7_decode(n) for n in mailbox.folders()]
    moved = mailbox.messages(imap_utf7_encode("已处理台账"))
    assert len(moved) == 2 and all(KEYWORD in f for _, f in moved)
    # only the roster village is answered; the mailing list is not
    assert [to for _, to, _ in outbox.messages] == [[ADDR["东村"]]]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_with_self_signed_certificate(tmp_path, mailbox, outbox, security):
    mailbox.append(build_message(sender=ADDR["东村"], subject="没有附件"))
    port = mailbox.ssl_port if security == "ssl" else mailbox.port
    cfg = make_config(tmp_path, mailbox, outbox, security=security, port=port)
    refused = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)          # certificate not trusted
    assert refused.exit_code == 2 and "证书" in refused.connect_error and "ca_file" in refused.connect_error
    cfg.mail.ca_file = str(mailbox.cert)
    result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert result.connect_error is None and result.messages == 1


def test_receipt_over_smtp_starttls(tmp_path, mailbox):
    import ssl

    from mailserver import start_smtp
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(mailbox.cert, mailbox.cert.with_name("key.pem"))
    smtp, controller = start_smtp(tls_context=ctx)
    try:
        mailbox.append(build_message(sender=ADDR["东村"], subject="没有附件"))
        cfg = make_config(tmp_path, mailbox, smtp, smtp_security="starttls",
                          ca_file=str(mailbox.cert))
        result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
        assert result.receipts_sent == 1 and result.problems == []
        assert smtp.messages[0][1] == [ADDR["东村"]]
        assert smtp.logins == [("PLAIN", mailbox.user, True)]     # a UTF-8 password, over TLS
    finally:
        controller.stop()


def test_cannot_connect_or_log_in(tmp_path, mailbox, outbox, monkeypatch):
    from mailserver import free_port
    cfg = make_config(tmp_path, mailbox, outbox, port=free_port())
    r = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert r.exit_code == 2 and "127.0.0.1" in r.connect_error and "端口" in r.connect_error
    cfg = make_config(tmp_path, mailbox, outbox)
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password-xyz")
    r = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert r.exit_code == 2 and "授权码" in r.connect_error and "wrong-password-xyz" not in r.connect_error
    monkeypatch.delenv(PASSWORD_ENV)
    r = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert r.exit_code == 2 and PASSWORD_ENV in r.connect_error
    cfg.mail.host, cfg.mail.security = "imap.163.com", "plain"
    r = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert r.exit_code == 2 and "plain" in r.connect_error


@pytest.mark.slow
def test_receipt_waits_for_smtp_then_goes_once(tmp_path, mailbox, outbox):
    from mailserver import free_port
    data, _ = ledger_bytes(tmp_path, "西村", n_cases=2)
    mailbox.append(build_message(sender=ADDR["西村"], subject="西村台账", style="qq",
                                 attachments=[("西村台账.xlsx", data)]))
    cfg = make_config(tmp_path, mailbox, outbox, smtp_port=free_port())
    first = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert first.messages == 1 and first.receipts_sent == 0 and first.receipts_pending == 1
    assert first.exit_code == 1 and "发件服务器" in first.problems[0]
    cfg.mail.smtp_port = outbox.port
    second = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert (second.messages, second.receipts_sent, second.receipts_pending) == (0, 1, 0)
    third = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert third.receipts_sent == 0 and len(outbox.messages) == 1


@pytest.mark.slow
def test_server_without_keywords_still_ingests_once(tmp_path, mailbox, outbox, monkeypatch):
    from toolkit.intake.mail import imap as mail_imap
    real_select = mail_imap.Mailbox.select

    def select_without_keywords(self, folder):
        v = real_select(self, folder)
        self.keywords_allowed = False
        return v
    monkeypatch.setattr(mail_imap.Mailbox, "select", select_without_keywords)
    data, _ = ledger_bytes(tmp_path, "南村", n_cases=2)
    mailbox.append(build_message(sender=ADDR["南村"], subject="南村台账", style="outlook",
                                 attachments=[("南村台账.xlsx", data)]))
    no_id = build_message(sender=ADDR["南村"], subject="没有附件").replace(b"Message-ID:", b"X-Old-ID:")
    mailbox.append(no_id)                 # an old client that sets no Message-ID
    cfg = make_config(tmp_path, mailbox, outbox)
    assert fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF).messages == 2
    again = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert (again.messages, again.already_done, again.receipts_sent) == (0, 2, 0)
    assert len(SubmissionArchive(cfg.archive).history()) == 1 and len(outbox.messages) == 2


def test_cli_fetch_mail_json_and_summary(tmp_path, mailbox, outbox, monkeypatch, capsys):
    import json

    from toolkit.shells.cli import main
    toml = tmp_path / "taizhang.toml"
    toml.write_text(f"""
[paths]
archive = "archive"
state = "state"
annotated = "annotated"

[daily]
as_of = "2010-10-20"

[mail]
host = "127.0.0.1"
port = {mailbox.port}
security = "plain"
user = "{mailbox.user}"
password_env = "{PASSWORD_ENV}"
processed_folder = "已处理"
smtp_host = "127.0.0.1"
smtp_port = {outbox.port}
smtp_security = "plain"
sender = "xinfangban@nanjiao.example.com"
since_days = 0
""", encoding="utf-8")
    from toolkit.core.settings_workbook import create_settings_workbook
    create_settings_workbook(tmp_path / "设置.xlsx", roster=DEMO_ROSTER)   # the office's own roster
    mailbox.append(build_message(sender=ADDR["北村"], subject="没有附件"))
    rc = main(["fetch-mail", "--config", str(toml), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 1 and data["messages"] == 1 and data["receipts_sent"] == 1
    assert data["skipped"][0]["code"] == "no_attachment" and data["exit_code"] == 1
    rc = main(["fetch-mail", "--config", str(toml)])
    assert rc == 0 and "新邮件 0 封" in capsys.readouterr().out
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    rc = main(["fetch-mail", "--config", str(toml)])
    cap = capsys.readouterr()
    assert rc == 2 and "127.0.0.1" in cap.err and "not-the-password" not in cap.out + cap.err
    rc = main(["fetch-mail", "--config", str(tmp_path / "none.toml")])
    assert rc == 2 and "找不到配置文件" in capsys.readouterr().err       # never the demo instead
    (tmp_path / "no_mail.toml").write_text("[daily]\ntime = \"07:30\"\n", encoding="utf-8")
    rc = main(["fetch-mail", "--config", str(tmp_path / "no_mail.toml")])
    assert rc == 2 and "[mail]" in capsys.readouterr().err


def test_same_village():
    assert same_village("东村", "南郊乡东村", "南郊乡")
    assert same_village("东村村委会", "东村")
    assert same_village("前垟", "前垟村")
    assert not same_village("东村", "西村")


def test_receipts_go_on_over_a_new_session_when_the_server_ends_one(tmp_path, mailbox):
    """A provider that takes two messages a connection: the third receipt goes over a new one."""
    from mailserver import start_smtp
    smtp, controller = start_smtp(command_call_limit={"MAIL": 2, "*": 100})
    try:
        for village in ("东村", "西村", "南村"):
            mailbox.append(build_message(sender=ADDR[village], subject="没有附件"))
        cfg = make_config(tmp_path, mailbox, smtp)
        result = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
        assert (result.receipts_sent, result.receipts_pending, result.problems) == (3, 0, [])
        assert sorted(to[0] for _, to, _ in smtp.messages) == sorted(ADDR[v] for v in ("东村", "西村", "南村"))
    finally:
        controller.stop()

"""Who sent what, against a real Dovecot and a real SMTP server on 127.0.0.1: a stranger's copy
of a village's earlier file is held, counts for nothing and is answered with nothing; a clerk
releases it and then it counts."""
from __future__ import annotations

import email
import email.policy

import pytest

import mailserver
from mailserver import build_message
from test_mail_fetch import ADDR, SETTINGS, body_of, ledger_bytes, make_config
from toolkit.demo import DEMO_AS_OF
from toolkit.intake.archive import SubmissionArchive
from toolkit.intake.mail.imap import KEYWORD
from toolkit.pipeline.consolidate import consolidate
from toolkit.pipeline.judge import decide
from toolkit.pipeline.mail import fetch_mail
from toolkit.pipeline.review import release_submission

pytestmark = pytest.mark.mail
# the real servers' fixtures (assigned, so pytest finds them here)
dovecot_server, mailbox = mailserver.dovecot_server, mailserver.mailbox
smtp_server, outbox = mailserver.smtp_server, mailserver.outbox


def _by_recipient(smtp) -> dict[str, list]:
    got: dict[str, list] = {}
    for _, to, raw in smtp.messages:
        got.setdefault(to[0], []).append(email.message_from_bytes(raw, policy=email.policy.default))
    return got


@pytest.mark.slow
def test_a_strangers_copy_is_held_reveals_nothing_and_counts_once_released(tmp_path, mailbox, outbox):
    v1, sample = ledger_bytes(tmp_path, "东村", name="东村台账9月.xlsx", n_cases=3, seed=31)
    v2, _ = ledger_bytes(tmp_path, "东村", name="东村台账10月.xlsx", n_cases=5, seed=32)
    mailbox.append(build_message(sender=ADDR["东村"], subject="东村9月台账", attachments=[("东村台账9月.xlsx", v1)]))
    mailbox.append(build_message(sender=ADDR["东村"], subject="东村10月台账", attachments=[("东村台账10月.xlsx", v2)]))
    cfg = make_config(tmp_path, mailbox, outbox)
    first = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert [f["outcome"] for f in first.files] == ["ok", "ok"]
    village_warnings = first.files[0]["warnings"]

    # a stranger sends exactly the bytes 东村 sent in September; 东村 sends a program by mistake
    mailbox.append(build_message(sender="stranger@qq.com", subject="转发", attachments=[("台账.xlsx", v1)]))
    mailbox.append(build_message(sender=ADDR["东村"], subject="工具", attachments=[("setup.exe", b"MZ\x90\x00" * 8)]))
    second = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    (f,) = second.files
    assert (f["sender"], f["outcome"]) == ("stranger@qq.com", "held")
    assert f["warnings"] == village_warnings        # its own hold notice is not counted as a warning
    assert "stranger@qq.com" in f["message"] and second.exit_code == 1

    # the stranger's receipt: received and waiting, nothing else
    receipts = _by_recipient(outbox)
    (to_stranger,) = receipts["stranger@qq.com"]
    text = body_of(to_stranger)
    assert text.startswith("您好：") and "台账.xlsx" in text and "暂存" in text
    for secret in ("东村", "已计入", "读取案件", "内容完全相同", "错误", "提醒 ", "件；"):
        assert secret not in text, secret
    assert "东村" not in str(to_stranger["Subject"])
    assert not list(to_stranger.iter_attachments())
    for case in sample.cases:
        assert case["petitioner"] not in text
    # the program's receipt greets the roster village, not "您好"
    exe = next(m for m in receipts[ADDR["东村"]] if "工具" in str(m["Subject"]))
    assert body_of(exe).startswith("东村：")
    # every processed message is read and flagged on the server
    assert all("\\Seen" in flags and KEYWORD in flags for _, flags in mailbox.messages())

    # the archive: a submission of its own, sharing the stored original, not counted
    archive = SubmissionArchive(cfg.archive)
    subs = archive.history()
    stranger = next(s for s in subs if s.sender == "stranger@qq.com")
    original = next(s for s in subs if s.sender == ADDR["东村"] and s.filename == "东村台账9月.xlsx")
    assert stranger.id != original.id and stranger.stored_path == original.stored_path
    assert stranger.held and not stranger.counted
    assert decide(archive, SETTINGS).counted()["东村"].filename == "东村台账10月.xlsx"
    out = tmp_path / "output" / "总台账.xlsx"
    res = consolidate(None, out, as_of=DEMO_AS_OF, settings=SETTINGS, archive_root=cfg.archive,
                      state_dir=cfg.state)
    assert [(v["village"], v["cases"]) for v in res.villages] == [("东村", 5)]    # still October's

    # a clerk checks it and releases it for 东村: now it counts (the latest received)
    done = release_submission(cfg.archive, cfg.state, SETTINGS, stranger.id, village="东村", by="王芳")
    assert done.counted and done.released_by == "王芳"
    res = consolidate(None, out, as_of=DEMO_AS_OF, settings=SETTINGS, archive_root=cfg.archive,
                      state_dir=cfg.state)
    assert [(v["village"], v["file"], v["cases"]) for v in res.villages] == [("东村", "台账.xlsx", 3)]

    # the stranger sends the same bytes again: still nothing told (no village, no comparison)
    mailbox.append(build_message(sender="stranger@qq.com", subject="再转发", attachments=[("台账.xlsx", v1)]))
    third = fetch_mail(cfg, SETTINGS, as_of=DEMO_AS_OF)
    assert [(f["sender"], f["outcome"]) for f in third.files] == [("stranger@qq.com", "ok")]  # for the clerk
    again = [m for m in _by_recipient(outbox)["stranger@qq.com"] if "再转发" in str(m["Subject"])]
    (again,) = again
    text = body_of(again)
    for secret in ("东村", "已计入", "读取案件", "内容完全相同", "错误", "件；"):
        assert secret not in text, secret
    assert not list(again.iter_attachments()) and "东村" not in str(again["Subject"])


# --- a From the receiving server says is forged ---------------------------------------------------

FORGED = ("Authentication-Results: mx.local; spf=fail smtp.mailfrom={sender};\r\n"
          " dkim=fail header.d=163.com; dmarc=fail header.from=163.com\r\n")


def run_cli(capsys, *args) -> tuple[int, str]:
    """(exit code, what it printed on stdout); stderr must hold no traceback."""
    from toolkit.shells.cli import main
    rc = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, out.out


def master_case_ids(master) -> set[str]:
    from python_calamine import CalamineWorkbook
    rows = CalamineWorkbook.from_path(str(master)).get_sheet_by_name("总台账").to_python()
    return {str(c) for r in rows for c in r if str(c).startswith(("NJ2010-", "WZ2010-"))}


@pytest.mark.slow
def test_a_from_the_server_marked_forged_is_held_until_a_clerk_releases_it(tmp_path, capsys, mailbox, outbox):
    """A roster address whose message the receiving server marked spf/dkim/dmarc=fail: held like
    a stranger's (auth_failed), not counted, answered with nothing about the file; `taizhang
    release ID` (no --village: the address is 东村's) makes it count at the next consolidation."""
    import json

    toml = str(mailserver.write_office(tmp_path / "南郊乡", mailbox, outbox))
    real, real_sample = ledger_bytes(tmp_path, "东村", name="东村台账.xlsx", n_cases=3, seed=41)
    forged, forged_sample = ledger_bytes(tmp_path, "东村", name="东村台账新.xlsx", n_cases=4, seed=42,
                                         prefix="WZ2010-")
    mailbox.append(build_message(sender=ADDR["东村"], subject="东村台账", attachments=[("东村台账.xlsx", real)]))
    rc, out = run_cli(capsys, "fetch-mail", "--config", toml, "--json")
    assert rc == 0, out
    rc, out = run_cli(capsys, "consolidate", "--config", toml, "--json")
    assert rc in (0, 1) and json.loads(out)["master"]
    master = tmp_path / "南郊乡" / "输出" / "总台账.xlsx"
    real_ids = {c["case_id"] for c in real_sample.cases}
    assert master_case_ids(master) == real_ids

    mailbox.append(build_message(sender=ADDR["东村"], subject="东村最新台账",
                                 attachments=[("东村台账新.xlsx", forged)],
                                 extra_headers=FORGED.format(sender=ADDR["东村"])))
    outbox.clear()
    rc, out = run_cli(capsys, "fetch-mail", "--config", toml, "--json")
    got = json.loads(out)
    (f,) = got["files"]
    assert rc == 1 and (f["village"], f["outcome"]) == (None, "held")
    assert "spf=fail" in f["message"] and "dmarc=fail" in f["message"]

    # the receipt: received and waiting, nothing about the file or whose address it is
    (receipt,) = [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in outbox.messages]
    text = body_of(receipt)
    assert text.startswith("您好：") and "东村台账新.xlsx" in text and "暂存" in text and "身份验证" in text
    for secret in ("东村：", "村（社区）", "已计入", "读取案件", "内容完全相同", "错误", "提醒 ", "件；", "WZ2010"):
        assert secret not in text, secret
    assert "东村" not in str(receipt["Subject"]).replace("东村最新台账", "")
    assert not list(receipt.iter_attachments())
    for case in forged_sample.cases:
        assert case["petitioner"] not in text

    # not counted: the master keeps 东村's real cases, none reported vanished
    rc, out = run_cli(capsys, "consolidate", "--config", toml, "--json")
    res = json.loads(out)
    assert res["vanished"] == [] and [v["file"] for v in res["villages"]] == ["东村台账.xlsx"]
    assert master_case_ids(master) == real_ids
    rc, out = run_cli(capsys, "submissions", "--config", toml, "--json")
    (held,) = json.loads(out)["held"]
    assert (held["file"], held["code"], held["village"]) == ("东村台账新.xlsx", "auth_failed", None)

    # a clerk checks with 东村 and releases it: no --village needed
    rc, out = run_cli(capsys, "release", str(held["id"]), "--by", "王芳", "--config", toml)
    assert rc == 0 and "计入东村" in out, out
    rc, out = run_cli(capsys, "consolidate", "--config", toml, "--json")
    res = json.loads(out)
    assert [v["file"] for v in res["villages"]] == ["东村台账新.xlsx"]
    assert master_case_ids(master) == {c["case_id"] for c in forged_sample.cases}

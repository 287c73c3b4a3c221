"""Attachment names of any length, against a real Dovecot and a real SMTP server on 127.0.0.1.

Linux allows 255 bytes a name; a 95-character Chinese name is 267. The name as sent is what
people see (fetch-mail's JSON, the receipt, `taizhang submissions`); every file our code makes
from it (the copy that is read, the annotated copy) gets a name cut to fit."""
from __future__ import annotations

import email
import email.policy
import json
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import mailserver
from factories.ledgers import LedgerStyle
from mailserver import build_message, write_office
from test_mail_fetch import ADDR, body_of, ledger_bytes

pytestmark = [pytest.mark.mail, pytest.mark.slow]
dovecot_server, mailbox = mailserver.dovecot_server, mailserver.mailbox
smtp_server, outbox = mailserver.smtp_server, mailserver.outbox


def long_name() -> str:
    """95 characters, 267 UTF-8 bytes: a title a village might really give its file."""
    title = "南郊乡东村信访积案化解年工作台账含九个一五包六清楚六有落实情况及包案领导化解进度和群众满意度回访记录"
    stem = (title * 2)[:86]
    name = f"{stem}2010.xlsx"
    assert (len(name), len(name.encode("utf-8"))) == (95, 267)
    return name


LONG = long_name()
LONGEST = ("南村信访积案化解工作台账" * 30)[:245] + ".xlsx"      # 250 characters, 740 bytes


def cli(capsys, *args) -> tuple[int, str]:
    from toolkit.shells.cli import main
    rc = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, out.out


@pytest.mark.parametrize("style", ["163", "rfc2231_cont"])
def test_a_name_longer_than_linux_allows_is_read_counted_and_shown_whole(tmp_path, capsys, mailbox,
                                                                          outbox, style):
    office = tmp_path / "南郊乡"
    toml = str(write_office(office, mailbox, outbox))
    faulty = LedgerStyle(faults=("bad_id_check", "impossible_date"), phone_as_number=False)
    data, sample = ledger_bytes(tmp_path, "东村", name="long.xlsx", n_cases=5, seed=51, layout=faulty)
    older, _ = ledger_bytes(tmp_path, "东村", name="附表.xlsx", n_cases=2, seed=52, as_of=date(2010, 9, 20))
    west, west_sample = ledger_bytes(tmp_path, "西村", n_cases=3, seed=53)
    south, south_sample = ledger_bytes(tmp_path, "南村", n_cases=2, seed=54)
    mailbox.append(build_message(sender=ADDR["东村"], subject="东村台账", style=style,
                                 attachments=[(LONG, data), ("东村附表.xlsx", older)]))
    mailbox.append(build_message(sender=ADDR["西村"], subject="西村台账", style=style,
                                 attachments=[("西村台账.xlsx", west)]))
    mailbox.append(build_message(sender=ADDR["南村"], subject="南村台账", style=style,
                                 attachments=[(LONGEST, south)]))

    rc, out = cli(capsys, "fetch-mail", "--config", toml, "--json")
    got = json.loads(out)
    assert got["problems"] == [] and got["skipped"] == [] and rc == 0, got
    files = {f["file"]: f for f in got["files"]}
    assert set(files) == {LONG, "东村附表.xlsx", "西村台账.xlsx", LONGEST}
    mine = files[LONG]
    assert (mine["village"], mine["outcome"], mine["cases"]) == ("东村", "has_errors", 5)
    assert files["东村附表.xlsx"]["outcome"] == "ok" and "未采用" in files["东村附表.xlsx"]["message"]
    assert (files["西村台账.xlsx"]["village"], files["西村台账.xlsx"]["cases"]) == ("西村", 3)
    assert (files[LONGEST]["village"], files[LONGEST]["cases"]) == ("南村", 2)
    annotated = Path(mine["annotated"])                  # made, under a name cut to fit
    assert annotated.is_file() and len(annotated.name.encode("utf-8")) <= 255
    assert annotated.name.endswith("_校验结果.xlsx") and LONG[:50] in annotated.name
    assert "校验结果" in CalamineWorkbook.from_path(str(annotated)).sheet_names

    # the receipt names the file as sent; the annotated copy goes with its cut name
    receipt = next(email.message_from_bytes(raw, policy=email.policy.default)
                   for _, to, raw in outbox.messages if to == [ADDR["东村"]])
    text = body_of(receipt)
    assert f"文件“{LONG}”" in text and "读取案件：5 件" in text
    (att,) = list(receipt.iter_attachments())
    assert att.get_filename() == annotated.name

    # consolidation reads it from the archive and counts it
    rc, out = cli(capsys, "consolidate", "--config", toml, "--json")
    res = json.loads(out)
    assert rc == 0 and res["problems"] == [] and Path(res["master"]).is_file()
    assert {v["village"]: (v["file"], v["cases"]) for v in res["villages"]} == {
        "东村": (LONG, 5), "西村": ("西村台账.xlsx", 3), "南村": (LONGEST, 2)}
    rows = CalamineWorkbook.from_path(res["master"]).get_sheet_by_name("总台账").to_python()
    ids = {str(c) for r in rows for c in r}
    assert {c["case_id"] for c in sample.cases + west_sample.cases + south_sample.cases} <= ids

    # and the clerk's listing shows it whole
    rc, out = cli(capsys, "submissions", "--config", toml, "--village", "东村", "--json")
    (east,) = json.loads(out)["villages"]
    assert east["counted"]["file"] == LONG
    assert sorted(s["file"] for s in east["history"]) == sorted([LONG, "东村附表.xlsx"])

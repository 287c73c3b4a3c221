"""`taizhang remind` end to end: real ledgers, consolidation, the 催报单 read back by calamine,
and reminders over a real SMTP server on 127.0.0.1 (once a day, personal data masked)."""
from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime

import pytest
from python_calamine import CalamineWorkbook

from factories.layouts import sample_case, valid_id
import mailserver
from test_submission_tools import Office, put
from toolkit.core.config import ConfigError, parse_weekdays, read_config
from toolkit.core.settings import RosterEntry
from toolkit.core.settings_workbook import create_settings_workbook
from toolkit.shells.cli import main

ROSTER = (RosterEntry("东村", "陈建国", ("dongcun@163.com",)), RosterEntry("西村", "", ("xicun@qq.com",)),
          RosterEntry("南村", "", ("nancun@126.com", "nancun2@126.com")), RosterEntry("北村"),
          RosterEntry("前村", "", ("qiancun@163.com",)))
smtp_server, outbox = mailserver.smtp_server, mailserver.outbox     # the real SMTP server's fixtures
BAD_ID = valid_id(2)[:-1] + ("0" if valid_id(2)[-1] != "0" else "1")


def office_mailing(tmp_path, smtp, roster) -> Office:
    """An office (taizhang.toml, settings workbook with ``roster``, an inbox) mailing ``smtp``."""
    office = Office(tmp_path)
    create_settings_workbook(tmp_path / "设置.xlsx", roster=roster, force=True)
    office.toml.write_text(office.toml.read_text(encoding="utf-8") + f"""
[mail]
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
smtp_security = "plain"
sender = "xinfangban@nanjiao.example.com"
""", encoding="utf-8")
    return office


@pytest.fixture
def office(tmp_path, outbox):
    office = office_mailing(tmp_path, outbox, ROSTER)
    recent, old = datetime(2010, 10, 18, 9), datetime(2010, 9, 1, 9)
    put(office.inbox, "东村.xlsx", "东村", [sample_case(i, "东村", case_id=f"DC-{i:03d}") for i in (1, 2)], recent)
    put(office.inbox, "西村.xlsx", "西村", [sample_case(1, "西村", case_id="XC-001", assigned_date=date(2010, 10, 8)),
                                          sample_case(2, "西村", case_id="XC-002", id_number=BAD_ID,
                                                      assigned_date=date(2010, 10, 8))], recent)
    put(office.inbox, "南村.xlsx", "南村", [sample_case(1, "南村", case_id="NC-001", assigned_date=date(2010, 10, 8))], old)
    put(office.inbox, "前村.xlsx", "前村", [sample_case(1, "前村", case_id="QC-001", assigned_date=date(2010, 10, 8))], recent)
    return office


def test_remind_lists_writes_the_sheet_and_sends_once_a_day(office, capsys, outbox):
    assert office.run(capsys, "consolidate", "--json")[0] == 0
    rc, out, _ = office.run(capsys, "remind", "--json")
    data = json.loads(out)
    assert rc == 0 and data["since"] == "2010-10-13" and data["send"] is False and data["sent"] == 0
    chased = {v["village"]: v for v in data["villages"]}
    assert list(chased) == ["东村", "西村", "南村", "北村"]             # 前村 is fine: not chased
    assert chased["东村"]["late"] is False and [o["case_id"] for o in chased["东村"]["overdue"]] == ["DC-001", "DC-002"]
    assert chased["西村"]["errors"] and not chased["西村"]["overdue"] and not chased["西村"]["late"]
    err = next(e for e in chased["西村"]["errors"] if e["code"] == "invalid_id_number")
    assert err["cell"] and err["cell"] in err["text"] and BAD_ID not in err["text"]
    assert f"{BAD_ID[:6]}********{BAD_ID[-4:]}" in err["text"]
    assert chased["南村"]["late"] and chased["南村"]["last_report"].startswith("2010-09-01")
    assert chased["北村"]["late"] and chased["北村"]["last_report"] is None
    assert outbox.messages == []                                       # nothing sent without --send

    sheet = office.master.parent / "催报单.xlsx"
    assert data["sheet"] == str(sheet)
    book = CalamineWorkbook.from_path(str(sheet))
    rows = book.get_sheet_by_name("催报单").to_python()
    table = [dict(zip(rows[1], r)) for r in rows[2:]]
    assert [r["村（社区）"] for r in table] == ["东村", "西村", "南村", "北村"]
    assert "已超过办结期限" in table[0]["催报事项"] and "错误" in table[1]["催报事项"]
    assert "未报送" in table[2]["催报事项"] and table[3]["最近报送"] == "未报"
    detail = book.get_sheet_by_name("催报明细").to_python()
    text = "\n".join(str(c) for r in detail for c in r)
    assert err["cell"] in text and BAD_ID not in text and "DC-001" in text

    rc, out, _ = office.run(capsys, "remind", "--send", "--json")
    data = json.loads(out)
    assert rc == 1 and data["sent"] == 3 and data["failed"] == 1        # 北村 has no address
    sent = {v["village"]: v for v in data["villages"]}
    assert sent["北村"]["send_error"] and "邮箱" in sent["北村"]["send_error"]
    mails = {}
    for _, to, raw in outbox.messages:
        mails[tuple(to)] = email.message_from_bytes(raw, policy=email.policy.default)
    assert set(mails) == {("dongcun@163.com",), ("xicun@qq.com",), ("nancun@126.com", "nancun2@126.com")}
    west = mails[("xicun@qq.com",)].get_body(("plain",)).get_content()
    assert west.startswith("西村：") and err["cell"] in west and "西村.xlsx" in west
    assert BAD_ID not in west and f"{BAD_ID[:6]}********{BAD_ID[-4:]}" in west
    east = mails[("dongcun@163.com",)].get_body(("plain",)).get_content()
    assert "DC-001" in east and "DC-002" in east and "已逾期" in east
    for case in (sample_case(1, "东村"), sample_case(2, "东村")):
        assert case["id_number"] not in east and case["phone"] not in east
    south = mails[("nancun@126.com", "nancun2@126.com")]
    assert "2010年10月13日" in south.get_body(("plain",)).get_content() and "催报" in str(south["Subject"])
    assert south["Auto-Submitted"] == "auto-generated"
    status = CalamineWorkbook.from_path(str(sheet)).get_sheet_by_name("催报单").to_python()
    assert [r[-1] for r in status[2:]] == ["已发送", "已发送", "已发送", "未发送：名册中没有邮箱"]

    # the same day again: nothing is sent twice, and 北村 still has no address (the same exit code)
    rc, out, _ = office.run(capsys, "remind", "--send")
    assert rc == 1 and len(outbox.messages) == 3 and "今天已发过 3 个村" in out


def test_remind_send_without_smtp_and_a_clean_township(tmp_path, capsys):
    office = Office(tmp_path)
    put(office.inbox, "东村.xlsx", "东村", [sample_case(1, "东村", case_id="DC-001", assigned_date=date(2010, 10, 8))],
        datetime(2010, 10, 18, 9))
    put(office.inbox, "西村.xlsx", "西村", [sample_case(1, "西村", case_id="XC-001", assigned_date=date(2010, 10, 8))],
        datetime(2010, 10, 19, 9))
    office.run(capsys, "consolidate", "--json")
    rc, out, _ = office.run(capsys, "remind")
    assert rc == 0 and "无需催报" in out
    rc, _, err = office.run(capsys, "remind", "--send")
    assert rc == 2 and "smtp_host" in err
    rc, out, _ = office.run(capsys, "remind", "--as-of", "2010-11-20", "--json")   # a month later
    assert [v["village"] for v in json.loads(out)["villages"]] == ["东村", "西村"]
    rc, out, _ = office.run(capsys, "remind", "--as-of", "2010-10-20", "--since", "2010-10-19", "--json")
    assert [v["village"] for v in json.loads(out)["villages"]] == ["东村"]


def test_daily_remind_weekdays(office, outbox):
    from toolkit import api
    from toolkit.shells.daily import remind_if_due
    office.toml.write_text(office.toml.read_text(encoding="utf-8").replace(
        "[daily]\n", '[daily]\nremind = ["周一", "周四"]\n'), encoding="utf-8")
    cfg = read_config(office.toml)
    assert cfg.daily_remind == (0, 3)
    api.consolidate(config=cfg)
    settings = api.load_settings(config=cfg)
    assert remind_if_due(cfg, settings, date(2026, 12, 1)) is None          # a Tuesday
    assert outbox.messages == []
    result = remind_if_due(cfg, settings, date(2026, 11, 30))              # a Monday
    assert result.sent and len(outbox.messages) == len(result.sent)
    assert remind_if_due(cfg, settings, date(2026, 11, 30)).sent == []     # once a day
    assert parse_weekdays("星期一、星期天") == (0, 6) and parse_weekdays([1, 7]) == (0, 6)
    with pytest.raises(ConfigError, match="remind"):
        parse_weekdays(["周八"])


# --- the same state, the same exit code (issue 17) ------------------------------------------------

ADDRESSED = (RosterEntry("东村", "", ("dongcun@163.com",)), RosterEntry("西村", "", ("xicun@qq.com",)),
             RosterEntry("南村", "", ("nancun@126.com", "nancun2@126.com")),
             RosterEntry("前村", "", ("qiancun@163.com",)))


@pytest.fixture
def two_per_session():
    """A real SMTP server that takes two messages a session, then answers 421 and hangs up
    (providers limit messages per connection; aiosmtpd's command_call_limit does the same)."""
    server, controller = mailserver.start_smtp(command_call_limit={"MAIL": 2, "*": 100})
    try:
        yield server
    finally:
        controller.stop()


def send_twice(office, capsys) -> list[tuple[int, dict]]:
    runs = []
    for _ in range(2):
        rc, out, _ = office.run(capsys, "remind", "--send", "--json")
        runs.append((rc, json.loads(out)))
    return runs


def test_remind_send_twice_gives_the_same_exit_code(tmp_path, capsys, two_per_session):
    """Issue 17: `remind --send` returned 1, then 0, for the same state. Every reminder went
    over one SMTP session, so a server ending the session after two messages made 南村 and 前村
    "refused" (1); the second run sent just those two, within the limit (0). A session the
    server ends is now opened again, and both runs say the same."""
    office = office_mailing(tmp_path, two_per_session, ADDRESSED)      # nothing sent yet: all chased
    (rc1, first), (rc2, second) = send_twice(office, capsys)
    assert (rc1, first["sent"], first["failed"], first["problems"]) == (0, 4, 0, [])
    assert (rc2, second["sent"], second["already_sent"], second["failed"]) == (0, 0, 4, 0)
    got = sorted(tuple(to) for _, to, _ in two_per_session.messages)
    assert got == [("dongcun@163.com",), ("nancun@126.com", "nancun2@126.com"), ("qiancun@163.com",),
                   ("xicun@qq.com",)]


def test_refused_addresses_give_the_same_exit_code_and_say_who(tmp_path, capsys, two_per_session):
    """A refused address fails its village on every run (1, 1), in words a clerk can read; one
    refused address of two still reminds the village, and its status names the refused one."""
    two_per_session.refused.update({"xicun@qq.com": "550 5.1.1 mailbox unavailable",
                                    "nancun2@126.com": "550 5.1.1 no such user"})
    office = office_mailing(tmp_path, two_per_session, ADDRESSED + (RosterEntry("北村"),))
    (rc1, first), (rc2, second) = send_twice(office, capsys)
    assert (rc1, first["sent"], first["failed"]) == (1, 3, 2)
    assert (rc2, second["already_sent"], second["failed"]) == (1, 3, 2)
    for run in (first, second):
        errors = {v["village"]: v["send_error"] for v in run["villages"]}
        assert errors["西村"] == "发件服务器拒绝：xicun@qq.com：550 5.1.1 mailbox unavailable"
        assert errors["北村"] == "名册中没有该村的电子邮箱" and errors["南村"] is None
    assert sorted(tuple(to) for _, to, _ in two_per_session.messages) == [
        ("dongcun@163.com",), ("nancun@126.com",), ("qiancun@163.com",)]
    status = CalamineWorkbook.from_path(str(office.master.parent / "催报单.xlsx")).get_sheet_by_name(
        "催报单").to_python()
    assert [r[-1] for r in status[2:]] == ["今天已发送", "未发送：发件服务器拒绝", "今天已发送", "今天已发送",
                                          "未发送：名册中没有邮箱"]
    rc, out, _ = office.run(capsys, "remind", "--json")        # without --send: nothing to fail
    assert rc == 0


def test_an_empty_roster_is_said_alone_not_called_all_on_time(tmp_path, capsys):
    """Issue 18: with nobody on the roster, remind said both "都已按时报送" and "村名册是空的"."""
    (tmp_path / "taizhang.toml").write_text('[daily]\nas_of = "2010-10-20"\n', encoding="utf-8")
    rc = main(["remind", "--config", str(tmp_path / "taizhang.toml")])
    out = capsys.readouterr().out
    assert rc == 1 and "“村名册”是空的" in out and "taizhang settings" in out
    assert "按时报送" not in out and "无需催报" not in out
    rc = main(["remind", "--json", "--config", str(tmp_path / "taizhang.toml")])
    data = json.loads(capsys.readouterr().out)
    assert data["villages"] == [] and data["sheet"] is None and data["exit_code"] == 1

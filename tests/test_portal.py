"""The office page over real HTTP on 127.0.0.1: a village's upload is a submission like any
other (archived as `portal`, judged by the one judge, counted at the next consolidation, listed
by `taizhang submissions`), and the page keeps strangers out: links, form tokens, Host and
Origin, sizes, rates, revoked links, paths that try to leave the office's files, the log."""
from __future__ import annotations

import json
import logging
import socket
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from factories.hostile import huge_string_zip
from factories.ledgers import LedgerStyle, make_ledger
from factories.portal import (open_page, portal_office, request, serving, upload,
                              village_tokens)
from toolkit import api
from toolkit.core.errors import UploadBusy
from toolkit.core.files import run_lock
from toolkit.core.issues import Code
from toolkit.intake.archive import SubmissionArchive
from toolkit.pipeline.judge import Roster, verdict_of
from toolkit.pipeline.portal import receive_upload
from toolkit.shells.cli import cli, main
from toolkit.shells.server import Limits, make_server


@pytest.fixture
def office(tmp_path):
    toml = portal_office(tmp_path / "南郊乡")
    return toml, village_tokens(toml, office=True)


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("portal")
    good = make_ledger(folder / "东村台账.xlsx", village="东村", n_cases=6)
    faulty = make_ledger(folder / "东村台账（改）.xlsx", village="东村", n_cases=6, seed=3,
                         layout=LedgerStyle(faults=("unknown_status", "invalid_tick")))
    west = make_ledger(folder / "西村台账.xlsx", village="西村", n_cases=4)
    return good, faulty, west


def answer(reply) -> dict:
    status, _, body = reply
    assert status == 200, body.decode("utf-8")
    return json.loads(body)


# --- a village's upload is a submission like any other ---------------------------------------------
def test_an_upload_is_judged_counted_and_listed(office, ledgers, monkeypatch):
    toml, tokens = office
    good, faulty, _ = ledgers
    with serving(monkeypatch, toml) as srv:
        ok = answer(upload(srv, tokens["东村"], good.path))
        assert ok["outcome"] == "ok" and ok["village"] == "东村" and ok["cases"] == 6 and ok["problems"] == []
        assert "已收到" in ok["headline"]
        bad = answer(upload(srv, tokens["东村"], faulty.path))
        assert bad["outcome"] == "has_errors" and bad["errors"] >= 1 and bad["copy"] is True
        cells = {(p["sheet"], p["cell"]) for p in bad["problems"]}
        assert (faulty.sheet, faulty.faults["unknown_status"].cell) in cells
        assert all(p["message"] and p["action"] for p in bad["problems"])
        status, headers, copy = request(srv, "GET", f"/v/{tokens['东村']}/copy/{bad['submission']}")
        assert status == 200 and "attachment" in headers["content-disposition"]
        book = Path(toml.parent / "副本.xlsx")
        book.write_bytes(copy)
        assert "校验结果" in CalamineWorkbook.from_path(str(book)).sheet_names
        named = answer(upload(srv, tokens["东村"], good.path.read_bytes(), name="..\\../东村台账.xlsx"))
        assert named["file"] == "东村台账.xlsx"                          # a name, never a path
        again = answer(upload(srv, tokens["东村"], good.path))          # the same bytes again
        assert again["submission"] == ok["submission"] and any("完全相同" in n for n in again["notes"])
    view = api.submissions(config=str(toml)).to_dict()
    east = next(v for v in view["villages"] if v["village"] == "东村")
    assert {s["source"] for s in east["history"]} == {"portal"}
    assert {s["sender"] for s in east["history"]} == {"link-1"}
    result = api.consolidate(config=str(toml))
    assert "东村" not in result.missing_villages and result.cases == 6
    out = CliRunner().invoke(cli, ["submissions", "--config", str(toml)])
    assert "网页" in out.output and "东村台账" in out.output


def test_the_status_page_shows_the_upload_after_a_consolidation(office, ledgers, monkeypatch):
    toml, tokens = office
    with serving(monkeypatch, toml) as srv:
        answer(upload(srv, tokens["西村"], ledgers[2].path))
        api.consolidate(config=str(toml))
        status, _, page = request(srv, "GET", "/office")                 # this computer: no token
        text = page.decode("utf-8")
        assert status == 200 and "今日情况" in text and "西村台账.xlsx" in text and "未报 7 个" in text
        assert "<td>4</td>" in text and "网页" in text
        assert request(srv, "GET", f"/office/{tokens['']}")[0] == 200    # the office's own link
        status, headers, master = request(srv, "GET", "/office/master")
        assert status == 200 and master[:2] == b"PK" and "attachment" in headers["content-disposition"]
        assert request(srv, "GET", f"/office/{tokens['西村']}")[0] == 403   # a village's link is not the office's
        assert "身份证" not in text and "信访人" not in text.replace("不显示信访人信息", "")


def test_the_judge_takes_the_village_from_the_link_recorded_on_arrival(tmp_path, ledgers):
    settings = api.load_settings(config=str(portal_office(tmp_path / "o")))
    roster = Roster(settings)
    with SubmissionArchive(tmp_path / "archive") as archive:
        sub = archive.add(b"x", filename="台账.xlsx", source="portal", sender="link-3", vouched="东村")
        none = archive.add(b"y", filename="台账.xlsx", source="portal", sender="link-9")
    base = {"findings": 1, "claimed": "东村", "claimed_from": "reporter"}
    assert verdict_of(_with(sub, **base), roster).village == "东村"
    held = verdict_of(_with(none, **base), roster)
    assert (held.outcome, held.reason.code) == ("held", Code.LINK_INVALID)
    other = verdict_of(_with(sub, **{**base, "claimed": "西村"}), roster)
    assert (other.outcome, other.reason.code) == ("held", Code.VILLAGE_MISMATCH)


def _with(sub, **kw):
    from dataclasses import replace
    return replace(sub, **kw)


# --- strangers stay out ------------------------------------------------------------------------------
def test_form_token_host_origin_and_size(office, ledgers, monkeypatch):
    toml, tokens = office
    east, west = tokens["东村"], tokens["西村"]
    data = ledgers[0].path
    with serving(monkeypatch, toml, limits=Limits(max_upload_mb=0.5)) as srv:
        assert upload(srv, east, data, csrf="")[0] == 403                        # no form token
        assert upload(srv, east, data, csrf="0" * 64)[0] == 403                  # a wrong one
        assert upload(srv, east, data, csrf=open_page(srv, west))[0] == 403      # another village's
        assert upload(srv, east, data, headers={"Host": "evil.example"})[0] == 400
        assert upload(srv, east, data, headers={"Origin": "http://evil.example"})[0] == 403
        port = srv.server_address[1]
        assert upload(srv, east, data, headers={"Origin": f"http://127.0.0.1:{port}"})[0] == 200
        status, _, body = upload(srv, east, b"PK", name="x.xlsx", headers={"Content-Length": str(2**20)})
        assert status == 413 and "MB" in body.decode("utf-8")                   # refused before reading
        status, _, body = upload(srv, east, b"%PDF-1.4", name="说明.pdf")
        assert status == 400 and "不是表格文件" in body.decode("utf-8")
        status, headers, page = request(srv, "GET", f"/v/{east}")
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer" and headers["x-frame-options"] == "DENY"
        assert b"<script src=\"/portal.js\">" in page and b"<script>" not in page


def test_a_hostile_file_is_refused_by_the_same_intake(office, tmp_path, monkeypatch):
    toml, tokens = office
    bomb = huge_string_zip(tmp_path / "东村台账.xlsx")
    with serving(monkeypatch, toml) as srv:
        got = answer(upload(srv, tokens["东村"], bomb))
        assert got["outcome"] == "rejected" and "压缩炸弹" in got["problems"][0]["message"]
        assert request(srv, "GET", "/health")[0] == 200                         # the server lives on


def test_revoked_and_unknown_links(office, ledgers, monkeypatch):
    toml, tokens = office
    with serving(monkeypatch, toml) as srv:
        csrf = open_page(srv, tokens["东村"])
        out = CliRunner().invoke(cli, ["links", "--revoke", "东村", "--config", str(toml)])
        assert out.exit_code == 0 and "已作废东村" in out.output
        status, _, page = request(srv, "GET", f"/v/{tokens['东村']}")
        assert status == 403 and "已作废" in page.decode("utf-8")
        assert upload(srv, tokens["东村"], ledgers[0].path, csrf=csrf)[0] == 403
        assert request(srv, "GET", "/v/" + "A" * 43)[0] == 403
        fresh = village_tokens(toml)
        assert list(fresh) == ["东村"] and fresh["东村"] != tokens["东村"]
        assert answer(upload(srv, fresh["东村"], ledgers[0].path))["outcome"] == "ok"


def test_nothing_outside_the_office_files_is_served(office, ledgers, monkeypatch):
    toml, tokens = office
    with serving(monkeypatch, toml) as srv:
        mine = answer(upload(srv, tokens["东村"], ledgers[1].path))["submission"]
        assert request(srv, "GET", f"/v/{tokens['西村']}/copy/{mine}")[0] == 404   # not that village's
        for path in (f"/v/{tokens['东村']}/copy/../../taizhang.toml", f"/v/{tokens['东村']}/copy/%2e%2e%2f",
                     "/office/../taizhang.toml", "/office/%2e%2e/taizhang.toml", "/portal.js/../taizhang.toml",
                     "//etc/passwd", "/v/..%2f..%2ftaizhang.toml"):
            status, _, body = request(srv, "GET", path)
            assert status in (403, 404), path
            assert b"[daily]" not in body


def test_uploads_per_link_are_rate_limited(office, ledgers, monkeypatch):
    toml, tokens = office
    with serving(monkeypatch, toml, limits=Limits(uploads_per_hour=2)) as srv:
        assert answer(upload(srv, tokens["东村"], ledgers[0].path))
        assert answer(upload(srv, tokens["东村"], ledgers[1].path))
        status, headers, body = upload(srv, tokens["东村"], ledgers[0].path)
        assert status == 429 and int(headers["retry-after"]) > 0 and "分钟后再试" in body.decode("utf-8")
        assert answer(upload(srv, tokens["西村"], ledgers[2].path))                # another link is not


def test_the_log_names_links_never_tokens_or_files(office, ledgers, monkeypatch, caplog):
    toml, tokens = office
    caplog.set_level(logging.INFO)
    with serving(monkeypatch, toml) as srv:
        answer(upload(srv, tokens["东村"], ledgers[0].path))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "upload: link link-1, submission 1" in logged
    assert tokens["东村"] not in logged and "东村台账" not in logged


def test_the_office_page_is_for_this_computer_or_the_office_link(office, monkeypatch):
    toml, tokens = office
    address = _own_lan_address()
    if address is None:
        pytest.skip("this computer has no address besides loopback to connect from")
    with serving(monkeypatch, toml, host=address) as srv:
        status, _, page = request(srv, "GET", "/office")
        assert status == 403 and "只能在本机打开" in page.decode("utf-8")
        assert request(srv, "GET", "/office/master")[0] == 403
        assert request(srv, "GET", f"/office/{tokens['']}")[0] == 200


def _own_lan_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))             # no packet is sent: only the route is chosen
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


# --- the clerk's links ---------------------------------------------------------------------------------
def test_links_are_shown_once_kept_as_hashes_and_printable(tmp_path, capsys):
    toml = portal_office(tmp_path / "南郊乡", serve='host = "192.0.2.10"\nport = 8080')
    sheet = tmp_path / "报送方式.xlsx"
    first = CliRunner().invoke(cli, ["links", "--config", str(toml), "--sheet", str(sheet)])
    assert first.exit_code == 0, first.output
    urls = [line.split("：", 1)[1].split("（")[0] for line in first.output.splitlines() if "（新生成）" in line]
    assert len(urls) == 8 and all(u.startswith("http://192.0.2.10:8080/v/") for u in urls)
    assert "只能在这台电脑上打开" not in first.output
    rows = CalamineWorkbook.from_path(str(sheet)).get_sheet_by_name("报送方式").to_python()
    assert {r[2] for r in rows[2:]} == set(urls)
    again = CliRunner().invoke(cli, ["links", "--config", str(toml)])
    assert "（新生成）" not in again.output and again.output.count("已于") == 8
    stored = (toml.parent / "状态" / "links.sqlite").read_bytes()
    for url in urls:
        assert url.rsplit("/", 1)[1].encode("ascii") not in stored
    with sqlite3.connect(toml.parent / "状态" / "links.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM links WHERE revoked IS NULL").fetchone()[0] == 8
    assert main(["links", "--revoke", "不存在村", "--config", str(toml)]) == 1
    assert "没有有效的报送地址" in capsys.readouterr().err


def test_doctor_says_whether_the_page_answers(office, monkeypatch, tmp_path):
    toml, _ = office
    with serving(monkeypatch, toml) as srv:
        port = srv.server_address[1]
        toml.write_text(toml.read_text(encoding="utf-8") + f'[serve]\nhost = "127.0.0.1"\nport = {port}\n',
                        encoding="utf-8")
        report = api.doctor(config=str(toml), connect_mail=False).to_dict()
        lines = {c["item"]: c for c in report["checks"]}
        assert lines["网页报送地址"]["status"] == "正常" and lines["网页报送"]["status"] == "正常"
    report = api.doctor(config=str(toml), connect_mail=False).to_dict()
    lines = {c["item"]: c for c in report["checks"]}
    assert lines["网页报送"]["status"] == "注意" and "taizhang serve" in lines["网页报送"]["detail"]


def test_serve_listens_where_the_config_says(tmp_path, monkeypatch):
    toml = portal_office(tmp_path / "o", serve='host = "127.0.0.1"\nport = 0\nmax_upload_mb = 3\n'
                                               'uploads_per_hour = 5\nuploads_at_once = 1')
    monkeypatch.setenv("TAIZHANG_SERVE_TOKEN", "k3y-for-tests-0123456789")
    srv = make_server(config=str(toml))
    try:
        assert srv.server_address[0] == "127.0.0.1" and srv.server_address[1] > 0
        assert (srv.limits.max_upload_mb, srv.limits.uploads_per_hour, srv.limits.uploads_at_once) == (3, 5, 1)
    finally:
        srv.server_close()
    bare = portal_office(tmp_path / "p")
    srv = make_server(port=0, config=str(bare))
    try:
        assert srv.server_address[0] == "127.0.0.1"           # no [serve] host: this computer only
    finally:
        srv.server_close()


def test_uploads_at_once_and_a_running_consolidation_are_told_to_wait(office, ledgers, monkeypatch):
    toml, tokens = office
    with serving(monkeypatch, toml, limits=Limits(uploads_at_once=1)) as srv:
        csrf = open_page(srv, tokens["东村"])
        assert srv.uploads.acquire(blocking=False)          # another village's upload is being checked
        try:
            status, headers, body = upload(srv, tokens["东村"], ledgers[0].path, csrf=csrf)
        finally:
            srv.uploads.release()
        assert status == 503 and headers["retry-after"] and "服务器正忙" in body.decode("utf-8")
    link = api.find_link(tokens["东村"], config=str(toml))
    cfg = api.load_config(str(toml))
    with run_lock(cfg.state), pytest.raises(UploadBusy, match="正在汇总"):       # a consolidation runs
        receive_upload(cfg, api.load_settings(config=cfg), link, "东村台账.xlsx", ledgers[0].path.read_bytes(),
                       as_of=api.as_date("2010-10-20"), lock_wait=0.2)


@pytest.mark.slow
@pytest.mark.skipif(not api.can_write_pdf(), reason="LibreOffice 未安装：简报 PDF 无法生成")
def test_the_office_downloads_the_latest_brief(office, ledgers, monkeypatch):
    toml, tokens = office
    with serving(monkeypatch, toml) as srv:
        answer(upload(srv, tokens["东村"], ledgers[0].path))
        api.write_brief(api.consolidate(config=str(toml)), config=str(toml))
        status, _, page = request(srv, "GET", "/office")
        assert status == 200 and 'href="/office/brief"' in page.decode("utf-8")
        status, headers, pdf = request(srv, "GET", f"/office/{tokens['']}/brief")
        assert status == 200 and pdf.startswith(b"%PDF") and headers["content-type"] == "application/pdf"


def test_links_that_open_only_here_say_so(tmp_path):
    """No [serve] address: the printed links start with 127.0.0.1, which no village can open."""
    toml = portal_office(tmp_path / "南郊乡")
    out = CliRunner().invoke(cli, ["links", "--config", str(toml)]).output
    assert "http://127.0.0.1:8765/v/" in out and "只能在这台电脑上打开，各村打不开" in out
    assert "[serve]" in out

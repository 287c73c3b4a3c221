"""`taizhang serve` over real HTTP on 127.0.0.1: the JSON the VBA client sends in,
the actions it applies out; the token, the size limit and the version check."""
from __future__ import annotations

import http.client
import json
import threading

import pytest
from click.testing import CliRunner

from test_macros import VbaClient, remote_only
from toolkit.shells import buttons as macros
from toolkit.shells.cli import cli
from factories.ledgers import LedgerStyle, make_ledger
from toolkit.shells.server import ServeError, make_server, vba_payload

TOKEN = "k3y-for-tests-0123456789"


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    monkeypatch.setenv("TAIZHANG_SERVE_TOKEN", TOKEN)
    cfg = tmp_path / "taizhang.toml"
    cfg.write_text(f"[paths]\nlogs = '{(tmp_path / 'logs').as_posix()}'\n"
                   f"settings_workbook = '{(tmp_path / 'absent.xlsx').as_posix()}'\n"
                   "[daily]\nas_of = '2010-10-20'\n", encoding="utf-8")
    monkeypatch.setenv("TAIZHANG_CONFIG", str(cfg))
    srv = make_server("127.0.0.1", 0, max_mb=1)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    sample = make_ledger(tmp_path_factory.mktemp("srv") / "东村台账.xlsx", village="东村", n_cases=10,
                         layout=LedgerStyle(faults=("unknown_status", "invalid_tick")))
    return sample, vba_payload(sample.path, active_sheet=sample.sheet)


def post(srv, path: str, body: bytes, token: str | None = TOKEN, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    h = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_validate_over_http(server, payload):
    sample, body = payload
    status, data = post(server, "/validate_active_sheet", json.dumps(body).encode("utf-8"))
    assert status == 200
    actions = json.loads(data)["actions"]
    remote_only(actions)
    client = VbaClient(body).apply(actions)
    assert client.fills[(sample.sheet, sample.faults["unknown_status"].cell)] == "#FF9999"
    assert client.fills[(sample.sheet, sample.faults["invalid_tick"].cell)] == "#FFFF66"
    assert macros.RESULT_SHEET in [s["name"] for s in client.sheets]


def test_fill_over_http_then_again(server, payload):
    sample, body = payload
    status, data = post(server, "/fill_active_sheet", json.dumps(body).encode("utf-8"))
    assert status == 200
    client = VbaClient(body).apply(json.loads(data)["actions"])
    status, data = post(server, "/fill_active_sheet", json.dumps(client.payload).encode("utf-8"))
    assert status == 200
    again = VbaClient(client.payload).apply(json.loads(data)["actions"])
    assert again.sheet(sample.sheet)["values"] == client.sheet(sample.sheet)["values"]


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789", TOKEN + "x"])
def test_wrong_or_missing_token_is_401(server, payload, token):
    status, data = post(server, "/validate_active_sheet", json.dumps(payload[1]).encode(), token=token)
    assert status == 401
    assert "AUTH" in data.decode("utf-8")


def test_unknown_handler_bad_json_and_too_large(server, payload):
    assert post(server, "/delete_everything", b"{}")[0] == 404
    assert post(server, "/validate_active_sheet", b"not json")[0] == 400
    assert post(server, "/validate_active_sheet", b'{"no": "sheets"}')[0] == 400
    status, data = post(server, "/validate_active_sheet", b"{}",
                        headers={"Content-Length": str(2 * 2**20)})   # refused before reading
    assert status == 413 and "MB" in data.decode("utf-8")


def test_other_xlwings_version_is_explained(server, payload):
    body = dict(payload[1], version="0.1.0")
    status, data = post(server, "/check_setup", json.dumps(body).encode("utf-8"))
    assert status == 400
    assert "0.1.0" in data.decode("utf-8") and "版本" in data.decode("utf-8")


def test_health_needs_no_token(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.request("GET", "/health")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"ok")
    conn.close()


def test_no_token_no_server(monkeypatch):
    monkeypatch.delenv("TAIZHANG_SERVE_TOKEN", raising=False)
    with pytest.raises(ServeError, match="TAIZHANG_SERVE_TOKEN"):
        make_server("127.0.0.1", 0)
    monkeypatch.setenv("SHORT_TOKEN", "abc")
    with pytest.raises(ServeError, match="16"):
        make_server("127.0.0.1", 0, token_env="SHORT_TOKEN")
    result = CliRunner().invoke(cli, ["serve", "--port", "8765"])
    assert "TAIZHANG_SERVE_TOKEN" in result.output

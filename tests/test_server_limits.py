"""`taizhang serve` over real HTTP on 127.0.0.1, as a browser, a stranger and a slow client meet it:
the home page and the guide, Content-Length, Host and Origin, the cap on connections (and so on
threads), the time to send one request, and the one config the server started with.

Nothing here measures time: a slow client is shown to be cut off long before it gives up."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from factories.ledgers import make_ledger
from factories.portal import running
from toolkit import api
from toolkit.core.config import PROJECT_ROOT
from toolkit.shells.server import Limits, make_server, vba_payload

TOKEN = "k3y-for-tests-0123456789"


@contextmanager
def serving(monkeypatch, limits: Limits = Limits(), config=None):
    monkeypatch.setenv("TAIZHANG_SERVE_TOKEN", TOKEN)
    with running(make_server("127.0.0.1", 0, limits=limits, config=config)) as srv:
        yield srv


def office(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "taizhang.toml").write_text('[daily]\nas_of = "2010-10-20"\n', encoding="utf-8")
    api.write_settings(folder / "设置.xlsx", config=folder / "taizhang.toml", year=2010, township="南郊乡")
    return folder / "taizhang.toml"


def raw(srv, data: bytes, *, timeout: float = 30) -> bytes:
    """Send ``data`` as is; everything the server answers until it closes."""
    with socket.create_connection(srv.server_address, timeout=timeout) as s:
        s.sendall(data)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    return got


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def get(srv, path: str, headers: dict | None = None) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection(*srv.server_address, timeout=30)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read().decode("utf-8")
    conn.close()
    return resp.status, resp.getheader("Content-Type", ""), body


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    sample = make_ledger(tmp_path_factory.mktemp("srv") / "东村台账.xlsx", village="东村", n_cases=3)
    return vba_payload(sample.path, active_sheet=sample.sheet)


def button(srv, name: str, body: dict, headers: dict | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection(*srv.server_address, timeout=120)
    conn.request("POST", f"/{name}", body=json.dumps(body).encode("utf-8"),
                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
                          **(headers or {})})
    resp = conn.getresponse()
    data = resp.read().decode("utf-8")
    conn.close()
    return resp.status, data


def alerts(data: str) -> list[str]:
    return [a["args"][0] for a in json.loads(data)["actions"] if a["func"] == "alert"]


# --- pages ------------------------------------------------------------------------------------------
def test_the_home_page_says_what_this_is_for_the_office(tmp_path, monkeypatch):
    toml = office(tmp_path / "南郊乡")
    with serving(monkeypatch, config=str(toml)) as srv:
        status, ctype, page = get(srv, "/")
        assert status == 200 and ctype.startswith("text/html")
        assert "台账工具按钮服务 — 南郊乡信访办" in page and "校验本表" in page
        assert "南郊乡2010年信访积案化解活动（2010-10-20 处于：督导检查）" in page and "核对日期 2010-10-20" in page
        assert "每日汇总" in page and "尚未生成" in page
        assert 'href="/health"' in page and 'href="/guide"' in page and "未找到 taizhang.toml" not in page
        assert get(srv, "/health")[::2] == (200, "ok")
        status, ctype, guide = get(srv, "/guide")
        assert status == 200 and "使用说明" in guide and "taizhang serve" in guide
        assert 'href="#' in guide and 'href="#"' not in guide and "development.md" not in guide
        assert get(srv, "/%E6%B2%A1%E6%9C%89")[0] == 404
        assert get(srv, "/validate_active_sheet")[0] == 405          # a button is POST only


# --- Content-Length ------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers, code", [
    ("Content-Length: -1\r\n", 400),                 # issue 18: it bypassed the size limit
    ("Content-Length: 1e3\r\n", 400),
    ("Content-Length: +5\r\n", 400),
    ("Content-Length: 5\r\nContent-Length: 6\r\n", 400),
    ("", 411),
    ("Transfer-Encoding: chunked\r\n", 411),
    (f"Content-Length: {2 * 2**20}\r\n", 413),
])
def test_a_body_must_say_its_length_plainly_and_within_the_limit(tmp_path, monkeypatch, headers, code):
    with serving(monkeypatch, Limits(max_body_mb=1), config=str(office(tmp_path))) as srv:
        request = (f"POST /validate_active_sheet HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                   f"{headers}\r\n{{}}").encode("utf-8")
        reply = raw(srv, request)
        assert status_of(reply) == code and "长度".encode() in reply or "太大".encode() in reply


# --- Host and Origin ------------------------------------------------------------------------------------
def test_host_and_origin_keep_other_sites_out(tmp_path, monkeypatch, payload):
    with serving(monkeypatch, config=str(office(tmp_path))) as srv:
        port = srv.server_address[1]
        assert get(srv, "/health", {"Host": "evil.example"})[0] == 400          # DNS rebinding
        assert get(srv, "/health", {"Host": f"localhost:{port}"})[0] == 200
        assert get(srv, "/health", {"Host": f"192.0.2.7:{port}"})[0] == 200     # its address on the LAN
        assert get(srv, "/health", {"Host": f"{socket.gethostname()}:{port}"})[0] == 200
        assert status_of(raw(srv, b"GET /health HTTP/1.1\r\n\r\n")) == 400      # no Host at all
        status, _ = button(srv, "check_setup", payload, {"Origin": "http://evil.example"})
        assert status == 403
        status, data = button(srv, "check_setup", payload, {"Origin": f"http://127.0.0.1:{port}"})
        assert status == 200 and alerts(data)


# --- connections and time ----------------------------------------------------------------------------------
def test_connections_are_capped_and_so_are_threads(tmp_path, monkeypatch):
    limits = Limits(max_connections=3, request_seconds=60, idle_seconds=60)
    with serving(monkeypatch, limits, config=str(office(tmp_path))) as srv:
        before = threading.active_count()
        idle = [socket.create_connection(srv.server_address, timeout=30) for _ in range(limits.max_connections)]
        try:
            _wait(lambda: threading.active_count() >= before + limits.max_connections)
            crowd = []
            for _ in range(20):                    # half-open connections beyond the cap
                s = socket.create_connection(srv.server_address, timeout=30)
                crowd.append(s)
            refused = [s.recv(200) for s in crowd]
            assert all(r.startswith(b"HTTP/1.1 503") for r in refused)
            assert threading.active_count() <= before + limits.max_connections
        finally:
            for s in idle + crowd:
                s.close()
        _wait(lambda: _health(srv) == 200)        # the slots come back when the clients go


def test_a_client_sending_a_byte_at_a_time_is_cut_off(tmp_path, monkeypatch):
    """Issue 18: one byte every 20 s held a connection for minutes (each byte reset the socket
    timeout). Now the whole request must arrive within request_seconds."""
    limits = Limits(request_seconds=2, idle_seconds=1.5)
    with serving(monkeypatch, limits, config=str(office(tmp_path))) as srv:
        for head, tail in ((b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"a" * 10_000),
                           (f"POST /check_setup HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                            "Content-Length: 10000\r\n\r\n".encode(), b"{" + b" " * 9_999)):
            with socket.create_connection(srv.server_address, timeout=30) as s:
                s.sendall(head)
                sent, answer = 0, b""
                give_up = time.monotonic() + 60      # far beyond request_seconds, even on a busy machine
                while time.monotonic() < give_up:
                    try:
                        s.sendall(tail[sent:sent + 1])
                    except OSError:                  # the server closed the connection
                        break
                    sent += 1
                    if _readable(s):
                        answer = s.recv(1000)
                        break
                    time.sleep(0.3)
                assert time.monotonic() < give_up and sent < len(tail), "the slow client was never cut off"
                assert answer in (b"",) or answer.startswith(b"HTTP/1.1 408")


# --- one config --------------------------------------------------------------------------------------------
def test_the_server_answers_with_the_config_it_started_with(tmp_path, monkeypatch, payload):
    ours = office(tmp_path / "南郊乡")
    theirs = office(tmp_path / "别的乡")
    with serving(monkeypatch, config=str(ours)) as srv:
        monkeypatch.chdir(theirs.parent)                     # the server's process moves on
        named = dict(payload, book=dict(payload["book"], name=str(theirs.parent / "台账工作台.xlsm")))
        status, data = button(srv, "check_setup", named)
        assert status == 200
        (text,) = alerts(data)
        assert f"配置文件：{ours}" in text and str(theirs) not in text
    assert api.load_config().source == theirs                 # unpinned when the server closes


def test_a_server_on_the_demo_says_so_everywhere(tmp_path, monkeypatch, payload):
    monkeypatch.chdir(tmp_path)
    with serving(monkeypatch) as srv:
        assert srv.config.demo and srv.demo_notice.startswith("未找到 taizhang.toml")
        assert "未找到 taizhang.toml" in get(srv, "/")[2]
        status, data = button(srv, "check_setup", payload)
        assert status == 200 and all(a.startswith("未找到 taizhang.toml") for a in alerts(data))


@pytest.mark.slow
def test_taizhang_serve_on_the_demo_says_so_first(tmp_path):
    first, second = serve_says(tmp_path, 2, TAIZHANG_DEMO_HOME=str(tmp_path / "demo"))
    assert first.startswith("未找到 taizhang.toml") and "按钮服务因此也用演示" in first
    assert second.startswith("按钮服务已启动")


def _wait(condition, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, "the server did not get there"
        time.sleep(0.05)


def _health(srv) -> int | None:
    try:
        return get(srv, "/health")[0]
    except OSError:
        return None


def _readable(s: socket.socket) -> bool:
    import select
    return bool(select.select([s], [], [], 0)[0])


@pytest.mark.slow
@pytest.mark.parametrize("host, says", [("127.0.0.1", "乡信访办情况页：在本机打开 http://127.0.0.1:"),
                                        ("127.0.0.2", "乡信访办情况页：在本机打开 http://127.0.0.2:"),
                                        ("0.0.0.0", "乡信访办情况页：在本机打开 http://127.0.0.1:"),
                                        ("lan", "本机的 127.0.0.1 打不开，请用 taizhang links --office")])
def test_taizhang_serve_says_where_the_office_page_opens(tmp_path, host, says):
    """Listening on an office's LAN address only, 127.0.0.1 answers nothing: the start line must
    not send the clerk there."""
    if host == "lan":
        from test_portal import _own_lan_address
        host = _own_lan_address() or pytest.skip("this computer has no address besides loopback")
    (tmp_path / "taizhang.toml").write_text(f'[serve]\nhost = "{host}"\n', encoding="utf-8")
    (started,) = serve_says(tmp_path, 1)
    assert started.startswith("按钮服务已启动") and says in started, started


def serve_says(folder: Path, lines: int, **env_extra: str) -> list[str]:
    """The first ``lines`` lines `taizhang serve` prints, started in ``folder`` on a free port."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TAIZHANG_SERVE_TOKEN": TOKEN, **env_extra}
    env.pop("TAIZHANG_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "toolkit.shells.cli", "serve", "--port", "0"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
    try:
        return [proc.stdout.readline() for _ in range(lines)]
    finally:
        proc.terminate()
        proc.communicate(timeout=60)

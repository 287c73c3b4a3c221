"""An office with a roster and village links, its server on 127.0.0.1, and the requests a
village's browser makes (the page, the upload, the copy), for the office page's tests."""
from __future__ import annotations

import http.client
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from toolkit import api
from toolkit.shells.server import Limits, make_server

SERVE_TOKEN = "k3y-for-tests-0123456789"


def portal_office(folder: Path, *, serve: str = "") -> Path:
    """An office folder (taizhang.toml fixing the as-of date 2010-10-20, the demo's 8-village
    roster in 设置.xlsx, an empty 收件箱); ``serve``: extra lines for its [serve] section."""
    folder.mkdir(parents=True, exist_ok=True)
    toml = folder / "taizhang.toml"
    toml.write_text('[daily]\nas_of = "2010-10-20"\n' + (f"[serve]\n{serve}\n" if serve else ""), encoding="utf-8")
    api.write_settings(folder / "设置.xlsx", config=toml, demo=True)
    (folder / "收件箱").mkdir()
    return toml


def village_tokens(toml: Path, **kw) -> dict[str, str]:
    """Links for every roster village (and the office's): name -> token ("" for the office)."""
    listing = api.links(config=str(toml), **kw)
    return {("" if k.is_office else k.village): k.token for k in listing.made}


@contextmanager
def running(srv):
    """``srv`` serving in a thread of its own, shut down and closed on leaving."""
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


@contextmanager
def serving(monkeypatch, toml: Path, *, limits: Limits | None = None, host: str = "127.0.0.1"):
    monkeypatch.setenv("TAIZHANG_SERVE_TOKEN", SERVE_TOKEN)
    with running(make_server(host, 0, config=str(toml), limits=limits)) as srv:
        yield srv


def request(srv, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def form_token(page: bytes) -> str:
    return re.search(rb'name="csrf" content="([0-9a-f]+)"', page).group(1).decode("ascii")


def open_page(srv, token: str) -> str:
    """The village's page, and its form token."""
    status, _, page = request(srv, "GET", f"/v/{token}")
    assert status == 200, page.decode("utf-8")
    return form_token(page)


def upload(srv, token: str, data: bytes | Path, *, name: str | None = None, csrf: str | None = None,
           headers: dict | None = None) -> tuple[int, dict, bytes]:
    """POST one file as the page's script does (csrf None: the page's own token)."""
    if isinstance(data, Path):
        name = name or data.name
        data = data.read_bytes()
    csrf = open_page(srv, token) if csrf is None else csrf
    h = {"Content-Type": "application/octet-stream", "X-File-Name": quote(name or "台账.xlsx"),
         **({"X-CSRF-Token": csrf} if csrf else {}), **(headers or {})}
    return request(srv, "POST", f"/v/{token}/upload", data, h)

"""`taizhang serve`: the Excel buttons for PCs without Python.

xlwings' VBA client (``RunRemotePython``, toolkit/shells/vba/xlwings/Remote.bas) POSTs
the active workbook as JSON (``vba_payload`` below builds the same thing from a
file, for tests and benchmarks) to ``/<handler>``; the server runs the handler of
toolkit/macros.py on ``xw.Book(json=payload)`` and answers ``{"actions": [...]}``,
which the client applies to the workbook.

Small on purpose: the standard library's ThreadingHTTPServer, a bearer token
read from an environment variable (compared in constant time), loopback by
default, a request size limit, socket timeouts, and one handler run at a time
(xlwings' remote engine keeps its books in module state). Payloads are never
logged: they hold petitioners' personal data.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import threading
from datetime import date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from toolkit.core.errors import TaizhangError

log = logging.getLogger("taizhang.server")

DEFAULT_PORT = 8765
DEFAULT_TOKEN_ENV = "TAIZHANG_SERVE_TOKEN"
MAX_REQUEST_MB = 20.0
SOCKET_TIMEOUT = 30.0
HANDLERS = ("validate_active_sheet", "fill_active_sheet", "consolidate_all", "check_setup")


class ServeError(TaizhangError):
    """Cannot start the server; Chinese message."""


# --- the payload the VBA client sends ---------------------------------------------------
def vba_payload(path: Path | str, *, active_sheet: str | None = None, name: str | None = None,
                version: str | None = None) -> dict:
    """The JSON ``RunRemotePython`` sends for the workbook at ``path``, as Remote.bas
    builds it: every worksheet's values from A1 to the end of its used range, with
    VBA's JSON conventions (WebHelpers.ConvertToJson): empty -> null, dates ->
    "yyyy-mm-ddTHH:MM:SS.000Z", numbers as VBA prints them (at most 15 significant
    digits), and a text of 16-100 characters of digits/./E/e sent unquoted as a number.
    Values are read with python-calamine (the file must be trusted or pre-flighted)."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    if version is None:
        import xlwings
        version = xlwings.__version__
    path = Path(path)
    sheets = []
    with CalamineWorkbook.from_path(str(path)) as wb:
        names = [m.name for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        for sheet_name in names:
            rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            width = max((len(r) for r in rows), default=0)
            values = [[_vba_json(v) for v in list(r) + [""] * (width - len(r))] for r in rows]
            sheets.append({"name": sheet_name, "pictures": [], "tables": [],
                           "values": values if values else [[]]})
    active = names.index(active_sheet) if active_sheet else 0
    payload = {"client": "VBA", "version": version,
               "book": {"name": name or path.name, "active_sheet_index": active, "selection": "A1"},
               "names": [], "sheets": sheets}
    # what goes over the wire: unquoted "large numbers" come back as JSON numbers
    return json.loads(_dumps_vba(payload))


class _Raw(str):
    """A JSON number VBA writes unquoted."""


def _vba_json(v):
    if v == "" or v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, date):
        return v.strftime("%Y-%m-%dT00:00:00.000Z")
    if isinstance(v, (int, float)):
        f = float(v)
        if f.is_integer() and abs(f) < 1e15:
            return int(f)
        return float(format(f, ".15G"))       # VBA's CStr of a Double
    s = str(v)
    if 16 <= len(s) <= 100 and all(c in "0123456789.Ee" for c in s):
        try:
            json.loads(s)
            return _Raw(s)
        except ValueError:
            pass
    return s


def _dumps_vba(obj) -> str:
    if isinstance(obj, _Raw):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dumps_vba(v) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(_dumps_vba(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def ensure_remote_engine():
    """xlwings with its remote engine registered. xlwings registers it at import time
    only when XLWINGS_LICENSE_KEY is set; if xlwings was imported before the key was,
    register it now (importing xlwings.pro checks the key again)."""
    import xlwings as xw

    if "remote" not in [e.name for e in xw.engines]:
        from xlwings.main import Engine
        from xlwings.pro import _xlremote
        xw.engines.add(Engine(impl=_xlremote.engine))
    return xw


def run_handler(handler: str, payload: dict) -> dict:
    """Run one handler of toolkit.shells.buttons on a payload; return the client's actions."""
    from toolkit.shells import buttons as macros

    xw = ensure_remote_engine()

    if handler not in HANDLERS:
        raise KeyError(handler)
    book = xw.Book(json=payload)
    try:
        getattr(macros, handler)(book)
        return book.json()
    finally:
        book.close()


# --- HTTP -------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server_version = "taizhang"
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT

    def do_GET(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/health":
            self._send(HTTPStatus.OK, "ok")
        else:
            self._send(HTTPStatus.NOT_FOUND, "没有这个地址。")

    def do_POST(self) -> None:  # noqa: N802
        srv: TaizhangServer = self.server  # type: ignore[assignment]
        if not srv.authorized(self.headers.get("Authorization", "")):
            self._send(HTTPStatus.UNAUTHORIZED, "服务器口令不对或未设置：请在本机 %USERPROFILE%\\.xlwings\\"
                       "xlwings.conf 中写一行 \"AUTH\",\"Bearer 口令\"（口令向乡信访办管理员索取）。",
                       extra={"WWW-Authenticate": "Bearer"})
            return
        handler = urlsplit(self.path).path.strip("/")
        if handler not in HANDLERS:
            self._send(HTTPStatus.NOT_FOUND, f"服务器没有“{handler}”这个按钮功能。")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(HTTPStatus.LENGTH_REQUIRED, "请求缺少长度。")
            return
        if length > srv.max_bytes:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                       f"工作簿太大（超过 {srv.max_bytes // 2**20} MB），请只保留要处理的工作表后再试。")
            return
        try:
            payload = json.loads(self.rfile.read(length).decode("utf-8"))
            if not isinstance(payload, dict) or "sheets" not in payload:
                raise ValueError("not a workbook")
        except (ValueError, UnicodeDecodeError):
            self._send(HTTPStatus.BAD_REQUEST, "收到的内容不是 xlwings 发来的工作簿。")
            return
        self._send_json(*srv.handle(handler, payload))

    def _send_json(self, status: HTTPStatus, body) -> None:
        if status != HTTPStatus.OK:
            self._send(status, body)
            return
        data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        self._reply(status, data, "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, text: str, extra: dict | None = None) -> None:
        self._reply(status, text.encode("utf-8"), "text/plain; charset=utf-8", extra)

    def _reply(self, status, data: bytes, ctype: str, extra: dict | None = None) -> None:
        if status != HTTPStatus.OK:
            self.close_connection = True      # an unread body must not be taken for a request
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:   # request line and status only
        log.info("%s %s", self.address_string(), fmt % args)


class TaizhangServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str, *, max_mb: float = MAX_REQUEST_MB):
        if not token or len(token) < 16:
            raise ServeError("服务器口令太短或未设置：请设一个至少 16 个字符的随机口令。")
        self.token = token
        self.max_bytes = int(max_mb * 2**20)
        self._run_lock = threading.Lock()
        super().__init__(address, _Handler)

    def authorized(self, header: str) -> bool:
        expected = f"Bearer {self.token}".encode("utf-8")
        return hmac.compare_digest(header.strip().encode("utf-8", "replace"), expected)

    def handle(self, handler: str, payload: dict) -> tuple[HTTPStatus, object]:
        from xlwings import XlwingsError

        with self._run_lock:
            try:
                return HTTPStatus.OK, run_handler(handler, payload)
            except XlwingsError as e:
                return HTTPStatus.BAD_REQUEST, _version_message(payload, e)
            except Exception:
                log.exception("handler %s failed", handler)
                return HTTPStatus.INTERNAL_SERVER_ERROR, "服务器处理时出错，详情已记入服务器日志，请联系管理员。"


def _version_message(payload: dict, e: Exception) -> str:
    import xlwings
    theirs = payload.get("version")
    if theirs and theirs != xlwings.__version__:
        return (f"工作台中的 xlwings 版本（{theirs}）与服务器（{xlwings.__version__}）不一致："
                "请使用与服务器同一版本生成的 台账工作台.xlsm。")
    return f"服务器无法读取这个工作簿：{e}"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_server(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                token_env: str = DEFAULT_TOKEN_ENV, max_mb: float = MAX_REQUEST_MB) -> TaizhangServer:
    """A ready server; the token comes from the environment variable ``token_env``."""
    token = os.environ.get(token_env, "")
    if not token:
        raise ServeError(f"没有设置服务器口令：请先设置环境变量 {token_env}（至少 16 个字符的随机口令），"
                         "并把同一口令告诉使用按钮的同事。")
    # xlwings' remote interpreter is under PolyForm Noncommercial 1.0.0, whose permitted
    # purposes include use by a government institution (docs/design.md, xlwings); it needs this key.
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    return TaizhangServer((host, port), token, max_mb=max_mb)

"""`taizhang serve`: the Excel buttons for PCs without Python, and a page about the office.

xlwings' VBA client (``RunRemotePython``) POSTs the active workbook as JSON to ``/<button>``;
the server runs that button (:mod:`toolkit.shells.remote`) and answers ``{"actions": [...]}``,
which the client applies to the workbook. A browser gets a small Chinese page at ``/`` (what
this server is, the office, today's state), the guide at ``/guide`` and ``ok`` at ``/health``.
The office page (:mod:`toolkit.shells.portal`) is here too: each village uploads its ledger at
``/v/<its link>`` and sees the verdict at once; the office sees today at ``/office``.

Three things, each in one place:

- ``ROUTES``: every address and what answers it (buttons are POST ``/<name>`` for each name
  of ``remote.HANDLERS``), and ``PATTERN_ROUTES``: the office page's addresses, which carry a
  link's token (and a number), never a file name;
- ``Limits``: the body size, the connections (each one a thread) served at once, the time to
  receive one whole request and the time the line may stay silent; the office page's upload
  size, uploads per link an hour and uploads checked at once ([serve] in taizhang.toml);
- the pages: :mod:`toolkit.shells.pages` (templates, escaped values).

Every request is checked in the same order: its Host (an IP address, localhost, this computer's
name or the name it was started on: no DNS rebinding), for a POST its Origin (a browser page
of another site cannot press a button), then the route, the token (a bearer token from an
environment variable, compared in constant time), the Content-Length (present, a plain number,
within the limit; no chunked bodies), and the body, read within the request's time.

The server uses only the config it was started with (``toolkit.api.pin_config``): no request,
whatever workbook path it names, chooses another taizhang.toml; started with none, it runs the
demo and says so on its page, on the console and first in every message box. One button runs
at a time (xlwings' remote engine keeps its books in module state). Payloads are never logged:
they hold petitioners' personal data; nor are the office page's tokens (the access log drops
them from request lines). Every answer carries ``SAFE_HEADERS`` (no framing, no Referer, no
caching, scripts only from this server).
"""
from __future__ import annotations

import hmac
import io
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from urllib.parse import urlsplit

from toolkit import api
from toolkit.core.config import Config, is_loopback
from toolkit.core.daily_state import last_success, next_run
from toolkit.core.errors import TaizhangError
from toolkit.shells import guide, pages, portal
from toolkit.shells.remote import HANDLERS, ensure_remote_engine, run_handler, vba_payload

__all__ = ["DEFAULT_PORT", "DEFAULT_TOKEN_ENV", "HANDLERS", "Limits", "ROUTES", "ServeError", "TaizhangServer",
           "ensure_remote_engine", "is_loopback", "make_server", "vba_payload"]
log = logging.getLogger("taizhang.server")

DEFAULT_PORT = 8765
DEFAULT_TOKEN_ENV = "TAIZHANG_SERVE_TOKEN"


@dataclass(frozen=True)
class Limits:
    """What one client may take of the server."""
    max_body_mb: float = 20.0        # a workbook a button sends (the sheets' values as JSON)
    max_connections: int = 8         # connections served at once, one thread each; more get 503
    request_seconds: float = 60.0    # to receive one whole request, headers and body
    idle_seconds: float = 15.0       # the line silent: before a request, between its bytes, writing
    max_upload_mb: float = 20.0      # one file uploaded on the office page ([serve] max_upload_mb)
    uploads_per_hour: int = 20       # per village link; more get 429
    uploads_at_once: int = 2         # uploads checked at the same time; more get 503

    @property
    def max_body(self) -> int:
        return int(self.max_body_mb * 2**20)

    @property
    def max_upload(self) -> int:
        return int(self.max_upload_mb * 2**20)


MAX_REQUEST_MB = Limits.max_body_mb            # kept for callers of the old name

# (method, path) -> the _Handler method that answers it; POST /<button> for each of HANDLERS.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): "home",
    ("GET", "/health"): "health",
    ("GET", "/guide"): "guide_page",
    ("GET", "/portal.js"): "portal_js",
    **{("POST", f"/{name}"): "button" for name in HANDLERS},
}
# The office page's addresses carry a link's token: (method, pattern) -> the answer, whose
# arguments are the pattern's groups (toolkit.shells.portal).
TOKEN = r"([A-Za-z0-9_-]{20,100})"
PATTERN_ROUTES: list[tuple[str, re.Pattern, str]] = [
    ("GET", re.compile(rf"/v/{TOKEN}/?"), "village_page"),
    ("POST", re.compile(rf"/v/{TOKEN}/upload"), "village_upload"),
    ("GET", re.compile(rf"/v/{TOKEN}/copy/(\d{{1,12}})"), "village_copy"),
    ("GET", re.compile(rf"/office(?:/{TOKEN})?/?"), "office_page"),
    ("GET", re.compile(rf"/office(?:/{TOKEN})?/(master|brief)"), "office_file"),
]


class ServeError(TaizhangError):
    """Cannot start the server; Chinese message."""


# --- one connection ----------------------------------------------------------------------------
class _Deadline(io.RawIOBase):
    """The socket as the request reads it: every receive waits at most the idle time and never
    past the request's deadline, so a client sending a byte every few seconds is cut off."""

    def __init__(self, sock: socket.socket, handler: "_Handler") -> None:
        self.sock, self.handler = sock, handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request took too long")
        self.sock.settimeout(min(self.handler.server.limits.idle_seconds, left))
        return self.sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server_version = "taizhang"
    protocol_version = "HTTP/1.1"
    server: "TaizhangServer"

    def setup(self) -> None:
        super().setup()
        self.deadline = time.monotonic() + self.server.limits.request_seconds
        self.rfile = io.BufferedReader(_Deadline(self.connection, self))

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.server.limits.request_seconds
        super().handle_one_request()

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        srv = self.server
        path = urlsplit(self.path).path
        if not srv.host_allowed(self.headers.get("Host")):
            self._send(HTTPStatus.BAD_REQUEST, "请用本服务器的 IP 地址或计算机名访问。")
            return
        if method == "POST" and not srv.origin_allowed(self.headers.get("Origin"), self.headers.get("Host")):
            self._send(HTTPStatus.FORBIDDEN, "不接受从其他网页发来的请求。")
            return
        answer = ROUTES.get((method, path))
        if answer is None:
            for m, pattern, name in PATTERN_ROUTES:
                hit = pattern.fullmatch(path)
                if hit and m == method:
                    getattr(portal, name)(self, *hit.groups())
                    return
                if hit:
                    self._send(HTTPStatus.METHOD_NOT_ALLOWED, "这个地址不接受这种请求。", extra={"Allow": m})
                    return
            other = next((m for (m, p) in ROUTES if p == path), None)
            if other is not None:
                self._send(HTTPStatus.METHOD_NOT_ALLOWED, "这个地址不接受这种请求。", extra={"Allow": other})
            elif method == "POST":
                self._send(HTTPStatus.NOT_FOUND, f"服务器没有“{path.strip('/')}”这个按钮功能。")
            else:
                self._send(HTTPStatus.NOT_FOUND, "没有这个地址。请打开首页 / 查看。")
            return
        getattr(self, answer)()

    # --- the answers (ROUTES) ------------------------------------------------------------------
    def home(self) -> None:
        self._reply(HTTPStatus.OK, pages.home_page(self.server.home_state()), "text/html; charset=utf-8")

    def portal_js(self) -> None:
        self._reply(HTTPStatus.OK, pages.PORTAL_JS.encode("utf-8"), "text/javascript; charset=utf-8")

    def health(self) -> None:
        self._send(HTTPStatus.OK, "ok")

    def guide_page(self) -> None:
        self._reply(HTTPStatus.OK, guide.guide_html().encode("utf-8"), "text/html; charset=utf-8")

    def button(self) -> None:
        srv = self.server
        if not srv.authorized(self.headers.get("Authorization", "")):
            self._send(HTTPStatus.UNAUTHORIZED, "服务器口令不对或未设置：请在本机 %USERPROFILE%\\.xlwings\\"
                       "xlwings.conf 中写一行 \"AUTH\",\"Bearer 口令\"（口令向乡信访办管理员索取）。",
                       extra={"WWW-Authenticate": "Bearer"})
            return
        length = self._content_length()
        if length is None:
            return
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            self._send(HTTPStatus.REQUEST_TIMEOUT, "工作簿没有按时传完（网络太慢或中断），请再按一次按钮。")
            return
        if len(raw) < length:
            self.close_connection = True          # the client went away in the middle
            return
        try:
            payload = json.loads(raw.decode("utf-8"))
            if not isinstance(payload, dict) or "sheets" not in payload:
                raise ValueError("not a workbook")
        except (ValueError, UnicodeDecodeError):
            self._send(HTTPStatus.BAD_REQUEST, "收到的内容不是 xlwings 发来的工作簿。")
            return
        self._send_json(*srv.run(urlsplit(self.path).path.strip("/"), payload))

    def _content_length(self, limit: int | None = None, too_large: str | None = None) -> int | None:
        """The body's length when it is given as one plain number within ``limit`` (the
        buttons' by default); else the answer is sent (411, 400, 413) and None returned."""
        if self.headers.get("Transfer-Encoding"):
            self._send(HTTPStatus.LENGTH_REQUIRED, "请求必须写明长度（Content-Length），不接受分块传送。")
            return None
        given = self.headers.get_all("Content-Length") or []
        if not given:
            self._send(HTTPStatus.LENGTH_REQUIRED, "请求缺少长度（Content-Length）。")
            return None
        if len(set(given)) != 1 or not re.fullmatch(r"\d{1,15}", given[0].strip()):
            self._send(HTTPStatus.BAD_REQUEST, "请求的长度（Content-Length）不对。")
            return None
        length = int(given[0])
        if length > (self.server.limits.max_body if limit is None else limit):
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_large or
                       f"工作簿太大（超过 {self.server.limits.max_body_mb:g} MB），请只保留要处理的工作表后再试。")
            return None
        return length

    # --- replies -------------------------------------------------------------------------------
    def _send_json(self, status: HTTPStatus, body) -> None:
        if status != HTTPStatus.OK:
            self._send(status, body)
            return
        data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        self._reply(status, data, "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, text: str, extra: dict | None = None) -> None:
        self._reply(status, text.encode("utf-8"), "text/plain; charset=utf-8", extra)

    def _reply(self, status, data: bytes, ctype: str, extra: dict | None = None) -> None:
        self.connection.settimeout(self.server.limits.idle_seconds)   # not what reading left over
        if status != HTTPStatus.OK:
            self.close_connection = True      # an unread body must not be taken for a request
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in SAFE_HEADERS.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:   # request line and status only, no token
        log.info("%s %s", self.address_string(), _TOKENS.sub(r"\1/…", fmt % args))


# Every answer: no page of another site frames it, no address (a token) leaks in a Referer,
# nothing is cached on a shared PC, scripts only from this server (no inline script).
SAFE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY",
                "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
                "style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; "
                "frame-ancestors 'none'"}
_TOKENS = re.compile(r"(/(?:v|office))/[A-Za-z0-9_-]{20,100}")


# --- the server ----------------------------------------------------------------------------------
BUSY = ("服务器正忙（同时连接的电脑太多），请过一会儿再按。").encode("utf-8")


class TaizhangServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str, *, config: Config,
                 limits: Limits = Limits()):
        if not token or len(token) < 16:
            raise ServeError("服务器口令太短或未设置：请设一个至少 16 个字符的随机口令。")
        self.token = token
        self.config = config
        self.limits = limits
        self.demo_notice = api.demo_notice(config)
        self._run_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self.uploads = threading.BoundedSemaphore(limits.uploads_at_once)
        self.rate = portal.RateLimit(limits.uploads_per_hour, 3600.0)
        self.csrf_key = secrets.token_bytes(32)          # a new server, new form tokens
        self.names = _own_names(address[0])
        super().__init__(address, _Handler)
        api.pin_config(config)               # every button press: this config, whatever it sends

    # --- connections: at most limits.max_connections, each in its own thread -----------------
    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request) -> None:
        """503 at once, from the accepting thread (a short write, a short timeout), then close."""
        try:
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            b"Retry-After: 5\r\nConnection: close\r\n"
                            + f"Content-Length: {len(BUSY)}\r\n\r\n".encode("ascii") + BUSY)
        except OSError:
            pass
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        api.pin_config(None)

    def handle_error(self, request, client_address) -> None:
        """A connection that broke (reset, timed out writing): a line in the log, no traceback."""
        log.warning("connection from %s ended: %s", client_address[0], sys.exc_info()[1])

    # --- who may ask --------------------------------------------------------------------------
    def authorized(self, header: str) -> bool:
        expected = f"Bearer {self.token}".encode("utf-8")
        return hmac.compare_digest(header.strip().encode("utf-8", "replace"), expected)

    def host_allowed(self, host: str | None) -> bool:
        """An IP address, localhost, this computer's names or the name it listens on; a name
        that only resolves here (DNS rebinding: a web page of another site) is refused."""
        if not host:
            return False
        name = _host_name(host)
        if name is None:
            return False
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return name in self.names

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """No Origin (the VBA client, curl) or this server's own (a page it served)."""
        if origin is None:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.strip().lower()

    # --- what they get ------------------------------------------------------------------------
    def run(self, handler: str, payload: dict) -> tuple[HTTPStatus, object]:
        from xlwings import XlwingsError

        with self._run_lock:
            try:
                return HTTPStatus.OK, run_handler(handler, payload, first_line=self.demo_notice)
            except XlwingsError as e:
                return HTTPStatus.BAD_REQUEST, _version_message(payload, e)
            except Exception:
                log.exception("handler %s failed", handler)
                return HTTPStatus.INTERNAL_SERVER_ERROR, "服务器处理时出错，详情已记入服务器日志，请联系管理员。"

    def home_state(self) -> pages.HomeState:
        cfg, now = self.config, datetime.now()
        day = api.resolve_as_of(cfg)
        try:
            camp = api.load_settings(config=cfg).campaign
            township, campaign = camp.township, f"{camp.name}（{day.isoformat()} 处于：{camp.phase_of(day)}）"
        except TaizhangError as e:
            township, campaign = "", f"设置工作簿有误：{e}"
        last = last_success(cfg.state)
        try:
            daily = f"上次成功：{last.isoformat() if last else '从未'}；下次：{next_run(cfg.daily_time, last, now):%Y-%m-%d %H:%M}"
        except TaizhangError as e:
            daily = str(e)
        master = cfg.master
        shown = (f"最后更新于 {datetime.fromtimestamp(master.stat().st_mtime):%Y-%m-%d %H:%M}" if master.exists()
                 else "尚未生成")
        return pages.HomeState(title=f"台账工具按钮服务 — {township}信访办" if township else "台账工具按钮服务",
                               today=f"{now:%Y-%m-%d %H:%M}" + ("" if day == now.date() else f"（核对日期 {day.isoformat()}）"),
                               campaign=campaign, daily=daily, master=shown,
                               version=_version(), config="演示" if cfg.demo else "本乡的 taizhang.toml",
                               demo_notice=self.demo_notice)


def _host_name(host: str) -> str | None:
    """"192.0.2.1:8765" -> "192.0.2.1", "[::1]:8765" -> "::1", "PC1" -> "pc1"; None if malformed."""
    host = host.strip().lower()
    m = re.fullmatch(r"\[([0-9a-f:.]+)\](?::\d{1,5})?|([^:\[\]/\s@]+)(?::\d{1,5})?", host)
    if not m:
        return None
    return (m[1] or m[2]).rstrip(".")


def _own_names(bound: str) -> frozenset[str]:
    names = {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
    if bound and not _is_ip(bound):
        names.add(bound.lower())
    return frozenset(n.rstrip(".") for n in names if n)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _version() -> str:
    try:
        return metadata.version("taizhang")
    except metadata.PackageNotFoundError:
        return "（源代码）"


def _version_message(payload: dict, e: Exception) -> str:
    import xlwings
    theirs = payload.get("version")
    if theirs and theirs != xlwings.__version__:
        return (f"工作台中的 xlwings 版本（{theirs}）与服务器（{xlwings.__version__}）不一致："
                "请使用与服务器同一版本生成的 台账工作台.xlsm。")
    return f"服务器无法读取这个工作簿：{e}"


def make_server(host: str | None = None, port: int | None = None, *, token_env: str = DEFAULT_TOKEN_ENV,
                max_mb: float | None = None, limits: Limits | None = None,
                config: Config | str | None = None) -> TaizhangServer:
    """A ready server; the token comes from the environment variable ``token_env``; the config
    is found once, now (``config``: a Config or a taizhang.toml path; None: the usual rule).
    ``host``/``port`` None: taizhang.toml's [serve] host and port (no host: this computer only);
    the office page's limits come from [serve] unless ``limits`` is given."""
    token = os.environ.get(token_env, "")
    if not token:
        raise ServeError(f"没有设置服务器口令：请先设置环境变量 {token_env}（至少 16 个字符的随机口令），"
                         "并把同一口令告诉使用按钮的同事。")
    cfg = config if isinstance(config, Config) else api.load_config(config)
    sv = cfg.serve
    limits = limits or Limits(max_upload_mb=sv.max_upload_mb, uploads_per_hour=sv.uploads_per_hour,
                              uploads_at_once=sv.uploads_at_once)
    if max_mb is not None:
        limits = replace(limits, max_body_mb=max_mb)
    host = host if host is not None else (sv.host or "127.0.0.1")
    port = port if port is not None else sv.port
    # xlwings' remote interpreter is under PolyForm Noncommercial 1.0.0, whose permitted
    # purposes include use by a government institution (docs/design.md, xlwings); it needs this key.
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    return TaizhangServer((host, port), token, config=cfg, limits=limits)

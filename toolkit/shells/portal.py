"""The office page's answers on `taizhang serve` (routes: ``server.PATTERN_ROUTES``).

- ``/v/<token>``: a village's upload page; ``POST /v/<token>/upload`` takes one file (the body,
  its name in ``X-File-Name``, the page's form token in ``X-CSRF-Token``) and answers with the
  judge's verdict as JSON; ``/v/<token>/copy/<id>`` is the annotated copy of that link's upload.
- ``/office`` (from this computer only) or ``/office/<token>`` (the office's own link): today's
  numbers, 报送情况, the master and brief to download, the last runs.

Each answer checks, in order: the link (live, of the right kind; compared in constant time by
the store), the form token (an HMAC of the link's id under a key made when the server started:
bound to the link, useless on another), the rate per link, the size, the uploads at once. The
server has already checked Host and Origin. Files served are found by the toolkit (the master,
its brief, an upload's annotated copy), never named by the request. Uploads are logged by the
link's id, never by the token, the file name or its contents.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote, unquote

from toolkit import api
from toolkit.core.config import is_loopback
from toolkit.core.errors import TaizhangError, UploadRefused
from toolkit.shells import pages

log = logging.getLogger("taizhang.portal")
HTML = "text/html; charset=utf-8"
UPLOAD_RATE = 64 * 1024        # bytes a second an upload may take at least (a slow village line)
_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12", ".xls": "application/vnd.ms-excel",
          ".pdf": "application/pdf"}
BAD_LINK = ("这个报送地址无效或已作废。请向乡信访办索取本村新的报送地址"
            "（乡信访办运行 taizhang links 生成）。")


class RateLimit:
    """At most ``per`` events per key in any ``window`` seconds (a sliding window)."""

    def __init__(self, per: int, window: float) -> None:
        self.per, self.window = per, window
        self._seen: dict[str, deque] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the event may happen (it is counted), else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.per:
                return seen[0] + self.window - now
            seen.append(now)
            return 0.0


def form_token(server, link) -> str:
    """The upload form's token: bound to this link and this server's run."""
    return hmac.new(server.csrf_key, f"upload:{link.sender}".encode("ascii"), hashlib.sha256).hexdigest()


def _live_link(h, token: str, *, office: bool = False, page: bool = True):
    """The live link ``token`` opens (of the office's kind when ``office``); else the refusal
    is sent (a page, or a line for the upload's script) and None returned."""
    link = api.find_link(token, config=h.server.config)
    if link is not None and link.live and link.is_office == office:
        return link
    log.warning("refused %s link %s", "revoked" if link is not None else "unknown",
                link.sender if link is not None else "-")
    if page:
        h._reply(HTTPStatus.FORBIDDEN, pages.refused_page("报送地址无效", BAD_LINK), HTML)
    else:
        h._send(HTTPStatus.FORBIDDEN, BAD_LINK)
    return None


# --- a village ---------------------------------------------------------------------------------------
def village_page(h, token: str) -> None:
    link = _live_link(h, token)
    if link is None:
        return
    srv = h.server
    try:
        township = api.load_settings(config=srv.config).campaign.township
    except TaizhangError:
        township = ""
    h._reply(HTTPStatus.OK, pages.upload_page(village=link.village, township=township, csrf=form_token(srv, link),
                                              max_bytes=srv.limits.max_upload), HTML)


def village_upload(h, token: str) -> None:
    srv = h.server
    link = _live_link(h, token, page=False)
    if link is None:
        return
    given = h.headers.get("X-CSRF-Token", "")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), form_token(srv, link).encode("ascii")):
        log.warning("upload refused: link %s, form token missing or wrong", link.sender)
        h._send(HTTPStatus.FORBIDDEN, "页面已过期或不是从本村的报送页面提交的。请刷新本页后再上传。")
        return
    wait = srv.rate.take(link.sender)
    if wait:
        log.warning("upload refused: link %s, too many uploads", link.sender)
        h._send(HTTPStatus.TOO_MANY_REQUESTS, f"本村这一小时内上传次数太多（上限 {srv.limits.uploads_per_hour} 次），"
                f"请 {int(wait // 60) + 1} 分钟后再试。", extra={"Retry-After": str(int(wait) + 1)})
        return
    length = h._content_length(srv.limits.max_upload, f"文件太大（超过 {srv.limits.max_upload_mb:g} MB）。"
                               "请删去台账以外的工作表和图片后再上传。")
    if length is None:
        log.warning("upload refused: link %s, length missing or over the limit", link.sender)
        return
    if not srv.uploads.acquire(blocking=False):
        h._send(HTTPStatus.SERVICE_UNAVAILABLE, "服务器正忙（几个村同时在上传），请过一会儿再上传。",
                extra={"Retry-After": "30"})
        return
    try:
        h.deadline = time.monotonic() + max(srv.limits.request_seconds, length / UPLOAD_RATE)
        data = _body(h, length)
        if data is not None:
            _judge_upload(h, link, unquote(h.headers.get("X-File-Name", "")), data)
    finally:
        srv.uploads.release()


def _body(h, length: int) -> bytes | None:
    try:
        data = h.rfile.read(length)
    except TimeoutError:
        h._send(HTTPStatus.REQUEST_TIMEOUT, "文件没有按时传完（网络太慢或中断），请再上传一次。")
        return None
    if len(data) < length:
        h.close_connection = True          # the browser went away in the middle
        return None
    return data


def _judge_upload(h, link, name: str, data: bytes) -> None:
    srv = h.server
    try:
        answer = api.portal_upload(link, name, data, config=srv.config)
    except UploadRefused as e:
        log.info("upload refused: link %s, %d bytes: %s", link.sender, len(data), type(e).__name__)
        h._send(HTTPStatus.SERVICE_UNAVAILABLE if e.retry else HTTPStatus.BAD_REQUEST, str(e),
                extra={"Retry-After": "60"} if e.retry else None)
        return
    except TaizhangError as e:            # the office's own trouble (settings, a full disk)
        log.error("upload failed: link %s: %s", link.sender, e)
        h._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"乡里的服务器这次未能接收文件，请稍后再试或与乡信访办联系。（{e}）")
        return
    except Exception:
        log.exception("upload failed: link %s", link.sender)
        h._send(HTTPStatus.INTERNAL_SERVER_ERROR, "服务器处理时出错，详情已记入服务器日志，请与乡信访办联系。")
        return
    body = json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")
    h._reply(HTTPStatus.OK, body, "application/json; charset=utf-8")


def village_copy(h, token: str, submission: str) -> None:
    link = _live_link(h, token)
    if link is None:
        return
    path = api.portal_copy(link, int(submission), config=h.server.config)
    if path is None:
        h._send(HTTPStatus.NOT_FOUND, "没有这份副本（只能下载本村上传的文件的副本）。")
        return
    send_file(h, path)


# --- the office --------------------------------------------------------------------------------------
def _office_allowed(h, token: str | None) -> bool:
    """The office's link, or no token from this computer itself; else the refusal is sent."""
    if token is not None:
        return _live_link(h, token, office=True) is not None
    if is_loopback(h.client_address[0]):
        return True
    h._reply(HTTPStatus.FORBIDDEN, pages.refused_page(
        "只能在本机打开", "乡信访办的情况页只能在运行服务的电脑上打开，或使用乡信访办的专用地址"
                    "（在服务电脑上运行 taizhang links --office 生成）。"), HTML)
    return False


def office_page(h, token: str | None) -> None:
    if not _office_allowed(h, token):
        return
    srv = h.server
    try:
        st = api.office_status(config=srv.config)
    except TaizhangError as e:
        h._reply(HTTPStatus.OK, pages.refused_page("乡信访办情况", str(e)), HTML)
        return
    base = f"/office/{token}" if token else "/office"
    daily = f"；每日汇总上次成功：{st.daily_last.isoformat()}" if st.daily_last else ""
    view = pages.OfficeView(
        title=f"{st.township}信访积案台账 — 今日情况", as_of=st.as_of.isoformat(), phase=st.phase,
        numbers_day=st.numbers_day.isoformat() if st.numbers_day else "（尚无）", daily=daily,
        totals=st.totals, villages=[[v["village"], v["state"], v["counted"], v["file"], v["received"],
                                     v["source"], v["verdict"]]
                                    for v in st.villages],
        missing=st.missing, runs=[[r["day"].isoformat(), r["cases"], r["overdue"], r["due_soon"], r["resolved"]]
                                  for r in st.runs],
        master=f"{base}/master" if st.master else "", master_time=st.master_time,
        brief=f"{base}/brief" if st.brief else "", demo_notice=srv.demo_notice)
    h._reply(HTTPStatus.OK, pages.office_page(view), HTML)


def office_file(h, token: str | None, which: str) -> None:
    if not _office_allowed(h, token):
        return
    st = api.office_status(config=h.server.config)
    path = st.master if which == "master" else st.brief
    if path is None:
        h._send(HTTPStatus.NOT_FOUND, "还没有这个文件：请先汇总一次（taizhang consolidate 或 taizhang brief）。")
        return
    send_file(h, path)


# --- files ---------------------------------------------------------------------------------------------
def send_file(h, path: Path) -> None:
    """A file the toolkit found (never a path from the request), as a download."""
    data = Path(path).read_bytes()
    name = Path(path).name
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    h._reply(HTTPStatus.OK, data, _TYPES.get(Path(path).suffix.lower(), "application/octet-stream"),
             extra={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})


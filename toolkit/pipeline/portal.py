"""The office page (网页报送): a village hands in its ledger in a browser; the office sees today.

- ``receive_upload``: one uploaded file, as a submission like any other: archived (channel
  ``portal``, sender the village's link id, the link's village recorded as ``vouched``),
  judged by the one judge (pre-flight and sandboxed reading on the way, as for the inbox and
  mail), and answered with the receipt's account of it (``mail.file_report``): accepted or
  has errors, each problem's sheet, cell, what is wrong and what to do, and an annotated copy
  in ``<annotated>/网页报送/<id>/``. The next consolidation counts it.
- ``office_status``: the clerk's and leader's page: today's numbers as in the 简报, 报送情况
  per roster village, the master and the brief PDF, the last runs. No personal data (village
  names, file names, counts).
- ``make_links`` / ``revoke_links``: the clerk's ``taizhang links``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from toolkit.core.config import SPREADSHEET_SUFFIXES, Config
from toolkit.core.daily_state import last_success
from toolkit.core.dates import when_text
from toolkit.core.errors import UploadBusy, UploadRefused
from toolkit.core.files import RunBusy, run_lock
from toolkit.core.settings import Settings
from toolkit.intake.archive import SOURCE_LABELS, SubmissionArchive, status_label
from toolkit.outputs.brief import TOTAL_KEYS
from toolkit.outputs.links_sheet import write_links_sheet
from toolkit.outputs.receipt import FileReport, file_notes, issue_parts, listed_issues, outcome_text
from toolkit.pipeline.judge import Roster, judge, standing_of
from toolkit.pipeline.links import OFFICE, VILLAGE, Link, LinkStore
from toolkit.pipeline.mail import file_report
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.pipeline.trends import history, township_days

log = logging.getLogger("taizhang.portal")
ANNOTATED_FOLDER = "网页报送"
LOCK_WAIT = 60.0         # an upload waits this long for a consolidation or mail run to finish
MAX_ISSUES_SHOWN = 200
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


# --- one upload ---------------------------------------------------------------------------------
@dataclass
class PortalAnswer:
    """What the page shows after an upload (plain values; the page escapes them)."""
    submission: int
    file: str
    village: str | None
    outcome: str                       # ok | has_errors | held | rejected | withdrawn
    headline: str                      # the receipt's words for the outcome
    notes: list[str]
    cases: int
    errors: int
    warnings: int
    problems: list[dict[str, str]]     # issue_parts: level, sheet, cell, case, message, action
    more: int = 0                      # problems not listed
    annotated: Path | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in ("ok", "has_errors")

    def to_dict(self) -> dict:
        return {"submission": self.submission, "file": self.file, "village": self.village,
                "outcome": self.outcome, "headline": self.headline, "notes": self.notes,
                "cases": self.cases, "errors": self.errors, "warnings": self.warnings,
                "problems": self.problems, "more": self.more, "copy": self.annotated is not None}


def upload_name(raw: str) -> str:
    """The file's name as the browser sent it: the last path part, no control characters."""
    name = _BAD_NAME.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:255] or "未命名.xlsx"


def check_suffix(name: str) -> None:
    if Path(name).suffix.lower() not in SPREADSHEET_SUFFIXES:
        raise UploadRefused(f"“{name}”不是表格文件。请上传本村台账的 Excel 或 WPS 文件"
                          f"（{'、'.join(sorted(SPREADSHEET_SUFFIXES))}）。")


def receive_upload(cfg: Config, settings: Settings, link: Link, filename: str, data: bytes, *,
                   as_of: date, lock_wait: float = LOCK_WAIT) -> PortalAnswer:
    """Archive, judge and answer one upload (see the module doc). Raises UploadBusy while a
    consolidation holds the lock, UploadRefused when the file could not be checked."""
    name = upload_name(filename)
    check_suffix(name)
    try:
        with run_lock(Path(cfg.state), lock_wait), SubmissionArchive(cfg.archive) as archive:
            sub = archive.add(data, filename=name, source="portal", sender=link.sender,
                              vouched=link.village, received=datetime.now())
            with ParseCache(Path(cfg.state) / "parsed") as cache:
                j = judge(archive, settings, as_of=as_of, cache=cache, counted=False, check=[sub.id])
    except RunBusy as e:
        raise UploadBusy("乡里正在汇总台账，请一两分钟后再上传一次。") from e
    checked = j.checked.get(sub.id)
    if checked is None:
        raise UploadRefused("文件已收到，但这次未能核对完（已记入服务器日志）。请稍后再上传一次；"
                          "如反复出现，请与乡信访办联系。")
    same_as = None if sub.is_new else when_text(sub.received)
    rep = file_report(cfg, name, j.standing, checked, same_as=same_as, folder=ANNOTATED_FOLDER)
    answer = _answer(sub.id, rep)
    log.info("upload: link %s, submission %s, %d bytes, sha256 %s…, %s, %d errors", link.sender, sub.id,
             len(data), sub.sha256[:12], answer.outcome, answer.errors)
    return answer


def _answer(sub_id: int, rep: FileReport) -> PortalAnswer:
    issues = listed_issues(rep)
    return PortalAnswer(sub_id, rep.filename, rep.village, rep.outcome, outcome_text(rep), file_notes(rep),
                        rep.cases, rep.errors, rep.warnings,
                        [issue_parts(i) for i in issues[:MAX_ISSUES_SHOWN]],
                        max(0, len(issues) - MAX_ISSUES_SHOWN), rep.annotated)


def annotated_copy(cfg: Config, link: Link, submission: int) -> Path | None:
    """The annotated copy of ``submission`` when that upload came through ``link`` (None
    otherwise: no one downloads another village's copy). The path is found, never taken
    from the request."""
    with SubmissionArchive(cfg.archive) as archive:
        sub = archive.get(submission)
    if sub is None or sub.source != "portal" or sub.sender != link.sender:
        return None
    folder = Path(cfg.annotated) / ANNOTATED_FOLDER / str(sub.id)
    found = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    return found[0] if found else None


# --- the office's status ------------------------------------------------------------------------
@dataclass
class OfficeStatus:
    township: str
    as_of: date
    phase: str
    numbers_day: date | None                          # the day of the last run's numbers
    totals: list[tuple[str, int]]                     # (label, value) as in the 简报
    villages: list[dict[str, str]]                    # 报送情况: village, state, counted, file, received, source, verdict
    missing: int
    master: Path | None
    master_time: str
    brief: Path | None
    runs: list[dict[str, object]] = field(default_factory=list)   # day, cases, overdue, due_soon, resolved
    daily_last: date | None = None


def office_status(cfg: Config, settings: Settings, *, as_of: date) -> OfficeStatus:
    """What the office page shows (read only: the archive's recorded verdicts, the trends)."""
    days = township_days(history(Path(cfg.state)))
    latest = days[-1] if days else None
    totals = [(label, getattr(latest, key) if latest else 0) for key, label in TOTAL_KEYS]
    villages, missing = _report_status(cfg, settings)
    master = Path(cfg.master)
    brief = master.with_name(f"{master.stem}_简报.pdf")
    return OfficeStatus(
        township=settings.campaign.township, as_of=as_of, phase=settings.campaign.phase_of(as_of),
        numbers_day=latest.day if latest else None, totals=totals, villages=villages, missing=missing,
        master=master if master.is_file() else None,
        master_time=f"{datetime.fromtimestamp(master.stat().st_mtime):%Y-%m-%d %H:%M}" if master.is_file() else "",
        brief=brief if brief.is_file() else None,
        runs=[{"day": d.day, "cases": d.cases, "overdue": d.overdue, "due_soon": d.due_soon,
               "resolved": d.resolved} for d in reversed(days[-7:])],
        daily_last=last_success(Path(cfg.state)))


def _report_status(cfg: Config, settings: Settings) -> tuple[list[dict[str, str]], int]:
    """Per roster village its latest arrival and what counts (报送情况), as recorded."""
    if not Path(cfg.archive, "submissions.sqlite").exists():
        subs = []
    else:
        with SubmissionArchive(cfg.archive) as archive:
            subs = archive.history()
    standing = standing_of(subs, Roster(settings))
    rows, missing = [], 0
    for name, vs in standing.villages.items():
        last, counted = vs.last, vs.counted
        missing += vs.on_roster and counted is None
        rows.append({"village": name, "state": "已报" if counted else "未报",
                     "counted": counted.filename if counted else "", "file": last.filename if last else "", "received": when_text(last.received) if last else "",
                     "source": SOURCE_LABELS.get(last.source, last.source) if last else "",
                     "verdict": status_label(last) if last else ""})
    return rows, missing


# --- the clerk's links ------------------------------------------------------------------------------
@dataclass
class LinkListing:
    base_url: str
    made: list[Link]                          # made now: their tokens are known this once
    villages: list[tuple[str, Link | None]]   # roster order: each village's live link
    office: Link | None
    revoked: list[Link] = field(default_factory=list)
    only_here: bool = False                   # the addresses open on this computer only ([serve] names no address)

    def url(self, link: Link) -> str:
        return link_url(self.base_url, link)


def link_url(base: str, link: Link) -> str:
    """The address of a link made now (its token known): /v/<token> or /office/<token>."""
    return f"{base}/{'office' if link.kind == OFFICE else 'v'}/{link.token}"


def make_links(cfg: Config, settings: Settings, *, by: str, office: bool = False) -> LinkListing:
    """A link for every roster village that has no live one (and the office's, if asked)."""
    store = LinkStore(cfg.state)
    live = store.live()
    made = []
    for village in (r.village for r in settings.roster):
        if not any(link.kind == VILLAGE and link.village == village for link in live):
            made.append(store.make(VILLAGE, village, by=by))
    if office and not any(link.kind == OFFICE for link in live):
        made.append(store.make(OFFICE, None, by=by))
    return _listing(cfg, settings, store, made)


def revoke_links(cfg: Config, settings: Settings, village: str | None, *, by: str) -> LinkListing:
    """Revoke ``village``'s link (None: the office's); the next make_links makes a new one."""
    store = LinkStore(cfg.state)
    kind = OFFICE if village is None else VILLAGE
    gone = store.revoke(kind, village, by=by)
    listing = _listing(cfg, settings, store, [])
    listing.revoked = gone
    return listing


def _listing(cfg: Config, settings: Settings, store: LinkStore, made: list[Link]) -> LinkListing:
    live = store.live()
    fresh = {link.id: link for link in made}
    villages = [(r.village, next((fresh.get(link.id, link) for link in live
                                  if link.kind == VILLAGE and link.village == r.village), None))
                for r in settings.roster]
    office = next((fresh.get(link.id, link) for link in live if link.kind == OFFICE), None)
    return LinkListing(cfg.serve.base_url(), made, villages, office, only_here=cfg.serve.only_here)


def write_sheet(listing: LinkListing, path: Path, *, township: str) -> Path:
    """The printable 报送方式 of ``listing``: the address of each link made now; for a village
    whose link was made earlier, when, and how to replace a lost one."""
    rows = []
    for village, link in listing.villages:
        if link is None:
            rows.append((village, "", "尚无链接：运行 taizhang links 生成"))
        elif link.token:
            rows.append((village, listing.url(link), "把台账文件拖到网页上即可报送，马上能看到核对结果"))
        else:
            rows.append((village, "", f"已于 {when_text(link.made)} 发放；遗失时运行 taizhang links --revoke "
                                      f"{village} 作废后重新生成"))
    return write_links_sheet(path, rows, township=township)

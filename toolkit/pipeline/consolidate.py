"""One consolidation run: inbox -> archive -> the judge -> master.

``consolidate(inbox, out, as_of=..., settings=...)`` keeps every workbook of the inbox in
the submission archive, asks the judge (``toolkit.pipeline.judge``) what each submission is
and which one counts for each village (also those that came by mail), and writes the
township master from the counted files, checked for the as-of date. One run at a time: a
file lock in the state folder shared by the CLI, the daily job, the Excel buttons and the
mail intake. The office's own folders are checked first: a full or read-only archive or
state stops the run before anything changes (``StorageError``, exit 1).

The previous run's cases (village, case number -> status) are kept in
``state/last_run.json`` so the master can show new cases and status changes; every change
found is kept in ``state/changes.sqlite`` (``toolkit.pipeline.changes``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Sequence

from toolkit.core.config import HISTORY_DIR
from toolkit.core.errors import EXIT_ATTENTION, TaizhangError
from toolkit.core.fields import ALERT_DUE_SOON, ALERT_OVERDUE, STRUCK_OFF
from toolkit.core.files import is_backup_of, run_lock
from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import Ledger
from toolkit.core.settings import Settings
from toolkit.core.store import StorageError, ensure_writable
from toolkit.core.dates import when_text
from toolkit.intake.archive import Submission, SubmissionArchive
from toolkit.intake.find import find_workbooks
from toolkit.intake.limits import MAX_FILE_BYTES
from toolkit.outputs.master import CASE_COLUMNS, CHANGE_COLUMNS, MasterBook, write_master
from toolkit.outputs.report import issue_rows
from toolkit.pipeline import trends
from toolkit.pipeline.book import (carry_township, mark_duplicates, row_flags, saved_text, village_row,
                                   waiting_rows)
from toolkit.pipeline.brief import build_brief
from toolkit.pipeline.changes import ChangeLog, action_rows, change_rows, load_snapshot, save_snapshot
from toolkit.pipeline.header_layouts import HeaderLayouts
from toolkit.pipeline.judge import Checked, Judgement, Standing, judge, recorded_issue
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.pipeline.submissions import display_name
from toolkit.pipeline.township_state import recall, remember

Progress = Callable[[str, int, int], None]
LOCK_WAIT = 5.0          # seconds a second caller waits for a running consolidation


class ConsolidationError(TaizhangError):
    """A run that could not write the master; the message is Chinese."""
    exit_code = EXIT_ATTENTION


TOP = 5          # a summary names this many of a long list, then says how many and where the rest are


def few(names: Sequence[str], limit: int = TOP) -> str:
    """"a、b、c" or, for a long list, "a、b、c 等 40 个"."""
    if len(names) <= limit:
        return "、".join(names)
    return f"{'、'.join(names[:limit])} 等 {len(names)} 个"


def listed(items: Sequence, line, summary, name, limit: int = 3) -> list[str]:
    """One line per item for a short list; for a long one, one line with the count and the first few."""
    if len(items) <= limit:
        return [line(i) for i in items]
    return [summary(len(items), few([name(i) for i in items], limit))]


@dataclass
class ConsolidationResult:
    master: Path | None
    as_of: date
    cases: int = 0
    overdue: int = 0
    due_soon: int = 0
    villages: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    missing_villages: list[str] = field(default_factory=list)
    vanished: list[dict] = field(default_factory=list)
    new_cases: int = 0
    status_changes: int = 0
    in_use: bool = False
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)           # need the clerk: exit 1
    held: list[dict] = field(default_factory=list)              # {"id", "file", "village", "code", "message"}
    held_total: int = 0                                         # all held, not only this run's
    not_on_roster: list[dict] = field(default_factory=list)    # {"village", "file", "nearest"}
    gone_from_inbox: list[dict] = field(default_factory=list)  # {"village", "file", "received"}
    versions: list[dict] = field(default_factory=list)   # {"village", "counted": version, "others": [version]}
    brief: object = None             # the leader's 简报 (toolkit.outputs.brief.Brief)
    roster_size: int | None = None   # villages on the 村名册 (0: empty, so no 未报 can be named)

    @property
    def written(self) -> bool:
        return self.master is not None

    @property
    def exit_code(self) -> int:
        return 0 if self.written and not self.problems else EXIT_ATTENTION

    def to_dict(self) -> dict:
        """Exactly the JSON object of `taizhang consolidate --json`."""
        return {"master": None if self.master is None else str(self.master),
                "as_of": self.as_of.isoformat(), "cases": self.cases, "overdue": self.overdue,
                "due_soon": self.due_soon, "villages": self.villages, "rejected": self.rejected,
                "duplicates": self.duplicates, "missing_villages": self.missing_villages,
                "vanished": self.vanished, "villages_not_on_roster": self.not_on_roster,
                "files_gone_from_inbox": self.gone_from_inbox, "held": self.held,
                "held_total": self.held_total, "several_files": self.versions,
                "problems": self.problems}

    def summary_text(self) -> str:
        """A short Chinese summary for a person: a few lines at any number of villages
        (each list is cut to its first few, with the count and where the rest is)."""
        lines = [f"总台账已写入：{self.master}" if self.master else "总台账未能写入。",
                 f"截至 {self.as_of.isoformat()}：共 {self.cases} 件，逾期 {self.overdue} 件，"
                 f"临期 {self.due_soon} 件。",
                 f"已报 {len(self.villages)} 个村（社区）"
                 + (f"，未报 {len(self.missing_villages)} 个：{few(self.missing_villages, 8)}"
                    if self.missing_villages else "，村名册为空，无法列出未报的村（请在设置工作簿“村名册”表中填写）"
                    if self.roster_size == 0 else "，名册中的村（社区）均已报送") + "。"]
        lines += self._error_lines()
        if self.new_cases or self.status_changes:
            lines.append(f"比上次汇总：新增 {self.new_cases} 件，状态变化 {self.status_changes} 件。")
        lines += listed(self.rejected, lambda r: f"被拒收：{r['file']}——{r['message']}",
                        lambda n, first: f"被拒收 {n} 个文件：{first}（详见总台账“报送情况”“校验问题”表）。",
                        lambda r: r["file"])
        lines += listed(self.duplicates,
                        lambda d: f"案件编号重复：{d['case_id']}（{'、'.join(d['villages'])}），两行均保留。",
                        lambda n, first: f"案件编号重复 {n} 个：{first}，两行均保留（详见总台账“校验问题”表）。",
                        lambda d: d["case_id"])
        lines += listed(self.vanished,
                        lambda v: f"案件消失：{v['village']}的 {v['case_id']} 未销号却不在新报台账中，"
                                  "见“变更记录”表。",
                        lambda n, first: f"案件消失 {n} 件：{first}，未销号却不在新报台账中（见“变更记录”表）。",
                        lambda v: f"{v['village']}的 {v['case_id']}")
        lines += _submission_lines(self)
        lines += self.notes + self.problems
        return "\n".join(lines)

    def _error_lines(self) -> list[str]:
        faulty = [v for v in self.villages if v["errors"]]          # roster order
        if not faulty:
            return []
        if len(faulty) > TOP:                                        # the worst few
            faulty = sorted(faulty, key=lambda v: -v["errors"])
        named = "，".join(f"{v['village']} {v['errors']} 处" for v in faulty[:TOP])
        if len(faulty) <= TOP:
            return [f"台账有错误：{named}（详见总台账“校验问题”表）。"]
        total = sum(v["errors"] for v in faulty)
        return [f"台账有错误：{len(faulty)} 个村（社区）共 {total} 处，最多的 {TOP} 个：{named}"
                "（详见总台账“校验问题”表）。"]


def _submission_lines(r: ConsolidationResult) -> list[str]:
    """Held files, villages with several files, files gone from the inbox."""
    lines = listed(r.held, lambda h: f"暂存待核：{h['file']}——{h['message']}核实后运行 {h['next']}。",
                   lambda n, first: f"暂存待核 {n} 个文件：{first}（详见总台账“报送情况”表，或运行 "
                                    "taizhang submissions）。",
                   lambda h: h["file"])
    others = r.held_total - len(r.held)
    if others > 0:
        lines.append(f"另有 {others} 个文件仍暂存待核（taizhang submissions 查看）。")
    lines += listed(r.versions,
                    lambda v: f"{v['village']}有 {len(v['others']) + 1} 份台账：采用保存最晚的"
                              f"“{v['counted']['file']}”（{saved_text(v['counted']['saved'])}）；"
                              + "、".join(f"“{o['file']}”（{saved_text(o['saved'])}，编号 {o['id']}）"
                                         for o in v["others"])
                              + "是较早的版本，未采用（如确要采用，运行 taizhang release "
                              + (str(v["others"][0]["id"]) if len(v["others"]) == 1 else "编号") + "）。",
                    lambda n, first: f"{n} 个村（社区）有多份台账，均采用保存最晚的一份：{first}"
                                     "（详见总台账“报送情况”表）。",
                    lambda v: v["village"])
    lines += listed(r.gone_from_inbox,
                    lambda g: f"文件已不在收件箱：{g['village']}的“{g['file']}”，总台账仍采用存档中的这份文件"
                              f"（收到于 {g['received']}）。",
                    lambda n, first: f"文件已不在收件箱 {n} 个：{first}，总台账仍采用存档中的文件"
                                     "（详见总台账“报送情况”表）。",
                    lambda g: g["file"])
    return lines


def _version(sub: Submission) -> dict:
    return {"id": sub.id, "file": sub.filename, "saved": sub.saved, "received": sub.received}


def consolidate(inbox: Path | None, out: Path, *, as_of: date, settings: Settings,
                archive_root: Path, state_dir: Path, progress: Progress | None = None,
                lock_timeout: float = 5.0, keep_versions: int = 30) -> ConsolidationResult:
    """Rebuild the township master ``out`` from the inbox and the archive.

    ``inbox`` None means: only what the archive already holds (mail).
    ``archive_root`` and ``state_dir`` are where the submissions and this run's state
    live (taizhang.toml names them; ``toolkit.api.consolidate`` passes them).
    Raises RunBusy when another run holds the lock, StorageError when the office's own
    folders cannot be written, ConsolidationError when the master cannot be written.
    """
    with run_lock(Path(state_dir), lock_timeout):
        for folder, what in ((state_dir, "状态文件夹"), (archive_root, "存档文件夹")):
            ensure_writable(folder, what)
        with SubmissionArchive(Path(archive_root)) as archive:
            run = _Run(Path(out), as_of, settings, archive, Path(state_dir),
                       progress or (lambda stage, done, total: None), keep_versions)
            return run.execute(None if inbox is None else Path(inbox))


# --- one run ------------------------------------------------------------------------
class _Run:
    def __init__(self, out: Path, as_of: date, settings: Settings, archive: SubmissionArchive,
                 state_dir: Path, progress: Progress, keep: int) -> None:
        self.out, self.as_of, self.settings, self.archive = out, as_of, settings, archive
        self.state_dir, self.progress, self.keep = state_dir, progress, keep
        self.result = ConsolidationResult(master=None, as_of=as_of)
        self.cache = ParseCache(state_dir / "parsed")
        self.layouts = HeaderLayouts(state_dir)
        self.last_action = 0        # the clerks' acts shown up to here
        self.present: set[int] | None = None      # ids of the files in the inbox this run
        self.run_at = datetime.now().isoformat(timespec="seconds")

    def execute(self, inbox: Path | None) -> ConsolidationResult:
        with self.cache:          # cache files are written beside the run, waited for at its end
            return self._execute(inbox)

    def _execute(self, inbox: Path | None) -> ConsolidationResult:
        inbox_subs = self._intake(inbox) if inbox is not None else []
        self.present = None if inbox is None else {s.id for s in inbox_subs}
        self.progress("读取台账", 0, 1)
        j = judge(self.archive, self.settings, as_of=self.as_of, cache=self.cache)
        self.progress("计算期限", 1, 1)
        self.result.problems += j.problems
        counted = self._counted(j)
        self._arrivals(j)
        book = self._book(j, counted)
        today = trends.village_days(self.as_of, book.cases, self.result.villages)
        book.trend = [*(r for r in trends.history(self.state_dir) if r.day != self.as_of), *today]
        book.brief = self.result.brief = self._brief(book)
        self.progress("写入总台账", 0, 1)
        try:
            published = write_master(self.out, book, keep=self.keep)
        except OSError as e:
            raise ConsolidationError(f"总台账“{self.out}”无法写入：{e}。请检查文件夹是否存在、"
                                     "是否有写入权限、磁盘是否已满。") from e
        self.progress("写入总台账", 1, 1)
        self.result.master, self.result.in_use = published.path, published.in_use
        if published.note:
            self.result.notes.append(published.note)
        self._keep_state(book, today, published.path)
        return self.result

    def _keep_state(self, book, today, master: Path) -> None:
        """What the next run compares with; the master is written, so a state that cannot be
        kept is said (exit 1) and the next run simply finds the same changes again."""
        try:
            ChangeLog(self.state_dir).record(self.as_of, book.changes, self.run_at, CHANGE_COLUMNS)
            save_snapshot(self.state_dir, self.as_of, master, book.cases, last_action=self.last_action)
            trends.record(self.state_dir, today)
            self.layouts.save()
            remember(self.state_dir, master, book)
        except StorageError as e:
            self.result.problems.append(f"总台账已写出，但{e}")

    def _brief(self, book) -> object:
        """The leader's 简报 for this run: earlier runs' history plus today's numbers."""
        return build_brief(book.cases, as_of=self.as_of, settings=self.settings,
                           missing_villages=self.result.missing_villages, history=book.trend)

    # --- intake -------------------------------------------------------------------
    def _intake(self, inbox: Path) -> list[Submission]:
        if not inbox.exists():
            raise ConsolidationError(f"收件夹“{inbox}”不存在，请检查路径。")
        paths = [p for p in find_workbooks([inbox]) if not self._is_ours(p)]
        subs = []
        for n, path in enumerate(paths):
            self.progress("登记来件", n, len(paths))
            try:
                info = path.stat()
                if info.st_size > MAX_FILE_BYTES:       # a video dropped in the inbox is not kept
                    self._refuse(path, inbox, Code.TOO_LARGE,
                                 reason=f"有 {info.st_size / 2**20:,.0f} MB，超过 {MAX_FILE_BYTES // 2**20} MB 的上限")
                    continue
                subs.append(self.archive.add(path, filename=display_name(path, inbox), source="inbox",
                                             received=datetime.fromtimestamp(info.st_mtime)))
            except OSError as e:   # the village's file: locked by Excel, vanished meanwhile, no permission
                reason = ("文件正被其他程序占用或没有读取权限，请关闭该文件后重新汇总"
                          if isinstance(e, PermissionError) else f"无法打开（{e.strerror or e}）")
                self._refuse(path, inbox, Code.UNREADABLE, reason=reason)
        self.progress("登记来件", len(paths), len(paths))
        return subs

    def _refuse(self, path: Path, inbox: Path, code: str, *, reason: str) -> None:
        """An inbox file not even kept (locked, gone, far too large): said in 被拒收."""
        self.result.rejected.append({"file": display_name(path, inbox), "code": code,
                                     "message": make_issue(code, file=path.name, reason=reason).message})

    def _is_ours(self, path: Path) -> bool:
        """The master, its dated copies and old versions are not submissions."""
        out = self.out.resolve()
        p = path.resolve()
        if p == out or p.parent.name == HISTORY_DIR and p.parent.parent == out.parent:
            return True
        for folder in (self.archive.root, self.state_dir):   # an inbox that holds our folders
            if p.is_relative_to(Path(folder).resolve()):
                return True
        return p.parent == out.parent and is_backup_of(p.name, out.stem, out.suffix)

    # --- what the judge found ----------------------------------------------------------
    def _counted(self, j: Judgement) -> dict[str, Checked]:
        """Per village (roster order) the counted file as checked now; one that cannot be
        read again is left out and said."""
        out = {}
        for village, sub in j.standing.counted().items():
            c = j.checked.get(sub.id)
            if c is None or not c.ledger.readable:
                self.result.problems.append(
                    f"{village}已计入的文件“{sub.filename}”这次无法重新读取，本版总台账暂缺该村案件；"
                    "原件仍在存档中，请联系技术支持。")
                continue
            out[village] = c
        return out

    def _new_here(self, j: Judgement, sub: Submission) -> bool:
        """Judged in this run, or in this run's inbox: worth a line in the summary."""
        return sub.id in j.examined or (self.present is not None and sub.id in self.present)

    def _arrivals(self, j: Judgement) -> None:
        """This run's rejected and held files, and villages with several files."""
        st, r = j.standing, self.result
        for sub in sorted(st.subs.values(), key=lambda s: s.order):
            if sub.withdrawn or not self._new_here(j, sub):
                continue
            if sub.outcome == "rejected":
                r.rejected.append({"file": sub.filename, "code": sub.code, "message": sub.message})
            elif sub.outcome == "held":
                near = st.roster.nearest(sub.claimed or "") if sub.code == Code.NOT_ON_ROSTER else None
                r.held.append({"id": sub.id, "file": sub.filename, "village": sub.claimed,
                               "code": sub.code, "message": sub.message,
                               "next": f"taizhang assign {sub.id} --village {near or '村名'}"})
                if sub.code == Code.NOT_ON_ROSTER:
                    r.not_on_roster.append({"village": sub.claimed, "file": sub.filename, "nearest": near})
        r.held_total = len(st.held)
        for village, vs in st.villages.items():
            others = [s for s in vs.versions[1:] if self.present and s.id in self.present]
            others += [s for s in vs.older_resent if s not in others and self._new_here(j, s)]
            if vs.counted is not None and others:
                r.versions.append({"village": village, "counted": _version(vs.counted),
                                   "others": [_version(s) for s in others]})

    # --- vanished cases ---------------------------------------------------------------
    def _vanished(self, st: Standing) -> list[dict]:
        """Cases in the version a village's counted file replaced, missing from it, not 已销号."""
        found = []
        for village, vs in st.villages.items():
            cur = vs.counted
            prev = vs.previous
            if cur is None or prev is None:
                continue
            now = set(cur.case_index or {})
            for case_id, status in (prev.case_index or {}).items():
                if case_id not in now and status != STRUCK_OFF:
                    found.append({"case_id": case_id, "village": village, "status": status,
                                  "before": prev.filename, "now": cur.filename, "now_id": cur.id})
        self.result.vanished = [{"case_id": v["case_id"], "village": v["village"]} for v in found]
        return found

    # --- the master's content -----------------------------------------------------------
    def _book(self, j: Judgement, counted: dict[str, Checked]):
        self.progress("整理总台账", 0, 1)
        shown = self._shown_ledgers(j, counted)
        cases = self._case_table(counted)
        columns = self._township_columns()
        values, extra = recall(self.state_dir, self.out, columns)
        if extra:
            self.result.notes.append(f"上一版总台账中的列“{'、'.join(extra)}”不在设置的乡级列中，"
                                     "新版未带入（旧版已存入“历史版本”文件夹）。如需保留，请在设置工作簿中"
                                     "登记为乡级列。")
        orphans = carry_township(cases, columns, values)
        snapshot = load_snapshot(self.state_dir)
        changes = change_rows(snapshot, cases, self._vanished(j.standing), orphans, columns, self.result,
                              self.run_at)
        self.layouts.compare(counted)
        changes += self.layouts.change_rows(counted)
        acts = self.archive.actions(after=(snapshot or {}).get("last_action", 0))
        self.last_action = max([a["id"] for a in acts], default=(snapshot or {}).get("last_action", 0))
        acted = action_rows(acts, j.standing.counted())
        self.result.notes += [f"{r['变更类型']}：{r['说明']}" for r in acted]
        changes = ChangeLog(self.state_dir).sheet(self.as_of, changes + acted)
        reports = self._reports(j.standing, {c.submission.id: c.ledger for c in j.checked.values()})
        self.result.roster_size = len(self.settings.roster)
        self._totals(cases, counted)
        return MasterBook(as_of=self.as_of, township=self.settings.campaign.township, cases=cases,
                          township_columns=columns, reports=reports, issues=issue_rows(shown),
                          changes=changes)

    def _shown_ledgers(self, j: Judgement, counted: dict[str, Checked]) -> list[Ledger]:
        """The ledgers 校验问题 lists: every counted file (with a note when it has left the
        inbox), then this run's rejected files. Copies: the judge's ledgers stay as they are."""
        shown = []
        for village, c in counted.items():
            sub, notes = c.submission, []
            if self.present is not None and sub.source == "inbox" and sub.id not in self.present:
                self.result.gone_from_inbox.append({"village": village, "file": sub.filename,
                                                    "received": when_text(sub.received)})
                notes.append(make_issue(Code.GONE_FROM_INBOX, file=sub.filename, village=village,
                                        received=when_text(sub.received)))
            shown.append(replace(c.ledger, village=village, issues=[*c.ledger.issues, *notes]))
        rejected = sorted((s for s in j.standing.subs.values() if s.outcome == "rejected"
                           and not s.withdrawn and self._new_here(j, s)), key=lambda s: s.order)
        for sub in rejected:
            c = j.checked.get(sub.id)
            shown.append(c.ledger if c is not None else Ledger(
                Path(sub.filename), readable=False,
                issues=[recorded_issue(sub.code, sub.message, sub.filename)]))
        return shown

    def _township_columns(self) -> tuple[str, ...]:
        ours = {h for _, h, _ in CASE_COLUMNS} | set(CHANGE_COLUMNS)
        clash = [c for c in self.settings.township_columns if c in ours]
        if clash:
            self.result.notes.append(f"设置的乡级列“{'、'.join(clash)}”与总台账已有的列同名，未单独列出；"
                                     f"请在设置工作簿中改用其他列名（如“乡级{clash[0]}”）。")
        return tuple(dict.fromkeys(c for c in self.settings.township_columns if c not in ours))

    def _case_table(self, counted: dict[str, Checked]):
        """One table of every counted village's cases (object columns, None for blanks),
        built from one array."""
        import pandas as pd
        parts = [(v, c) for v, c in counted.items() if c.ledger.n_cases]
        keys = [k for k, _, _ in CASE_COLUMNS] + ["n_errors"]
        if not parts:
            return pd.DataFrame(columns=keys)
        inputs = _stacked([c.ledger.cases for _, c in parts])
        computed = _stacked([c.computed for _, c in parts])
        own: dict[str, list] = {"village": [], "source_file": [], "row": [], "n_errors": [],
                                "flags": []}
        for village, c in parts:
            lg = c.ledger
            own["village"] += [village] * lg.n_cases
            own["source_file"] += [c.submission.filename] * lg.n_cases
            own["row"] += lg.cases.index.tolist()
            n_errors, flags = row_flags(lg)
            own["n_errors"] += n_errors
            own["flags"] += flags
        table = _object_table([inputs, computed, own], keys)
        self.result.duplicates = mark_duplicates(table)
        return table

    def _totals(self, cases, counted: dict[str, Checked]) -> None:
        r = self.result
        r.cases = len(cases)
        alerts = list(cases["alert"]) if len(cases) else []
        r.overdue, r.due_soon = alerts.count(ALERT_OVERDUE), alerts.count(ALERT_DUE_SOON)
        for village, c in counted.items():
            lg = c.ledger
            r.villages.append({"village": village, "file": c.submission.filename, "cases": lg.n_cases,
                               "errors": lg.errors, "warnings": lg.warnings,
                               "received": c.submission.received, "saved": c.submission.saved})

    def _reports(self, st: Standing, ledgers: dict[int, Ledger]) -> list[dict]:
        """报送情况: every roster village (or, with an empty roster, every village seen), then the
        files with no village: held for a clerk, rejected, not read yet."""
        roster = {r.village: r for r in self.settings.roster}
        rows = [village_row(vs, roster.get(v), ledgers, present=self.present, roster_empty=not roster,
                            header_change=self.layouts.found.get(v))
                for v, vs in st.villages.items() if v in roster or not roster or vs.counted]
        self.result.missing_villages = st.missing()
        return rows + waiting_rows(st)


def _stacked(frames: list) -> dict[str, list]:
    """Frames one under the other as plain columns (union of their columns, in order)."""
    import numpy as np
    import pandas as pd
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    blocks = [(f if list(f.columns) == columns else f.reindex(columns=columns)).to_numpy(dtype=object)
              for f in frames]
    table = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    missing = pd.isna(table)              # NaN, NaT, pandas' NA: blank like None
    if missing.any():
        if not table.flags.writeable:         # one frame's own values: not ours to change
            table = table.copy()
        table[missing] = None
    return dict(zip(columns, table.T.tolist()))


def _object_table(parts: list[dict[str, list]], keys: list[str]):
    """One DataFrame of object columns from plain columns (later parts win a clash),
    with every one of ``keys`` present (None where nobody gave it)."""
    import numpy as np
    import pandas as pd
    columns: dict[str, list] = {}
    for part in parts:
        for k, values in part.items():
            columns.pop(k, None)
            columns[k] = values
    n = len(next(iter(columns.values())))
    for k in keys:
        columns.setdefault(k, [None] * n)
    table = np.empty((n, len(columns)), dtype=object)
    for j, values in enumerate(columns.values()):
        table[:, j] = values
    return pd.DataFrame(table, columns=list(columns), dtype=object, copy=False)

"""One consolidation run: inbox -> archive -> read -> validate -> compute -> master.

``consolidate(inbox, out, as_of=..., settings=...)`` keeps every workbook of
the inbox in the submission archive, reads what is new together with every
village's counted submission (so the master always holds each village's latest
readable sheet, also those that came by mail or a button), decides each new
file's outcome, and writes the township master. One run at a time: a file lock
in the state folder shared by the CLI, the daily job and the Excel buttons.

The previous run's cases (village, case number -> status) are kept in
``state/last_run.json`` so the master can show new cases and status changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Sequence

from toolkit.core.config import HISTORY_DIR
from toolkit.core.errors import EXIT_ATTENTION, TaizhangError
from toolkit.core.fields import ALERT_DUE_SOON, ALERT_OVERDUE, COMPUTED
from toolkit.core.files import RunBusy, is_backup_of, run_lock
from toolkit.core.issues import CATALOGUE, Code, Issue, make_issue
from toolkit.core.ledger import Ledger
from toolkit.core.settings import Settings
from toolkit.intake.archive import SOURCE_LABELS, Submission, SubmissionArchive
from toolkit.pipeline import trends
from toolkit.pipeline.book import (carry_township, mark_duplicates, report_row, roster_discipline, row_flags,
                                   when)
from toolkit.pipeline.changes import action_rows, change_rows, load_snapshot, save_snapshot
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.pipeline.township_state import recall, remember
from toolkit.pipeline.submissions import case_index_of, display_name, fatal_issue, read_submissions

Progress = Callable[[str, int, int], None]
LOCK_WAIT = 5.0          # seconds a second caller waits for a running consolidation
STRUCK_OFF = "已销号"


class ConsolidationError(TaizhangError):
    """A run that could not write the master; the message is Chinese."""
    exit_code = EXIT_ATTENTION


ConsolidationBusy = RunBusy     # another run holds the one run lock (toolkit.core.files)

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
    not_on_roster: list[dict] = field(default_factory=list)    # {"village", "file", "nearest"}
    gone_from_inbox: list[dict] = field(default_factory=list)  # {"village", "file", "received"}
    brief: object = None             # the leader's 简报 (toolkit.outputs.brief.Brief)
    roster_size: int | None = None   # villages on the 村名册 (0: empty, so no 未报 can be named)

    @property
    def written(self) -> bool:
        return self.master is not None

    def to_dict(self) -> dict:
        """Exactly the JSON object of `taizhang consolidate --json`."""
        return {"master": None if self.master is None else str(self.master),
                "as_of": self.as_of.isoformat(), "cases": self.cases, "overdue": self.overdue,
                "due_soon": self.due_soon, "villages": self.villages, "rejected": self.rejected,
                "duplicates": self.duplicates, "missing_villages": self.missing_villages,
                "vanished": self.vanished, "villages_not_on_roster": self.not_on_roster,
                "files_gone_from_inbox": self.gone_from_inbox}

    def summary_text(self) -> str:
        """A short Chinese summary for a person: a few lines at any number of villages
        (each list is cut to its first few, with the count and where the rest is)."""
        lines = [f"总台账已写入：{self.master}" if self.master else "总台账未能写入。",
                 f"截至 {self.as_of.isoformat()}：共 {self.cases} 件，逾期 {self.overdue} 件，"
                 f"临期 {self.due_soon} 件。",
                 f"已报 {len(self.villages)} 个村（社区）"
                 + (f"，未报 {len(self.missing_villages)} 个：{few(self.missing_villages, 8)}"
                    if self.missing_villages else "，村名册为空，无法列出未报的村（请在设置工作簿“名册”表中填写）"
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
        lines += _roster_lines(self)
        lines += self.notes
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



def _roster_lines(r: ConsolidationResult) -> list[str]:
    lines = listed(r.not_on_roster,
                   lambda v: f"不在名册中：{v['village']}（{v['file']}）"
                             + (f"，名册中最接近的是“{v['nearest']}”" if v["nearest"] else "")
                             + "；其案件已计入总台账，请核对村名。",
                   lambda n, first: f"不在名册中的村（社区）{n} 个：{first}（详见总台账“报送情况”表）。",
                   lambda v: v["village"])
    lines += listed(r.gone_from_inbox,
                    lambda g: f"文件已不在收件箱：{g['village']}的“{g['file']}”，总台账仍采用存档中的这份文件"
                              f"（收到于 {g['received']}）。",
                    lambda n, first: f"文件已不在收件箱 {n} 个：{first}，总台账仍采用存档中的文件"
                                     "（详见总台账“报送情况”表）。",
                    lambda g: g["file"])
    return lines


def consolidate(inbox: Path | None, out: Path, *, as_of: date, settings: Settings,
                archive_root: Path, state_dir: Path, progress: Progress | None = None,
                lock_timeout: float = 5.0, keep_versions: int = 30) -> ConsolidationResult:
    """Rebuild the township master ``out`` from the inbox and the archive.

    ``inbox`` None means: only what the archive already holds (mail, buttons).
    ``archive_root`` and ``state_dir`` are where the submissions and this run's state
    live (taizhang.toml names them; ``toolkit.api.consolidate`` passes them).
    Raises ConsolidationBusy when another run holds the lock, ConsolidationError
    when the master cannot be written.
    """
    with run_lock(Path(state_dir), lock_timeout):
        run = _Run(Path(out), as_of, settings, SubmissionArchive(Path(archive_root)), Path(state_dir),
                   progress or (lambda stage, done, total: None), keep_versions)
        return run.execute(None if inbox is None else Path(inbox))


# --- one run ------------------------------------------------------------------------
class _Run:
    def __init__(self, out: Path, as_of: date, settings: Settings, archive: SubmissionArchive,
                 state_dir: Path, progress: Progress, keep: int) -> None:
        self.out, self.as_of, self.settings, self.archive = out, as_of, settings, archive
        self.state_dir, self.progress, self.keep = state_dir, progress, keep
        self.result = ConsolidationResult(master=None, as_of=as_of)
        self.ledgers: dict[int, Ledger] = {}
        self.rejected: list[Submission] = []
        self.cache = ParseCache(state_dir / "parsed")
        self.computed: dict[int, object] = {}
        self.last_action = 0        # the clerks' releases/withdrawals shown up to here
        self.present: set[int] | None = None      # ids of the files in the inbox this run

    def execute(self, inbox: Path | None) -> ConsolidationResult:
        with self.cache:          # cache files are written beside the run, waited for at its end
            return self._execute(inbox)

    def _execute(self, inbox: Path | None) -> ConsolidationResult:
        inbox_subs = self._intake(inbox) if inbox is not None else []
        self.present = None if inbox is None else {s.id for s in inbox_subs}
        before = self.archive.latest_counted()
        pending = self.archive.pending()
        to_read = {s.id: s for s in [*pending, *before.values()]}
        self._read(list(to_read.values()))
        self._check(list(to_read.values()))
        for sub in pending:
            self._decide(sub, self.ledgers[sub.id])
        counted = self._order(self.archive.latest_counted())
        self._remember_indexes(counted)
        self._reject_list(inbox_subs, pending)
        book = self._book(counted, self._vanished(counted))
        today = trends.village_days(self.as_of, book.cases, self.result.villages)
        book.trend = [*(r for r in trends.history(self.state_dir) if r.day != self.as_of), *today]
        book.brief = self.result.brief = self._brief(book)
        from toolkit.outputs.master import write_master
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
        save_snapshot(self.state_dir, self.as_of, self.result.master, book.cases,
                      last_action=self.last_action)
        trends.record(self.state_dir, today)
        remember(self.state_dir, published.path, book)
        return self.result

    def _brief(self, book) -> object:
        """The leader's 简报 for this run: earlier runs' history plus today's numbers."""
        from toolkit.pipeline.brief import build_brief
        return build_brief(book.cases, as_of=self.as_of, settings=self.settings,
                           missing_villages=self.result.missing_villages, history=book.trend)

    # --- intake -------------------------------------------------------------------
    def _intake(self, inbox: Path) -> list[Submission]:
        from toolkit.intake.find import find_workbooks
        if not inbox.exists():
            raise ConsolidationError(f"收件夹“{inbox}”不存在，请检查路径。")
        paths = [p for p in find_workbooks([inbox]) if not self._is_ours(p)]
        subs = []
        for n, path in enumerate(paths):
            self.progress("登记来件", n, len(paths))
            try:
                received = datetime.fromtimestamp(path.stat().st_mtime)
                subs.append(self.archive.add(path, filename=display_name(path, inbox),
                                             source="inbox", received=received))
            except OSError as e:   # locked by Excel on Windows, vanished meanwhile, no permission
                reason = ("文件正被其他程序占用或没有读取权限，请关闭该文件后重新汇总"
                          if isinstance(e, PermissionError) else f"无法打开（{e.strerror or e}）")
                self.result.rejected.append({"file": display_name(path, inbox), "code": Code.UNREADABLE,
                                             "message": make_issue(Code.UNREADABLE, file=path.name,
                                                                   reason=reason).message})
        self.progress("登记来件", len(paths), len(paths))
        return subs

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

    # --- reading --------------------------------------------------------------------
    def _read(self, subs: Sequence[Submission]) -> None:
        """Read archived originals under their own file names (the reader may need them).

        An original never changes, so what the reader made of it is kept (ParseCache)
        and the daily run re-reads only what is new or what a newer reader would see
        differently.
        """
        if not subs:
            return
        self.progress("读取台账", 0, len(subs))
        self.ledgers.update(read_submissions(subs, self.cache))
        self.progress("读取台账", len(subs), len(subs))

    def _check(self, subs: Sequence[Submission]) -> None:
        """Validate and compute all readable ledgers together."""
        from toolkit.validation.rules import validate_ledgers
        ledgers = [self.ledgers[s.id] for s in subs]
        self.progress("校验", 0, 1)
        validate_ledgers(ledgers, as_of=self.as_of, settings=self.settings)
        self.progress("计算期限", 0, 1)
        self._compute([(s.id, self.ledgers[s.id]) for s in subs if self.ledgers[s.id].readable])
        self.progress("计算期限", 1, 1)

    def _compute(self, items: list[tuple[int, Ledger]]) -> None:
        import pandas as pd
        from toolkit.compute.calendar import calendar_for
        from toolkit.compute.cases import compute_cases, place_issue
        frames = [lg.cases for _, lg in items if lg.n_cases]
        owners = [(sid, lg) for sid, lg in items if lg.n_cases]
        for sid, lg in items:
            self.computed[sid] = pd.DataFrame(index=lg.cases.index,
                                              columns=[c.key for c in COMPUTED], dtype=object)
        if not frames:
            return
        where = [(n, row) for n, f in enumerate(frames) for row in f.index]
        combined = pd.concat(frames, ignore_index=True)
        table, issues = compute_cases(combined, as_of=self.as_of, settings=self.settings,
                                      calendar=calendar_for(self.settings))
        start = 0
        for n, (sid, lg) in enumerate(owners):
            part = table.iloc[start:start + lg.n_cases]
            self.computed[sid] = part.set_axis(lg.cases.index)
            start += lg.n_cases
        for issue in issues:
            n, row = where[int(issue.row)]
            sid, lg = owners[n]
            place_issue(lg, issue, row)
            lg.issues.append(issue)

    # --- outcomes -------------------------------------------------------------------
    def _decide(self, sub: Submission, lg: Ledger) -> None:
        fatal = fatal_issue(lg)
        village = lg.village if lg.readable else None
        if fatal is not None:
            self.archive.set_outcome(sub.id, village=village, outcome="rejected",
                                     errors=lg.errors, warnings=lg.warnings, code=fatal.code,
                                     message=fatal.message)
            sub.outcome, sub.code, sub.message = "rejected", fatal.code, fatal.message
            return
        outcome = "has_errors" if lg.errors else "ok"
        self.archive.set_outcome(sub.id, village=village, outcome=outcome, cases=lg.n_cases,
                                 errors=lg.errors, warnings=lg.warnings,
                                 case_index=case_index_of(lg))
        sub.outcome = outcome

    def _remember_indexes(self, counted: dict[str, Submission]) -> None:
        for sub in counted.values():
            if sub.case_index is None and self.ledgers.get(sub.id) is not None:
                sub.case_index = case_index_of(self.ledgers[sub.id])
                self.archive.set_case_index(sub.id, sub.case_index)

    def _order(self, counted: dict[str, Submission]) -> dict[str, Submission]:
        """Roster order first, then other villages by name; drop what could not be re-read."""
        roster = [r.village for r in self.settings.roster]
        names = [v for v in roster if v in counted] + sorted(v for v in counted if v not in roster)
        out = {}
        for v in names:
            lg = self.ledgers.get(counted[v].id)
            if lg is None or not lg.readable:
                self.result.notes.append(f"{v}已计入的文件“{counted[v].filename}”这次无法重新读取，"
                                         "本版总台账暂缺该村案件；原件仍在存档中，请联系技术支持。")
                continue
            out[v] = counted[v]
        return out

    def _reject_list(self, inbox_subs: Sequence[Submission], pending: Sequence[Submission]) -> None:
        seen = set()
        now = {s.id: s for s in self.archive.history()}
        for sub in [*pending, *inbox_subs]:
            if sub.id in seen:
                continue
            seen.add(sub.id)
            fresh = now.get(sub.id)
            if fresh is not None and fresh.outcome == "rejected":
                self.result.rejected.append({"file": fresh.filename, "code": fresh.code,
                                             "message": fresh.message})
                self.rejected.append(fresh)
                self._rejected_ledger(fresh)

    def _rejected_ledger(self, sub: Submission) -> None:
        """A rejected file's issues go to 校验问题 (re-built when it was judged earlier)."""
        if sub.id in self.ledgers:
            return
        kind = CATALOGUE.get(sub.code or "", CATALOGUE[Code.UNREADABLE])
        self.ledgers[sub.id] = Ledger(Path(sub.filename), readable=False, issues=[Issue(
            severity=kind.severity, code=kind.code, message=sub.message or kind.title,
            action=kind.action, file=sub.filename)])

    # --- vanished cases ---------------------------------------------------------------
    def _vanished(self, counted: dict[str, Submission]) -> list[dict]:
        found = []
        history = self.archive.history()
        pairs = [(v, cur, self.archive.previous_counted(cur, history)) for v, cur in counted.items()]
        pairs = [(v, cur, prev) for v, cur, prev in pairs if prev is not None]
        unknown = [prev for _, _, prev in pairs if prev.case_index is None and prev.id not in self.ledgers]
        self._read(unknown)        # only submissions judged by an older version or another tool
        for village, cur, prev in pairs:
            before = prev.case_index
            if before is None:
                before = case_index_of(self.ledgers[prev.id])
                self.archive.set_case_index(prev.id, before)
            now = set(cur.case_index or {})
            for case_id, status in before.items():
                if case_id not in now and status != STRUCK_OFF:
                    found.append({"case_id": case_id, "village": village, "status": status,
                                  "before": prev.filename, "now": cur.filename})
        self.result.vanished = [{"case_id": v["case_id"], "village": v["village"]} for v in found]
        return found

    # --- the master's content -----------------------------------------------------------
    def _book(self, counted: dict[str, Submission], vanished: list[dict]):
        from toolkit.outputs.master import MasterBook
        from toolkit.outputs.report import issue_rows
        self.progress("整理总台账", 0, 1)
        cases = self._case_table(counted)
        columns = self._township_columns()
        values, extra = recall(self.state_dir, self.out, columns)
        if extra:
            self.result.notes.append(f"上一版总台账中的列“{'、'.join(extra)}”不在设置的乡级列中，"
                                     "新版未带入（旧版已存入“历史版本”文件夹）。如需保留，请在设置工作簿中"
                                     "登记为乡级列。")
        orphans = carry_township(cases, columns, values)
        snapshot = load_snapshot(self.state_dir)
        changes = change_rows(snapshot, cases, vanished, orphans, columns, self.result)
        acts = self.archive.actions(after=(snapshot or {}).get("last_action", 0))
        self.last_action = max([a["id"] for a in acts], default=(snapshot or {}).get("last_action", 0))
        acted = action_rows(acts, counted)
        self.result.notes += [f"{r['变更类型']}：{r['说明']}" for r in acted]
        changes += acted
        self.result.not_on_roster, self.result.gone_from_inbox = roster_discipline(
            counted, [r.village for r in self.settings.roster], self.present, self.ledgers)
        shown = [self.ledgers[s.id] for s in counted.values()]
        shown += [self.ledgers[s.id] for s in self.rejected]
        reports, missing = self._reports(counted)
        self.result.missing_villages = missing
        self.result.roster_size = len(self.settings.roster)
        self._totals(cases, counted)
        return MasterBook(as_of=self.as_of, township=self.settings.campaign.township, cases=cases,
                          township_columns=columns, reports=reports, issues=issue_rows(shown),
                          changes=changes)

    def _township_columns(self) -> tuple[str, ...]:
        from toolkit.outputs.master import CASE_COLUMNS, CHANGE_COLUMNS
        ours = {h for _, h, _ in CASE_COLUMNS} | set(CHANGE_COLUMNS)
        clash = [c for c in self.settings.township_columns if c in ours]
        if clash:
            self.result.notes.append(f"设置的乡级列“{'、'.join(clash)}”与总台账已有的列同名，未单独列出；"
                                     f"请在设置工作簿中改用其他列名（如“乡级{clash[0]}”）。")
        return tuple(dict.fromkeys(c for c in self.settings.township_columns if c not in ours))

    def _case_table(self, counted: dict[str, Submission]):
        """One table of every counted village's cases (object columns, None for blanks),
        built from one array; the per-village tables are let go once it is built."""
        import pandas as pd
        from toolkit.outputs.master import CASE_COLUMNS
        parts = [(v, sub, self.ledgers[sub.id]) for v, sub in counted.items()
                 if self.ledgers[sub.id].n_cases]
        keys = [k for k, _, _ in CASE_COLUMNS] + ["n_errors"]
        if not parts:
            return pd.DataFrame(columns=keys)
        inputs = _stacked([lg.cases for _, _, lg in parts])
        computed = _stacked([self.computed[sub.id] for _, sub, _ in parts])
        own: dict[str, list] = {"village": [], "source_file": [], "row": [], "n_errors": [],
                                "flags": []}
        for village, sub, lg in parts:
            own["village"] += [village] * lg.n_cases
            own["source_file"] += [sub.filename] * lg.n_cases
            own["row"] += lg.cases.index.tolist()
            n_errors, flags = row_flags(lg)
            own["n_errors"] += n_errors
            own["flags"] += flags
        self._let_go()
        table = _object_table([inputs, computed, own], keys)
        self.result.duplicates = mark_duplicates(table)
        return table

    def _let_go(self) -> None:
        """Drop the per-village case tables (the case counts and row numbers stay)."""
        for lg in self.ledgers.values():
            if lg.readable and lg.cases is not None and len(lg.cases.columns):
                lg.cases = lg.cases.iloc[:, :0]
        self.computed.clear()

    def _totals(self, cases, counted: dict[str, Submission]) -> None:
        r = self.result
        r.cases = len(cases)
        alerts = list(cases["alert"]) if len(cases) else []
        r.overdue, r.due_soon = alerts.count(ALERT_OVERDUE), alerts.count(ALERT_DUE_SOON)
        for village, sub in counted.items():
            lg = self.ledgers[sub.id]
            r.villages.append({"village": village, "file": sub.filename, "cases": lg.n_cases,
                               "errors": lg.errors, "warnings": lg.warnings})

    def _reports(self, counted: dict[str, Submission]) -> tuple[list[dict], list[str]]:
        """报送情况: every roster village, then any other village seen, then unidentified files."""
        latest = self.archive.latest_per_village()
        roster = {r.village: r for r in self.settings.roster}
        self._nearest = {x["village"]: x["nearest"] for x in self.result.not_on_roster}
        self._gone = {x["village"] for x in self.result.gone_from_inbox}
        names = list(roster) + sorted((set(latest) | set(counted)) - set(roster))
        rows, missing = [], []
        for v in names:
            good, last = counted.get(v), latest.get(v)
            if good is None:
                if v in roster:
                    missing.append(v)
            rows.append(report_row(v, roster.get(v), good, last, self.ledgers,
                                   nearest=self._nearest.get(v), gone=v in self._gone,
                                   roster_empty=not roster))
        for sub in self.rejected:
            if not sub.village:
                rows.append({"村（社区）": "", "报送情况": "被拒收", "文件": sub.filename, "结果": "被拒收",
                             "来源": SOURCE_LABELS.get(sub.source, sub.source),
                             "最近报送时间": when(sub.received), "说明": sub.message or ""})
        return rows, missing

    # --- state ----------------------------------------------------------------------------


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

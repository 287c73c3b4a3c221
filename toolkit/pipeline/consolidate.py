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

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Sequence

from toolkit.intake.archive import OUTCOME_LABELS, SOURCE_LABELS, Submission, SubmissionArchive
from toolkit.core.errors import EXIT_ATTENTION, TaizhangError
from toolkit.core.fields import ALERT_DUE_SOON, ALERT_OVERDUE, COMPUTED
from toolkit.core.issues import CATALOGUE, ERROR, Code, Issue, make_issue
from toolkit.core.files import RunBusy, run_lock
from toolkit.core.ledger import Ledger
from toolkit.core.settings import Settings

Progress = Callable[[str, int, int], None]
LOCK_WAIT = 5.0          # seconds a second caller waits for a running consolidation
SNAPSHOT_NAME = "last_run.json"
STRUCK_OFF = "已销号"
# a file without these cannot be put in the master: it is rejected, never counted
_FATAL_CODES = (Code.NO_LEDGER_SHEET,)


class ConsolidationError(TaizhangError):
    """A run that could not write the master; the message is Chinese."""
    exit_code = EXIT_ATTENTION


ConsolidationBusy = RunBusy     # another run holds the one run lock (toolkit.core.files)


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

    @property
    def written(self) -> bool:
        return self.master is not None

    def to_dict(self) -> dict:
        """Exactly the JSON object of `taizhang consolidate --json`."""
        return {"master": None if self.master is None else str(self.master),
                "as_of": self.as_of.isoformat(), "cases": self.cases, "overdue": self.overdue,
                "due_soon": self.due_soon, "villages": self.villages, "rejected": self.rejected,
                "duplicates": self.duplicates, "missing_villages": self.missing_villages,
                "vanished": self.vanished}

    def summary_text(self) -> str:
        """A short Chinese summary for a person."""
        lines = [f"总台账已写入：{self.master}" if self.master else "总台账未能写入。",
                 f"截至 {self.as_of.isoformat()}：共 {self.cases} 件，逾期 {self.overdue} 件，"
                 f"临期 {self.due_soon} 件。",
                 f"已报 {len(self.villages)} 个村（社区）"
                 + (f"，未报 {len(self.missing_villages)} 个：{'、'.join(self.missing_villages)}"
                    if self.missing_villages else "，名册中的村（社区）均已报送") + "。"]
        faulty = [f"{v['village']} {v['errors']} 处" for v in self.villages if v["errors"]]
        if faulty:
            lines.append(f"台账有错误：{'，'.join(faulty)}（详见总台账“校验问题”表）。")
        if self.new_cases or self.status_changes:
            lines.append(f"比上次汇总：新增 {self.new_cases} 件，状态变化 {self.status_changes} 件。")
        for r in self.rejected:
            lines.append(f"被拒收：{r['file']}——{r['message']}")
        for d in self.duplicates:
            lines.append(f"案件编号重复：{d['case_id']}（{'、'.join(d['villages'])}），两行均保留。")
        for v in self.vanished:
            lines.append(f"案件消失：{v['village']}的 {v['case_id']} 未销号却不在新报台账中，"
                         "见“变更记录”表。")
        lines += self.notes
        return "\n".join(lines)


class StageProgress:
    """Turns (stage, done, total) reports into steps of one overall bar (click.progressbar)."""
    STEPS = 1000
    WEIGHTS = {"登记来件": 0.1, "读取台账": 0.5, "校验": 0.1, "计算期限": 0.05, "整理总台账": 0.05,
               "写入总台账": 0.2}

    def __init__(self, bar) -> None:
        self.bar, self.shown = bar, 0
        names = list(self.WEIGHTS)
        self.start = {n: sum(self.WEIGHTS[m] for m in names[:i]) for i, n in enumerate(names)}

    def __call__(self, stage: str, done: int, total: int) -> None:
        frac = self.start.get(stage, 0) + self.WEIGHTS.get(stage, 0) * (done / total if total else 1)
        target = int(frac * self.STEPS)
        if target > self.shown:
            self.bar.update(target - self.shown, stage)
            self.shown = target


def _default_dirs(archive_root: Path | None, state_dir: Path | None) -> tuple[Path, Path]:
    if archive_root is None:
        from toolkit.core.config import Config
        cfg = Config()
        return cfg.archive, Path(state_dir or cfg.state)
    archive_root = Path(archive_root)
    return archive_root, Path(state_dir or archive_root.parent / "state")


def consolidate(inbox: Path | None, out: Path, *, as_of: date, settings: Settings,
                archive_root: Path | None = None, state_dir: Path | None = None,
                progress: Progress | None = None, lock_timeout: float = 5.0,
                keep_versions: int = 30) -> ConsolidationResult:
    """Rebuild the township master ``out`` from the inbox and the archive.

    ``inbox`` None means: only what the archive already holds (mail, buttons).
    Raises ConsolidationBusy when another run holds the lock, ConsolidationError
    when the master cannot be written.
    """
    archive_root, state_dir = _default_dirs(archive_root, state_dir)
    with run_lock(state_dir, lock_timeout):
        run = _Run(Path(out), as_of, settings, SubmissionArchive(archive_root), state_dir,
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

    def execute(self, inbox: Path | None) -> ConsolidationResult:
        inbox_subs = self._intake(inbox) if inbox is not None else []
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
        self._save_snapshot(book.cases)
        return self.result

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
                subs.append(self.archive.add(path, filename=_display_name(path, inbox),
                                             source="inbox", received=received))
            except OSError as e:   # locked by Excel on Windows, vanished meanwhile, no permission
                reason = ("文件正被其他程序占用或没有读取权限，请关闭该文件后重新汇总"
                          if isinstance(e, PermissionError) else f"无法打开（{e.strerror or e}）")
                self.result.rejected.append({"file": _display_name(path, inbox), "code": Code.UNREADABLE,
                                             "message": make_issue(Code.UNREADABLE, file=path.name,
                                                                   reason=reason).message})
        self.progress("登记来件", len(paths), len(paths))
        return subs

    def _is_ours(self, path: Path) -> bool:
        """The master, its dated copies and old versions are not submissions."""
        out = self.out.resolve()
        p = path.resolve()
        if p == out or p.parent.name == "历史版本" and p.parent.parent == out.parent:
            return True
        for folder in (self.archive.root, self.state_dir):   # an inbox that holds our folders
            if p.is_relative_to(Path(folder).resolve()):
                return True
        return p.parent == out.parent and re.fullmatch(
            re.escape(out.stem) + r"_\d{8}-\d{6}" + re.escape(out.suffix), p.name) is not None

    # --- reading --------------------------------------------------------------------
    def _read(self, subs: Sequence[Submission]) -> None:
        """Read archived originals under their own file names (the reader may need them).

        An original never changes, so what the reader made of it is kept (ParseCache)
        and the daily run re-reads only what is new or what a newer reader would see
        differently.
        """
        from toolkit.read.sandboxed import read_ledgers
        if not subs:
            return
        self.progress("读取台账", 0, len(subs))
        todo = []
        for sub in subs:
            lg = self.cache.get(sub.sha256)
            if lg is None:
                todo.append(sub)
            else:
                self.ledgers[sub.id] = lg
        if todo:
            with tempfile.TemporaryDirectory(prefix="taizhang-") as work:
                paths = [materialise(s, Path(work)) for s in todo]
                ledgers = read_ledgers(paths)
            for sub, lg, path in zip(todo, ledgers, paths):
                lg.path = Path(sub.filename)
                for i in lg.issues:    # messages name the file as the village sent it
                    i.file = sub.filename
                    i.message = i.message.replace(str(path), sub.filename)
                if lg.readable and not lg.village:
                    lg.village = Path(sub.filename).stem
                self.ledgers[sub.id] = lg
                self.cache.put(sub.sha256, lg)
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
        from toolkit.compute.cases import compute_cases
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
            issue.row, issue.sheet, issue.file = row, lg.sheet, Path(lg.path).name
            issue.cell = lg.cell("assigned_date", row)
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
        from toolkit.outputs.master import MasterBook, read_township_values
        from toolkit.outputs.report import issue_rows
        self.progress("整理总台账", 0, 1)
        cases = self._case_table(counted)
        columns = self._township_columns()
        values, extra = read_township_values(self.out, columns)
        if extra:
            self.result.notes.append(f"上一版总台账中的列“{'、'.join(extra)}”不在设置的乡级列中，"
                                     "新版未带入（旧版已存入“历史版本”文件夹）。如需保留，请在设置工作簿中"
                                     "登记为乡级列。")
        orphans = _carry_township(cases, columns, values)
        snapshot = _load_snapshot(self.state_dir)
        changes = _changes(snapshot, cases, vanished, orphans, columns, self.result)
        shown = [self.ledgers[s.id] for s in counted.values()]
        shown += [self.ledgers[s.id] for s in self.rejected]
        reports, missing = self._reports(counted)
        self.result.missing_villages = missing
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
        import pandas as pd
        from toolkit.outputs.master import CASE_COLUMNS
        frames = []
        for village, sub in counted.items():
            lg = self.ledgers[sub.id]
            if not lg.n_cases:
                continue
            df = pd.concat([lg.cases, self.computed[sub.id]], axis=1)
            df = df.astype(object).where(df.notna(), None)
            df["village"], df["source_file"], df["row"] = village, sub.filename, list(lg.cases.index)
            df["n_errors"], df["flags"] = _row_flags(lg)
            frames.append(df)
        keys = [k for k, _, _ in CASE_COLUMNS] + ["n_errors"]
        if not frames:
            return pd.DataFrame(columns=keys)
        table = pd.concat(frames, ignore_index=True)
        table = table.astype(object).where(table.notna(), None)   # pandas 3 str columns hold NaN
        for k in keys:
            if k not in table.columns:
                table[k] = None
        self.result.duplicates = _mark_duplicates(table)
        return table

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
        names = list(roster) + sorted((set(latest) | set(counted)) - set(roster))
        rows, missing = [], []
        for v in names:
            good, last = counted.get(v), latest.get(v)
            if good is None:
                if v in roster:
                    missing.append(v)
            rows.append(_report_row(v, roster.get(v), good, last, self.ledgers))
        for sub in self.rejected:
            if not sub.village:
                rows.append({"村（社区）": "", "报送情况": "被拒收", "文件": sub.filename, "结果": "被拒收",
                             "来源": SOURCE_LABELS.get(sub.source, sub.source),
                             "最近报送时间": _when(sub.received), "说明": sub.message or ""})
        return rows, missing

    # --- state ----------------------------------------------------------------------------
    def _save_snapshot(self, cases) -> None:
        state = {"as_of": self.as_of.isoformat(), "run_at": datetime.now().isoformat(timespec="seconds"),
                 "master": str(self.result.master),
                 "cases": {k: s for k, s in zip(_case_keys(cases), cases["status"]) if k}}
        path = self.state_dir / SNAPSHOT_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


# --- what the reader made of each original ----------------------------------------------
class ParseCache:
    """Ledgers as read (before validation), by the original's hash and the reader's code.

    Validation and computing depend on the date and the settings and always run;
    reading depends only on the bytes and the reader, so it is done once per file.
    A change to any reading module starts a new cache (the old one is removed).
    Unreadable results are not kept: a time-out may depend on how busy the PC was.
    """
    # Every module of these packages, found on disk: a module that is added, split or
    # moved changes the digest without anyone having to remember this list.
    PACKAGES = ("toolkit.core", "toolkit.intake", "toolkit.read")

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / _reader_version(self.PACKAGES)

    def get(self, sha: str) -> Ledger | None:
        import pickle
        try:
            with open(self.folder / f"{sha}.pickle", "rb") as f:
                lg = pickle.load(f)
            return lg if isinstance(lg, Ledger) else None
        except Exception:          # missing, torn by a crash, or from another version
            return None

    def put(self, sha: str, ledger: Ledger) -> None:
        import pickle
        if not ledger.readable:
            return
        try:
            if not self.folder.exists():
                shutil.rmtree(self.root, ignore_errors=True)    # results of an older reader
                self.folder.mkdir(parents=True)
            tmp = self.folder / f".{sha}.{os.getpid()}.tmp"
            tmp.write_bytes(pickle.dumps(ledger, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, self.folder / f"{sha}.pickle")
        except OSError:
            pass                   # a cache that cannot be written only costs time


def _reader_version(packages: Sequence[str]) -> str:
    """A digest of the reading code (every .py file of ``packages``, by its path inside
    the package and its bytes), the Python version and the reading libraries' versions."""
    import hashlib
    import importlib
    import sys
    digest = hashlib.sha256(sys.version.encode())
    for name in packages:
        root = Path(importlib.import_module(name).__file__).parent
        for f in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{f.relative_to(root).as_posix()}".encode())
            digest.update(f.read_bytes())
    from importlib import metadata
    for dist in ("pandas", "python-calamine"):
        try:
            digest.update(f"{dist} {metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


# --- helpers ---------------------------------------------------------------------------
_BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def _display_name(path: Path, inbox: Path) -> str:
    try:
        return path.resolve().relative_to(inbox.resolve()).as_posix()
    except ValueError:
        return path.name


def materialise(sub: Submission, work: Path) -> Path:
    """The archived original under its own file name, in a private folder."""
    name = _BAD_NAME.sub("_", Path(sub.filename.replace("\\", "/")).name).strip(" .") \
        or f"{sub.id}{sub.stored_path.suffix}"
    folder = work / str(sub.id)
    folder.mkdir()
    target = folder / name
    try:
        if os.name == "nt":      # a link shares the read-only attribute: cleanup would fail
            raise OSError("copy on Windows")
        os.link(sub.stored_path, target)
    except OSError:
        shutil.copyfile(sub.stored_path, target)
    return target


def fatal_issue(lg: Ledger) -> Issue | None:
    if not lg.readable:
        return next((i for i in lg.issues if i.severity == ERROR), None) or make_issue(
            Code.UNREADABLE, file=Path(lg.path).name, reason="原因不明")
    for i in lg.issues:
        if i.code in _FATAL_CODES:
            return i
    if "case_id" not in lg.columns:
        return next((i for i in lg.issues if i.code == Code.MISSING_COLUMN and i.column in
                     ("案件编号", "case_id")), None) or make_issue(
            Code.MISSING_COLUMN, file=Path(lg.path).name, column="案件编号", variants="信访编号、积案编号、编号")
    return None


def case_index_of(lg: Ledger) -> dict[str, str | None]:
    if not lg.readable or not lg.n_cases or "case_id" not in lg.cases:
        return {}
    statuses = lg.cases["status"] if "status" in lg.cases else [None] * lg.n_cases
    return {str(c): (s if isinstance(s, str) else None)
            for c, s in zip(lg.cases["case_id"], statuses) if c is not None and c == c}


def _row_flags(lg: Ledger) -> tuple[list[int], list[str | None]]:
    """Per case row: number of errors and a short note (error titles, then warnings)."""
    errs: dict[int, list[str]] = {}
    warns: dict[int, list[str]] = {}
    for i in lg.issues:
        if i.row is None:
            continue
        title = CATALOGUE[i.code].title if i.code in CATALOGUE else i.code
        bucket = errs if i.severity == ERROR else warns
        items = bucket.setdefault(int(i.row), [])
        if title not in items:
            items.append(title)
    counts = {r: sum(1 for i in lg.issues if i.row == r and i.severity == ERROR) for r in errs}
    n, notes = [], []
    for row in lg.cases.index:
        parts = []
        if row in errs:
            parts.append(f"错误{counts[row]}处：{'、'.join(errs[row])}")
        if row in warns:
            parts.append(f"提醒：{'、'.join(warns[row])}")
        n.append(counts.get(row, 0))
        notes.append("；".join(parts) or None)
    return n, notes


def _mark_duplicates(table) -> list[dict]:
    """The same case number in two villages: both rows kept, flagged and reported."""
    villages: dict[str, list[str]] = {}
    for v, c in zip(table["village"], table["case_id"]):
        if c is not None:
            lst = villages.setdefault(str(c), [])
            if v not in lst:
                lst.append(v)
    dup = {c: vs for c, vs in villages.items() if len(vs) > 1}
    if dup:
        flags = list(table["flags"])
        for i, (v, c) in enumerate(zip(table["village"], table["case_id"])):
            if c is not None and str(c) in dup:
                others = "、".join(x for x in dup[str(c)] if x != v)
                note = f"案件编号与{others}重复"
                flags[i] = f"{note}；{flags[i]}" if flags[i] else note
        table["flags"] = flags
    return [{"case_id": c, "villages": vs} for c, vs in dup.items()]


def _carry_township(cases, columns: Sequence[str], values: dict) -> dict:
    """Fill the township's columns from the previous master; return what found no case."""
    from toolkit.outputs.master import match_township_values
    used = set()
    filled: dict[str, list] = {c: [None] * len(cases) for c in columns}
    for i, (v, cid) in enumerate(zip(cases["village"], cases["case_id"])):
        if cid is None:
            continue
        got = match_township_values(values, v, str(cid))
        if got:
            used.add(id(got))
            for c, val in got.items():
                filled[c][i] = val
    for c in columns:
        cases[c] = filled[c]
    return {k: v for k, v in values.items() if id(v) not in used}


def _case_keys(cases) -> list[str | None]:
    """village + case number per row; a number repeated within a village gets #2, #3 …"""
    seen: dict[str, int] = {}
    keys: list[str | None] = []
    for v, c in zip(cases["village"], cases["case_id"]):
        if c is None:
            keys.append(None)
            continue
        key = f"{v}\x1f{c}"
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}\x1f{seen[key]}")
    return keys


def _load_snapshot(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / SNAPSHOT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _changes(snapshot: dict | None, cases, vanished: list[dict], orphans: dict,
             columns: Sequence[str], result: ConsolidationResult) -> list[dict]:
    """变更记录: vanished cases, new cases, status changes, and township notes with no case."""
    rows = []
    for v in vanished:
        kept = orphans.pop((v["village"], v["case_id"]), {})
        rows.append({"变更类型": "案件消失（未销号）", "村（社区）": v["village"], "案件编号": v["case_id"],
                     "原状态": v["status"], "来源文件": v["now"],
                     "说明": f"上次报送“{v['before']}”中有此案，新报“{v['now']}”中没有，且未销号。"
                             "请与该村核实：已结案的应改为“已销号”保留在台账中。", **kept})
    if snapshot is not None:
        before = snapshot.get("cases", {})
        since = snapshot.get("as_of", "")
        wanted = ["village", "case_id", "petitioner", "status", "source_file"]
        for key, rec in zip(_case_keys(cases), cases[wanted].to_dict("records")):
            if key is None:
                continue
            base = {"村（社区）": rec["village"], "案件编号": rec["case_id"], "信访人": rec["petitioner"],
                    "现状态": rec["status"], "来源文件": rec["source_file"]}
            if key not in before:
                result.new_cases += 1
                rows.append({"变更类型": "新增案件", **base, "说明": f"上次汇总（截至{since}）没有此案。"})
            elif before[key] != rec["status"]:
                result.status_changes += 1
                rows.append({"变更类型": "状态变化", **base, "原状态": before[key],
                             "说明": f"上次汇总（截至{since}）为“{before[key] or '空'}”。"})
    else:
        rows.append({"变更类型": "首次汇总", "说明": "没有上次汇总的记录，本次起记录新增案件和状态变化。"})
    for (village, case_id), kept in orphans.items():
        rows.append({"变更类型": "乡级填写暂存", "村（社区）": village, "案件编号": case_id,
                     "说明": "上一版总台账中为此案填写的乡级内容，案件已不在本版总台账中，暂存于此；"
                             "案件重新出现时自动带回。", **kept})
    return rows


def _when(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:16]


def _report_date(lg: Ledger | None):
    d = getattr(lg, "report_date", None)
    return d if isinstance(d, date) else None


def _report_row(village: str, entry, good: Submission | None, last: Submission | None,
                ledgers: dict[int, Ledger]) -> dict:
    row = {"村（社区）": village, "联系人": entry.contact if entry else "",
           "报送情况": "已报" if good else "未报"}
    shown = last or good
    if shown is not None:
        lg = ledgers.get(shown.id)
        row.update({"最近报送时间": _when(shown.received),
                    "来源": SOURCE_LABELS.get(shown.source, shown.source),
                    "文件": shown.filename, "结果": OUTCOME_LABELS.get(shown.outcome, shown.outcome),
                    "填报日期": _report_date(lg),
                    "案件数": lg.n_cases if lg is not None and lg.readable else shown.cases,
                    "错误": lg.errors if lg is not None else shown.errors,
                    "提醒": lg.warnings if lg is not None else shown.warnings})
    if good is not None:    # what the master uses (汇总 shows it)
        row.update({"_counted_file": good.filename, "_counted_received": _when(good.received),
                    "_counted_report_date": _report_date(ledgers.get(good.id))})
    notes = []
    if entry is None:
        notes.append("不在名册中：请在设置工作簿“名册”中核对村名")
    if last is not None and good is not None and last.id != good.id:
        notes.append(f"最近一次报送{OUTCOME_LABELS.get(last.outcome, '')}"
                     f"{'：' + last.message if last.message else ''}；总台账仍采用"
                     f"“{good.filename}”（{_when(good.received)}）")
    elif last is not None and good is None:
        notes.append(f"报送的文件未被采用{'：' + last.message if last.message else ''}")
    row["说明"] = "；".join(notes)
    return row


# --- entry point for callers with a configuration (CLI, daily job, buttons) -----------------
def run_configured(cfg=None, settings: Settings | None = None, *, inbox: Path | None = None,
                   out: Path | None = None, as_of: date | None = None,
                   progress: Progress | None = None, lock_timeout: float | None = None
                   ) -> ConsolidationResult:
    """Consolidate with the administrator's paths (taizhang.toml) and the clerk's settings."""
    from toolkit.core.config import DEMO_AS_OF, DEMO_INBOX, load_config
    cfg = cfg or load_config()
    if settings is None:
        from toolkit.core.settings_workbook import load_settings
        settings = load_settings(cfg.settings_workbook)
    inbox = Path(inbox) if inbox is not None else cfg.inbox
    if as_of is None:
        if cfg.source is not None and cfg.as_of is not None:
            as_of = cfg.as_of
        elif inbox.resolve() == DEMO_INBOX.resolve():
            as_of = DEMO_AS_OF
        else:
            as_of = date.today()
    return consolidate(inbox, Path(out if out is not None else cfg.master).absolute(), as_of=as_of,
                       settings=settings, archive_root=cfg.archive, state_dir=cfg.state,
                       progress=progress,
                       lock_timeout=LOCK_WAIT if lock_timeout is None else lock_timeout)

"""The toolkit's public API: every command is a function (as in sqlite-utils).

    from toolkit import consolidate, validate
    result = consolidate()                       # the inbox and master taizhang.toml names
    ledgers = validate(["东村台账.xlsx"], as_of="2010-10-20")

Every function takes the same optional arguments, resolved here and nowhere else:

- ``config``: a ``Config``, or the path of a taizhang.toml; None = the one
  ``find_config_file`` finds (``--config``, $TAIZHANG_CONFIG, the current folder and each
  folder above it, ``near`` folders, beside run_daily.py in a checkout); no file at all =
  the bundled demo, which every shell says in its first line (``demo_notice``).
- ``settings``: a ``Settings``, or the path of a settings workbook; None = the
  workbook the config names.
- ``as_of``: a date or "2010-10-20"; None = ``[daily] as_of`` when taizhang.toml
  fixes it, else the demo's date when the run consolidates the demo inbox, else today.

The command line, the daily job, the mail intake and the Excel buttons call only
these functions. A library call writes only where its config (or an argument)
says: nothing here falls back to a hidden ``Config()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from toolkit.core.config import DEFAULT_LAYOUT, Config, ConfigError, demo_home, find_config_file, read_config
from toolkit.core.settings import Settings

if TYPE_CHECKING:
    from toolkit.core.ledger import Ledger
    from toolkit.demo import DemoFile
    from toolkit.outputs.fill import FillResult, SheetValues
    from toolkit.outputs.writeback import NewSheet
    from toolkit.pipeline.consolidate import ConsolidationResult
    from toolkit.pipeline.doctor import SetupReport
    from toolkit.pipeline.mail import MailRunResult
    from toolkit.pipeline.portal import LinkListing, OfficeStatus, PortalAnswer

ConfigLike = Config | str | Path | None
SettingsLike = Settings | str | Path | None
DateLike = date | str | None
# The demo lives in its own home (workbooks/demo in a checkout, a per-user folder when
# installed): its inbox, archive, state, settings and master; no office's config points there.
DEMO_HOME = demo_home()
DEMO_INBOX = DEMO_HOME / DEFAULT_LAYOUT["inbox"]     # restored from toolkit/demo/inbox when missing


@dataclass(frozen=True)
class Context:
    """What one call runs with: the administrator's config, the clerk's settings, the date."""
    config: Config
    settings: Settings
    as_of: date


# --- resolving config -> settings -> as-of (the one place) ----------------------------
def load_config(path: str | Path | None = None, *, near: Iterable[Path] = ()) -> Config:
    """The administrator's taizhang.toml (see ``find_config_file``), or the demo's config,
    whose every folder is in the demo's home (``DEMO_HOME``)."""
    if path is None and _pinned:          # a server answers with the config it started with
        return _pinned[-1]
    found = find_config_file(path, near=near)
    if found is not None:
        return read_config(found)
    return Config.rooted(DEMO_HOME, demo=True)


def load_settings(path: str | Path | None = None, *, config: ConfigLike = None) -> Settings:
    """The clerk's settings workbook: ``path``, else the one the config names.

    A workbook named by ``--settings`` must exist; the config's may be missing (a new office:
    its year's campaign and an empty roster, which ``taizhang doctor`` points out). The demo
    makes its own, in its home, from ``DEMO_ROSTER`` and the 2010 campaign.
    """
    from toolkit.core.settings_workbook import load_settings as read_settings
    cfg = _config(config)
    default = office_default_settings(cfg)
    if path is not None:
        return read_settings(_must_exist(Path(path), "--settings 指定的设置工作簿"), default)
    path = cfg.settings_workbook
    if cfg.demo and not path.exists():
        from toolkit.core.settings_workbook import create_settings_workbook
        from toolkit.demo import DEMO_ROSTER
        create_settings_workbook(path, roster=DEMO_ROSTER)
    return read_settings(path, default)


def _must_exist(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"找不到{what}“{path}”。请检查路径；要新建一个，运行 taizhang settings --out \"{path}\"。")
    return path


def resolve(*, config: ConfigLike = None, settings: SettingsLike = None, as_of: DateLike = None,
            inbox: Path | None = None) -> Context:
    """Config, then settings, then the as-of date: the one rule every command follows.

    ``inbox`` is the folder a consolidation reads (it decides whether the demo's date applies).
    """
    cfg = _config(config)
    if not isinstance(settings, Settings):
        settings = load_settings(settings, config=cfg)
    return Context(cfg, settings, _as_of(as_of, cfg, inbox))


def _config(config: ConfigLike) -> Config:
    if isinstance(config, Config):
        return config
    return load_config(config)


def _as_of(as_of: DateLike, cfg: Config, inbox: Path | None) -> date:
    if as_of is not None:
        return as_date(as_of)
    if cfg.as_of is not None:
        return cfg.as_of
    if inbox is not None and _is_demo_inbox(inbox):
        from toolkit.demo import DEMO_AS_OF
        return DEMO_AS_OF
    return date.today()


def as_date(value: date | str) -> date:
    """A date, or a text a clerk types ("2010-10-20", "2010年10月20日", ...); TaizhangError otherwise."""
    if isinstance(value, date):
        return value
    from toolkit.core.dates import parse_date_text
    parsed = parse_date_text(str(value))
    if parsed is None:
        from toolkit.core.errors import TaizhangError
        raise TaizhangError(f"“{value}”不是有效日期，请写作 2010-10-20。")
    return parsed


def _is_demo_inbox(inbox: Path) -> bool:
    return Path(inbox).resolve() == DEMO_INBOX.resolve()


# --- the commands ---------------------------------------------------------------------
def validate(paths: Iterable[str | Path] | Sequence["Ledger"], *, as_of: DateLike = None,
             settings: SettingsLike = None, config: ConfigLike = None) -> list["Ledger"]:
    """Read (safely, in worker processes) and check workbooks, or check Ledgers already read
    (the Excel buttons read the sheet in front of the clerk): validation's issues and
    computing's deadline warnings, the same a consolidation finds. Every issue names its
    file, sheet and cell."""
    from toolkit.core.ledger import Ledger
    ctx = resolve(config=config, settings=settings, as_of=as_of)
    items = list(paths)
    if items and all(isinstance(x, Ledger) for x in items):
        from toolkit.pipeline.check import check_ledgers
        check_ledgers(items, as_of=ctx.as_of, settings=ctx.settings, columns=False)   # issues only
        return items
    from toolkit.pipeline.check import check_paths
    return check_paths([Path(p) for p in items], as_of=ctx.as_of, settings=ctx.settings)


def compute(ledger: "Ledger", *, as_of: DateLike = None, settings: SettingsLike = None,
            config: ConfigLike = None):
    """Deadlines, alerts and checklists of one ledger's cases: (table, issues at their cells)."""
    from toolkit.compute.cases import compute_ledger
    ctx = resolve(config=config, settings=settings, as_of=as_of)
    return compute_ledger(ledger, as_of=ctx.as_of, settings=ctx.settings)


def annotate(ledgers: Sequence["Ledger"], out_dir: str | Path) -> list[tuple["Ledger", Path | str]]:
    """For each validated ledger with errors or warnings (information alone, such as a village's
    own columns, needs no copy), a coloured copy with a 校验结果 sheet in ``out_dir``:
    (ledger, the copy's path) or (ledger, why no copy was made)."""
    from toolkit.outputs.fill import annotate_file
    from toolkit.outputs.writeback import WritebackError
    done: list[tuple["Ledger", Path | str]] = []
    for lg in ledgers:
        if lg.readable and (lg.errors or lg.warnings):
            try:
                done.append((lg, annotate_file(lg, Path(out_dir))))
            except WritebackError as e:
                done.append((lg, str(e)))
    return done


def fill(paths: Iterable[str | Path], *, as_of: DateLike = None, settings: SettingsLike = None,
         config: ConfigLike = None) -> list["FillResult"]:
    """Write deadlines, alerts and checklist counts into the villages' own workbooks
    (backup first, atomic replace); one result per file, in order."""
    from toolkit.pipeline.check import fill_paths
    ctx = resolve(config=config, settings=settings, as_of=as_of)
    return fill_paths([Path(p) for p in paths], as_of=ctx.as_of, settings=ctx.settings)


def consolidate(inbox: str | Path | None = None, out: str | Path | None = None, *,
                as_of: DateLike = None, settings: SettingsLike = None, config: ConfigLike = None,
                progress: Callable[[str, int, int], None] | None = None,
                lock_timeout: float | None = None) -> "ConsolidationResult":
    """Rebuild the township master from the inbox and the submission archive.

    ``inbox`` and ``out`` default to the config's; the archive and state folders are the
    config's. Raises ConsolidationError (a Chinese sentence) when the master cannot be written.
    """
    from toolkit.pipeline.consolidate import LOCK_WAIT
    from toolkit.pipeline.consolidate import consolidate as run
    cfg = _config(config)
    inbox = Path(inbox) if inbox is not None else cfg.inbox
    if cfg.demo and _is_demo_inbox(inbox):
        from toolkit.demo import demo_filenames, restore_demo_inbox
        if not all((inbox / name).exists() for name in demo_filenames()):
            restore_demo_inbox(inbox, force=True)     # a fresh checkout, or a file deleted
    elif inbox == cfg.own_inbox and not inbox.exists():
        inbox.mkdir(parents=True, exist_ok=True)      # an office taking only mail or uploads
    ctx = resolve(config=cfg, settings=settings, as_of=as_of, inbox=inbox)
    master = Path(out if out is not None else cfg.master).absolute()
    return run(inbox, master, as_of=ctx.as_of, settings=ctx.settings, archive_root=cfg.archive,
               state_dir=cfg.state, progress=progress,
               lock_timeout=LOCK_WAIT if lock_timeout is None else lock_timeout)


def validation_text(ledgers: Sequence["Ledger"], *, errors_only: bool = False) -> str:
    """What `taizhang validate` prints for checked ledgers (unreadable files first, then the
    files with errors, the clean ones last unless ``errors_only``)."""
    from toolkit.outputs.report import format_text_report
    return format_text_report(ledgers, errors_only=errors_only)


def validation_exit_code(ledgers: Sequence["Ledger"]) -> int:
    """0 no errors, 1 some errors, 2 some file could not be read."""
    from toolkit.validation.rules import exit_code
    return exit_code(ledgers)


def consolidation_failed(error: Exception, *, as_of: DateLike = None) -> dict:
    """The JSON of `taizhang consolidate --json` when no master was written: every key, empty,
    with ``error`` (the Chinese sentence)."""
    from toolkit.pipeline.consolidate import ConsolidationResult
    day = as_date(as_of) if as_of is not None else date.today()
    return {**ConsolidationResult(master=None, as_of=day).to_dict(), "error": str(error)}


@dataclass(frozen=True)
class Deadline:
    date: date
    lines: list[str]      # what `taizhang deadline` prints: the date, then why


def deadline(start: DateLike, *, workdays: int | None = None, days: int | None = None,
             settings: SettingsLike = None, config: ConfigLike = None) -> Deadline:
    """The Nth working day after ``start`` (``workdays``), or N calendar days with a last day
    moved off public holidays (``days``). Raises CalendarYearMissing for a year nobody knows."""
    from toolkit.compute.calendar import calendar_for, deadline_lines
    if (workdays is None) == (days is None):
        raise ValueError("give exactly one of workdays= and days=")
    if not isinstance(settings, Settings):
        settings = load_settings(settings, config=config)
    lines = deadline_lines(calendar_for(settings), as_date(start), workdays=workdays, days=days)
    return Deadline(date.fromisoformat(lines[0]), lines)


def fetch_mail(*, config: ConfigLike = None, settings: SettingsLike = None,
               as_of: DateLike = None) -> "MailRunResult":
    """Fetch the villages' mail: archive, judge and answer each attachment (taizhang.toml [mail])."""
    from toolkit.core.config import ConfigError
    from toolkit.pipeline.mail import fetch_mail as run
    cfg = _config(config)
    if not cfg.mail.enabled:
        raise ConfigError(f"没有配置收件邮箱：请在 {cfg.source or 'taizhang.toml'} 的 [mail] 中"
                          "填写 host、user 等（见使用说明“邮件报送”一节：taizhang guide）。")
    ctx = resolve(config=cfg, settings=settings, as_of=as_of)
    return run(cfg, ctx.settings, as_of=ctx.as_of)


def doctor(*, config: ConfigLike = None, settings: str | Path | None = None, near: Iterable[Path] = (),
           connect_mail: bool = True) -> "SetupReport":
    """What this installation runs with (`taizhang doctor`, the 检查安装 button): the config
    file, every path (exists, writable), the roster, the calendar years, the mail servers
    (logged into when ``connect_mail``), the daily run; ``exit_code`` 1 when tomorrow's run
    would fail. A config that cannot be read raises ConfigError, as every command does."""
    from toolkit.pipeline.doctor import check_setup
    cfg = config if isinstance(config, Config) else load_config(config, near=near)
    return check_setup(cfg, settings_path=settings, load_settings=load_settings, connect_mail=connect_mail)


def write_report(path: str | Path, ledgers: Sequence["Ledger"]) -> Path:
    """The issue workbook (校验问题, 文件汇总) for validated ledgers."""
    from toolkit.outputs.report import write_issue_report
    return write_issue_report(Path(path), ledgers)


def template_path(village: str | None = None) -> Path:
    """Where `taizhang template` writes by default: the current folder, named for the village."""
    from toolkit.outputs.template import default_template_name
    return Path.cwd() / default_template_name(village)


def write_settings(path: str | Path | None = None, *, force: bool = False, demo: bool = False,
                   config: ConfigLike = None, year: int | None = None,
                   township: str | None = None) -> tuple[Path, Path | None]:
    """A new settings workbook: the office's campaign of ``year`` (default: the config's year,
    ``office_year``) with ``township`` and an empty 村名册, or with ``demo`` the worked example
    (南郊乡 2010, the demo's 8 villages): (its path, the backup of the file it replaced).
    ``path`` defaults to the one taizhang.toml names (the current folder when there is none)."""
    from toolkit.core.settings import TOWNSHIP_PLACEHOLDER, campaign_for_year
    from toolkit.core.settings_workbook import create_settings_workbook
    from toolkit.demo import DEMO_ROSTER
    cfg = _config(config)
    target = Path(path) if path else (Path.cwd() / "设置.xlsx" if cfg.demo else cfg.settings_workbook)
    if demo and year is None and township is None:
        return create_settings_workbook(target, force=force, roster=DEMO_ROSTER)
    campaign = campaign_for_year(year or office_year(cfg), township or TOWNSHIP_PLACEHOLDER)
    return create_settings_workbook(target, force=force, roster=DEMO_ROSTER if demo else (),
                                    campaign=campaign)


def restore_demo(folder: str | Path | None = None, *, force: bool = False) -> list["DemoFile"]:
    """Copy the bundled demo ledgers into ``folder`` (default: the demo's inbox)."""
    from toolkit.demo import restore_demo_inbox
    return restore_demo_inbox(Path(folder) if folder else DEMO_INBOX, force=force)


def demo_as_of() -> date:
    """The demo's fixed as-of date (2010-10-20)."""
    from toolkit.demo import DEMO_AS_OF
    return DEMO_AS_OF


def can_write_pdf() -> bool:
    """Whether LibreOffice is installed (the 简报 PDF needs it)."""
    from toolkit.outputs.libreoffice import find_soffice
    return find_soffice() is not None


# --- the sheet open in front of the clerk (the Excel buttons) -----------------------------
def read_sheet(book_name: str, sheet_name: str, grid: list[list],
               marker: list[list] | None = None, *, settings: Settings | None = None) -> "Ledger":
    """A ledger read from the values of an open sheet, exactly as the same file would be read;
    ``marker``: the template's hidden marker sheet, when the book has one; ``settings``: whose
    表头别名 to read the header with."""
    from toolkit.read.grid import ledger_from_grid
    return ledger_from_grid(book_name, sheet_name, grid, marker,
                            settings.header_aliases if settings is not None else ())


def cell_marks(ledger: "Ledger") -> dict[str, str]:
    """After ``validate``: A1 cell -> "#RRGGBB" (red for an error, yellow for a warning)."""
    from toolkit.outputs.fill import cell_marks as marks
    return marks(ledger)


def result_sheet(ledger: "Ledger") -> "NewSheet":
    """After ``validate``: the 校验结果 sheet (rows, widths, links) for the open book."""
    from toolkit.outputs.fill import issue_sheet
    return issue_sheet(ledger)


def sheet_values(ledger: "Ledger", computed, last_used: int) -> "SheetValues":
    """After ``compute``: where and what 计算期限 writes in the open sheet."""
    from toolkit.outputs.fill import sheet_values as values
    return values(ledger, computed, last_used)


def write_template(path: str | Path, *, village: str | None = None,
                   settings: SettingsLike = None, config: ConfigLike = None) -> Path:
    """The village ledger template, with the township's campaign settings."""
    from toolkit.outputs.template import write_template as write
    if not isinstance(settings, Settings):
        settings = load_settings(settings, config=config)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, village=village, campaign=settings.campaign)
    return path


def trends(*, config: ConfigLike = None, since: DateLike = None) -> list:
    """Every run's totals per village and day (``toolkit.pipeline.trends.VillageDay``), oldest
    first; one row per village and as-of date however often that day was consolidated."""
    from toolkit.pipeline.trends import history
    return history(_config(config).state, since=None if since is None else as_date(since))


def write_brief(result: "ConsolidationResult", pdf: str | Path | None = None, *,
                config: ConfigLike = None) -> Path:
    """The leader's 简报 of a consolidation as a one-page PDF (LibreOffice): ``pdf``, or
    ``<master>_简报.pdf`` beside the master. Raises LibreOfficeError without LibreOffice."""
    from toolkit.outputs.brief import brief_pdf
    if pdf is None:
        master = Path(result.master or _config(config).master)
        pdf = master.with_name(f"{master.stem}_简报.pdf")
    return brief_pdf(result.brief, Path(pdf))


# --- the clerk's submission tools and reminders (submissions/release/assign/withdraw/remind) ---
def submissions(*, village: str | None = None, as_of: DateLike = None, config: ConfigLike = None,
                settings: SettingsLike = None):
    """Per village the submission that counts now and its history, then the files waiting for
    a clerk (a ``SubmissionOverview``); files not yet read are judged first."""
    from toolkit.pipeline.review import review
    ctx = resolve(config=config, settings=settings, as_of=as_of)
    return review(ctx.config.archive, ctx.config.state, ctx.settings, as_of=ctx.as_of, village=village)


def release(submission_id: int, *, village: str | None = None, by: str | None = None,
            config: ConfigLike = None, settings: SettingsLike = None):
    """Count a held, withdrawn or older submission; ``by`` defaults to the computer's user name.
    Raises SubmissionError (Chinese) when it cannot be released as asked."""
    from toolkit.pipeline.review import release_submission
    ctx = resolve(config=config, settings=settings)
    return release_submission(ctx.config.archive, ctx.config.state, ctx.settings, int(submission_id),
                              village=village, by=by)


def assign(submission_id: int, *, village: str, by: str | None = None, config: ConfigLike = None,
           settings: SettingsLike = None):
    """File a submission under a roster village (a misspelt name, a stranger's checked file)."""
    from toolkit.pipeline.review import assign_submission
    ctx = resolve(config=config, settings=settings)
    return assign_submission(ctx.config.archive, ctx.config.state, ctx.settings, int(submission_id),
                             village=village, by=by)


def withdraw(submission_id: int, *, reason: str, by: str | None = None, config: ConfigLike = None,
             settings: SettingsLike = None):
    """Stop counting a submission: (the withdrawn one, the village's submission counting now)."""
    from toolkit.pipeline.review import withdraw_submission
    ctx = resolve(config=config, settings=settings)
    return withdraw_submission(ctx.config.archive, ctx.config.state, ctx.settings, int(submission_id),
                               reason=reason, by=by)


def remind(*, as_of: DateLike = None, since: DateLike = None, send: bool = False,
           sheet: str | Path | None = None, config: ConfigLike = None, settings: SettingsLike = None):
    """The villages to chase (催报): a 催报单 workbook beside the master (or ``sheet``), and with
    ``send`` one e-mail per village, at most once a day (a ``RemindResult``)."""
    from toolkit.pipeline.remind import remind as run
    ctx = resolve(config=config, settings=settings, as_of=as_of)
    return run(ctx.config, ctx.settings, as_of=ctx.as_of, since=None if since is None else as_date(since),
               send=send, sheet=None if sheet is None else Path(sheet))


# --- the office's config, said and pinned (issue 18) ------------------------------------------
_pinned: list[Config] = []


def pin_config(cfg: Config | None) -> None:
    """From now on, ``load_config()`` without a path gives ``cfg`` (None: find it again). The
    button server pins the config it was started with, so no request can choose another."""
    _pinned[:] = [cfg] if cfg is not None else []


def demo_notice(config: ConfigLike = None, *, consolidating: bool = False) -> str:
    """The first line of any run that falls back to the demo ("" for an office's own config):
    no taizhang.toml was found, so the demo's folders, settings and roster are used."""
    cfg = _config(config)
    if not cfg.demo:
        return ""
    if consolidating:
        return (f"未找到 taizhang.toml：使用内置演示收件夹 {cfg.inbox}，"
                f"按演示日期 {demo_as_of().isoformat()} 汇总。")
    return (f"未找到 taizhang.toml（当前文件夹 {Path.cwd()} 及其上级文件夹中都没有）：使用演示的设置和"
            f"文件夹（{cfg.inbox.parent}）。处理乡里的台账，请在放有 taizhang.toml 的文件夹（或其子文件夹）"
            "中运行，或加 --config 指明。")


# --- the office's own campaign (issue 18) ------------------------------------------------------
def office_year(config: ConfigLike = None) -> int:
    """The year an office's campaign is in by default: ``[daily] as_of``'s when taizhang.toml
    fixes it, else this year."""
    cfg = _config(config)
    return (cfg.as_of or date.today()).year


def office_default_settings(config: ConfigLike = None) -> Settings:
    """What runs when the settings workbook (or a part of it) is missing: for an office, its
    year's campaign with no roster; for the demo, the worked example (南郊乡 2010)."""
    from toolkit.core.settings import DEFAULT_SETTINGS, office_settings
    cfg = _config(config)
    return DEFAULT_SETTINGS if cfg.demo else office_settings(office_year(cfg))


def is_placeholder_township(name: str) -> bool:
    """The township is still the placeholder a generated settings workbook starts with."""
    from toolkit.core.settings import TOWNSHIP_PLACEHOLDER
    return name.strip() == TOWNSHIP_PLACEHOLDER


def resolve_as_of(config: ConfigLike = None, as_of: DateLike = None) -> date:
    """The date an office's daily run checks against: ``as_of``, else ``[daily] as_of``, else the
    demo's date for the demo, else today (the one rule, for a page that reports on the office)."""
    cfg = _config(config)
    return _as_of(as_of, cfg, cfg.inbox if cfg.demo else None)


# --- the office page (issue 22): village links, uploads, the office's status ----------------------
def links(*, office: bool = False, sheet: str | Path | None = None, by: str | None = None,
          config: ConfigLike = None, settings: SettingsLike = None) -> "LinkListing":
    """`taizhang links`: a link for every roster village without one (``office``: also the
    status page's), and with ``sheet`` the printable 报送方式 of the links made now."""
    from toolkit.pipeline.portal import make_links, write_sheet
    from toolkit.pipeline.review import clerk_name
    ctx = resolve(config=config, settings=settings)
    listing = make_links(ctx.config, ctx.settings, by=clerk_name(by), office=office)
    if sheet is not None:
        write_sheet(listing, Path(sheet), township=ctx.settings.campaign.township)
    return listing


def revoke_link(village: str | None, *, by: str | None = None, config: ConfigLike = None,
                settings: SettingsLike = None) -> "LinkListing":
    """`taizhang links --revoke 村名`: that village's link (None: the office page's) stops working."""
    from toolkit.pipeline.portal import revoke_links
    from toolkit.pipeline.review import clerk_name
    ctx = resolve(config=config, settings=settings)
    return revoke_links(ctx.config, ctx.settings, village, by=clerk_name(by))


def find_link(token: str, *, config: ConfigLike = None):
    """The link (``toolkit.pipeline.links.Link``) a token opens, live or revoked; None: none."""
    from toolkit.pipeline.links import LinkStore
    return LinkStore(_config(config).state).find(token)


def portal_upload(link, filename: str, data: bytes, *, config: ConfigLike = None,
                  settings: SettingsLike = None, as_of: DateLike = None) -> "PortalAnswer":
    """One file uploaded on the office page through ``link``: archived, judged, answered."""
    from toolkit.pipeline.portal import receive_upload
    ctx = resolve(config=config, settings=settings, as_of=as_of)
    return receive_upload(ctx.config, ctx.settings, link, filename, data, as_of=ctx.as_of)


def portal_copy(link, submission: int, *, config: ConfigLike = None) -> Path | None:
    """The annotated copy of an upload made through ``link`` (None: not that link's, or none)."""
    from toolkit.pipeline.portal import annotated_copy
    return annotated_copy(_config(config), link, int(submission))


def office_status(*, config: ConfigLike = None, settings: SettingsLike = None,
                  as_of: DateLike = None) -> "OfficeStatus":
    """The office page's numbers, 报送情况, master and brief, last runs."""
    from toolkit.pipeline.portal import office_status as status
    cfg = _config(config)
    ctx = resolve(config=cfg, settings=settings, as_of=resolve_as_of(cfg, as_of))
    return status(ctx.config, ctx.settings, as_of=ctx.as_of)

"""`taizhang doctor` and the 检查安装 button: what this installation will run with, and
whether tomorrow's run can succeed.

One function, :func:`check_setup`, used by the command and the button through
``toolkit.api.doctor``. Each line is a :class:`Check` (正常 / 注意 / 问题); any 问题 means
the daily run would fail or run wrong, and the exit code is 1.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from python_calamine import CalamineWorkbook

from toolkit.compute.calendar import calendar_for
from toolkit.core.config import EVERY_ADDRESS, PATH_KEYS, Config, ConfigError, daily_command, http_address
from toolkit.core.dates import parse_date_value
from toolkit.core.fields import header_for
from toolkit.core.settings import TOWNSHIP_PLACEHOLDER
from toolkit.core.daily_state import DAILY_STAMP, last_success, next_run, parse_time
from toolkit.core.errors import EXIT_ATTENTION, EXIT_OK, TaizhangError
from toolkit.demo import DEMO_AS_OF, DEMO_ROSTER
from toolkit.intake.archive import SubmissionArchive
from toolkit.intake.mail.imap import open_mailbox
from toolkit.intake.mail.transport import open_smtp, quit_quietly
from toolkit.pipeline.links import VILLAGE, LinkStore

__all__ = ["check_setup", "SetupReport", "Check", "DAILY_STAMP", "last_success", "next_run", "parse_time"]
OK, WARN, FAIL = "正常", "注意", "问题"
QUICK = 15.0         # seconds: a check of a mail server must not hang for a minute
PATH_WORDS = {"inbox": "收件箱", "master": "总台账", "archive": "来件存档", "logs": "日志",
              "state": "运行状态", "settings_workbook": "设置工作簿", "annotated": "批注副本"}


@dataclass(frozen=True)
class Check:
    item: str
    status: str          # OK | WARN | FAIL
    detail: str


@dataclass
class SetupReport:
    config: Path | None
    demo: bool
    checks: list[Check] = field(default_factory=list)

    def add(self, item: str, status: str, detail: str) -> None:
        self.checks.append(Check(item, status, detail))

    @property
    def exit_code(self) -> int:
        return EXIT_ATTENTION if any(c.status == FAIL for c in self.checks) else EXIT_OK

    def verdict(self) -> str:
        bad = sum(c.status == FAIL for c in self.checks)
        return (f"有 {bad} 处问题会让明天的汇总失败或出错，请先处理。" if bad
                else "没有发现会让每日汇总失败的问题。")

    def text(self, *, worst_first: bool = False) -> str:
        """Every check, in order, then the verdict; ``worst_first`` (a button's short message
        box): the verdict, then 问题, 注意 and 正常 lines, so a cut-off loses only 正常 lines."""
        checks = self.checks
        if worst_first:
            rank = {FAIL: 0, WARN: 1, OK: 2}
            checks = sorted(checks, key=lambda c: rank[c.status])
        lines = [f"[{c.status}] {c.item}：{c.detail}" for c in checks]
        return "\n".join([self.verdict(), *lines] if worst_first else [*lines, self.verdict()])

    def to_dict(self) -> dict:
        """Exactly the JSON object of `taizhang doctor --json`."""
        return {"config": None if self.config is None else str(self.config), "demo": self.demo,
                "checks": [{"item": c.item, "status": c.status, "detail": c.detail} for c in self.checks],
                "exit_code": self.exit_code}


def check_setup(cfg: Config, *, settings_path: Path | str | None = None, load_settings=None,
                now: datetime | None = None, connect_mail: bool = True) -> SetupReport:
    """Everything a run depends on, checked without changing anything but a probe file."""
    now = now or datetime.now()
    report = SetupReport(cfg.source, cfg.demo)
    report.add("配置文件", OK if cfg.source else WARN,
               str(cfg.source) if cfg.source else f"未找到 taizhang.toml，正在使用演示（演示文件夹 {cfg.inbox.parent}）")
    for key in PATH_KEYS:
        _check_path(report, cfg, key)
    _check_space(report, cfg)
    _check_archive(report, cfg)
    settings = _check_settings(report, cfg, settings_path, load_settings)
    if settings is not None:
        today = cfg.as_of or (DEMO_AS_OF if cfg.demo else now.date())   # the demo runs on its own date
        _check_campaign(report, settings, today)
        _check_scope(report, cfg, settings)
        _check_calendar(report, settings, today)
    _check_mail(report, cfg, connect_mail)
    _check_serve(report, cfg, settings)
    _check_daily(report, cfg, now)
    return report


def _check_path(report: SetupReport, cfg: Config, key: str) -> None:
    path = Path(getattr(cfg, key))
    is_file = key in ("master", "settings_workbook")
    folder = path.parent if is_file else path
    where = f"{path}"
    if key == "inbox" and not path.is_dir() and path != cfg.own_inbox:
        if cfg.demo:
            report.add(PATH_WORDS[key], WARN, f"{where}（演示收件箱，首次汇总时从工具自带的原件恢复）")
        else:
            report.add(PATH_WORDS[key], FAIL, f"{where}（不存在；请建立这个文件夹，或在 taizhang.toml [paths] "
                                             "inbox 中改正）")
        return
    if key == "settings_workbook":
        return                                   # checked with the roster below
    existing = _existing(folder)
    state = "存在" if path.exists() else "尚不存在，首次运行时建立"
    if key != "inbox" and not _writable(existing):
        report.add(PATH_WORDS[key], FAIL, f"{where}（{state}；{existing} 不可写入，请检查权限或换一个文件夹）")
        return
    report.add(PATH_WORDS[key], OK, f"{where}（{state}{'' if key == 'inbox' else '，可写入'}）")


LOW_SPACE_MB, NO_SPACE_MB = 200, 20


def _check_space(report: SetupReport, cfg: Config) -> None:
    """Free space where the archive, the state and the master are written."""
    seen: dict[int, Path] = {}
    for key in ("archive", "state", "master"):
        folder = _existing(Path(getattr(cfg, key)))
        try:
            seen.setdefault(folder.stat().st_dev, folder)
        except OSError:
            continue
    for folder in seen.values():
        try:
            free = shutil.disk_usage(folder).free / 2**20
        except OSError:
            continue
        status = FAIL if free < NO_SPACE_MB else WARN if free < LOW_SPACE_MB else OK
        advice = "" if status == OK else "，请清理该磁盘（存档、总台账和运行状态都写在这里）"
        report.add("磁盘空间", status, f"{folder} 所在磁盘剩余 {free:,.0f} MB{advice}")


def _check_archive(report: SetupReport, cfg: Config) -> None:
    """The archive's record and every original, hashed again (SubmissionArchive.verify)."""
    if not (Path(cfg.archive) / "submissions.sqlite").exists():
        report.add("来件原件", OK, "存档中还没有报送")
        return
    try:
        with SubmissionArchive(cfg.archive) as archive:
            problems = archive.verify()
            subs = archive.history()
    except TaizhangError as e:
        report.add("来件原件", FAIL, str(e))
        return
    if problems:
        shown = "；".join(problems[:3]) + (f"；等 {len(problems)} 处" if len(problems) > 3 else "")
        report.add("来件原件", FAIL, f"{shown}。存档被改动或损坏，请联系技术支持（不要手工修改存档文件夹）。")
    else:
        report.add("来件原件", OK, f"{len(subs)} 份报送的原件都完好（逐个核对了哈希）")
    held = [s for s in subs if s.held]
    if held:
        report.add("暂存待核", WARN, f"{len(held)} 份报送等待核实（taizhang submissions 查看，"
                                    "assign / release / withdraw 处理）")


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    """A real probe: create and remove a file there (os.access is unreliable on Windows)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _check_settings(report: SetupReport, cfg: Config, settings_path, load_settings):
    path = Path(settings_path) if settings_path else cfg.settings_workbook
    try:
        settings = load_settings(settings_path, config=cfg)
    except TaizhangError as e:
        report.add("设置工作簿", FAIL, str(e))
        return None
    if not path.exists():
        report.add("设置工作簿", WARN, f"{path}（不存在：使用默认活动设置，村名册为空；"
                                   f"运行 taizhang settings 生成后填写村名册）")
    else:
        report.add("设置工作簿", OK, f"{path}（存在）")
    names = [r.village for r in settings.roster]
    if not names:
        report.add("村名册", WARN, "空：无法列出未报的村，也不能按邮箱认出村；请在设置工作簿“村名册”表中填写各村")
    elif not cfg.demo and set(names) == {r.village for r in DEMO_ROSTER}:
        report.add("村名册", FAIL, f"！！仍是演示名册（{'、'.join(names)}）！！请在设置工作簿“村名册”表中"
                                 "换成本乡的村（社区）和联系人")
    else:
        report.add("村名册", OK, f"{len(names)} 个：{'、'.join(names)}")
    return settings


def _check_campaign(report: SetupReport, settings, day: date) -> None:
    """The office's campaign: its name and township, and whether ``day`` is in one of its phases."""
    camp = settings.campaign
    where = _settings_name(settings)
    if camp.township.strip() == TOWNSHIP_PLACEHOLDER:
        report.add("乡镇名称", WARN, f"仍是“{TOWNSHIP_PLACEHOLDER}”：请在{where}“活动设置”表的“乡镇”一行"
                                 "填写本乡镇名称（总台账、催报单、模板的标题都用它）")
    if not camp.phases:
        return
    first, last = camp.phases[0], camp.phases[-1]
    span = f"{first.start.isoformat()} 至 {last.end.isoformat()}"
    phase = camp.phase_of(day)
    if any(p.start <= day <= p.end for p in camp.phases):
        report.add("活动阶段", OK, f"{camp.name}：今天（{day.isoformat()}）处于“{phase}”阶段（活动 {span}）")
        return
    report.add("活动阶段", WARN, f"今天（{day.isoformat()}）不在“{camp.name}”的任何阶段内（{phase}；活动 {span}）。"
                            f"请在{where}“活动设置”表中填写本乡本次活动的阶段日期，或运行 taizhang settings "
                            f"--year {day.year} --force 生成 {day.year} 年的默认设置后再改")


SCOPE_CHECK_LIMIT = 50_000      # rows of the previous master looked at (a township has a few thousand)


def _check_scope(report: SetupReport, cfg: Config, settings) -> None:
    """Whether the scope cut-off (积案截止日期) leaves most cases of the last master out of scope."""
    cutoff = settings.campaign.cutoff
    dates = _first_petitions(Path(cfg.master))
    if not dates:
        return
    late = sum(d > cutoff for d in dates)
    if late * 2 <= len(dates):
        report.add("积案范围", OK, f"积案截止日期 {cutoff.isoformat()}：上次汇总的 {len(dates)} 件中 "
                               f"{len(dates) - late} 件在积案范围内")
        return
    report.add("积案范围", WARN, f"积案截止日期 {cutoff.isoformat()}：上次汇总的 {len(dates)} 件中有 {late} 件首次"
                             "信访晚于这一天，不在积案范围内（每件都会提醒“不在积案范围”）。请核对"
                             f"{_settings_name(settings)}“活动设置”表中的“积案截止日期”")


def _first_petitions(master: Path) -> list[date]:
    """首次信访时间 of every case in the master's 总台账 sheet ([] when there is none to read)."""
    if not master.is_file():
        return []
    wanted = header_for("first_petition_date")
    try:
        with CalamineWorkbook.from_path(str(master)) as wb:
            if "总台账" not in wb.sheet_names:
                return []
            rows = wb.get_sheet_by_name("总台账").iter_rows()
            col = None
            found: list[date] = []
            for n, row in enumerate(rows):
                if col is None:
                    col = row.index(wanted) if wanted in row else None
                    if col is None and n > 5:
                        return []
                    continue
                if n > SCOPE_CHECK_LIMIT:
                    break
                d, _ = parse_date_value(row[col] if col < len(row) else None)
                if d is not None:
                    found.append(d)
            return found
    except Exception:           # an unreadable master is the consolidation's business, not this check's
        return []


def _settings_name(settings) -> str:
    return f"设置工作簿“{settings.source.name}”" if settings.source else "设置工作簿"


def _check_calendar(report: SetupReport, settings, day: date) -> None:
    years = calendar_for(settings).known_years()
    shown = f"{years[0]}–{years[-1]}" if years == list(range(years[0], years[-1] + 1)) else "、".join(map(str, years))
    workdays = settings.campaign.workdays
    horizon = day + timedelta(days=math.ceil(workdays * 7 / 5) + 14)   # a case assigned today: its deadline
    if day.year not in years:
        report.add("法定节假日", FAIL, f"已知 {shown} 年；不知道 {day.year} 年的安排，期限无法计算。请升级 "
                                  f"chinesecalendar，或在{_settings_name(settings)}“节假日”表中补上这一年")
    elif horizon.year not in years:
        report.add("法定节假日", WARN, f"已知 {shown} 年；{horizon.year} 年的安排还不知道：今天交办的案件，"
                                  f"办结期限（第 {workdays} 个工作日）会落在 {horizon.year} 年，暂时算不出。"
                                  "国务院一般在 11 月公布，公布后请升级 chinesecalendar（pip install -U "
                                  f"chinesecalendar）或在{_settings_name(settings)}“节假日”表中补上")
    else:
        report.add("法定节假日", OK, f"已知 {shown} 年")


def _check_mail(report: SetupReport, cfg: Config, connect: bool) -> None:
    mc = cfg.mail
    if not mc.enabled:
        report.add("邮箱", OK, "未配置（只汇总收件箱中的文件）")
        return
    report.add("收件邮箱", OK, f"{mc.user}@{mc.host}:{mc.port}（{mc.security}），文件夹 {mc.folder}")
    if connect:
        _probe(report, "收件服务器", lambda: _imap_login(cfg))
    if mc.receipts and mc.smtp_host:
        report.add("发件邮箱", OK, f"{mc.smtp_user or mc.user}@{mc.smtp_host}:{mc.smtp_port}（{mc.smtp_security}）")
        if connect:
            _probe(report, "发件服务器", lambda: _smtp_login(cfg))
    elif mc.receipts:
        report.add("发件邮箱", WARN, "未写 smtp_host：回执不会发出")


def _check_serve(report: SetupReport, cfg: Config, settings) -> None:
    """[serve]: whether the office page answers (a 注意: the daily run does not need it), and how
    many roster villages have a link."""
    links = [k for k in LinkStore(cfg.state).live() if k.kind == VILLAGE]
    if not cfg.serve.enabled:
        if links:
            report.add("网页报送", WARN, f"已生成 {len(links)} 个村的报送地址，但 taizhang.toml 的 [serve] 没有写 host："
                       "服务只接受本机，各村的电脑打不开。请在 [serve] 写 host（本机的局域网地址）后重新启动 taizhang serve。")
        return
    roster = [r.village for r in settings.roster] if settings is not None else []
    have = {k.village for k in links}
    lacking = [v for v in roster if v not in have]
    report.add("网页报送地址", WARN if lacking else OK,
               f"名册中 {len(roster) - len(lacking)} 个村（社区）有报送地址" +
               (f"，{len(lacking)} 个没有（{'、'.join(lacking[:5])}{' 等' if len(lacking) > 5 else ''}）："
                "运行 taizhang links 生成" if lacking else ""))
    _probe(report, "网页报送", lambda: _page_answers(cfg), ok=f"{cfg.serve.base_url()}/ 能打开", bad=WARN)


def _page_answers(cfg: Config) -> None:
    sv = cfg.serve
    url = http_address("127.0.0.1" if sv.host in EVERY_ADDRESS else sv.host, sv.port) + "/health"
    try:
        with urllib.request.urlopen(url, timeout=QUICK) as answer:
            if answer.status == 200:
                return
    except (OSError, ValueError) as e:
        raise TaizhangError(f"{url} 打不开（{getattr(e, 'reason', None) or e}）：网页报送服务没有运行？请在服务电脑上"
                            "运行 taizhang serve（可设为开机启动），并检查防火墙是否放行端口 "
                            f"{sv.port}。") from e
    raise TaizhangError(f"{url} 没有正常回答：请检查 [serve] host 和 port 是否是 taizhang serve 用的地址。")


def _probe(report: SetupReport, item: str, attempt, ok: str = "能连接并登录", bad: str = FAIL) -> None:
    try:
        attempt()
    except Exception as e:  # every failure is a line of the report, never a traceback
        report.add(item, bad, str(e) or type(e).__name__)
    else:
        report.add(item, OK, ok)


def _imap_login(cfg: Config) -> None:
    with open_mailbox(cfg, timeout=min(cfg.mail.timeout, QUICK)) as box:
        box.select(cfg.mail.folder)


def _smtp_login(cfg: Config) -> None:
    quit_quietly(open_smtp(cfg, timeout=min(cfg.mail.timeout, QUICK)))


def _check_daily(report: SetupReport, cfg: Config, now: datetime) -> None:
    try:
        parse_time(cfg.daily_time)
    except ConfigError as e:
        report.add("每日汇总", FAIL, str(e))
        return
    last = last_success(cfg.state)
    nxt = next_run(cfg.daily_time, last, now)
    where = f"，起始于 {cfg.source.parent}" if cfg.source else ""
    how = (f"须有任务计划每天运行 {daily_command()}（{where[1:] or '起始于放 taizhang.toml 的文件夹'}），"
           "或在一个窗口中常驻运行 taizhang daily")
    text = f"每天 {cfg.daily_time}；上次成功：{last.isoformat() if last else '从未'}；下次：{nxt:%Y-%m-%d %H:%M}。{how}"
    missed = last is not None and (now.date() - last).days >= 2
    if missed:
        text += f"。{last.isoformat()} 以后没有成功汇总过：请检查任务计划是否在运行，或看日志 {cfg.logs}"
    report.add("每日汇总", WARN if missed else OK, text)
